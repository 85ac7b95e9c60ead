"""Small helpers shared by the report notebooks in ``notebooks/``.

The analyses live in :mod:`analysis.analyses`, :mod:`analysis.crosstab` and friends; this module
only holds what several report notebooks need around them, so no notebook copies another's code:

- reading the datasets once per kernel (:func:`load_tables`) and selecting what a report covers
  (:func:`select_scope`, remembered for the next report on the same data);
- checking parameters with a named error (:class:`ReportParameterError`, :func:`check_choice`)
  and reading the ``period`` parameter (:func:`parse_period`, :func:`select_period`);
- Japanese wording: dates and fiscal years in the era (:func:`jp_date`,
  :func:`jp_fiscal_year`), percentages, intervals, source lines (:func:`lines_text`,
  :func:`refs_text`), Japanese labels for the datasets' codes (:data:`DECISION_JA` …);
- Markdown that text from the minutes cannot break (:func:`md`, :func:`markdown_table`);
- restricting the tables to some 諮問 (:func:`restrict_tables`), topic counts and examples
  (:func:`topic_counts`, :func:`topic_examples`) and the independence test in plain Japanese
  (:func:`describe_test_ja`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

__all__ = [
    "CONTROL_CATEGORY_JA",
    "DECISION_JA",
    "DIAGNOSTIC_JA",
    "FOLLOW_UP_JA",
    "NEUTRAL_COLOR",
    "SENSITIVE_KIND_JA",
    "SEVERITY_JA",
    "SPEAKER_ROLE_JA",
    "TOOLTIP_LIMIT",
    "UTTERANCE_KIND_JA",
    "VOTE_JA",
    "Period",
    "ReportParameterError",
    "Scope",
    "check_choice",
    "council_topics",
    "describe_test_ja",
    "diagnostics_view",
    "follow_up_rows",
    "for_shown_rows",
    "interval_text",
    "ja",
    "join_first",
    "jp_date",
    "jp_fiscal_year",
    "jp_time_range",
    "lines_text",
    "load_tables",
    "markdown_table",
    "md",
    "measure_labels",
    "parse_period",
    "percent",
    "refs_text",
    "regime_note",
    "restrict_tables",
    "select_period",
    "select_scope",
    "topic_counts",
    "topic_examples",
    "topic_labels",
    "with_labels",
    "with_lines",
    "with_refs",
]


# -- the datasets, read once per kernel -------------------------------------------------------
_loaded: dict[str, tuple[str, dict[str, Any]]] = {}  # folder → (data version, tables)


def load_tables(data_dir: str | Path | None = None) -> dict[str, Any]:
    """The datasets in ``data_dir``, as :func:`analysis.load` gives them, read once per process.

    Reports rendered one after another in one kernel read the same folder: its tables are kept
    while the folder's data version (the manifest's record of the table files' sha256) stays
    the same, so a rebuilt folder is read again. Each call returns a new dict; the frames in it
    are shared, which is safe because polars frames are not changed in place by the reports.
    Only the last folder read is kept.
    """
    import analysis
    from analysis import paths
    from analysis.render.versions import data_version

    folder = Path(data_dir) if data_dir else paths.processed_dir()
    key = str(folder.resolve())
    try:
        version = data_version(folder)
    except (OSError, ValueError):  # no datasets yet: analysis.load builds or explains
        version = None
    cached = _loaded.get(key)
    if version is not None and cached is not None and cached[0] == version:
        return dict(cached[1])
    tables = analysis.load(data_dir)
    _loaded.clear()
    _scopes.clear()  # scopes of the frames read before
    if version is not None:  # the version read before loading: a rebuild since reads again
        _loaded[key] = (version, tables)
    return dict(tables)


class ReportParameterError(ValueError):
    """A parameter value this report cannot be made for (the message names it and the allowed
    values)."""


def check_choice(name: str, value: Any, allowed: Iterable[Any], *, in_data: bool = False) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`ReportParameterError`.

    The message names the parameter, the bad value and every allowed value; ``in_data`` says
    the allowed values are those found in the datasets.
    """
    allowed = list(allowed)
    if value in allowed:
        return value
    shown = ", ".join(map(str, allowed)) if allowed else "（なし）"
    where = "データにありません" if in_data else "指定できません"
    raise ReportParameterError(f"{name} = {value!r} は{where}。指定できる値 (allowed): {shown}")


# -- the period parameter --------------------------------------------------------------------
_ALL = {"all", "全期間", "すべて", "全て"}
_RANGE_SEPARATORS = re.compile(r"\s*(?:-|~|〜|–|—|から)\s*")
_YEAR = re.compile(r"(\d{4})(?:年度)?")
PERIOD_FORMS = "all（全期間）, 2020（その年度）, 2019-2021（年度の範囲）, 令和2年度"


@dataclass(frozen=True)
class Period:
    """Fiscal years from ``first`` to ``last`` (both included); both None for every year."""

    text: str
    first: int | None = None
    last: int | None = None

    @property
    def is_all(self) -> bool:
        return self.first is None

    def contains(self, fiscal_year: int | None) -> bool:
        if self.first is None or self.last is None:
            return True
        return fiscal_year is not None and self.first <= fiscal_year <= self.last

    def years(self, available: Iterable[int | None]) -> list[int]:
        """The years of ``available`` inside the period, sorted (None values left out)."""
        return sorted({y for y in available if y is not None and self.contains(y)})

    @property
    def label(self) -> str:
        """``全期間``, ``2020年度（令和2年度）`` or ``2019〜2021年度（令和元〜3年度）``."""
        if self.is_all:
            return "全期間"
        if self.first == self.last:
            return f"{self.first}年度（{jp_fiscal_year(self.first)}）"
        first, last = jp_fiscal_year(self.first), jp_fiscal_year(self.last)
        same_era = first[:2] == last[:2]
        era_text = f"{first[:-2]}〜{last[2:-2] if same_era else last[:-2]}年度"
        return f"{self.first}〜{self.last}年度（{era_text}）"


