"""The project's chart look and an offline chart renderer for JupyterLab and HTML reports.

Importing this module registers and enables the Altair theme ``"council"``:

- a Japanese font stack (:data:`FONT`) and sizes readable on a projector and on paper;
- one fixed colour per consultation category (:data:`CATEGORY_COLORS`), chosen so the eight
  colours are also eight distinct lightness steps when printed in grey, with stroke-dash
  (:data:`CATEGORY_DASHES`) and point-shape (:data:`CATEGORY_SHAPES`) alternatives for lines and
  points; :func:`category_scale` and friends put them on a chart;
- the Japanese number and date locale.

The analysts' machines are on a closed network: Altair's default output loads Vega from a CDN and
shows nothing there. :func:`enable_offline` switches to the renderer ``"council_offline"``, which
writes the Vega / Vega-Lite / vega-embed JavaScript into the output itself (see
:func:`chart_html` for the design). :func:`to_svg` and :func:`to_png` render a chart without a
browser, for print and slides.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

import altair as alt

from analysis.schema import CATEGORIES

__all__ = [
    "CATEGORY_COLORS",
    "CATEGORY_DASHES",
    "CATEGORY_SHAPES",
    "FONT",
    "OFFLINE_RENDERER",
    "THEME",
    "category_dash_scale",
    "category_label",
    "category_labels",
    "category_scale",
    "category_shape_scale",
    "chart_html",
    "enable_offline",
    "escape_json_for_html",
    "javascript_bundle",
    "offline_renderer",
    "reset_offline",
    "to_png",
    "to_svg",
    "with_category_labels",
]

THEME = "council"
OFFLINE_RENDERER = "council_offline"

FONT = (
    '"Noto Sans CJK JP", "Noto Sans JP", IPAexGothic, "Hiragino Sans", "Yu Gothic", Meiryo, '
    "sans-serif"
)

# One colour per category, in the order of analysis.schema.CATEGORIES. Each has its own CIE L*
# (28, 79, 45, 62, 36.5, 70.5, 53.5, 88): at least 8 L* apart from every other, and neighbours in
# the canonical (stacking) order are at least 17 apart, so a grey print still tells them apart.
CATEGORY_COLORS: dict[str, str] = {
    "system_change": "#05427d",  # dark blue, L* 28
    "outsourcing": "#ffb548",  # orange, L* 79
    "collection_from_third_party": "#217a38",  # green, L* 45
    "use_outside_purpose": "#ae82e1",  # lilac, L* 62
    "external_provision": "#9f215f",  # wine, L* 36.5
    "online_connection": "#16bece",  # cyan, L* 70.5
    "sensitive_collection": "#d9562b",  # vermilion, L* 53.5
    "other": "#dddddd",  # light grey, L* 88
}
# Stroke-dash patterns (Vega strokeDash arrays) for lines, when colour alone is not enough.
CATEGORY_DASHES: dict[str, list[int]] = {
    "system_change": [1, 0],
    "outsourcing": [8, 4],
    "collection_from_third_party": [2, 3],
    "use_outside_purpose": [10, 3, 2, 3],
    "external_provision": [4, 4],
    "online_connection": [12, 3, 2, 3, 2, 3],
    "sensitive_collection": [1, 5],
    "other": [16, 6],
}
# Point shapes (Vega symbol shapes) for scatter and dot plots.
CATEGORY_SHAPES: dict[str, str] = {
    "system_change": "circle",
    "outsourcing": "square",
    "collection_from_third_party": "triangle-up",
    "use_outside_purpose": "diamond",
    "external_provision": "cross",
    "online_connection": "triangle-down",
    "sensitive_collection": "triangle-right",
    "other": "triangle-left",
}
assert tuple(CATEGORY_COLORS) == CATEGORIES == tuple(CATEGORY_DASHES) == tuple(CATEGORY_SHAPES)

_SIZES = {"title": 17, "subtitle": 13, "axis_title": 13, "label": 12, "legend_title": 13}
_EMBED_I18N = {
    "COMPILED_ACTION": "Vega にコンパイル",
    "EDITOR_ACTION": "Vega Editor で開く",
    "PNG_ACTION": "PNG 画像として保存",
    "SOURCE_ACTION": "仕様を表示",
    "SVG_ACTION": "SVG 画像として保存",
}


# -- reference labels ------------------------------------------------------------------------
def category_label(code: str) -> str:
    """The Japanese label of a category code, from ``data/reference/categories.csv``."""
    from analysis.reference import load_reference

    return load_reference().category_label(code)


def category_labels() -> dict[str, str]:
    """``{code: Japanese label}`` for every category, in the canonical order."""
    return {code: category_label(code) for code in CATEGORIES}


def with_category_labels(df, column: str = "category", name: str = "分類"):
    """Add a column ``name`` holding the Japanese label of ``column`` (polars or pandas)."""
    labels = category_labels()
    if hasattr(df, "with_columns"):  # polars
        import polars as pl

        return df.with_columns(
            pl.col(column).replace_strict(labels, default=pl.col(column)).alias(name)
        )
    out = df.copy()
    out[name] = out[column].map(lambda c: labels.get(c, c))
    return out


def _domain(by: Literal["label", "code"], categories: Iterable[str] | None) -> list[str]:
    codes = list(categories) if categories is not None else list(CATEGORIES)
    unknown = [c for c in codes if c not in CATEGORY_COLORS]
    if unknown:
        raise ValueError(f"unknown category code(s): {', '.join(unknown)}")
    if by == "code":
        return codes
    if by == "label":
        return [category_label(c) for c in codes]
    raise ValueError(f"by must be 'label' or 'code', not {by!r}")


def category_scale(
    by: Literal["label", "code"] = "label", categories: Iterable[str] | None = None
) -> alt.Scale:
    """Colour scale with the fixed category colours.

    ``by="label"`` (default) when the encoded field holds the Japanese labels (see
    :func:`with_category_labels`), ``by="code"`` when it holds the codes. ``categories`` limits
    the legend to some codes (default: all eight, in the canonical order).
    """
    codes = list(categories) if categories is not None else list(CATEGORIES)
    return alt.Scale(domain=_domain(by, codes), range=[CATEGORY_COLORS[c] for c in codes])


def category_dash_scale(
    by: Literal["label", "code"] = "label", categories: Iterable[str] | None = None
) -> alt.Scale:
    """``strokeDash`` scale with one fixed dash pattern per category."""
    codes = list(categories) if categories is not None else list(CATEGORIES)
    return alt.Scale(domain=_domain(by, codes), range=[CATEGORY_DASHES[c] for c in codes])


def category_shape_scale(
    by: Literal["label", "code"] = "label", categories: Iterable[str] | None = None
) -> alt.Scale:
    """``shape`` scale with one fixed point shape per category."""
    codes = list(categories) if categories is not None else list(CATEGORIES)
    return alt.Scale(domain=_domain(by, codes), range=[CATEGORY_SHAPES[c] for c in codes])


# -- theme -----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _locale() -> dict[str, Any]:
    import vl_convert as vlc

    return {
        "number": vlc.get_format_locale("ja-JP"),
        "time": vlc.get_time_format_locale("ja-JP"),
    }


@alt.theme.register(THEME, enable=True)
def council_theme() -> alt.theme.ThemeConfig:
    """The project theme (enabled when this module is imported)."""
    s = _SIZES
    axis = {
        "labelFontSize": s["label"],
        "titleFontSize": s["axis_title"],
        "titleFontWeight": "normal",
        "labelLimit": 260,
        "titleLimit": 400,
        "gridColor": "#e3e3e3",
        "domainColor": "#666666",
        "tickColor": "#666666",
        "labelColor": "#222222",
        "titleColor": "#222222",
        "labelSeparation": 6,
    }
    # Japanese reads badly on its side: the y-axis title stands level, above the axis.
    axis_y = {
        "titleAngle": 0,
        "titleAlign": "right",
        "titleAnchor": "end",
        "titleBaseline": "bottom",
        "titleX": 0,
        "titleY": -8,
    }
    return {
        "background": "white",
        "config": {
            "font": FONT,
            "locale": _locale(),
            "title": {
                "fontSize": s["title"],
                "subtitleFontSize": s["subtitle"],
                "anchor": "start",
                "color": "#111111",
                "subtitleColor": "#444444",
                "offset": 10,
            },
            "axis": axis,
            "axisY": axis_y,
            "legend": {
                "labelFontSize": s["label"],
                "titleFontSize": s["legend_title"],
                "titleFontWeight": "normal",
                "labelLimit": 320,
                "symbolSize": 140,
                "symbolStrokeWidth": 2,
            },
            "header": {"labelFontSize": s["axis_title"], "titleFontSize": s["axis_title"]},
            "text": {"fontSize": s["label"]},
            "view": {"continuousWidth": 520, "continuousHeight": 320, "stroke": None},
            "range": {"category": list(CATEGORY_COLORS.values())},
            # A thin dark outline keeps light bars visible on paper.
            "bar": {"stroke": "#4d4d4d", "strokeWidth": 0.5},
            "arc": {"stroke": "white", "strokeWidth": 1},
            "line": {"strokeWidth": 2.5},
            "point": {"filled": True, "size": 80},
        },
    }


# -- offline renderer ------------------------------------------------------------------------
def _vl_version() -> str | None:
    """vl-convert's name for the Vega-Lite version Altair writes (``"6.4"``), if it has it."""
    import vl_convert as vlc

    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return version if version in vlc.get_vegalite_versions() else None


