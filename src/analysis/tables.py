"""Rows (lists of dicts) into polars DataFrames typed by :mod:`analysis.schema`."""

from __future__ import annotations

import polars as pl

from analysis.schema import TABLES, Table, table

_DTYPES = {
    "str": pl.String,
    "int": pl.Int64,
    "bool": pl.Boolean,
    "date": pl.Date,
    "list[str]": pl.List(pl.String),
    "list[int]": pl.List(pl.Int64),
}

# Stable row order per table, so that output is deterministic whatever the parse order.
SORT_KEYS = {
    "meetings": ["meeting_id"],
    "attendees": ["meeting_id", "source_line", "role", "name"],
    "consultations": ["meeting_id", "seq"],
    "utterances": ["meeting_id", "source_line"],
    "personal_data_items": ["meeting_id", "consultation_id", "source_line"],
    "safeguards": ["meeting_id", "consultation_id", "source_line"],
    "question_topics": ["meeting_id", "deliberation_group", "seq", "topic"],
    "follow_ups": ["meeting_id", "deliberation_group", "seq", "source_line"],
    "source_lines": ["meeting_id", "source_line"],
    "diagnostics": ["meeting_id", "source_line", "code"],
}


def polars_schema(t: Table) -> dict[str, pl.DataType]:
    return {c.name: _DTYPES[c.dtype] for c in t.columns}


def empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(table(name)))


def to_frame(name: str, rows: list[dict]) -> pl.DataFrame:
    """Typed frame for ``rows``; unknown keys are an error, missing nullable keys are null."""
    t = table(name)
    cols = t.column_names
    for r in rows[:1]:
        extra = set(r) - set(cols)
        if extra:
            raise ValueError(f"{name}: rows carry columns not in the schema: {sorted(extra)}")
    df = pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in cols}, schema=polars_schema(t), strict=False
    )
    keys = SORT_KEYS.get(name)
    if keys and df.height:
        # maintain_order keeps the parse order among equal keys (e.g. items of one line)
        df = df.sort(keys, maintain_order=True, nulls_last=False)
    return df


def frames(rows_by_table: dict[str, list[dict]]) -> dict[str, pl.DataFrame]:
    return {t.name: to_frame(t.name, rows_by_table.get(t.name, [])) for t in TABLES}