def _one_year(text: str) -> int | None:
    m = _YEAR.fullmatch(text)
    if m:
        return int(m.group(1))
    from analysis.jpdate import parse_fiscal_year

    era_text = text if text.endswith("年度") else f"{text}年度"
    if re.fullmatch(r"(明治|大正|昭和|平成|令和)(\d+|元)年度", era_text):
        return parse_fiscal_year(era_text)
    return None


def parse_period(text: str) -> Period:
    """Read the ``period`` parameter: ``all``, one fiscal year or a range of fiscal years.

    Accepted: ``all`` (also 全期間), ``2020`` or ``2020年度``, ``令和2年度`` (or ``令和2``),
    ``2019-2021`` (also with ``~``, ``〜`` or ``から``). Full-width digits are fine. Anything else
    raises :class:`ReportParameterError` naming the value and the accepted forms.
    """
    if not isinstance(text, str):
        raise ReportParameterError(
            f"period = {text!r} は指定できません。指定できる形 (allowed): {PERIOD_FORMS}"
        )
    norm = unicodedata.normalize("NFKC", text).strip()
    if norm.lower() in _ALL:
        return Period(text)
    parts = _RANGE_SEPARATORS.split(norm)
    years = [_one_year(p.strip()) for p in parts] if 1 <= len(parts) <= 2 else [None]
    if any(y is None for y in years):
        raise ReportParameterError(
            f"period = {text!r} は読めません。指定できる形 (allowed): {PERIOD_FORMS}"
        )
    first, last = years[0], years[-1]
    if first > last:  # type: ignore[operator]
        raise ReportParameterError(
            f"period = {text!r}: 始まりの年度 {first} が終わりの年度 {last} より後です"
        )
    return Period(text, first, last)


def select_period(text: str, available: Iterable[int | None]) -> tuple[Period, list[int]]:
    """:func:`parse_period`, and the fiscal years of the data that fall in it.

    Raises :class:`ReportParameterError` when no year of the data falls in the period, naming
    the period and the years there are.
    """
    period = parse_period(text)
    have = sorted({y for y in available if y is not None})
    years = period.years(have)
    if not years:
        shown = ", ".join(map(str, have)) or "（なし）"
        raise ReportParameterError(
            f"period = {text!r}（{period.label}）の会議はデータにありません。"
            f"データにある年度 (allowed): all, {shown}"
        )
    return period, years


@dataclass(frozen=True)
class Scope:
    """What a report covers: the checked parameters, the 諮問 and the tables cut down to them."""

    period: Period
    fiscal_years: list[int] | None  # None: every year
    category: str
    bureau: str
    department: str
    register: pl.DataFrame  # analysis.analyses.consultation_register, filtered
    tables: dict[str, Any]  # restrict_tables(tables, the register's 諮問)

    @property
    def label(self) -> str:
        """``全期間 ／ 全分類`` or ``2020年度（令和2年度） ／ 外部委託 ／ 課税課``: for headings."""
        from analysis.charts import category_label

        parts = [self.period.label]
        parts.append("全分類" if self.category == "all" else category_label(self.category))
        if self.bureau != "all":
            parts.append(self.bureau)
        if self.department != "all":
            parts.append(self.department)
        return " ／ ".join(parts)


def select_scope(
    tables: Mapping[str, Any],
    *,
    period: str = "all",
    category: str = "all",
    bureau: str = "all",
    department: str = "all",
) -> Scope:
    """Check the usual report parameters against the data and select the 諮問 they name.

    ``period`` as in :func:`parse_period`; ``category`` ``all`` or a category code; ``bureau``
    and ``department`` ``all`` or a 部 / 課 found in the data. Raises
    :class:`ReportParameterError` naming the bad value and the allowed ones, or, when the values
    are fine but no 諮問 matches them all, naming the combination.

    The scope is remembered for the same frames and parameters (reports in one kernel on
    :func:`load_tables`' frames share it); each call returns its own ``tables`` dict.
    """
    key = (
        tuple((name, id(df)) for name, df in tables.items()),
        period,
        category,
        bureau,
        department,
    )
    hit = _scopes.get(key)
    if hit is None:
        scope = _select_scope(
            tables, period=period, category=category, bureau=bureau, department=department
        )
        # the entry holds the frames its key names, so their ids cannot be reused meanwhile
        _scopes[key] = hit = (scope, tuple(tables.values()))
        while len(_scopes) > _SCOPES_KEPT:
            _scopes.popitem(last=False)
    _scopes.move_to_end(key)
    return dataclasses.replace(hit[0], tables=dict(hit[0].tables))


_SCOPES_KEPT = 16
_scopes: OrderedDict[tuple, tuple[Scope, tuple]] = OrderedDict()


def _select_scope(
    tables: Mapping[str, Any], *, period: str, category: str, bureau: str, department: str
) -> Scope:
    from analysis.analyses import consultation_register
    from analysis.schema import CATEGORIES

    check_choice("category", category, ["all", *CATEGORIES])
    # Allowed 部 and 課: those of the agenda (reports included, as `for_each: department` has
    # them); one that brought only reports then gets "no 諮問" rather than "not in the data".
    cons = tables["consultations"]
    bureaus = sorted(cons["bureau"].drop_nulls().unique().to_list())
    check_choice("bureau", bureau, ["all", *bureaus], in_data=True)
    departments = sorted(cons["departments"].explode().drop_nulls().unique().to_list())
    check_choice("department", department, ["all", *departments], in_data=True)
    chosen, years = select_period(period, tables["meetings"]["fiscal_year"].to_list())
    register = consultation_register(
        tables,
        fiscal_years=None if chosen.is_all else years,
        category=None if category == "all" else category,
        bureau=None if bureau == "all" else bureau,
        department=None if department == "all" else department,
    )
    scope = Scope(
        chosen,
        None if chosen.is_all else years,
        category,
        bureau,
        department,
        register,
        restrict_tables(tables, register["consultation_id"]),
    )
    if register.height == 0:
        raise ReportParameterError(f"この条件に当てはまる諮問はありません: {scope.label}")
    return scope