_READY_EVENT = "council-vega-ready"


@lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed JavaScript as one ``<script>`` element (~0.9 MB).

    Built by vl-convert for the Vega-Lite version Altair writes. The code runs inside a function
    (so it can be included more than once on a page without redeclaring names), does nothing if
    ``window.vegaEmbed`` already exists, and then fires the window event ``council-vega-ready``
    that charts waiting for the library listen to.
    """
    import vl_convert as vlc

    code = vlc.javascript_bundle(vl_version=_vl_version())
    # Library code has no reason to contain "</script" or "<!--" (today's has neither); should a
    # string in a future bundle hold one, escape it so the element cannot end early.
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    code = code.replace("<!--", "<\\x21--")
    return (
        '<script data-council="vega-bundle">\n'
        "(function () {\n"
        "if (!window.vegaEmbed) {\n"
        f"{code}\n"
        "}\n"
        f'window.dispatchEvent(new Event("{_READY_EVENT}"));\n'
        "})();\n"
        "</script>"
    )


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def escape_json_for_html(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` element that no data can break out of.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026`` (and U+2028/U+2029
    are escaped), so text from the minutes such as ``</script>`` or ``<!--`` cannot end the
    element or change how the HTML parser reads it. ``JSON.parse`` gives back the exact text.
    NaN and infinity, which JSON cannot hold, become null.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or infinity (polars data keeps them): JSON has only null
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_CHART_SCRIPT = """<script>
(function (script) {
  var root = script.parentNode;
  var view = root.querySelector(".council-chart-view");
  var spec = JSON.parse(root.querySelector(".council-chart-spec").textContent);
  var options = JSON.parse(root.querySelector(".council-chart-options").textContent);
  var done = false;
  function draw() {
    if (done) { return; }
    done = true;
    window.vegaEmbed(view, spec, options).catch(function (err) {
      view.textContent = "グラフを描画できませんでした: " + err;
    });
  }
  if (window.vegaEmbed) {
    draw();
  } else {
    window.addEventListener("%(event)s", draw, {once: true});
    setTimeout(function () {
      if (!done) {
        view.textContent = "グラフ描画用のスクリプトがこのページにありません。"
          + "ノートブックでは最初のグラフのセルを実行し直してください。";
      }
    }, 15000);
  }
})(document.currentScript);
</script>"""


class _OfflineState:
    """Which output of this kernel session carries the JavaScript bundle."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.carrier: tuple[str | None, int | None] | None = None


