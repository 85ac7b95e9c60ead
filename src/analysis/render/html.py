"""Executed notebook → one self-contained HTML file that works with no network.

nbconvert's ``lab`` template loads require.js, MathJax and mermaid from CDNs. The template here
extends it with those blocks left out, input cells and prompts hidden, and a Japanese font stack.
Charts are drawn by the inline JavaScript that :mod:`analysis.charts` puts into the first chart
output, so nothing is fetched when the file is opened. After export, any remaining reference to an
external resource is removed (``<script src>``, ``<link href>``) or defused (other ``src`` /
``href`` attributes are renamed ``data-external-*``), and :func:`external_references` checks the
result.

Left out on purpose: LaTeX math (MathJax) and mermaid diagrams, which need those CDN libraries;
stderr output (warnings), which stays in the saved ``.ipynb`` but not in the report.
"""

from __future__ import annotations

import copy
import re
import threading
from functools import lru_cache
from typing import Any

# Tags that hide things in the report (nbconvert's TagRemovePreprocessor conventions).
REMOVE_CELL_TAGS = ("remove-cell", "remove_cell", "parameters", "injected-parameters")
REMOVE_INPUT_TAGS = ("remove-input", "remove_input", "hide-input")
REMOVE_OUTPUT_TAGS = ("remove-output", "remove_output", "hide-output")

_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
body.jp-Notebook {
  --jp-content-font-family: %(font)s;
  --jp-ui-font-family: %(font)s;
  font-family: %(font)s;
  max-width: 1100px;
  margin: 0 auto;
  padding: 16px 24px 48px;
}
.jp-RenderedHTMLCommon { font-size: 15px; line-height: 1.7; }
.jp-RenderedHTMLCommon table { font-size: 13px; }
.jp-OutputArea-prompt, .jp-InputPrompt { display: none; }
@media print {
  body.jp-Notebook { max-width: none; padding: 0; }
  .council-chart, .jp-RenderedHTMLCommon tr { break-inside: avoid; }
  .vega-embed details { display: none; }
}
</style>
{%- endblock extra_css -%}
"""

_RESOURCE_ATTR = re.compile(
    r"""(?<![\w-])(src|href|srcset|poster|data|action|formaction)(\s*=\s*)(["']?)\s*((?:https?:)?//)""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(
    r"""(@import\s+(?:url\()?|url\()\s*(["']?)\s*((?:https?:)?//)""", re.IGNORECASE
)
_EXTERNAL_SCRIPT = re.compile(
    r"""<script\b[^>]*?\ssrc\s*=\s*["']?\s*(?:https?:)?//[^>]*>.*?</script\s*>""",
    re.IGNORECASE | re.DOTALL,
)
_EXTERNAL_LINK = re.compile(
    r"""<link\b[^>]*?\shref\s*=\s*["']?\s*(?:https?:)?//[^>]*>""", re.IGNORECASE
)
# Contents of <script> and <style> elements: code, not markup (the chart bundle is in here).
_RAW_OPEN = re.compile(r"<(script|style)\b[^>]*>", re.IGNORECASE)
_RAW_CLOSE = {
    "script": re.compile(r"</script\s*>", re.IGNORECASE),
    "style": re.compile(r"</style\s*>", re.IGNORECASE),
}


def _split_markup(html: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pieces: ``"markup"``, or the inside of a ``"script"``/``"style"``.

    The pieces one lazy regex over the page would find (each tag's inside up to the nearest
    closing tag of its kind), found faster: each opening tag, then the first closing tag of its
    kind after it (a literal search, not a lazy match across the chart bundle); an opening tag
    without one is markup, and the search goes on after its ``<``."""
    pieces: list[tuple[str, str]] = []
    pos = start = 0
    while (m := _RAW_OPEN.search(html, start)) is not None:
        kind = m.group(1).lower()
        close = _RAW_CLOSE[kind].search(html, m.end())
        if close is None:
            start = m.start() + 1
            continue
        pieces.append(("markup", html[pos : m.end()]))
        pieces.append((kind, html[m.end() : close.start()]))
        pos = close.start()
        start = close.end()
    pieces.append(("markup", html[pos:]))
    return pieces


def external_references(html: str) -> list[str]:
    """Every reference that would make a browser fetch from the network (empty when clean).

    Looks at ``src``/``href``/``srcset``/… attributes in the markup and ``url(...)`` /
    ``@import`` in style sheets and style attributes, for ``http://``, ``https://`` and
    protocol-relative ``//`` addresses. JavaScript code is not searched: the chart bundle mentions
    URLs in strings but never loads them.
    """
    found = []
    for kind, text in _split_markup(html):
        if kind == "markup":
            for m in _RESOURCE_ATTR.finditer(text):
                found.append(text[m.start() : m.end() + 60].split(">")[0])
        if kind in ("markup", "style"):
            for m in _CSS_URL.finditer(text):
                found.append(text[m.start() : m.end() + 60].split(")")[0])
    return sorted(set(found))


def _defuse_css(text: str) -> str:
    return _CSS_URL.sub(lambda m: f"{m.group(1)}{m.group(2)}about:blank#", text)


def strip_external(html: str) -> str:
    """Remove external scripts and style sheets; defuse other external ``src``/``href``.

    A link to a web page stays readable (its text is kept, the address moves to
    ``data-external-href``) but is not followed or fetched.
    """
    html = _EXTERNAL_SCRIPT.sub("", html)
    out = []
    for kind, text in _split_markup(html):
        if "//" not in text:  # every pattern here needs an address's "//"
            pass
        elif kind == "markup":
            text = _EXTERNAL_LINK.sub("", text)
            text = _RESOURCE_ATTR.sub(
                lambda m: f"data-external-{m.group(1)}{m.group(2)}{m.group(3)}{m.group(4)}", text
            )
            text = _defuse_css(text)
        elif kind == "style":
            text = _defuse_css(text)
        out.append(text)
    return "".join(out)


def _report_copy(nb: Any) -> Any:
    """A copy of ``nb`` with what the report should not show removed."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(REMOVE_CELL_TAGS):
            continue
        if cell.cell_type == "code":
            if tags & set(REMOVE_OUTPUT_TAGS):
                cell.outputs = []
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
            if not cell.outputs:
                continue  # nothing to show: no empty box in the report
        cells.append(cell)
    nb.cells = cells
    return nb


_FOCUSABLE = re.compile(
    r"""<div\b(?=[^>]*\sclass="[^"]*(?<![\w-])(?:jp-Cell-inputWrapper|jp-OutputArea-output)"""
    r"""(?![\w-]))([^>]*?)(\s*/?)>""",
    re.IGNORECASE,
)
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt\s*=)([^>]*?)(\s*/?)>", re.IGNORECASE)
NO_ALT_TEXT = "No description has been provided for this image"  # nbconvert's wording


_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));")