def regime_note(meetings: pl.DataFrame) -> str | None:
    """A Japanese caution when ``meetings`` fall under more than one legal regime, else None.

    From 2023-04-01 the revised national Act governs and the council is no longer consulted
    case by case, so counts before and after that date compare two legal settings.
    """
    from analysis.analyses import legal_regime

    regimes = (
        legal_regime(meetings)
        .group_by("regime", "regime_label_ja", "regime_start", "regime_end")
        .agg(meetings=pl.len())
        .sort("regime_start", nulls_last=False)
    )
    if regimes.height < 2:
        return None
    parts = []
    for r in regimes.iter_rows(named=True):
        label = r["regime_label_ja"] or "制度不明（日付なし）"
        start = jp_date(r["regime_start"]) if r["regime_start"] else ""
        end = jp_date(r["regime_end"]) if r["regime_end"] else ""
        span = f"（{start}〜{end}）" if (start or end) else ""
        parts.append(f"{label}{span}の会議 {r['meetings']} 回")
    return (
        "**制度の違いに注意：** この範囲には、" + "、".join(parts) + "が含まれます。"
        "改正個人情報保護法の施行（2023年4月1日）後は個別の案件ごとの諮問が限られるため、"
        "前後の件数や割合をそのまま比べないでください。"
    )


# -- Japanese wording ------------------------------------------------------------------------
# Era start dates (the first day of each era).
_ERA_STARTS: tuple[tuple[str, dt.date], ...] = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
    ("大正", dt.date(1912, 7, 30)),
    ("明治", dt.date(1868, 10, 23)),
)
_WEEKDAYS = "月火水木金土日"


def _era_year(era: str, start: dt.date, year: int) -> str:
    n = year - start.year + 1
    return f"{era}{'元' if n == 1 else n}"


def jp_date(d: dt.date | None, *, weekday: bool = False, western: bool = False) -> str:
    """``令和2年12月15日`` (the era in force that day); ``2020年12月15日`` with ``western``;
    ``（火）`` added with ``weekday``; ``日付不明`` for None."""
    if d is None:
        return "日付不明"
    year = str(d.year)
    if not western:
        era = next(((e, s) for e, s in _ERA_STARTS if d >= s), None)
        if era is not None:
            year = _era_year(*era, d.year)
    text = f"{year}年{d.month}月{d.day}日"
    if weekday:
        text += f"（{_WEEKDAYS[d.weekday()]}）"
    return text


def jp_fiscal_year(fiscal_year: int | None) -> str:
    """``令和2年度`` for 2020. A fiscal year takes the era that began in its calendar year or
    before (2019 → 令和元年度, 1989 → 平成元年度, 1988 → 昭和63年度)."""
    if fiscal_year is None:
        return "年度不明"
    for era, start in _ERA_STARTS:
        if fiscal_year >= start.year:
            return f"{_era_year(era, start, fiscal_year)}年度"
    return f"{fiscal_year}年度"


def jp_time_range(start: str | None, end: str | None) -> str:
    """``10:00〜12:00`` (a missing end: ``10:00〜``; nothing known: ``時刻不明``)."""
    if not start and not end:
        return "時刻不明"
    return f"{start or ''}〜{end or ''}"


