"""Helpers shared by the analyses: parameter checks, table access, source references.

Nothing here reads files. Every helper takes polars frames (or a mapping of them) and returns
polars frames or expressions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from analysis.tables import empty

# The key of one deliberation: a group of 諮問 deliberated together in one meeting.
GROUP_KEY = ("meeting_id", "deliberation_group")


def said_by_council(kinds: Iterable[str]) -> pl.Expr:
    """An utterance of one of ``kinds`` by a member or the chair (not a department)."""
    from analysis.schema import COUNCIL_ROLES

    return pl.col("speaker_role").is_in(COUNCIL_ROLES) & pl.col("kind").is_in(list(kinds))


Tables = Mapping[str, Any]


def validate_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ``ValueError``.

    The message names the parameter, every allowed value and the bad one, e.g.
    ``by must be one of: category, department; got 'colour'``.
    """
    allowed = list(allowed)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed) if allowed else "(none: the table is empty)"
        raise ValueError(f"{name} must be one of: {shown}; got '{value}'")
    return value


def validate_choices(name: str, values: Any, allowed: Iterable[Any]) -> list[Any] | None:
    """Like :func:`validate_choice` for a filter that takes one value or several.

    ``None`` means "no filter" and is returned as ``None``; a single value (a string or a
    number) is wrapped in a list; every value is checked.
    """
    if values is None:
        return None
    if isinstance(values, str | int | float) or not isinstance(values, Iterable):
        values = [values]
    allowed = list(allowed)
    return [validate_choice(name, v, allowed) for v in values]


def get_table(tables: Tables, name: str) -> pl.DataFrame:
    """Table ``name`` from ``tables`` as a polars frame; an empty typed frame when absent.

    Pandas frames are converted, so notebooks that loaded with ``backend="pandas"`` still work.
    """
    df = tables.get(name) if tables is not None else None
    if df is None:
        return empty(name)
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    if not isinstance(df, pl.DataFrame):
        return pl.from_pandas(df)
    return df


def consultations_view(tables: Tables) -> pl.DataFrame:
    """The 諮問 (``agenda_kind == "consultation"``) with the meeting's date, fiscal year, session.

    Reports (報告事項) are left out: they are not consulted on and carry no decision.
    """
    cons = get_table(tables, "consultations")
    meetings = get_table(tables, "meetings").select(
        "meeting_id", "date", "fiscal_year", "session_no"
    )
    if "agenda_kind" in cons.columns:
        cons = cons.filter(pl.col("agenda_kind") == "consultation")
    return cons.join(meetings, on="meeting_id", how="left")


def source_ref(meeting_col: str = "meeting_id", line_col: str = "source_line") -> pl.Expr:
    """``"<meeting_id>:<line>"``: a source line that is unambiguous across meetings."""
    return pl.format("{}:{}", pl.col(meeting_col), pl.col(line_col))


_LINE_SPAN = 1 << 32  # (meeting rank, line) as one integer: rank × span + line + 1


