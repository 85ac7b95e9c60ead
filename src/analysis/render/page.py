"""The finishing touches every page gets: an embedded font, an A4 print sheet and a title block.

:func:`finish_page` takes a complete HTML document (a report, the run index) and

- embeds a subset of the Japanese font (:func:`analysis.render.fonts.font_face_css`), so the
  text and the charts look the same on any terminal and in any PDF, with nothing installed;
- adds the print style sheet (:func:`print_css`): A4 portrait, margins, a running head with the
  title and the data version, page numbers ``n / N`` in the bottom margin (CSS margin boxes,
  which Chromium draws since version 131), no chart, figure or table row split across pages,
  table heads repeated on each page, and the interactive bits (chart menus, buttons) hidden;
- puts a title block at the top of the body: the title, what the page was made for (the
  parameters), the data version and when it was made — on screen and on paper.

Every text that goes in is escaped (HTML, or CSS string escapes inside the style sheet), so a
title made from the minutes cannot add markup or end the style element.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from analysis.render.fonts import FAMILY, LICENSE_NOTE, font_face_css

JST = timezone(timedelta(hours=9), "JST")
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


@dataclass
class PageInfo:
    """What the title block and the running head say about a page."""

    title: str
    details: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (label, value) pairs
    data_version: str | None = None
    generated: datetime | None = None

    def generated_text(self) -> str:
        when = self.generated or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (with quotes) that cannot end the string or the sheet."""
    out = []
    for ch in str(text):
        if ch in '\\"<>&' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def print_css(info: PageInfo | None) -> str:
    """The A4 print style sheet (see the module docstring)."""
    head_left = css_string(info.title) if info else '""'
    right = f"データ版 {info.data_version}" if info and info.data_version else ""
    head_right = css_string(right)
    return f"""
@page {{
  size: A4 portrait;
  margin: 18mm 14mm 18mm 14mm;
  @top-left {{ content: {head_left}; font-size: 8pt; color: #555; }}
  @top-right {{ content: {head_right}; font-size: 8pt; color: #555; }}
  @bottom-center {{ content: counter(page) " / " counter(pages); font-size: 9pt; color: #333; }}
}}
@media print {{
  html, body {{ background: #fff !important; }}
  body, body.jp-Notebook {{ max-width: none !important; margin: 0 !important;
    padding: 0 !important; font-size: 10.5pt; }}
  /* JupyterLab keeps each output on one page: a long table would leave a blank page. */
  .jp-OutputArea-child, .jp-Cell-outputWrapper {{ break-inside: auto !important; }}
  .council-chart, .council-chart-view, .vega-embed, svg, canvas, img, figure, pre,
  blockquote, tr, li, .council-keep, .jp-RenderedImage, .jp-RenderedSVG {{
    break-inside: avoid; page-break-inside: avoid; }}
  thead {{ display: table-header-group; }}
  tfoot {{ display: table-footer-group; }}
  h1, h2, h3, h4, h5 {{ break-after: avoid; page-break-after: avoid; }}
  .council-chart {{ overflow: visible !important; }}
  svg, img, canvas {{ max-width: 100% !important; }}
  .vega-embed details, .vega-actions, .council-no-print, button, input, select, textarea,
  .jp-OutputArea-prompt, .jp-InputPrompt {{ display: none !important; }}
  a {{ color: inherit; text-decoration: none; }}
  .council-titleblock {{ border-bottom: 1.5pt solid #000; }}
  table {{ border-collapse: collapse; }}
}}
"""


_TITLE_CSS = f"""
html {{ font-family: "{FAMILY}", sans-serif; }}
.council-titleblock {{ font-family: "{FAMILY}", sans-serif; border-bottom: 2px solid #333;
  margin: 0 0 16px; padding: 8px 0 6px; color: #222; }}
.council-titleblock-title {{ font-size: 20px; font-weight: bold; margin: 0 0 4px; }}
.council-titleblock dl {{ display: flex; flex-wrap: wrap; gap: 2px 18px; margin: 0;
  font-size: 12px; color: #444; }}
.council-titleblock dt {{ font-weight: bold; }}
.council-titleblock dt::after {{ content: "："; }}
.council-titleblock dd {{ margin: 0 0 0 -14px; }}
.council-fontnote {{ font-size: 10px; color: #777; margin-top: 24px; }}
"""


def title_block(info: PageInfo) -> str:
    """The title block's HTML (escaped)."""
    rows = list(info.details)
    if info.data_version:
        rows.append(("データ版", info.data_version))
    rows.append(("作成", info.generated_text()))
    items = "".join(
        f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows
    )
    return (
        '<header class="council-titleblock">'
        f'<div class="council-titleblock-title">{html.escape(info.title)}</div>'
        f"<dl>{items}</dl></header>"
    )


def visible_text(document: str) -> str:
    """Every character of ``document`` a reader might see, for choosing font glyphs.

    Tags are dropped but script and style contents kept (chart specs are JSON inside scripts:
    their text is drawn), and character references decoded.
    """
    return html.unescape(_TAGS.sub(" ", document)) + document


def finish_page(
    document: str,
    info: PageInfo | None = None,
    *,
    print_sheet: bool = True,
    titleblock: bool = True,
    extra_css: str = "",
) -> str:
    """``document`` with the font, the print sheet and the title block put in (see module)."""
    additions = []
    block = title_block(info) if titleblock and info is not None else ""
    css = _TITLE_CSS + (print_css(info) if print_sheet else "") + extra_css
    font = font_face_css(visible_text(document + block) + LICENSE_NOTE)
    additions.append(f'<style data-council="page">\n{font}{css}</style>\n')
    head = "".join(additions)
    m = _HEAD_END.search(document)
    if m is None:
        document = (
            f'<!DOCTYPE html><html lang="ja"><head>{head}</head><body>{document}</body></html>'
        )
        m = _HEAD_END.search(document)
    else:
        document = document[: m.start()] + head + document[m.start() :]
    if block:
        b = _BODY_START.search(document, m.end() if m else 0)
        if b is not None:
            document = document[: b.end()] + "\n" + block + document[b.end() :]
    note = f'<p class="council-fontnote">{html.escape(LICENSE_NOTE)}</p>'
    close = document.lower().rfind("</body>")
    if close != -1 and font:
        document = document[:close] + note + document[close:]
    return document
