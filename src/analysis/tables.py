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


def to_frame(
    name: str, rows: list[dict], *, sort: bool = True, tag: tuple[str, list[int]] | None = None
) -> pl.DataFrame:
    """Typed frame for ``rows``; unknown keys are an error, missing nullable keys are null.

    ``tag`` = (column, values) adds an Int32 column with one value per row (the build uses it to
    know which document each row came from). ``sort=False`` keeps the rows' order.
    """
    t = table(name)
    cols = t.column_names
    for r in rows[:1]:
        extra = set(r) - set(cols)
        if extra:
            raise ValueError(f"{name}: rows carry columns not in the schema: {sorted(extra)}")
    schema = polars_schema(t)
    data = {c: _column([r.get(c) for r in rows], schema[c]) for c in cols}
    if tag is not None:
        data[tag[0]] = tag[1]
        schema = {**schema, tag[0]: pl.Int32}
    df = pl.DataFrame(data, schema=schema, strict=False)
    return sort_table(name, df) if sort else df


def _column(values: list, dtype: pl.DataType) -> list | pl.Series:
    """``values`` as polars will take them: list columns go through pyarrow, which builds them
    some forty times faster than polars does from Python lists (values of a wrong type are
    left to polars' own conversion and its error)."""
    if not isinstance(dtype, pl.List):
        return values
    import pyarrow as pa

    inner = pa.large_string() if dtype.inner == pl.String else pa.int64()
    try:
        return pl.Series(pa.array(values, type=pa.large_list(inner))).cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return values


def sort_table(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """The table in its stable row order (see :data:`SORT_KEYS`)."""
    keys = SORT_KEYS.get(name)
    if keys and df.height:
        # maintain_order keeps the parse order among equal keys (e.g. items of one line).
        # The order is found first and the rows are moved only if it is not already theirs:
        # a table combined from minutes named by date usually is in order, and moving the rows
        # of the largest table would double its memory (530 MB at 10,000 meetings).
        order = df.select(pl.arg_sort_by(keys, maintain_order=True, nulls_last=False))
        if not order.to_series().is_sorted():  # a permutation in ascending order is the identity
            df = df[order.to_series()]
    return df


def frames(rows_by_table: dict[str, list[dict]]) -> dict[str, pl.DataFrame]:
    return {t.name: to_frame(t.name, rows_by_table.get(t.name, [])) for t in TABLES}