_state = _OfflineState()


def _current_cell() -> tuple[str | None, int | None]:
    """(cell id, execution count) of the cell being run, when inside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the project
        return None, None
    shell = get_ipython()
    if shell is None:
        return None, None
    cell_id = None
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        try:
            parent = kernel.get_parent("shell")
        except TypeError:  # older ipykernel: get_parent() takes no channel
            parent = kernel.get_parent()
        except Exception:
            parent = {}
        cell_id = (parent or {}).get("metadata", {}).get("cellId")
    return cell_id, getattr(shell, "execution_count", None)


def _needs_bundle(embed: str) -> bool:
    if embed == "always":
        return True
    cell = _current_cell()
    with _state.lock:
        carrier = _state.carrier
        rerun = (
            carrier is not None
            and carrier[0] is not None
            and carrier[0] == cell[0]
            and carrier[1] != cell[1]
        )
        if carrier is None or rerun:
            _state.carrier = cell
            return True
    return False


def reset_offline() -> None:
    """Forget that the bundle was sent: the next chart output carries it again.

    The report renderer calls this before each report it runs in a shared kernel.
    """
    with _state.lock:
        _state.carrier = None


def _embed_options(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "renderer": "svg",
        "mode": "vega-lite",
        # Saving as SVG/PNG works offline; the editor and source links are no use on LGWAN.
        "actions": {"export": True, "source": False, "compiled": False, "editor": False},
        "i18n": _EMBED_I18N,
        "formatLocale": _locale()["number"],
        "timeFormatLocale": _locale()["time"],
    }
    options.update(extra or {})
    return options


def chart_html(
    spec: Mapping[str, Any],
    *,
    include_bundle: bool = True,
    embed_options: Mapping[str, Any] | None = None,
) -> str:
    """HTML that draws a Vega-Lite ``spec`` with no network access.

    Layout, all inside one ``<div class="council-chart">``:

    1. ``<div class="council-chart-view">`` that vega-embed draws into;
    2. when ``include_bundle``: the JavaScript bundle (:func:`javascript_bundle`);
    3. the spec and the embed options as ``<script type="application/json">`` elements, escaped
       with :func:`escape_json_for_html` (browsers never run them; data cannot break out);
    4. a small script that finds its siblings through ``document.currentScript``, and draws at
       once if ``window.vegaEmbed`` exists, or else when the bundle announces itself with the
       ``council-vega-ready`` event (a chart above it on the page may still be loading); after
       15 s without the library it shows a message in Japanese instead of a blank space.
    """
    parts = [
        '<div class="council-chart" style="max-width:100%;overflow-x:auto">',
        '<div class="council-chart-view"></div>',
    ]
    if include_bundle:
        parts.append(javascript_bundle())
    parts += [
        '<script type="application/json" class="council-chart-spec">',
        escape_json_for_html(dict(spec)),
        "</script>",
        '<script type="application/json" class="council-chart-options">',
        escape_json_for_html(_embed_options(embed_options)),
        "</script>",
        _CHART_SCRIPT % {"event": _READY_EVENT},
        "</div>",
    ]
    return "\n".join(parts)


def _describe(spec: Mapping[str, Any]) -> str:
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return f"<グラフ: {title}>" if title else "<グラフ>"


def offline_renderer(spec: dict, embed: str = "once", **metadata: Any) -> dict[str, str]:
    """Altair renderer ``council_offline``: a ``text/html`` bundle that needs no network.

    ``embed="once"`` (default) puts the ~0.9 MB JavaScript bundle into the first chart output of
    the kernel session only, and again when the cell that carried it is run again (its old output
    is then gone); later charts wait for it. A report rendered top to bottom therefore has the
    bundle in its first chart. ``embed="always"`` puts it into every chart output.
    """
    if embed not in ("once", "always"):
        raise ValueError(f"embed must be 'once' or 'always', not {embed!r}")
    html = chart_html(
        spec,
        include_bundle=_needs_bundle(embed),
        embed_options=metadata.get("embed_options"),
    )
    return {"text/html": html, "text/plain": _describe(spec)}


alt.renderers.register(OFFLINE_RENDERER, offline_renderer)


def enable_offline(embed: Literal["once", "always"] = "once", **embed_options: Any) -> None:
    """Draw charts with the offline renderer (``council_offline``) from now on.

    Call it once near the top of a notebook. ``embed_options`` go to vega-embed (for example
    ``actions=False``).
    """
    if embed not in ("once", "always"):
        raise ValueError(f"embed must be 'once' or 'always', not {embed!r}")
    options: dict[str, Any] = {"embed": embed}
    if embed_options:
        options["embed_options"] = embed_options
    alt.renderers.enable(OFFLINE_RENDERER, **options)


# -- static images ---------------------------------------------------------------------------
_fonts_registered = False


def _register_fonts() -> None:
    """Let vl-convert use the fonts in ``COUNCIL_FONT_DIRS`` (folders, ``os.pathsep``-separated).

    vl-convert already sees the system fonts; this is for a folder of Japanese fonts that is not
    installed system-wide.
    """
    global _fonts_registered
    if _fonts_registered:
        return
    import vl_convert as vlc

    for folder in filter(None, os.environ.get("COUNCIL_FONT_DIRS", "").split(os.pathsep)):
        if os.path.isdir(folder):
            vlc.register_font_directory(folder)
    from analysis.render.fonts import register_chart_fonts

    register_chart_fonts()
    _fonts_registered = True


def _spec(chart: alt.TopLevelMixin | Mapping[str, Any]) -> dict[str, Any]:
    return chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)


def to_svg(chart: alt.TopLevelMixin | Mapping[str, Any]) -> str:
    """The chart as an SVG document (text), rendered by vl-convert without a browser."""
    import vl_convert as vlc

    _register_fonts()
    return vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version())


def to_png(chart: alt.TopLevelMixin | Mapping[str, Any], *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (``scale=2`` suits slides and print), rendered by vl-convert."""
    import vl_convert as vlc

    _register_fonts()
    return vlc.vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale)
