"""Printable handouts: the A4 print sheet, the title block, the embedded font, PDFs."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis.render import browser
from analysis.render.fonts import (
    BASE_TEXT,
    FAMILY,
    font_face_css,
    font_license,
    font_path,
    font_problem,
    register_chart_fonts,
)
from analysis.render.html import external_references, notebook_to_html
from analysis.render.notebook import RenderResult, _write_pdf
from analysis.render.page import PageInfo, css_string, finish_page, print_css

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _needs_chromium() -> None:
    if browser.find_chromium() is None:
        if CI:
            pytest.fail("Chromium is required in CI (.ci/run installs it): not found")
        pytest.skip("Chromium not installed (apt-get install chromium); PDF checks skipped")


def _font_chars(document: str) -> set[str]:
    from fontTools.ttLib import TTFont

    m = re.search(r'url\("data:font/woff;base64,([A-Za-z0-9+/=]+)"\)', document)
    assert m, "no embedded font"
    return {chr(c) for c in TTFont(io.BytesIO(base64.b64decode(m.group(1)))).getBestCmap()}


# -- the font --------------------------------------------------------------------------------
def test_the_japanese_font_ships_with_a_licence():
    assert font_problem() is None
    path = font_path()
    assert path.is_file() and path.suffix.lower() in (".otf", ".ttf")
    licence = font_license()
    assert licence is not None and "SIL OPEN FONT LICENSE" in licence.read_text().upper()


def test_font_subset_covers_the_page_and_the_base_set():
    css = font_face_css("諮問審議会【令和２年度】")
    assert f'font-family: "{FAMILY}"' in css and 'format("woff")' in css
    chars = _font_chars(css)
    assert set("諮問審議会【令和２年度】") <= chars
    assert set("年月日時分0123456789/:") <= chars  # what charts' date and number formats draw
    kana = {c for c in BASE_TEXT if "\u3041" <= c <= "\u30ff" and c.isalpha()}
    assert kana <= chars and set("、。「」（）ー！？＝％") <= chars
    assert len(css) < 400_000  # a subset, not the 16 MB font
    assert (
        font_face_css("諮問審議会【令和２年度】") is css
        or font_face_css("諮問審議会【令和２年度】") == css
    )  # cached


# -- the print sheet and title block ---------------------------------------------------------
def test_print_css_is_a4_with_page_numbers_and_no_splits():
    css = print_css(PageInfo("会議録", data_version="abcdef12"))
    assert "size: A4 portrait" in css
    assert re.search(r"@bottom-center\s*\{\s*content:\s*counter\(page\)", css)
    assert "counter(pages)" in css
    assert '@top-left { content: "会議録"' in css
    assert '"データ版 abcdef12"' in css
    for selector in (".council-chart", "tr", "figure", "svg"):
        assert re.search(rf"(^|[\s,]){re.escape(selector)}[\s,{{]", css)
    assert "break-inside: avoid" in css and "display: table-header-group" in css
    assert ".vega-embed details" in css and ".vega-actions" in css  # chart menus hidden


def test_css_strings_cannot_break_out():
    text = '"; } body { display:none } </style><script>alert(1)</script>\\'
    quoted = css_string(text)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert '"' not in inner and "<" not in inner and ">" not in inner
    assert "\\" + "22 " in inner and "\\3c " in inner


def test_finish_page_escapes_the_title_block():
    page = finish_page(
        "<!DOCTYPE html><html><head><title>x</title></head><body><p>本文</p></body></html>",
        PageInfo("<script>alert(1)</script>会議", [("条件", "meeting_id=<b>x</b>")], "12345678"),
    )
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;会議" in page
    assert "meeting_id=&lt;b&gt;x&lt;/b&gt;" in page
    assert "データ版" in page and "12345678" in page
    assert page.index('<style data-council="page">') < page.index("</head>")
    assert page.index('<header class="council-titleblock">') > page.index("<body>")
    assert set("会議本文条件") <= _font_chars(page)
    assert external_references(page) == []


def _notebook_with_long_table():
    nb = nbformat.v4.new_notebook()
    rows = "".join(f"<tr><td>行{i}</td><td>件名{i}終</td></tr>" for i in range(120))
    cell = nbformat.v4.new_code_cell("display(table)")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": f"<table><thead><tr><th>番号</th><th>件名</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>"
            },
        )
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# 印刷テスト"), cell]
    return nb


def test_report_html_carries_the_print_sheet_and_font():
    page = notebook_to_html(
        _notebook_with_long_table(), "print-test", PageInfo("印刷テスト", data_version="abcd1234")
    )
    assert "@page" in page and "@bottom-center" in page
    assert "印刷テスト" in page and "abcd1234" in page
    assert "@font-face" in page and external_references(page) == []


# -- PDFs ------------------------------------------------------------------------------------
def test_pdf_is_a4_numbered_and_japanese(tmp_path):
    _needs_chromium()
    import pypdfium2 as pdfium

    html = tmp_path / "print-test.html"
    html.write_text(
        notebook_to_html(
            _notebook_with_long_table(),
            "print-test",
            PageInfo("印刷テスト", data_version="abcd1234"),
        ),
        encoding="utf-8",
    )
    result = RenderResult(Path("x.py"), "print-test", {})
    _write_pdf(result, html)
    assert result.error is None and result.warnings == []
    pdf_path = result.outputs["pdf"]
    assert pdf_path == tmp_path / "print-test.pdf"
    pdf = pdfium.PdfDocument(str(pdf_path))
    pages = len(pdf)
    assert pages >= 2
    texts = [re.sub(r"\s+", "", page.get_textpage().get_text_range()) for page in pdf]
    for i, (page, text) in enumerate(zip(pdf, texts, strict=True), 1):
        width, height = page.get_size()
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points
        assert f"{i}/{pages}" in text, text[-200:]  # the page number margin box
        assert "印刷テスト" in text and "abcd1234" in text  # the running head
        assert "file://" not in text  # Chromium's own header/footer is off
        assert "番号" in text and "件名" in text  # the table head repeats on every page
        # a row is never cut: each row's two cells are on the same page
        for n in re.findall(r"件名(\d+)終", text):
            assert f"行{n}件名{n}終" in text
    assert "行0件名0終" in texts[0] and "行119件名119終" in texts[-1]


def test_pdf_without_chromium_is_one_clear_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    html = tmp_path / "r.html"
    html.write_text("<html><body>x</body></html>", encoding="utf-8")
    (tmp_path / "r.pdf").write_bytes(b"%PDF stale")
    result = RenderResult(Path("x.py"), "r", {})
    _write_pdf(result, html)
    assert result.error is None and "pdf" not in result.outputs
    assert len(result.warnings) == 1 and "\n" not in result.warnings[0]
    assert "Chromium not found" in result.warnings[0] and "HTML is fine" in result.warnings[0]
    assert not (tmp_path / "r.pdf").exists()  # no stale PDF of an older version


# -- chart images on a machine with no Japanese system font ----------------------------------
_PNG_SCRIPT = """
import sys
from analysis import charts
from analysis.render.fonts import register_chart_fonts
import altair as alt
import pandas as pd
import analysis.render.fonts as fonts
if sys.argv[1] == "font":
    register_chart_fonts()
