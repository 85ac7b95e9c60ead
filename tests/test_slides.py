"""Council slides (analysis.render.slides): one offline reveal.js file, escaped, with notes."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import polars as pl
import pytest
from typer.testing import CliRunner

from analysis.render.cli import report_app
from analysis.render.html import external_references
from analysis.render.page import PageInfo
from analysis.render.slides import (
    Pseudonyms,
    SlidesError,
    council_deck,
    notebook_to_slides,
    write_council_deck,
)

MEETING = "tama-2020-09"
PAYLOAD = "</script><script>alert('x')</script><!--"
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc\s*=", re.IGNORECASE)


@pytest.fixture(scope="module")
def deck(seed_tables) -> str:
    return council_deck(seed_tables, MEETING, data_version="c0ffee" * 10)


def _font_chars(document: str) -> set[str]:
    """The characters the embedded font subset has glyphs for."""
    from fontTools.ttLib import TTFont

    m = re.search(r'url\("data:font/woff;base64,([A-Za-z0-9+/=]+)"\)', document)
    assert m, "no embedded font"
    font = TTFont(io.BytesIO(base64.b64decode(m.group(1))))
    return {chr(c) for c in font.getBestCmap()}


def test_deck_is_one_offline_file_with_reveal_inside(deck):
    assert deck.startswith("<!DOCTYPE html>") and '<html lang="ja">' in deck
    assert external_references(deck) == []
    assert not EXTERNAL_SCRIPT.search(deck) and "<link" not in deck
    assert "Reveal.initialize" in deck and "RevealNotes" in deck
    assert "@import" not in deck  # the theme's web-font import is dropped
    assert "sourceMappingURL" not in deck
    assert "@font-face" in deck and 'font-family: "Noto Sans CJK JP"' in deck


def test_deck_has_every_part_with_speaker_notes(deck, seed_tables):
    sections = re.findall(r"<section\b", deck)
    consultations = seed_tables["consultations"].filter(pl.col("meeting_id") == MEETING)
    # title, agenda, one per 諮問, topics, coverage, gaps, follow-ups
    assert len(sections) >= consultations.height + 6
    for heading in ("次第", "質問の論点", "保護措置の網羅状況", "保護措置の不足", "追跡事項"):
        assert f">{heading}" in deck
    for label, title in consultations.select("label", "title").iter_rows():
        assert f"{label}　{title}" in deck
    assert "同意（全会一致）" in deck
    assert deck.count('<aside class="notes">') >= len(sections) - 1
    assert "データ版 c0ffeec0" in deck
    assert "本諮問は" in deck or "主な質問と回答" in deck  # notes carry the detail


def test_chart_is_inline_svg_in_a_japanese_font(deck):
    svg = re.search(r'<div class="chart">(<svg.*?</svg>)</div>', deck, re.DOTALL)
    assert svg, "no inline SVG chart"
    texts = re.findall(r"<text\b([^>]*)>([^<]*)</text>", svg.group(1))
    assert texts
    families = {re.search(r'font-family="([^"]*)"', attrs).group(1) for attrs, _ in texts}
    assert all(f.replace("&quot;", '"').startswith('"Noto Sans CJK JP"') for f in families)
    japanese = "".join(t for _, t in texts if re.search(r"[\u3040-\u9fff]", t))
    assert japanese, "chart text has no Japanese"
    missing = set(japanese) - _font_chars(deck)
    assert not missing, f"embedded font lacks {sorted(missing)}"


def test_every_visible_character_has_a_glyph(deck):
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", deck, flags=re.DOTALL | re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", body)
    import html

    chars = {c for c in html.unescape(text) if not c.isspace()}
    assert not chars - _font_chars(deck)


def _tables_with_payload(seed_tables) -> dict:
    tables = dict(seed_tables)
    tables["utterances"] = seed_tables["utterances"].with_columns(
        text=pl.when(pl.col("kind") == "question")
        .then(pl.lit(PAYLOAD) + pl.col("text") + pl.lit(" 藤崎さんに聞いた"))
        .otherwise(pl.col("text"))
    )
    tables["follow_ups"] = seed_tables["follow_ups"].with_columns(
        text=pl.lit("<img src=x onerror=alert(1)>") + pl.col("text")
    )
    tables["consultations"] = seed_tables["consultations"].with_columns(
        title=pl.col("title") + pl.lit("<b>太字</b>")
    )
    return tables


def test_minutes_text_is_escaped(seed_tables):
    deck = council_deck(_tables_with_payload(seed_tables), MEETING)
    assert "alert('x')" in deck.replace("&#x27;", "'")  # shown as text …
    assert "<script>alert" not in deck  # … never as markup
    assert "&lt;/script&gt;&lt;script&gt;alert(" in deck
    assert "<img src=x" not in deck and "&lt;img src=x onerror=alert(1)&gt;" in deck
    assert "<b>太字</b>" not in deck and "&lt;b&gt;太字&lt;/b&gt;" in deck
    assert external_references(deck) == []


def test_pseudonymize_replaces_every_attendee_name(seed_tables):
    tables = _tables_with_payload(seed_tables)
    plain = council_deck(tables, MEETING)
    masked = council_deck(tables, MEETING, pseudonymize=True)
    names = (
        seed_tables["attendees"].filter(pl.col("meeting_id") == MEETING)["name"].unique().to_list()
    )
    assert "藤崎" in plain
    for name in names:
        assert name not in masked, name
    assert "委員A" in masked and "氏名は仮名に置き換えています" in masked
    p = Pseudonyms.from_attendees(seed_tables["attendees"], True)
    assert p("藤崎会長と原田係長") == f"{p.mapping['藤崎']}会長と{p.mapping['原田']}係長"
    assert Pseudonyms.from_attendees(seed_tables["attendees"], False)("藤崎") == "藤崎"


def test_unknown_meeting(seed_tables):
    with pytest.raises(SlidesError, match="'nope' is not in the data"):
        council_deck(seed_tables, "nope")


def test_slides_command(seed_build, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        report_app,
        ["slides", "--meeting", MEETING, "--data", str(seed_build), "--out", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    path = tmp_path / f"council_slides-{MEETING}.html"
    assert path.is_file() and f"wrote {path}" in res.output
    res = runner.invoke(
        report_app,
        ["slides", "--meeting", "nope", "--data", str(seed_build), "--out", str(tmp_path)],
    )
    assert res.exit_code == 2 and "not in the data" in res.output
    written = write_council_deck(
        MEETING, seed_build, tmp_path, pseudonymize=True, name="deck-{meeting_id}"
    )
    assert written["html"] == tmp_path / f"deck-{MEETING}.html"


def test_notebook_to_slides_splits_on_headings():
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell("# 会議の概要\n\n本文")
    code = nbformat.v4.new_code_cell("display(...)")
    code.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/markdown": f"## 二つ目\n\n{PAYLOAD.replace('<', '&lt;')}"}
        )
    ]
    plain = nbformat.v4.new_code_cell("x")
    plain.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "続き"})]
    nb.cells = [md, code, plain]
    deck = notebook_to_slides(
        nb, "テスト<レポート>", PageInfo("テスト<レポート>", [("条件", "a=1")])
    )
    # the title slide, then one slide per heading (nbconvert nests a sub-slide in each)
    assert len(re.findall(r"<section\b", deck)) == 1 + 2 * 2
    assert re.search(r"会議の概要.*本文.*二つ目.*続き", deck, re.DOTALL)
    assert "テスト&lt;レポート&gt;" in deck and "<レポート>" not in deck
    assert "<script>alert" not in deck
    assert external_references(deck) == [] and not EXTERNAL_SCRIPT.search(deck)


def test_vendored_reveal_has_its_licence():
    assets = Path(__file__).parents[1] / "src" / "analysis" / "render" / "assets" / "reveal"
    assert "MIT" in (assets / "LICENSE").read_text(encoding="utf-8") or "Permission is hereby" in (
        assets / "LICENSE"
    ).read_text(encoding="utf-8")
    assert (assets / "SOURCE.md").is_file()
