"""Reports, the index and slide decks open and draw in headless Chromium with no network.

Chromium runs with its network turned off twice over: flags that send every request to a dead
proxy and a resolver that finds nothing, and — where the kernel allows, as in CI — inside a new
network namespace (``unshare -n``) that has no network at all. A page that needed anything from
outside would show an empty chart here.

Without Chromium these tests are skipped locally, but fail in CI (``CI=true``), where
``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from analysis.render import browser
from analysis.render import versions as render_versions
from analysis.render.page import finish_page
from analysis.render.runs import run_reports

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
TINY = FIXTURES / "tiny_report.py"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
# What a chart's view shows instead of the chart when the library is missing or fails.
BROKEN_CHART = re.compile(r"council-chart-view[^>]*>\s*グラフ")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> str:
    path = browser.find_chromium()
    if path is None:
        if CI:
            pytest.fail("Chromium is required in CI (.ci/run installs it) but was not found")
        pytest.skip("Chromium not installed (apt-get install chromium): offline checks skipped")
    return path


@pytest.fixture(scope="module")
def site(chromium, seed_build, tmp_path_factory):
    """One scheduled run: a report (html, pdf, slides) and the council deck (slides, pdf)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(render_versions, "code_version", lambda: "test+pinned")
    tmp = tmp_path_factory.mktemp("offline")
    schedule = tmp / "schedule.yml"
    jobs = [
        {"notebook": str(TINY), "parameters": {"top_n": 3}, "formats": ["html", "pdf", "slides"]},
        {"slides": "council", "for_each": "meeting", "formats": ["slides", "pdf"]},
    ]
    schedule.write_text(yaml.safe_dump({"jobs": jobs}, allow_unicode=True), encoding="utf-8")
    outcome = run_reports(schedule, seed_build, tmp / "out")
    mp.undo()
    assert outcome.exit_code == 0, outcome.summary()
    return outcome.run_dir


def _dom(path: Path | str) -> str:
    return browser.dump_dom(path, isolate=True)


def test_network_is_really_off(chromium, tmp_path):
    page = tmp_path / "canary.html"
    page.write_text(
        "<!DOCTYPE html><html><body data-net='waiting'>"
        "<img src='http://example.com/x.png' onload=\"document.body.dataset.net='loaded'\" "
        "onerror=\"document.body.dataset.net='blocked'\"></body></html>",
        encoding="utf-8",
    )
    dom = _dom(page)
    assert 'data-net="blocked"' in dom


def test_report_charts_draw_offline(site):
    dom = _dom(site / "tiny_report-3.html")
    assert len(re.findall(r'<svg[^>]*class="marks"', dom)) == 2  # both charts drawn by Vega
    assert not BROKEN_CHART.search(dom)
    assert "分類別の諮問件数" in dom and "council-titleblock" in dom


def test_report_slides_draw_offline(site):
    dom = _dom(site / "tiny_report-3.slides.html")
    assert re.search(r'class="reveal[^"]*\bready\b', dom), "reveal.js did not start"
    assert len(re.findall(r'<svg[^>]*class="marks"', dom)) == 2
    assert not BROKEN_CHART.search(dom)


def test_council_deck_works_from_a_file(site):
    dom = _dom(site / "council_slides-tama-2020-09.html")
    assert re.search(r'class="reveal[^"]*\bready\b', dom), "reveal.js did not start"
    assert 'class="slide-number"' in dom or "slide-number" in dom
    assert re.search(r'<div class="chart"><svg', dom)  # the inline SVG chart
    assert "質問の論点" in dom and "追跡事項" in dom


def test_index_opens_offline_and_links_everything(site):
    dom = _dom(site / "index.html")
    for name in (
        "tiny_report-3.html",
        "tiny_report-3.pdf",
        "tiny_report-3.slides.html",
        "council_slides-tama-2020-09.html",
        "council_slides-tama-2020-09.pdf",
    ):
        assert f'href="{name}"' in dom
        assert (site / name).is_file()


def test_pdfs_have_pages_and_japanese_text(site):
    import pypdfium2 as pdfium

    report = pdfium.PdfDocument(str(site / "tiny_report-3.pdf"))
    text = "".join(p.get_textpage().get_text_range() for p in report)
    assert "分類別の諮問件数" in re.sub(r"\s+", "", text)
    deck = pdfium.PdfDocument(str(site / "council_slides-tama-2020-09.pdf"))
    html = (site / "council_slides-tama-2020-09.html").read_text(encoding="utf-8")
    slides = len(re.findall(r"<section\b", html))
    assert slides <= len(deck) <= slides + 1
    width, height = deck[0].get_size()
    assert abs(width - 841.9) < 2 and abs(height - 595.3) < 2  # one slide per A4 landscape
    last = re.sub(r"\s+", "", deck[len(deck) - 1].get_textpage().get_text_range())
    assert f"{len(deck)}/{len(deck)}" in last  # page numbers
    assert "情報公開・個人情報保護運営審議会" in deck[0].get_textpage().get_text_range()


def _dark_pixels(png: Path) -> int:
    from PIL import Image

    return sum(1 for v in Image.open(png).convert("L").tobytes() if v < 128)


def test_screenshots_are_not_blank(site, tmp_path):
    from PIL import Image, ImageStat

    shot = browser.screenshot(
        site / "tiny_report-3.html", tmp_path / "report.png", size=(1100, 900), isolate=True
    )
    image = Image.open(shot).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 20  # text and bars, not one flat colour
    assert _dark_pixels(shot) > 2000


def test_japanese_shows_on_a_machine_without_japanese_fonts(chromium, tmp_path):
    """With fontconfig limited to DejaVu (a fresh Debian), the embedded subset still draws."""
    if not DEJAVU.is_dir():
        pytest.skip(f"{DEJAVU} not found: cannot imitate a fresh machine's fonts")
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{DEJAVU}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    fresh = {"FONTCONFIG_FILE": str(conf)}
    plain = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><style>'
        'body{font-family:"Noto Sans CJK JP";font-size:64px;margin:20px}</style></head>'
        "<body>情報公開審議会</body></html>"
    )
    pages = {"plain": plain, "embedded": finish_page(plain, None, titleblock=False)}
    shots = {}
    for name, text in pages.items():
        (tmp_path / f"{name}.html").write_text(text, encoding="utf-8")
        for where, env in (("fresh", fresh), ("system", None)):
            shots[name, where] = browser.screenshot(
                tmp_path / f"{name}.html",
                tmp_path / f"{name}-{where}.png",
                size=(700, 140),
                isolate=True,
                env=env,
                timeout=60,
            )
    embedded_fresh = _dark_pixels(shots["embedded", "fresh"])
    embedded_system = _dark_pixels(shots["embedded", "system"])
    plain_fresh = _dark_pixels(shots["plain", "fresh"])
    # the same glyphs with or without system fonts …
    assert abs(embedded_fresh - embedded_system) <= 0.05 * embedded_system
    # … and without the embedded font a fresh machine draws boxes (far fewer dark pixels)
    assert plain_fresh < 0.6 * embedded_fresh


def test_isolation_is_available_in_ci(chromium):
    if CI and shutil.which("unshare"):
        assert browser.isolation_prefix(), "unshare -n does not work here"