def percent(value: float | None, digits: int = 0) -> str:
    """``83%``; ``—`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{digits}f}%"


def interval_text(low: float | None, high: float | None, digits: int = 0) -> str:
    """``72〜100%``; ``—`` when unknown."""
    if (
        low is None
        or high is None
        or any(isinstance(v, float) and math.isnan(v) for v in (low, high))
    ):
        return "—"
    return f"{low * 100:.{digits}f}〜{high * 100:.{digits}f}%"


def lines_text(lines: Iterable[int | None] | int | None, meeting_id: str | None = None) -> str:
    """Source lines as ``行 44〜82`` (a run) or ``行 230・234``; the meeting first when given.

    Consecutive lines are joined into runs: ``[5, 6, 7, 10]`` → ``行 5〜7・10``.
    """
    if lines is None:
        values: list[int] = []
    elif isinstance(lines, int):
        values = [lines]
    else:
        values = sorted({int(v) for v in lines if v is not None})
    if not values:
        return "—"
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    text = "・".join(f"{a}" if a == b else f"{a}〜{b}" for a, b in runs)
    prefix = f"{meeting_id} " if meeting_id else ""
    return f"{prefix}行\u00a0{text}"  # no break between 行 and the number


def refs_text(
    refs: Iterable[str] | None, *, show_meeting: bool = True, limit: int | None = None
) -> str:
    """``meeting_id:line`` references (as the analyses give them) as ``tama-2020-09 行 44・82``,
    one group per meeting (in order of first mention), joined with ``／``.

    ``limit`` cites at most that many references (the first ones, in meeting and line order)
    and says how many more there are: ``… ほか 12 か所``.
    """
    pairs: list[tuple[str, int]] = []
    for ref in [] if refs is None else refs:
        if ref is None:
            continue
        meeting, _, line = str(ref).rpartition(":")
        if line.isdigit():
            pairs.append((meeting, int(line)))
    pairs = sorted(set(pairs))
    if not pairs:
        return "—"
    more = 0
    if limit is not None and len(pairs) > limit:
        pairs, more = pairs[:limit], len(pairs) - limit
    by_meeting: dict[str, list[int]] = {}
    for meeting, line in pairs:
        by_meeting.setdefault(meeting, []).append(line)
    text = "／".join(
        lines_text(lines, meeting if show_meeting else None)
        for meeting, lines in by_meeting.items()
    )
    return text + (f" … ほか {more} か所" if more else "")


def with_lines(
    df: pl.DataFrame,
    lines: str,
    *,
    end: str | None = None,
    meeting: str | None = None,
    name: str = "行",
) -> pl.DataFrame:
    """``df`` with a text column ``name`` citing source lines (see :func:`lines_text`).

    ``lines`` is a column of line numbers or of lists of them; with ``end`` the lines run from
    ``lines`` to ``end`` (``行 44〜82``). With ``meeting`` (a column of meeting ids) the meeting
    comes first (``tama-2020-09 行 44〜82``), for reports that span several meetings.
    """
    return df.with_columns(_lines_column(df, lines, end, meeting).alias(name))


def _lines_column(df: pl.DataFrame, lines: str, end: str | None, meeting: str | None) -> pl.Series:
    """:func:`lines_text` of every row of ``df``, computed with polars (no Python per row)."""
    nbsp = "\u00a0"
    if isinstance(df.schema[lines], pl.List | pl.Array):
        lists = df.select(pl.col(lines).cast(pl.List(pl.Int64)).alias("v"))
    else:
        first = pl.col(lines).cast(pl.Int64)
        if end:
            last = pl.col(end).cast(pl.Int64)
            # lines_text(range(first, last + 1)); a missing end cites the first line alone
            cited = (
                pl.when(first.is_null())
                .then(None)
                .when(last.is_null() | (last == first))
                .then(first.cast(pl.String))
                .when(last > first)
                .then(pl.format("{}〜{}", first, last))
                .otherwise(None)
            )
        else:
            cited = first.cast(pl.String)
        texts = df.select(cited.alias("t"))["t"]
        return _with_prefix(df, texts, meeting, nbsp)
    # lists: sorted distinct lines per row, consecutive ones joined into runs
    row, v = pl.col("_row"), pl.col("v")
    flat = (
        lists.with_row_index("_row")
        .explode("v")
        .drop_nulls("v")
        .sort("_row", "v")
        .filter((row != row.shift(1)) | (v != v.shift(1)) | row.shift(1).is_null())
    )
    new_row = (row != row.shift(1)).fill_null(True)
    row_ends = (row != row.shift(-1)).fill_null(True)
    firsts = flat.filter(new_row | (v - v.shift(1) != 1)).select("_row", a="v")
    lasts = flat.filter(row_ends | (v.shift(-1) - v != 1)).select(b="v")
    runs = (
        pl.concat([firsts, lasts], how="horizontal")
        .select(
            "_row",
            pl.when(pl.col("a") == pl.col("b"))
            .then(pl.col("a").cast(pl.String))
            .otherwise(pl.format("{}〜{}", "a", "b"))
            .alias("run"),
        )
        .group_by("_row", maintain_order=True)
        .agg(pl.col("run").str.join("・"))
    )
    texts = pl.Series("t", [], dtype=pl.String).extend_constant(None, df.height)
    if runs.height:
        texts = texts.scatter(runs["_row"], runs["run"])
    return _with_prefix(df, texts, meeting, nbsp)


def _with_prefix(df: pl.DataFrame, texts: pl.Series, meeting: str | None, nbsp: str) -> pl.Series:
    """``行 …`` from the cited lines (``—`` for none), after the meeting id when there is one."""
    frame = pl.DataFrame({"t": texts}).with_columns(
        df[meeting].cast(pl.String).alias("m") if meeting else pl.lit(None, pl.String).alias("m")
    )
    prefix = (
        pl.when(pl.col("m").is_null() | (pl.col("m") == ""))
        .then(pl.lit(""))
        .otherwise(pl.col("m") + " ")
    )
    out = (
        pl.when(pl.col("t").is_null())
        .then(pl.lit("—"))
        .otherwise(prefix + f"行{nbsp}" + pl.col("t"))
    )
    return frame.select(out.cast(pl.String).alias("t"))["t"]


def with_refs(
    df: pl.DataFrame,
    refs: str,
    *,
    show_meeting: bool = True,
    limit: int | None = 12,
    name: str = "行",
    total: str | None = None,
) -> pl.DataFrame:
    """``df`` with a text column ``name`` citing the ``meeting_id:line`` references of the list
    column ``refs`` (see :func:`refs_text`; at most ``limit`` of them).

    ``total``: a column with the number of references of each row when ``refs`` holds only
    the first ones (e.g. ``n_refs`` of :func:`topic_counts` with ``refs_limit``): the
    ``… ほか N か所`` counts from it.
    """
    return df.with_columns(_refs_column(df, refs, show_meeting, limit, total).alias(name))


def _refs_column(
    df: pl.DataFrame, refs: str, show_meeting: bool, limit: int | None, total: str | None = None
) -> pl.Series:
    """:func:`refs_text` of every row of ``df``, computed with polars (no Python per reference)."""
    ref = pl.col("ref").cast(pl.String)
    counted = pl.len().over("_row").cast(pl.Int64)
    pairs = (
        df.select(
            pl.col(refs).alias("ref"),
            (pl.col(total) if total else pl.lit(None)).cast(pl.Int64).alias("_total"),
        )
        .with_row_index("_row")
        .explode("ref")
        .select(
            "_row",
            "_total",
            # as str.rpartition(":"): the meeting before the last colon, digits after it
            m=ref.str.extract(r"^(.*):[0-9]+$", 1).fill_null(""),
            line=ref.str.extract(r"(?:^|:)([0-9]+)$", 1).cast(pl.Int64),
        )
        .drop_nulls("line")
        .unique()
        .select("_row", "m", "line", _n=pl.coalesce("_total", counted))
    )
    if limit is not None:  # the first ``limit`` pairs of each row, without sorting them all
        pairs = pairs.filter(pl.struct("m", "line").rank("ordinal").over("_row") <= limit)
    pairs = pairs.sort("_row", "m", "line")
    per_meeting = pairs.group_by("_row", "m", maintain_order=True).agg(
        pl.col("line"), pl.col("_n").first()
    )
    cited = per_meeting.with_columns(
        t=_lines_column(per_meeting, "line", None, "m" if show_meeting else None)
    )
    more = pl.col("_n").first() - (limit if limit is not None else pl.col("_n").first())
    per_row = cited.group_by("_row", maintain_order=True).agg(
        pl.col("t").str.join("／")
        + pl.when(more > 0).then(pl.format(" … ほか {} か所", more)).otherwise(pl.lit(""))
    )
    texts = pl.Series("t", [], dtype=pl.String).extend_constant("—", df.height)
    if per_row.height:
        texts = texts.scatter(per_row["_row"], per_row["t"])
    return texts


TOOLTIP_LIMIT = 20  # values a tooltip lists before saying how many more there are


def join_first(expr: pl.Expr, limit: int = TOOLTIP_LIMIT, sep: str = "、") -> pl.Expr:
    """In an aggregation: the first ``limit`` values of ``expr`` joined with ``sep``, then
    ``… ほか N 件`` for the rest — a chart tooltip or table cell that stays readable (and a
    report that stays small) when a bar stands for thousands of 諮問."""
    more = pl.len().cast(pl.Int64) - limit
    return expr.head(limit).str.join(sep) + pl.when(more > 0).then(
        pl.format(" … ほか {} 件", more)
    ).otherwise(pl.lit(""))


def with_labels(
    df: pl.DataFrame, column: str, mapping: Mapping[str, str], name: str
) -> pl.DataFrame:
    """``df`` with a column ``name`` holding the Japanese label of ``column`` (a code, or a
    list of codes) from ``mapping``; unknown codes are kept as they are."""
    if isinstance(df.schema[column], pl.List):
        expr = pl.col(column).list.eval(
            pl.element().replace_strict(dict(mapping), default=pl.element())
        )
    else:
        expr = pl.col(column).replace_strict(dict(mapping), default=pl.col(column))
    return df.with_columns(expr.alias(name))


DECISION_JA = {
    "approved": "同意",
    "approved_with_conditions": "意見を付して同意",
    "rejected": "不同意",
    "deferred": "継続審議",
    "withdrawn": "取り下げ",
    "unknown": "不明（読み取れず）",
    "not_applicable": "対象外（報告事項）",
}
VOTE_JA = {"unanimous": "全会一致", "majority": "賛成多数", "none": "採決なし", "unknown": "不明"}
FOLLOW_UP_JA = {"commitment": "約束", "correction": "訂正", "request": "要望"}
CONTROL_CATEGORY_JA = {
    "organizational": "組織的",
    "human": "人的",
    "physical": "物理的",
    "technical": "技術的",
    "unclassified": "未分類",
}
SPEAKER_ROLE_JA = {
    "chair": "会長",
    "vice_chair": "副会長",
    "member": "委員",
    "department": "担当課",
    "secretariat": "事務局",
    "unknown": "不明",
}
UTTERANCE_KIND_JA = {"question": "質問", "answer": "回答", "remark": "意見", "procedural": "進行"}
SEVERITY_JA = {"error": "エラー", "warning": "警告", "info": "参考"}
SENSITIVE_KIND_JA = {
    "special_care": "要配慮個人情報",
    "my_number": "個人番号（マイナンバー）",
    "tax_financial": "税・所得・口座",
    "family_register": "戸籍",
    "welfare": "福祉・給付",
    "image": "画像・映像",
}
# What each diagnostic code of the build means, in a few words (the message has the details).
DIAGNOSTIC_JA = {
    "bad_date": "日付が読めない",
    "bad_observers": "傍聴人の数が読めない",
    "bad_time": "時刻が読めない",
    "bad_title": "表題が読めない",
    "conditions_unread": "付された意見・条件の本文が見つからない",
    "decision_label_missing": "決定文に諮問の記号がない（件名で対応づけた）",
    "decision_unread": "決定文から結果が読み取れない",
    "duplicate_file": "同じ内容のファイルが重複している",
    "duplicate_label": "議題の記号が重複している",
    "duplicate_attendee": "出席者の行に同じ名前が重複している",
    "duplicate_meeting": "同じ会議の議事録が重複している",
    "fiscal_year_from_date": "表題に年度がない（日付から年度を補った）",
    "member_without_role": "出席者の役職（会長・委員）が読めない",
    "missing_date": "日付がない",
    "missing_department": "議題に担当課がない",
    "missing_session": "表題に回数（第N回）がない",
    "missing_title": "表題がない",
    "no_consultations": "議題に諮問・報告が見つからない",
    "no_decision": "諮問の結果（決定文）がない",
    "no_safeguards_stated": "個人情報保護措置の記載がない",
    "page_artifact": "ページ番号・柱を除いた",
    "personal_data_unsplit": "個人情報の項目を分けられない",
    "rejected_file": "議事録として読めないファイル",
    "repeated_answer": "回答が前の行と同文",
    "repeated_line": "同じ行の繰り返し（抽出時の重複）",
    "safeguard_unclassified": "保護措置が分類表のどれにも当たらない",
    "signatory_not_designated": "署名者が指名された署名委員と異なる",
    "signatory_not_present": "署名者が出席委員にいない",
    "source_line_start": "開始行の特定に問題がある",
    "source_not_recorded": "sources.csv に出典の記録がない",
    "topic_rule_unused": "話題のルールに当たる発言がない",
    "truncated_document": "末尾の署名欄がない（途中で切れている可能性）",
    "truncated_question_repeated_answer": "質問が途中で切れ、回答が繰り返されている",
    "unknown_speaker": "発言者が出席者と対応しない",
    "unplaced_line": "どこにも位置づけられない行",
}


def ja(mapping: Mapping[str, str], code: str | None) -> str:
    """The Japanese label of ``code`` in ``mapping`` (the code itself when unknown; ``—`` for
    None)."""
    if code is None:
        return "—"
    return mapping.get(code, code)


def topic_labels() -> dict[str, str]:
    """``{topic code: Japanese label}`` from ``data/reference/topic_rules.yml``, in file order."""
    from analysis.topics import load_topic_rules

    return {r.code: r.label_ja for r in load_topic_rules()}


def measure_labels() -> dict[str, str]:
    """``{measure code: Japanese label}`` from ``data/reference/safeguard_taxonomy.csv``;
    ``unclassified`` is ``未分類``."""
    from analysis.analyses import load_taxonomy

    tax = load_taxonomy()
    return {**dict(zip(tax["measure"], tax["label_ja"], strict=True)), "unclassified": "未分類"}


# A colour for bars that stand for no category (category colours mean a category everywhere).
NEUTRAL_COLOR = "#4a6d8c"


# -- Markdown --------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def md(text: Any) -> str:
    """Text from the minutes made safe inside Markdown (a paragraph or a table cell).

    HTML is escaped (no tag or entity from the data is ever read as markup), Markdown's
    emphasis, code and link characters are backslash-escaped, ``|`` cannot split a table cell,
    and line breaks become ``<br>``. None gives ``—``.
    """
    if text is None:
        return "—"
    out = html.escape(str(text), quote=False)
    out = _MD_SPECIAL.sub(r"\\\1", out).replace("|", "&#124;")
    return _LINE_BREAK.sub("<br>", out)


def _cell(value: Any, decimals: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "—"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.{decimals}f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | pl.Series):
        items = [str(v) for v in value if v is not None]
        return md("、".join(items)) if items else "—"  # md of the whole: the same, faster
    return md(value)


def markdown_table(
    df: pl.DataFrame,
    columns: Mapping[str, str] | Sequence[str] | None = None,
    *,
    empty: str = "該当なし",
    limit: int | None = None,
    decimals: int = 2,
    total: int | None = None,
) -> str:
    """A Markdown table of ``df`` in which no cell can break the table or inject HTML.

    ``columns`` picks and orders the columns: a mapping of column → header, or a list of
    column names (default: all, headers as the column names). Cells: text is escaped with
    :func:`md`, lists are joined with ``、``, None is ``—``, True is ``✓``, floats get
    ``decimals`` decimals, dates are ISO. Number columns are right-aligned. An empty frame gives
    ``empty`` in parentheses; ``limit`` keeps the first rows and says how many were left out.
    ``total``: the number of rows of the whole table when ``df`` holds only its first rows
    (the rows left out are counted from it).
    """
    if columns is None:
        mapping = {c: c for c in df.columns}
    elif isinstance(columns, Mapping):
        mapping = dict(columns)
    else:
        mapping = {c: c for c in columns}
    missing = [c for c in mapping if c not in df.columns]
    if missing:
        raise ValueError(f"markdown_table: no column(s) {', '.join(missing)} in the frame")
    if df.height == 0 and not total:
        return f"（{empty}）"
    shown = df if limit is None else df.head(limit)
    header = "| " + " | ".join(md(h) for h in mapping.values()) + " |"
    align = "|" + "|".join("---:" if df.schema[c].is_numeric() else "---" for c in mapping) + "|"
    rows = [
        "| " + " | ".join(_cell(row[c], decimals) for c in mapping) + " |"
        for row in shown.select(list(mapping)).iter_rows(named=True)
    ]
    text = "\n".join([header, align, *rows])
    left_out = (df.height if total is None else total) - shown.height
    if left_out > 0:
        text += f"\n\n（ほか {left_out} 件は省略）"
    return text


def for_shown_rows(
    df: pl.DataFrame, limit: int, add: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """``add(df)`` for the first ``limit`` rows only — those :func:`markdown_table` shows with
    the same ``limit`` — and the other rows as they are (null in the added columns), so the
    table still says how many rows it left out. For columns that cost time per row, such as
    source-line citations of a long table."""
    if df.height <= limit:
        return add(df)
    return pl.concat([add(df.head(limit)), df.slice(limit)], how="diagonal_relaxed")


def diagnostics_view(diagnostics: pl.DataFrame) -> pl.DataFrame:
    """Diagnostics with errors first, then warnings, then the rest, each by line; with the
    Japanese columns ``重要度`` (severity) and ``内容`` (what the code means)."""
    rank = {"error": 0, "warning": 1, "info": 2}
    return (
        diagnostics.with_columns(
            _rank=pl.col("severity").replace_strict(rank, default=3, return_dtype=pl.Int64),
            重要度=pl.col("severity").replace_strict(SEVERITY_JA, default=pl.col("severity")),
            内容=pl.col("code").replace_strict(DIAGNOSTIC_JA, default=pl.col("code")),
        )
        .sort("_rank", "meeting_id", "source_line", nulls_last=True)
        .drop("_rank")
    )


# -- tables restricted to some 諮問 ----------------------------------------------------------
_GROUP = ["meeting_id", "deliberation_group"]
_BY_GROUP = ("utterances", "question_topics", "follow_ups")
_BY_CONSULTATION = ("safeguards", "personal_data_items")
_BY_MEETING = ("meetings", "attendees", "diagnostics", "source_lines")


def restrict_tables(tables: Mapping[str, Any], consultation_ids: Iterable[str]) -> dict[str, Any]:
    """The tables cut down to the given 諮問, for the analyses that take ``tables``.

    ``consultations``, ``safeguards`` and ``personal_data_items``: rows of those 諮問.
    ``utterances``, ``question_topics`` and ``follow_ups``: rows of their deliberations — a
    group deliberated together (イ・ウ) stays whole when one of its 諮問 is kept.
    ``meetings``, ``attendees``, ``diagnostics`` and ``source_lines``: rows of their meetings.
    Other tables are passed through.
    """
    if not isinstance(consultation_ids, pl.Series):
        consultation_ids = pl.Series(values=list(consultation_ids), dtype=pl.String)
    ids = consultation_ids.cast(pl.String).unique().alias("consultation_id")
    cons = tables["consultations"].filter(pl.col("consultation_id").is_in(ids.implode()))
    groups = cons.select(_GROUP).unique()
    meetings = cons.select("meeting_id").unique()
    # every deliberation / meeting kept (a report over all 諮問): tables may stay whole
    all_groups = groups.height == tables["consultations"].select(_GROUP).unique().height
    all_meetings = "meetings" in tables and meetings.height == tables["meetings"].height
    out = dict(tables)
    out["consultations"] = cons
    for name in _BY_GROUP:
        if name in tables:
            out[name] = _rows_of(tables[name], groups, _GROUP, maybe_all=all_groups)
    all_consultations = cons.height == tables["consultations"].height
    for name in _BY_CONSULTATION:
        if name in tables:
            out[name] = _rows_of_consultations(tables[name], ids, maybe_all=all_consultations)
    for name in _BY_MEETING:
        if name in tables:
            out[name] = _rows_of(tables[name], meetings, ["meeting_id"], maybe_all=all_meetings)
    return out


def _rows_of(
    df: pl.DataFrame, keys: pl.DataFrame, on: list[str], *, maybe_all: bool
) -> pl.DataFrame:
    """The rows of ``df`` whose ``on`` values are among ``keys`` — ``df`` itself (not a copy)
    when ``maybe_all`` and every row's values are (rows with a null key never are)."""
    if maybe_all and _all_among(df, keys, on):
        return df
    return df.join(keys, on=on, how="semi")


