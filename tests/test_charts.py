"""The chart theme, the category palette and the offline renderer (analysis.charts)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import altair as alt
import polars as pl
import pytest

from analysis import charts
from analysis.reference import load_reference
from analysis.render.html import external_references
from analysis.schema import CATEGORIES

PAYLOAD = "</script><script>alert(1)</script>"


class _Scripts(HTMLParser):
    """Collects <script> elements the way a browser's parser splits them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[tuple[dict, str]] = []
        self._attrs: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._attrs, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._attrs is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._attrs is not None:
            self.scripts.append((self._attrs, "".join(self._text)))
            self._attrs = None


def scripts_of(html: str) -> list[tuple[dict, str]]:
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    return parser.scripts


def _chart(df: pl.DataFrame | None = None) -> alt.Chart:
    df = (
        df
        if df is not None
        else pl.DataFrame({"category": ["system_change", "other"], "n": [2, 1]})
    )
    df = charts.with_category_labels(df)
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x="n:Q",
            y="分類:N",
            color=alt.Color("分類:N", scale=charts.category_scale()),
            tooltip=list(df.columns),
        )
        .properties(title="テスト")
    )


def _html(chart: alt.Chart) -> str:
    bundle = chart._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    return bundle["text/html"]


@pytest.fixture
def offline():
    charts.enable_offline()
    charts.reset_offline()
    yield
    alt.renderers.enable("default")
    charts.reset_offline()


# -- theme -----------------------------------------------------------------------------------
def test_theme_is_registered_and_enabled_on_import():
    assert charts.THEME in alt.theme.names()
    assert alt.theme.active == charts.THEME
    config = _chart().to_dict()["config"]
    assert config["font"] == charts.FONT
    assert config["font"].startswith('"Noto Sans CJK JP", "Noto Sans JP", IPAexGothic')
    assert config["font"].endswith("Meiryo, sans-serif")
    assert config["range"]["category"] == list(charts.CATEGORY_COLORS.values())
    assert config["axis"]["labelFontSize"] >= 12
    assert config["title"]["fontSize"] >= 16
    assert config["locale"]["time"]["months"][0] == "1月"


def test_every_category_has_a_colour_dash_and_shape():
    for table in (charts.CATEGORY_COLORS, charts.CATEGORY_DASHES, charts.CATEGORY_SHAPES):
        assert tuple(table) == CATEGORIES
    assert len(set(charts.CATEGORY_COLORS.values())) == len(CATEGORIES)
    assert len({tuple(d) for d in charts.CATEGORY_DASHES.values()}) == len(CATEGORIES)
    assert len(set(charts.CATEGORY_SHAPES.values())) == len(CATEGORIES)