def with_ref_key(
    frame: pl.DataFrame, meeting_col: str = "meeting_id", line_col: str = "source_line"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``frame`` (rows in any order) with an integer column ``_ref_key`` that sorts like
    (meeting, line) — a missing line first in its meeting — and the meetings ranked (``_m``,
    ``meeting_id``), which :func:`first_refs` uses to turn keys back into text. Cheaper to
    sort, count and deduplicate than ``meeting_id:line`` texts."""
    from analysis.analyses._keys import runs

    # ranked once per run of equal meeting ids (the tables keep a meeting's rows together)
    run, heads = runs(frame, [meeting_col])
    meetings = heads.unique().sort(meeting_col).with_row_index("_m")
    rank = heads.join(meetings, on=meeting_col, how="left", maintain_order="left")["_m"]
    keyed = frame.with_columns(_m=rank.gather(run))
    rank = pl.col("_m").cast(pl.Int64) * _LINE_SPAN
    keyed = keyed.with_columns(
        _ref_key=rank + pl.col(line_col).cast(pl.Int64).fill_null(-1) + 1
    ).drop("_m")
    return keyed, meetings.rename({meeting_col: "meeting_id"})


def first_refs(
    frame: pl.DataFrame,
    by: str | Iterable[str],
    limit: int,
    *,
    keyed: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    line_col: str = "source_line",
) -> pl.DataFrame:
    """Per group of ``by``: ``source_refs``, the first ``limit`` distinct references
    (``meeting_id:line``, see :func:`source_ref`) in meeting then line order, and ``n_refs``,
    how many distinct references the group has. Rows without a meeting or line are not
    cited. ``keyed``: :func:`with_ref_key` of ``frame`` when the caller already has it."""
    by = [by] if isinstance(by, str) else list(by)
    if keyed is None:
        keyed = with_ref_key(frame.select(*by, "meeting_id", line_col), line_col=line_col)
    rows, meetings = keyed
    cited = (
        pl.col("_ref_key")
        .filter(pl.col(line_col).is_not_null() & pl.col("meeting_id").is_not_null())
        .unique()
    )
    per = rows.group_by(by).agg(n_refs=count(cited.len()), _refs=cited.bottom_k(limit))
    texts = (
        per.select(*by, "_refs")
        .explode("_refs")
        .drop_nulls("_refs")
        .sort([*by, "_refs"])
        .with_columns(
            _m=(pl.col("_refs") // _LINE_SPAN).cast(meetings.schema["_m"]),
            _line=pl.col("_refs") % _LINE_SPAN - 1,
        )
        .join(meetings, on="_m", how="left", maintain_order="left")
        .group_by(by, maintain_order=True)
        .agg(source_refs=source_ref(line_col="_line"))
    )
    return (
        per.select(*by, "n_refs")
        .join(texts, on=by, how="left", nulls_equal=True)
        .with_columns(pl.col("source_refs").fill_null(pl.lit([], pl.List(pl.String))))
    )


def every_ref(refs_limit: int | None) -> dict[str, pl.Expr]:
    """The aggregation ``source_refs``: every distinct reference of the group — or nothing
    when ``refs_limit`` is given (:func:`first_refs` then gives the first ones)."""
    if refs_limit is not None:
        return {}
    return {"source_refs": source_ref().unique(maintain_order=True)}


def count(expr: pl.Expr) -> pl.Expr:
    """Cast a count to Int64 (polars counts are UInt32), so tables join and export cleanly."""
    return expr.cast(pl.Int64)


def group_info(cons: pl.DataFrame) -> pl.DataFrame:
    """One row per deliberation (meeting_id, deliberation_group) with its 諮問.

    Columns: meeting_id, deliberation_group, date, fiscal_year, consultation_ids, labels,
    categories, bureaus, departments (each a list, unique, in agenda order).
    """
    return (
        cons.sort("meeting_id", "seq")
        .group_by(*GROUP_KEY, maintain_order=True)
        .agg(
            pl.col("date").first(),
            pl.col("fiscal_year").first(),
            consultation_ids=pl.col("consultation_id"),
            labels=pl.col("label"),
            categories=pl.col("category").unique(maintain_order=True),
            bureaus=pl.col("bureau").drop_nulls().unique(maintain_order=True),
            departments=pl.col("departments").explode().drop_nulls().unique(maintain_order=True),
        )
    )


def explode_list(df: pl.DataFrame, column: str, alias: str | None = None) -> pl.DataFrame:
    """One row per element of list column ``column`` (renamed ``alias``).

    Rows whose list is empty or null are kept, with a null element, so that a 諮問 without a
    known department still counts (polars 2 drops them by default).
    """
    dtype = df.schema[column]
    padded = (
        pl.when(pl.col(column).list.len() > 0)
        .then(pl.col(column))
        .otherwise(pl.lit([None], dtype=dtype))
    )
    out = df.with_columns(padded.alias(column)).explode(column)
    return out.rename({column: alias}) if alias and alias != column else out