def _rows_of_consultations(df: pl.DataFrame, ids: pl.Series, *, maybe_all: bool) -> pl.DataFrame:
    """The rows of ``df`` of the 諮問 ``ids`` (distinct) — ``df`` itself when ``maybe_all`` and
    every row's consultation_id is among them."""
    if maybe_all and _all_among(df, ids.to_frame(), ["consultation_id"]):
        return df
    return df.filter(pl.col("consultation_id").is_in(ids.implode()))


def _all_among(df: pl.DataFrame, keys: pl.DataFrame, on: list[str]) -> bool:
    """Whether every row's ``on`` values are among ``keys``, looking at the first row of each
    run of equal values (the tables keep a deliberation's or a meeting's rows together), not
    at every row."""
    if len(on) == 1:  # a column's runs: about half the time of a one-field struct's
        values = df.select(pl.col(on[0]).rle().struct.field("value").alias(on[0]))
    else:
        values = df.select(pl.struct(on).rle().struct.field("value").alias("_v")).unnest("_v")
    return values.select(on).join(keys, on=on, how="anti").height == 0


def follow_up_rows(
    tables: Mapping[str, Any], kinds: Sequence[str] = ("commitment", "correction", "request")
) -> pl.DataFrame:
    """Follow-ups (約束・訂正・要望) once each, with the departments they concern.

    :func:`analysis.analyses.department_follow_ups` gives one row per (follow-up, department);
    here the departments are gathered into a list. Columns: meeting_id, date, fiscal_year,
    deliberation_group, labels, kind, kind_ja, text, seq, speaker_role, speaker_ja,
    departments, source_line. Sorted by date, meeting, line.
    """
    from analysis.analyses import department_follow_ups

    keys = [
        "meeting_id",
        "date",
        "fiscal_year",
        "deliberation_group",
        "labels",
        "kind",
        "text",
        "seq",
        "speaker_role",
        "source_line",
    ]
    return (
        department_follow_ups(tables, kinds=list(kinds))
        .group_by(keys, maintain_order=True)
        .agg(departments=pl.col("department").drop_nulls().unique(maintain_order=True))
        .with_columns(
            kind_ja=pl.col("kind").replace_strict(FOLLOW_UP_JA, default=pl.col("kind")),
            speaker_ja=pl.col("speaker_role").replace_strict(
                SPEAKER_ROLE_JA, default=pl.col("speaker_role")
            ),
        )
        .sort("date", "meeting_id", "source_line", nulls_last=True)
    )


