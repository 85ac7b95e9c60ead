"""Council slides: a reveal.js deck in ONE HTML file that works from a USB stick, no network.

Two kinds of deck:

- :func:`council_deck` — the deck for one meeting, made from the datasets
  (``council slides --meeting ID``, or a ``slides: council`` job in the schedule): a title
  slide, the agenda, one slide per 諮問 with its outcome, the questions by topic (a chart),
  safeguard coverage and gaps, and the follow-ups to track. Every slide has speaker notes
  (reveal's ``<aside class="notes">``; press ``s`` for the speaker view). ``pseudonymize``
  replaces the names of everyone in the attendance list, wherever they appear, by 委員A, 職員A, …
- :func:`notebook_to_slides` — an executed report notebook as slides (schedule format
  ``slides``): every heading starts a new slide; charts draw with the inline chart library.

reveal.js (5.x, MIT) is vendored in ``assets/reveal/`` (see ``assets/reveal/SOURCE.md``) and its
JavaScript and CSS are written into each deck, as is a subset of the Japanese font
(:mod:`analysis.render.fonts`). Charts in the council deck are inline SVG made by
:func:`analysis.charts.to_svg` (no JavaScript needed); their text uses the embedded font.

Everything that comes from the minutes is escaped with :func:`html.escape` — a ``<script>`` said
in a meeting shows as text. The PDF (``--pdf``, schedule format ``pdf``) is printed from a
*handout* version of the same slides: no JavaScript, one slide per A4 landscape page, page
numbers, no speaker notes (:func:`deck_document` with ``handout=True``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from analysis.pseudonymize import Pseudonyms
from analysis.render.page import PageInfo, finish_page
from analysis.report_helpers import (
    CONTROL_CATEGORY_JA,
    DECISION_JA,
    FOLLOW_UP_JA,
    SPEAKER_ROLE_JA,
    VOTE_JA,
)
from analysis.schema import COUNCIL_ROLES

ASSETS = Path(__file__).resolve().parent / "assets" / "reveal"
WIDTH, HEIGHT = 1280, 720
DECK_NAME = "council_slides-{meeting_id}"

# Japanese labels for codes: one table for reports and slides (analysis.report_helpers).
CONTROL_JA = {k: v for k, v in CONTROL_CATEGORY_JA.items() if k != "unclassified"}
ROLE_JA = {k: v for k, v in SPEAKER_ROLE_JA.items() if k in COUNCIL_ROLES}


class SlidesError(ValueError):
    """The deck cannot be made (an unknown meeting, missing tables)."""


def e(value: Any) -> str:
    """Text for HTML: escaped, None shown as a dash."""
    return "—" if value is None else html.escape(str(value))


# -- reveal.js document ----------------------------------------------------------------------
@lru_cache(maxsize=8)
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _script_safe(code: str) -> str:
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\x21--")


def _style_safe(css: str) -> str:
    css = re.sub(r"@import[^;]*;", "", css)  # the theme imports web fonts: never fetched
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


DECK_CSS = """
:root {
  --r-main-font: "Noto Sans CJK JP", "Noto Sans JP", IPAexGothic, "Hiragino Sans",
    "Yu Gothic", Meiryo, sans-serif;
  --r-heading-font: var(--r-main-font);
  --r-main-font-size: 34px;
  --r-heading-text-transform: none;
  --r-heading-letter-spacing: 0;
  --r-heading-font-weight: 700;
  --r-heading1-size: 58px;
  --r-heading2-size: 46px;
  --r-heading3-size: 36px;
  --r-main-color: #111;
  --r-heading-color: #0b2a4a;
  --r-link-color: #05427d;
}
.reveal .slides { text-align: left; }
.reveal .slides section { height: 100%; box-sizing: border-box; }
.reveal h1, .reveal h2, .reveal h3 { line-height: 1.25; word-break: normal; }
.reveal h2 { border-bottom: 4px solid #0b2a4a; padding-bottom: 8px; margin-bottom: 24px; }
.reveal p, .reveal li { line-height: 1.45; }
.reveal ul, .reveal ol { display: block; margin-left: 1.2em; }
.reveal .sub { font-size: 30px; color: #333; }
.reveal .meta { font-size: 22px; color: #555; }
.reveal .facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 28px;
  font-size: 30px; margin: 0; }
.reveal .facts dt { font-weight: 700; color: #0b2a4a; }
.reveal .facts dd { margin: 0; }
.reveal table { font-size: 24px; border-collapse: collapse; margin: 0; width: 100%; }
.reveal table th, .reveal table td { border: none; border-bottom: 1px solid #999;
  padding: 5px 10px; text-align: left; vertical-align: top; }
.reveal table th { background: #e8eef5; }
.reveal table td.num, .reveal table th.num { text-align: right; }
.reveal .mark-yes { color: #1b6b2f; font-weight: 700; }
.reveal .mark-no { color: #a11b1b; font-weight: 700; }
.reveal .agenda { columns: 2; column-gap: 48px; font-size: 28px; }
.reveal .agenda li { break-inside: avoid; margin-bottom: 6px; }
.reveal .chart svg { max-width: 100%; height: auto; max-height: 520px; }
.reveal .outcome { font-size: 40px; font-weight: 700; color: #1b6b2f; }
.reveal .outcome.attention { color: #a11b1b; }
.reveal .small { font-size: 22px; }
.reveal .jp-OutputArea-prompt, .reveal .jp-InputPrompt { display: none; }
.reveal .council-chart-view svg { max-width: 100%; height: auto; }
.reveal section.notebook-slide { font-size: 28px; overflow-y: auto; }
"""

_INIT = """
Reveal.initialize({
  hash: true,
  width: %(width)d,
  height: %(height)d,
  margin: 0.04,
  center: false,
  slideNumber: "c/t",
  transition: "none",
  controls: true,
  progress: true,
  showNotes: false,
  pdfMaxPagesPerSlide: 1,
  plugins: window.RevealNotes ? [RevealNotes] : []
});
"""


HANDOUT_CSS = """
html, body { margin: 0; background: #fff; }
.reveal, .reveal .slides { position: static !important; width: auto !important;
  height: auto !important; overflow: visible !important; transform: none !important;
  inset: auto !important; margin: 0 !important; pointer-events: auto !important; }
.reveal .slides > section { display: block !important; position: relative !important;
  width: %(width)dpx; min-height: %(height)dpx; height: auto !important; zoom: 0.8;
  box-sizing: border-box; padding: 24px 36px !important; break-after: page;
  transform: none !important; opacity: 1 !important; visibility: visible !important;
  top: auto !important; left: auto !important; overflow: visible; }
.reveal .slides section section { display: block !important; position: relative !important;
  transform: none !important; opacity: 1 !important; visibility: visible !important;
  top: auto !important; left: auto !important; height: auto !important; }
.reveal aside.notes, .reveal .controls, .reveal .progress { display: none !important; }
@page {
  size: A4 landscape;
  margin: 8mm 10mm 12mm 10mm;
  @top-left { content: %(title)s; font-size: 8pt; color: #555; }
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; }
}
"""


def deck_document(
    sections: Iterable[str], title: str, *, extra_css: str = "", handout: bool = False
) -> str:
    """A complete, self-contained reveal.js document from ``<section>`` HTML strings.

    ``handout=True`` gives the print version instead: no JavaScript, every slide one A4
    landscape page with the title and page numbers in the margins, speaker notes left out.
    """
    from analysis.render.page import css_string

    css = "".join(
        f"<style>\n{_style_safe(_asset(name))}\n</style>\n"
        for name in ("reset.css", "reveal.css", "theme-white.css")
    )
    body = "\n".join(sections)
    if handout:
        extra_css += HANDOUT_CSS % {"width": WIDTH, "height": HEIGHT, "title": css_string(title)}
        scripts = ""
    else:
        scripts = (
            f"<script>\n{_script_safe(_asset('reveal.js'))}\n</script>\n"
            f"<script>\n{_script_safe(_asset('notes.js'))}\n</script>\n"
            f"<script>{_INIT % {'width': WIDTH, 'height': HEIGHT}}</script>\n"
        )
    document = (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f"<title>{e(title)}</title>\n{css}"
        f"<style>\n{DECK_CSS}{extra_css}\n</style>\n</head>\n<body>\n"
        f'<div class="reveal"><div class="slides">\n{body}\n</div></div>\n'
        f"{scripts}</body>\n</html>\n"
    )
    return finish_page(document, None, print_sheet=False, titleblock=False)


def section(heading: str, body: str, notes: str = "", *, level: int = 2, cls: str = "") -> str:
    """One slide. ``heading`` is plain text (escaped here); ``body`` and ``notes`` are HTML."""
    attr = f' class="{e(cls)}"' if cls else ""
    aside = f'<aside class="notes">{notes}</aside>' if notes else ""
    return f"<section{attr}><h{level}>{e(heading)}</h{level}>{body}{aside}</section>"


def _facts(rows: Sequence[tuple[str, Any]]) -> str:
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows)
        + ("</dl>")
    )


def _table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: Sequence[int] = (), num=()
) -> str:
    """A table; cells are escaped except those in columns listed in ``raw`` (own HTML)."""
    head = "".join(
        f'<th class="num">{e(h)}</th>' if i in num else f"<th>{e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            text = str(v) if i in raw else e(v)
            cells.append(f'<td class="num">{text}</td>' if i in num else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items]


# -- the council deck ------------------------------------------------------------------------
def _jp_date(d: Any) -> str:
    if d is None:
        return "日付不明"
    return f"{d.year}年{d.month}月{d.day}日"


def _topic_labels() -> dict[str, str]:
    try:
        from analysis.topics import load_topic_rules

        return {r.code: r.label_ja for r in load_topic_rules()}
    except Exception:  # labels are a nicety: fall back to the codes
        return {}


def _topic_chart_svg(counts: Any) -> str:
    """Inline SVG bar chart of questions per topic (vl-convert; no JavaScript)."""
    import altair as alt

    from analysis import charts
    from analysis.render.fonts import register_chart_fonts

    register_chart_fonts()
    chart = (
        alt.Chart(counts.to_pandas() if hasattr(counts, "to_pandas") else counts)
        .mark_bar(color="#05427d")
        .encode(
            x=alt.X("件数:Q", axis=alt.Axis(tickMinStep=1, format="d"), title="質問の数"),
            y=alt.Y("論点:N", sort="-x", title=None),
            tooltip=["論点:N", "件数:Q"],
        )
        .properties(width=760, height=alt.Step(30))
        .configure_axis(labelFontSize=20, titleFontSize=20, labelLimit=440)
    )
    svg = charts.to_svg(chart)
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return svg


def council_deck(
    tables: Mapping[str, Any],
    meeting_id: str,
    *,
    pseudonymize: bool = False,
    data_version: str | None = None,
    generated: datetime | None = None,
    handout: bool = False,
) -> str:
    """The deck for ``meeting_id`` as one HTML document (see the module docstring).

    ``handout=True``: the print version (see :func:`deck_document`).
    """
    import polars as pl

    from analysis.analyses import (
        consultation_register,
        coverage_matrix,
        department_follow_ups,
        safeguard_gaps,
    )
    from analysis.render.versions import short

    meetings = tables["meetings"]
    known = meetings["meeting_id"].to_list()
    if meeting_id not in known:
        raise SlidesError(
            f"meeting {meeting_id!r} is not in the data (known: {', '.join(map(str, known))})"
        )
    meeting = meetings.filter(pl.col("meeting_id") == meeting_id).row(0, named=True)
    attendees = tables.get("attendees")
    if attendees is not None:
        attendees = attendees.filter(pl.col("meeting_id") == meeting_id)
    p = Pseudonyms.from_attendees(attendees, pseudonymize, list(meeting.get("signatories") or []))
    cons_all = tables["consultations"].filter(pl.col("meeting_id") == meeting_id).sort("seq")
    register = consultation_register(tables, meeting_id=meeting_id) if cons_all.height else None
    utterances = tables["utterances"].filter(pl.col("meeting_id") == meeting_id)
    when = generated or datetime.now(UTC)
    date_text = _jp_date(meeting["date"])
    heading = f"{meeting['fiscal_year']}年度 第{meeting['session_no']}回"
    sections: list[str] = []

    # 1. title
    present = []
    if attendees is not None and not attendees.is_empty():
        for name, role, is_present in attendees.select("name", "role", "present").iter_rows():
            if role in COUNCIL_ROLES and is_present:
                present.append(f"{p(name)}（{ROLE_JA.get(role, role)}）")
    info = PageInfo(meeting["title"] or heading, data_version=short(data_version), generated=when)
    sections.append(
        "<section>"
        f'<p class="sub">{e(meeting["municipality"])}</p>'
        f"<h1>{e(meeting['council'])}</h1>"
        f'<p class="sub">{e(heading)}（{e(date_text)}）</p>'
        f"<p>諮問 {e(meeting['consultations'])} 件・報告 {e(meeting['reports'])} 件</p>"
        f'<p class="meta">データ版 {e(info.data_version)} ・ 作成 {e(info.generated_text())}'
        + ("・ 氏名は仮名に置き換えています" if pseudonymize else "")
        + "</p>"
        '<aside class="notes">'
        f"<p>{e(meeting['title'])}</p>"
        f"<p>会場: {e(meeting['venue'])}　時間: {e(meeting['start_time'])}–"
        f"{e(meeting['end_time'])}　傍聴: {e(meeting['observers'])}</p>"
        f"<p>出席委員 {len(present)} 名: {e('、'.join(present) or '—')}</p>"
        "</aside></section>"
    )

    # 2. agenda
    items = [
        f"<li><strong>{e(r['label'])}</strong> {e(p(r['title']))}"
        + ("（報告）" if r["agenda_kind"] != "consultation" else "")
        + "</li>"
        for r in cons_all.iter_rows(named=True)
    ]
    sections.append(
        section(
            "次第",
            f'<ol class="agenda" style="list-style:none;margin-left:0">{"".join(items)}</ol>',
            "<p>諮問は記号（ア、イ…）の順に審議されました。まとめて審議された諮問は、"
            "結果も一括で示しています。</p>",
        )
    )

    # 3. each 諮問 and its outcome
    questions = utterances.filter(pl.col("kind") == "question")
    answers = utterances.filter(pl.col("kind") == "answer")
    summaries = dict(cons_all.select("consultation_id", "summary").iter_rows())
    for r in register.iter_rows(named=True) if register is not None else []:
        outcome = DECISION_JA.get(r["decision"], r["decision"])
        vote = VOTE_JA.get(r["vote"], r["vote"])
        attention = r["decision"] not in ("approved",)
        together = "・" in (r["deliberation_group"] or "")
        facts = [
            ("分類", r["category_ja"]),
            ("担当", " ".join(filter(None, [r["bureau"], "・".join(r["departments"] or [])]))),
            ("質疑", f"質問 {r['questions']} 件・意見 {r['remarks']} 件"),
            ("保護措置", f"{r['safeguard_measures']} 種類（記述 {r['safeguard_statements']} 件）"),
            ("追跡事項", f"{r['follow_ups']} 件"),
        ]
        if together:
            facts.append(("審議", f"{r['deliberation_group']} を一括審議"))
        if r["conditions"]:
            facts.append(("意見・条件", p(r["conditions"])))
        group_q = questions.filter(pl.col("deliberation_group") == r["deliberation_group"])
        notes = [f"<p>{e(p(summaries.get(r['consultation_id'])))}</p>"]
        if group_q.height:
            notes.append("<p>主な質問と回答:</p><ul>")
            for q in group_q.sort("seq").head(8).iter_rows(named=True):
                reply = answers.filter(
                    (pl.col("deliberation_group") == r["deliberation_group"])
                    & (pl.col("reply_to") == q["seq"])
                )
                text = f"<li>問: {e(p(q['text']))}"
                if reply.height:
                    text += f"<br>答: {e(p(reply['text'][0]))}"
                notes.append(text + "</li>")
            notes.append("</ul>")
        notes.append(
            f"<p>出典: 会議録 {e(r['source_line_start'])}–{e(r['source_line_end'])} 行</p>"
        )
        outcome_cls = "outcome attention" if attention else "outcome"
        sections.append(
            section(
                f"{r['label']}　{p(r['title'])}",
                f'<p class="{outcome_cls}">{e(outcome)}（{e(vote)}）</p>' + _facts(facts),
                "".join(notes),
                level=3,
            )
        )

    # 4. questions by topic
    topics = tables.get("question_topics")
    labels = _topic_labels()
    if topics is not None:
        topics = topics.filter(pl.col("meeting_id") == meeting_id).join(
            questions.select("deliberation_group", "seq", "text"),
            on=["deliberation_group", "seq"],
            how="inner",
        )
    if topics is not None and topics.height:
        counts = (
            topics.group_by("topic")
            .agg(pl.len().alias("件数"))
            .with_columns(
                pl.col("topic").replace_strict(labels, default=pl.col("topic")).alias("論点")
            )
            .sort(["件数", "topic"], descending=[True, False])
        )
        shown = counts.head(12)
        notes = ["<ul>"]
        for row in shown.iter_rows(named=True):
            examples = topics.filter(pl.col("topic") == row["topic"]).head(2)["text"].to_list()
            notes.append(
                f"<li>{e(row['論点'])}（{row['件数']} 件）: "
                + " ／ ".join(e(p(t)) for t in examples)
                + "</li>"
            )
        notes.append(
            "</ul><p>論点は topic_rules.yml の規則で質問に付けたものです"
            "（一つの質問に複数の論点が付くことがあります）。</p>"
        )
        sections.append(
            section(
                "質問の論点",
                f'<div class="chart">{_topic_chart_svg(shown.select("論点", "件数"))}</div>',
                "".join(notes),
            )
        )
    else:
        sections.append(section("質問の論点", "<p>この会議の質問に論点は付いていません。</p>"))

    # 5. safeguard coverage and gaps
    coverage = coverage_matrix(tables).filter(pl.col("meeting_id") == meeting_id)
    if coverage.height:
        rows = []
        for c in coverage.iter_rows(named=True):
            marks = [
                '<span class="mark-yes">✓</span>'
                if c[f"has_{k}"]
                else '<span class="mark-no">—</span>'
                for k in CONTROL_JA
            ]
            rows.append([c["label"], *marks, c["statements"]])
        pages = _chunks(rows, 10)
        for i, chunk in enumerate(pages):
            sections.append(
                section(
                    "保護措置の網羅状況" + (f"（{i + 1}）" if len(pages) > 1 else ""),
                    _table(
                        ["諮問", *CONTROL_JA.values(), "記述数"],
                        chunk,
                        raw=(1, 2, 3, 4),
                        num=(5,),
                    ),
                    "<p>✓ はその区分の保護措置が会議録に一つ以上述べられていること、— は述べ"
                    "られていないことを示します（安全管理措置の4区分）。</p>",
                )
            )
        gaps = safeguard_gaps(tables).filter(pl.col("meeting_id") == meeting_id)
        gap_rows = [
            [
                g["label"],
                "記述なし"
                if g["states_none"]
                else "、".join(CONTROL_JA.get(m, m) for m in g["missing_categories"]),
            ]
            for g in gaps.iter_rows(named=True)
        ]
        for i, chunk in enumerate(_chunks(gap_rows, 8)):
            body = (
                _table(["諮問", "述べられていない区分"], chunk)
                if gap_rows
                else "<p>すべての諮問で4区分の保護措置が述べられています。</p>"
            )
            sections.append(
                section(
                    "保護措置の不足" + (f"（{i + 1}）" if len(gap_rows) > 8 else ""),
                    body,
                    "<p>不足は「述べられていない」ことで、措置がないとは限りません。"
                    "次回の審議で担当課に確認する候補です。</p>",
                )
            )

    # 6. follow-ups to track
    follow = department_follow_ups(tables, kinds=tuple(FOLLOW_UP_JA)).filter(
        pl.col("meeting_id") == meeting_id
    )
    fu_rows = [
        [
            "・".join(f["labels"] or []) if f.get("labels") is not None else "",
            f["department"],
            FOLLOW_UP_JA.get(f["kind"], f["kind"]),
            p(f["text"]),
        ]
        for f in follow.iter_rows(named=True)
    ]
    for i, chunk in enumerate(_chunks(fu_rows, 6)):
        body = (
            _table(["諮問", "担当課", "種類", "内容"], chunk)
            if fu_rows
            else "<p>この会議で追跡すべき約束・訂正・要望は見つかりませんでした。</p>"
        )
        sections.append(
            section(
                "追跡事項" + (f"（{i + 1}）" if len(fu_rows) > 6 else ""),
                f'<div class="small">{body}</div>',
                "<p>約束（担当課が対応すると述べたこと）、訂正（資料の誤りの訂正）、"
                "要望（委員からの求め）。次回以降の会議で結果を確認します。</p>",
            )
        )

    title = f"{meeting['council']} {heading}"
    return deck_document(sections, title, handout=handout)


def write_council_deck(
    meeting_id: str,
    data_dir: Path,
    out_dir: Path,
    *,
    pseudonymize: bool = False,
    name: str | None = None,
    pdf: bool = False,
) -> dict[str, Path | str]:
    """Write ``<out_dir>/<name>.html`` (and ``.pdf`` with ``pdf``); returns what was written.

    The returned mapping has ``"html"`` (and ``"pdf"``) paths, and ``"pdf_skipped"`` with the
    reason when a PDF was asked for but Chromium is not installed.
    """
    from analysis import load
    from analysis.render.naming import output_path, report_name
    from analysis.render.notebook import _write_atomic
    from analysis.render.versions import data_version

    tables = load(data_dir, build_if_missing=False)
    options = {
        "pseudonymize": pseudonymize,
        "data_version": data_version(data_dir),
        "generated": datetime.now(UTC),
    }
    deck = council_deck(tables, meeting_id, **options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = name or DECK_NAME
    base = report_name("council_slides", {"meeting_id": meeting_id}, template=template)
    path = output_path(out_dir, base, ".html")
    _write_atomic(path, deck)
    written: dict[str, Path | str] = {"html": path}
    if pdf:
        handout = council_deck(tables, meeting_id, handout=True, **options)
        written.update(handout_pdf(handout, path.with_suffix(".pdf")))
    return written


def handout_pdf(handout: str, pdf_path: Path) -> dict[str, Path | str]:
    """Print a handout document (``deck_document(..., handout=True)``) to ``pdf_path``.

    Returns ``{"pdf": path}``, or ``{"pdf_skipped": reason}`` when Chromium is not installed.
    Raises :class:`~analysis.render.browser.BrowserError` when Chromium fails.
    """
    from analysis.render.browser import BrowserMissing, print_pdf
    from analysis.render.notebook import _write_atomic

    pdf_path = Path(pdf_path)
    tmp = pdf_path.with_name(f".{pdf_path.stem}.handout.html")
    _write_atomic(tmp, handout)
    try:
        return {"pdf": print_pdf(tmp, pdf_path)}
    except BrowserMissing as exc:
        pdf_path.unlink(missing_ok=True)
        return {"pdf_skipped": str(exc)}
    finally:
        tmp.unlink(missing_ok=True)


# -- notebook → slides -----------------------------------------------------------------------
_SLIDES_TEMPLATE = """{%- extends 'reveal/base.html.j2' -%}
{%- block header -%}{%- endblock header -%}
{%- block body_header -%}{%- endblock body_header -%}
{%- block body_footer -%}{%- endblock body_footer -%}
{%- block footer -%}{%- endblock footer -%}
"""
_HEADING = re.compile(r"^\s*(#{1,3}\s|<h[1-3][\s>])", re.IGNORECASE)


def _starts_with_heading(cell: Any) -> bool:
    if cell.cell_type == "markdown":
        return bool(_HEADING.match(cell.source))
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        for mime in ("text/markdown", "text/html"):
            text = data.get(mime)
            if isinstance(text, list):
                text = "".join(text)
            if text:
                return bool(_HEADING.match(text))
    return False


def notebook_to_slides(nb: Any, title: str, info: PageInfo | None = None) -> str:
    """An executed report notebook as a deck: a title slide, then a slide per heading."""
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter

    from analysis.render.html import _report_copy, strip_external

    report = _report_copy(nb)
    for i, cell in enumerate(report.cells):
        show = cell.metadata.setdefault("slideshow", {})
        if "slide_type" not in show:
            show["slide_type"] = "slide" if i == 0 or _starts_with_heading(cell) else "-"
    exporter = SlidesExporter(
        template_name="reveal",
        extra_loaders=[DictLoader({"council_slides.html.j2": _SLIDES_TEMPLATE})],
        template_file="council_slides.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        sanitize_html=False,
    )
    body, _ = exporter.from_notebook_node(report, resources={"metadata": {"name": title}})
    body = strip_external(body).replace("<section", '<section class="notebook-slide"')
    info = info or PageInfo(title)
    rows = [*info.details]
    if info.data_version:
        rows.append(("データ版", info.data_version))
    rows.append(("作成", info.generated_text()))
    first = section(title, _facts(rows), level=1)
    return deck_document([first, body], title)
