"""Rows (lists of dicts) into polars DataFrames typed by :mod:`analysis.schema`."""

from __future__ import annotations

from operator import itemgetter

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
    data = {c: _column(_values(rows, c), schema[c]) for c in cols}
    if tag is not None:
        data[tag[0]] = tag[1]
        schema = {**schema, tag[0]: pl.Int32}
    df = pl.DataFrame(data, schema=schema, strict=False)
    return sort_table(name, df) if sort else df


def _values(rows: list[dict], column: str) -> list:
    """The column's value in each row, None where a row lacks it."""
    try:
        # most tables' rows carry every column: itemgetter through map is the fastest way
        return list(map(itemgetter(column), rows))
    except KeyError:
        return [r.get(column) for r in rows]


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


def sort_by_meeting(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """The table in its stable row order, when each meeting's rows are already in it.

    For a table combined from parts that were each put in order by :func:`sort_table`, with
    every meeting's rows in one part: the meetings' blocks of rows are put in order by meeting
    id: a sort of one row per meeting instead of one per row (``source_lines`` of 10,000 meetings:
    0.11 CPU-seconds against 1.35). Every key starts with ``meeting_id``, so within a meeting the
    rows keep the order their part gave them, which is the order :func:`sort_table` gives.
    A meeting whose rows are not one block (or a null meeting id) falls back to
    :func:`sort_table`.
    """
    keys = SORT_KEYS.get(name)
    if not keys or not df.height:
        return df
    if keys[0] != "meeting_id":
        return sort_table(name, df)
    runs = df.select(pl.col("meeting_id").rle()).unnest("meeting_id")
    ids = runs["value"]
    if ids.null_count() or ids.n_unique() != runs.height:
        return sort_table(name, df)
    order = ids.arg_sort()
    if order.is_sorted():
        return df
    import numpy as np

    lengths = runs["len"].cast(pl.Int64).to_numpy()
    starts = np.cumsum(lengths) - lengths
    order_ = order.to_numpy()
    if df.height >= _ROWS_FOR_SLICES * runs.height:
        # Long blocks: one copy of the blocks' slices, in order, is faster than a gather.
        return pl.concat([df.slice(int(starts[i]), int(lengths[i])) for i in order_], rechunk=True)
    lengths, starts = lengths[order_], starts[order_]
    moved = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return df[pl.Series(np.arange(df.height, dtype=np.int64) + moved)]


# From about this many rows a meeting, copying slices beats gathering rows (measured at 10,000
# meetings: source_lines, ~330 rows a meeting, 0.11 against 0.34 CPU-seconds; consultations,
# ~10, 0.20 against 0.07).
_ROWS_FOR_SLICES = 64


def frames(rows_by_table: dict[str, list[dict]]) -> dict[str, pl.DataFrame]:
    return {t.name: to_frame(t.name, rows_by_table.get(t.name, [])) for t in TABLES}