# -- question topics -------------------------------------------------------------------------
def council_topics(
    tables: Mapping[str, Any],
    kinds: Sequence[str] = ("question", "remark"),
    *,
    turns: bool = False,
) -> pl.DataFrame:
    """The topics coded on the turns of ``kinds`` by members or the chair: one row per (turn,
    topic), in the order of ``question_topics``. Columns: meeting_id, deliberation_group, seq,
    topic, matched (of the first row of the turn and topic), kind, source_line; with ``turns``,
    also turn (the turn's row number in ``utterances``: one value per distinct turn). Computed
    once in a report for :func:`topic_counts`, :func:`topic_examples` and
    :func:`analysis.crosstab.topic_by` (``tagged=``)."""
    from analysis.analyses._common import said_by_council
    from analysis.analyses._keys import strictly_ascending, turn_rows, turns_where

    utterances = tables["utterances"]
    topics = tables["question_topics"].select(*_GROUP, "seq", "topic", "matched")
    council = said_by_council(kinds)
    rows = turn_rows(topics, utterances)  # a merge of sorted turn numbers
    if rows is None:  # utterances not in turn order: join on the keys
        said = (
            utterances.with_row_index("turn")
            .filter(council)
            .select(*_GROUP, "seq", "kind", "source_line", "turn")
        )
        out = topics.unique([*_GROUP, "seq", "topic"], keep="first", maintain_order=True).join(
            said, on=[*_GROUP, "seq"], how="inner", maintain_order="left"
        )
    else:
        coded = turns_where(topics, rows, utterances, council, "turn")
        if not strictly_ascending(coded, ["turn", "topic"]):  # as written: each pair once
            coded = coded.filter(pl.struct("turn", "topic").is_first_distinct())  # turn: (G, seq)
        said = utterances.select("kind", "source_line").select(pl.all().gather(coded["turn"]))
        out = pl.concat([coded, said], how="horizontal").select(
            *_GROUP, "seq", "topic", "matched", "kind", "source_line", "turn"
        )
    return out if turns else out.drop("turn")