def _lightness(hex_colour: str) -> float:
    """CIE L* of an sRGB colour: what is left of it in a grey print."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 116 * (y ** (1 / 3) if y > 0.008856 else 7.787 * y + 16 / 116) - 16


def test_category_colours_stay_apart_in_grey():
    lightness = {c: _lightness(h) for c, h in charts.CATEGORY_COLORS.items()}
    for a, b in itertools.combinations(lightness, 2):
        assert abs(lightness[a] - lightness[b]) >= 7.5, (a, b, lightness)
    # neighbours in the stacking order differ more
    for a, b in itertools.pairwise(CATEGORIES):
        assert abs(lightness[a] - lightness[b]) >= 15, (a, b)


def test_category_scale_uses_reference_labels():
    ref = load_reference()
    scale = charts.category_scale().to_dict()
    assert scale["domain"] == [ref.category_label(c) for c in CATEGORIES]
    assert scale["range"] == [charts.CATEGORY_COLORS[c] for c in CATEGORIES]
    assert charts.category_label("outsourcing") == ref.category_label("outsourcing") == "外部委託"
    by_code = charts.category_scale(by="code", categories=["other", "outsourcing"]).to_dict()
    assert by_code == {
        "domain": ["other", "outsourcing"],
        "range": [charts.CATEGORY_COLORS["other"], charts.CATEGORY_COLORS["outsourcing"]],
    }
    assert (
        charts.category_dash_scale().to_dict()["range"][1] == charts.CATEGORY_DASHES["outsourcing"]
    )
    assert charts.category_shape_scale().to_dict()["range"][0] == "circle"
    with pytest.raises(ValueError, match="unknown category"):
        charts.category_scale(categories=["nope"])


def test_with_category_labels_polars_and_pandas():
    df = pl.DataFrame({"category": ["outsourcing", "mystery"]})
    assert charts.with_category_labels(df)["分類"].to_list() == ["外部委託", "mystery"]
    pdf = charts.with_category_labels(df.to_pandas(), name="label")
    assert pdf["label"].tolist() == ["外部委託", "mystery"]


# -- offline renderer ------------------------------------------------------------------------
def _spec_of(html: str) -> dict:
    specs = [text for attrs, text in scripts_of(html) if attrs.get("class") == "council-chart-spec"]
    assert len(specs) == 1
    return json.loads(specs[0])


def test_offline_renderer_output_is_self_contained_and_holds_the_spec(offline):
    chart = _chart()
    html = _html(chart)
    assert external_references(html) == []
    assert not re.search(r"(?<![\w-])(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html)
    assert 'data-council="vega-bundle"' in html
    assert "window.vegaEmbed=" in html  # the library itself, inline
    assert _spec_of(html) == json.loads(json.dumps(chart.to_dict()))


def test_data_cannot_break_out_of_the_spec_element(offline):
    df = pl.DataFrame(
        {"category": ["other", "outsourcing"], "n": [1, 2], "note": [PAYLOAD, "<!-- <script>"]}
    )
    html = _html(_chart(df))
    assert PAYLOAD not in html
    assert "<!--" not in html.split('data-council="vega-bundle"')[0]
    assert "<!-- <script>" not in html
    scripts = scripts_of(html)
    # bundle, spec, options, drawing code: nothing else became a script element
    assert [a.get("class") or a.get("data-council") for a, _ in scripts] == [
        "vega-bundle",
        "council-chart-spec",
        "council-chart-options",
        None,
    ]
    values = _spec_of(html)["datasets"]
    notes = [row["note"] for rows in values.values() for row in rows]
    assert notes == [PAYLOAD, "<!-- <script>"]


def test_escape_json_for_html():
    text = charts.escape_json_for_html({"a": "</script>&<!--\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script>&<!--\u2028"}
    assert json.loads(charts.escape_json_for_html([1.5, float("nan"), float("-inf")])) == [
        1.5,
        None,
        None,
    ]


def test_bundle_is_sent_once_per_session_unless_asked(offline, monkeypatch):
    first, second = _html(_chart()), _html(_chart())
    assert "vega-bundle" in first and "vega-bundle" not in second
    assert "council-vega-ready" in second  # the later chart waits for the library
    charts.reset_offline()
    assert "vega-bundle" in _html(_chart())
    # the cell that carried the bundle is run again: its old output is gone, so send it again
    cell = {"id": ("cell-1", 1)}
    monkeypatch.setattr(charts, "_current_cell", lambda: cell["id"])
    charts.reset_offline()
    assert "vega-bundle" in _html(_chart())
    assert "vega-bundle" not in _html(_chart())  # same execution, second chart
    cell["id"] = ("cell-2", 2)
    assert "vega-bundle" not in _html(_chart())
    cell["id"] = ("cell-1", 3)
    assert "vega-bundle" in _html(_chart())
    charts.enable_offline(embed="always")
    assert "vega-bundle" in _html(_chart()) and "vega-bundle" in _html(_chart())
    with pytest.raises(ValueError):
        charts.enable_offline(embed="sometimes")


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_bundle_is_valid_javascript(tmp_path):
    code = re.search(r"<script[^>]*>(.*)</script>", charts.javascript_bundle(), re.S).group(1)
    path = tmp_path / "bundle.js"
    path.write_text(code, encoding="utf-8")
    subprocess.run(["node", "--check", str(path)], check=True, capture_output=True)


def test_static_images():
    svg = charts.to_svg(_chart())
    assert svg.lstrip().startswith("<svg") and "テスト" in svg
    png = charts.to_png(_chart(), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