def _char(m: re.Match) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    if 0x80 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return m.group(0)  # markup characters (&, <, >, quotes) and invalid codes stay references


def _accessible(page: str) -> str:
    """What nbconvert's HTML exporter does after rendering, without re-parsing the page:
    ``tabindex="0"`` on input and output areas (keyboard users can reach them), an ``alt``
    text on images without one, and non-ASCII characters as characters (heading anchors are
    written with numeric references such as ``&#20250;``). Only markup is touched, never the
    inside of scripts and style sheets."""
    out = []
    for kind, text in _split_markup(page):
        if kind == "markup":
            text = _FOCUSABLE.sub(r'<div\1 tabindex="0"\2>', text)
            text = _IMAGE_WITHOUT_ALT.sub(rf'<img\1 alt="{NO_ALT_TEXT}"\2>', text)
            text = _CHAR_REF.sub(_char, text)
        out.append(text)
    return "".join(out)


_exporter_lock = threading.Lock()

# The first character of every match of nbconvert's math rules ($$…$$, \\[…\\], $…$, \\(…\\),
# \begin{…}…\end{…}): declared to mistune, which then skips from one possible start character to
# the next instead of searching every table cell with all its rules (the same tokens, sooner).
_MATH_START = {
    "block_math_tex": "$",
    "block_math_latex": "\\",
    "inline_math_tex": "$",
    "inline_math_latex": "\\",
    "latex_environment": "\\",
}
_LOOKBEHIND = re.compile(r"^\(\?<!(?:\[[^\]]*\]|\\\\|[^)])+\)")


def _starts_with(pattern: str, char: str) -> bool:
    """Whether every match of the rule ``pattern`` begins with the literal ``char``: the pattern
    (inside nbconvert's ``(?s:…)``, after any lookbehind) starts with that escaped character."""
    body = pattern[4:-1] if pattern.startswith("(?s:") and pattern.endswith(")") else pattern
    body = _LOOKBEHIND.sub("", body)
    literal = re.escape(char)
    return (
        "|" not in body
        and body.startswith(literal)
        and body[len(literal) : len(literal) + 1] not in ("?", "*", "{")
    )


def declare_math_start(inline: Any) -> Any:
    """Declare the start characters of nbconvert's math rules on a mistune inline parser, each
    after checking that its pattern does begin with that character (else nothing changes)."""
    rules = getattr(inline, "rules", ())
    spec = getattr(inline, "specification", {})
    declared = getattr(inline, "_rule_start_chars", None)
    if declared is None:
        return inline
    for name, char in _MATH_START.items():
        if name in rules and _starts_with(spec.get(name, ""), char):
            declared[name] = {char}
    inline._fast_trigger_chars = None
    return inline


@lru_cache(maxsize=1)
def _exporter() -> Any:
    """The HTML exporter, made once: its templates are compiled on first use, then reused."""
    from jinja2 import DictLoader, pass_context
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    from analysis.charts import FONT

    class ReportExporter(HTMLExporter):
        """nbconvert's HTML exporter without its last step, a BeautifulSoup parse of the whole
        page (the slowest step for a long report) that only adds ``tabindex`` to outputs and
        ``alt`` to images: :func:`_accessible` adds them to the markup directly."""

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            # as HTMLExporter.from_notebook_node, up to the BeautifulSoup pass
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _accessible(page), resources

        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            """HTMLExporter.markdown2html, with the math rules' start characters declared
            (:func:`declare_math_start`)."""
            cell = context.get("cell", {})
            renderer = IPythonRenderer(
                escape=False,
                attachments=cell.get("attachments", {}),
                embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            markdown = MarkdownWithMath(renderer=renderer)
            declare_math_start(markdown.inline)
            return markdown.render(source)

    template = _TEMPLATE.replace("%(font)s", FONT)
    return ReportExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"council_report.html.j2": template})],
        template_file="council_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="ja",
        embed_images=True,
        sanitize_html=False,
    )


def notebook_to_html(nb: Any, title: str, info: Any = None) -> str:
    """The report HTML for an executed notebook: inputs hidden, nothing external.

    The page is finished by :func:`analysis.render.page.finish_page`: the Japanese font subset
    embedded, the A4 print sheet, and a title block from ``info`` (a
    :class:`~analysis.render.page.PageInfo`; by default just the title).
    """
    from analysis.render.page import PageInfo, finish_page

    report = _report_copy(nb)
    report.metadata["title"] = title
    with _exporter_lock:  # one exporter for the process; it keeps state while converting
        body, _ = _exporter().from_notebook_node(report, resources={"metadata": {"name": title}})
    return finish_page(strip_external(body), info or PageInfo(title))