def topic_counts(
    tables: Mapping[str, Any],
    *,
    kinds: Sequence[str] = ("question", "remark"),
    labels: Mapping[str, str] | None = None,
    refs_limit: int | None = None,
    coded: pl.DataFrame | None = None,
    tagged_turns: int | None = None,
) -> pl.DataFrame:
    """How often each topic was raised by members or the chair, in the 諮問 of ``tables``.

    One row per topic raised. Columns: topic, topic_ja, utterances (turns coded with it),
    deliberations (raising it), share (of the deliberations in ``tables``), utterance_share
    (of the turns of ``kinds`` that carry any topic), deliberation_groups (their labels, e.g.
    ``イ・ウ``, in order of first mention), source_refs (``meeting_id:line``, sorted).
    Sorted by deliberations, then utterances (descending), then topic.

    With ``refs_limit``, source_refs holds only the first ``refs_limit`` references in meeting
    and line order (what :func:`with_refs` cites with that limit) and a column n_refs counts
    them all (for ``with_refs(..., total="n_refs")``): no text is made for the others.
    ``coded``: :func:`council_topics` of ``tables`` and ``kinds``, when the caller has it;
    ``tagged_turns``: the number of distinct turns in it (``coded.select("meeting_id",
    "deliberation_group", "seq").unique().height``, the denominator of utterance_share), when
    the caller has counted them.
    """
    from analysis.analyses._common import every_ref, first_refs, with_ref_key
    from analysis.analyses._keys import group_codes

    labels = labels if labels is not None else topic_labels()
    coded = council_topics(tables, kinds) if coded is None else coded
    total_groups = tables["consultations"].select(_GROUP).unique().height
    total_turns = (
        coded.select(*_GROUP, "seq").unique().height if tagged_turns is None else tagged_turns
    )
    keyed = with_ref_key(coded)  # (meeting, line) as one sortable integer
    deliberation = group_codes(coded, _GROUP)  # an integer per deliberation
    out = (
        keyed[0]
        .with_columns(_deliberation=deliberation)
        .group_by("topic")
        .agg(
            utterances=pl.len().cast(pl.Int64),
            deliberations=pl.col("_deliberation").n_unique().cast(pl.Int64),
            **every_ref(refs_limit),
        )
    )
    first_mention = (
        keyed[0]
        .group_by("topic", "deliberation_group")
        .agg(pl.col("_ref_key").min())
        .sort("_ref_key", "deliberation_group")
        .group_by("topic", maintain_order=True)
        .agg(deliberation_groups="deliberation_group")
    )
    out = out.join(first_mention, on="topic")
    refs = [pl.col("source_refs").list.sort()]
    if refs_limit is not None:
        out = out.join(first_refs(coded, "topic", refs_limit, keyed=keyed), on="topic")
        refs = ["source_refs", "n_refs"]
    return (
        out.with_columns(
            topic_ja=pl.col("topic").replace_strict(labels, default=pl.col("topic")),
            share=pl.col("deliberations") / total_groups if total_groups else pl.lit(None),
            utterance_share=pl.col("utterances") / total_turns if total_turns else pl.lit(None),
        )
        .sort(["deliberations", "utterances", "topic"], descending=[True, True, False])
        .select(
            "topic",
            "topic_ja",
            "utterances",
            "deliberations",
            pl.col("share").cast(pl.Float64),
            pl.col("utterance_share").cast(pl.Float64),
            "deliberation_groups",
            *refs,
        )
    )