else:  # what a machine without the shipped font would do
    fonts.register_chart_fonts = lambda: False
df = pd.DataFrame({"x": [1, 2]})
for title in ("情報公開審議会の諮問", ""):
    png = charts.to_png(alt.Chart(df).mark_point().encode(x="x:Q").properties(title=title))
    open(sys.argv[2] + ("-ja" if title else "-empty") + ".png", "wb").write(png)
"""


def _dark_pixels(path: Path) -> int:
    from PIL import Image

    image = Image.open(path).convert("L")
    return sum(1 for v in image.tobytes() if v < 140)


def test_chart_png_draws_japanese_without_system_fonts(tmp_path):
    """vl-convert finds no Japanese font when /usr/share/fonts is empty; the shipped one works."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        pytest.skip("needs Linux and unshare to hide the system fonts")
    empty = tmp_path / "nofonts"
    empty.mkdir()
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {empty} /usr/share/fonts && true"],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here to hide the system fonts")
    script = tmp_path / "png.py"
    script.write_text(_PNG_SCRIPT, encoding="utf-8")
    for mode in ("font", "none"):
        subprocess.run(
            [
                "unshare",
                "-m",
                "sh",
                "-c",
                f'mount --bind "{empty}" /usr/share/fonts && exec "{sys.executable}" "{script}" '
                f'{mode} "{tmp_path / mode}"',
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "COUNCIL_FONT_DIRS": ""},
        )
    with_font = _dark_pixels(tmp_path / "font-ja.png") - _dark_pixels(tmp_path / "font-empty.png")
    without = _dark_pixels(tmp_path / "none-ja.png") - _dark_pixels(tmp_path / "none-empty.png")
    assert with_font > 300, "the Japanese title drew nothing with the shipped font"
    assert without < with_font / 3, "the test did not hide the system fonts"
    assert register_chart_fonts()