def topic_examples(
    tables: Mapping[str, Any], *, examples: int = 2, coded: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Example questions per topic with the departments' answers, over every category.

    The example rows :func:`analysis.analyses.preparation_checklist` gives for each category of
    the 諮問 in ``tables``, merged (:func:`analysis.analyses.checklist.latest_examples`, one
    pass over the tables): an utterance appears once per topic however many categories its
    deliberation covers; the most recent ``examples`` per topic are kept. Columns: topic,
    example, meeting_id, date, labels, kind, question, question_line, matched, answer,
    answer_orgs, answer_lines. ``coded``: :func:`council_topics` of ``tables`` (questions and
    remarks), when the caller has it.
    """
    from analysis.analyses.checklist import latest_examples

    categories = tables["consultations"]["category"].drop_nulls().unique().to_list()
    return latest_examples(tables, categories=categories, examples=examples, tagged=coded).drop(
        "seq"
    )


# -- the independence test in plain Japanese --------------------------------------------------
_METHOD_JA = {
    "fisher_exact": "フィッシャーの正確確率検定（2×2 の表で、周辺度数を固定したときの正確な確率）",
    "asymptotic_chi2": "カイ二乗検定（すべてのセルの期待度数が5以上のため、漸近分布による p値）",
    "exact_permutation_chi2": (
        "並べ替え検定（周辺度数が同じになるすべての表を数え上げ、"
        "カイ二乗値が観測値以上になる確率を正確に計算）"
    ),
    "monte_carlo_permutation_chi2": (
        "並べ替え検定（周辺度数が同じ表を無作為に {permutations:,} 個つくり、"
        "カイ二乗値が観測値以上になる割合で近似。乱数の種 {seed} で再現可能）"
    ),
}


def describe_test_ja(
    result: Mapping[str, Any], *, rows: str = "話題", columns: str = "分類"
) -> str:
    """The result of :func:`analysis.crosstab.independence_test` as a short Japanese paragraph
    (Markdown): what was tested, the method, the p-value and how to read it, and the cautions."""
    n = result.get("n") or 0
    r, c = result.get("shape") or (0, 0)
    method = result.get("method")
    if method == "not_testable" or result.get("p_value") is None:
        return (
            f"**独立性の検定：** 検定できません。空の行・列を除くと表が {r}×{c} で、"
            f"{rows}と{columns}の両方に2つ以上の値がないためです（発言 {n} 件）。"
            "データが増えると検定できるようになります。"
        )
    p = result["p_value"]
    p_text = "0.001 未満" if p < 0.001 else f"{p:.3f}"
    how = _METHOD_JA[method].format(
        permutations=result.get("permutations") or 0, seed=result.get("seed")
    )
    if p < 0.05:
        verdict = (
            f"{rows}の出方は{columns}によって偏っている可能性があります"
            "（偶然だけでこれ以上の偏りが生じる確率が5%未満）。"
        )
    else:
        verdict = (
            f"{rows}の出方が{columns}によって違うとは言えません"
            "（偶然でも同じ程度の偏りはよく生じます）。違いがないことの証明ではありません。"
        )
    parts = [
        f"**独立性の検定：** {r}×{c} の表（発言 {n} 件）。方法：{how}。p値 = {p_text}。{verdict}"
    ]
    cautions = []
    small = result.get("small_expected")
    if small is not None and (small > 0.2 or (result.get("min_expected") or 0) < 1):
        cautions.append(
            f"期待度数が5未満のセルが {small:.0%} あり（最小 {result['min_expected']:.2f}）、"
            "通常のカイ二乗検定の近似は当てになりません。そのため上の方法で p値を求めています"
        )
    dropped = len(result.get("dropped_rows") or []) + len(result.get("dropped_columns") or [])
    if dropped:
        cautions.append(f"件数がすべて0の行・列 {dropped} 個を除いて検定しました")
    cautions.append(
        f"1つの発言に複数の{rows}がつくことがあり、1つの審議が複数の{columns}にまたがることも"
        "あるため、表のセルは互いに独立な観測ではありません。p値は目安として読んでください"
    )
    parts.append("注意：" + "。".join(cautions) + "。")
    return "\n\n".join(parts)
