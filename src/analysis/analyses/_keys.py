"""Integer stand-ins for string keys, made cheaply from the tables' row order.

The tables hold the rows of one deliberation (``meeting_id``, ``deliberation_group``) next to
each other, and a deliberation's turns in ``seq`` order. Joins, group-bys and distinct counts on
the string keys hash every row's strings; here the strings are compared only between
neighbouring rows (runs of equal keys) and hashed once per run, and a turn becomes one sortable
integer, so that a lookup of turns is a merge of two sorted integer columns.

Every helper gives the same answer for rows in any order; the order only decides how fast.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

_SEQ_SPAN = 1 << 32  # a turn as one integer: deliberation code × span + seq


def runs(frame: pl.DataFrame, keys: list[str]) -> tuple[pl.Series, pl.DataFrame]:
    """The run of equal ``keys`` values each row is in (0, 1, …) and each run's first row."""
    keyed = frame.select(keys).with_columns(pl.struct(keys).rle_id().alias("_run"))
    heads = keyed.filter(pl.col("_run").diff().fill_null(1) != 0).drop("_run")
    return keyed["_run"], heads


def key_codes(frames: Sequence[pl.DataFrame], keys: Sequence[str]) -> list[pl.Series]:
    """Per frame, a UInt32 code of each row's ``keys`` values: rows of any of ``frames`` get the
    same code exactly when their values are the same (a null counts as a value, as in a
    group-by). Codes are dense (0 … distinct values − 1), in no particular order."""
    keys = list(keys)
    parts = [runs(f, keys) for f in frames]
    dictionary = pl.concat([heads for _, heads in parts]).unique().with_row_index("_code")
    return [
        heads.join(dictionary, on=keys, how="left", nulls_equal=True, maintain_order="left")[
            "_code"
        ].gather(run)
        for run, heads in parts
    ]


def group_codes(frame: pl.DataFrame, keys: Sequence[str]) -> pl.Series:
    """A UInt32 code of each row's ``keys`` values, equal exactly when the values are (a null
    counts as a value): the run number when each value is in one run of rows (as the tables
    are written: one key column sorted without nulls, or no run's value repeated), else
    :func:`key_codes`. A group-by on the code is a group-by on the keys, without hashing their
    strings for each row."""
    keys = list(keys)
    run, heads = runs(frame, keys)
    column = frame[keys[0]]
    one_run_each = (len(keys) == 1 and column.null_count() == 0 and column.is_sorted()) or not (
        heads.is_duplicated().any()
    )
    return run.cast(pl.UInt32) if one_run_each else key_codes([frame], keys)[0]


def statement_codes(
    frame: pl.DataFrame, text: str = "text", line: str = "source_line"
) -> pl.Series:
    """An Int64 code of each row's (``text``, ``line``), equal exactly when both are (nulls
    included): the text's place among the distinct texts paired with the line number, or
    :func:`key_codes` when a line is outside [0, 2³² − 1)."""
    lines = frame[line]
    if lines.len() and not lines.drop_nulls().is_between(0, _SEQ_SPAN - 2).all():
        return key_codes([frame], [text, line])[0].cast(pl.Int64)
    names = frame[text].drop_nulls().unique().sort()
    return frame.select(
        pair_key(
            enum_codes(pl.col(text), names, null_code=names.len()),
            pl.col(line).fill_null(-1) + 1,
        )
    ).to_series()


def enum_codes(expr: pl.Expr, names: Sequence[str], *, null_code: int | None = None) -> pl.Expr:
    """``expr``'s strings as their place in ``names`` (distinct strings): null for a string not
    among them, and for null (or ``null_code`` when given, e.g. ``len(names)``)."""
    code = expr.cast(pl.Enum(list(names)), strict=False).to_physical().cast(pl.UInt32)
    if null_code is None:
        return code
    return pl.when(expr.is_null()).then(pl.lit(null_code, pl.UInt32)).otherwise(code)


def pair_key(high: pl.Expr, low: pl.Expr) -> pl.Expr:
    """Two codes below 2³¹ and 2³² as one Int64 (null when either is null)."""
    return high.cast(pl.Int64) * _SEQ_SPAN + low.cast(pl.Int64)


def _in_range(seq: pl.Series) -> pl.Series:
    return seq.is_between(0, _SEQ_SPAN - 1)


class Turns:
    """The turns of ``utterances`` as sortable integers, to look rows of other tables up in it.

    ``usable`` is false unless ``utterances`` holds each (keys, seq) once, its keys without
    nulls, each deliberation (equal ``keys``) in one run of rows with ``seq`` ascending in
    [0, 2³²) — as the tables are written; the callers then join on the keys as before.
    ``deliberation`` is each row's deliberation code (0, 1, … in row order).
    """

    def __init__(
        self,
        utterances: pl.DataFrame,
        keys: Sequence[str] = ("meeting_id", "deliberation_group"),
        seq: str = "seq",
    ) -> None:
        self.keys, self.seq = list(keys), seq
        self.usable = False
        if utterances.select(pl.any_horizontal(pl.col(*self.keys, seq).is_null().any())).item():
            return
        if utterances.height and not _in_range(utterances[seq]).all():
            return
        self.deliberation, self._heads = runs(utterances, self.keys)
        if self._heads.is_duplicated().any():
            return  # a deliberation in more than one run
        turn = self.deliberation.cast(pl.Int64) * _SEQ_SPAN + utterances[seq]
        if utterances.height > 1 and not (turn.diff().drop_nulls() > 0).all():
            return  # not in turn order, or a turn twice
        self._lookup = pl.DataFrame({"_turn": turn}).with_row_index("_row").set_sorted("_turn")
        self.usable = True

    def deliberations(self, frame: pl.DataFrame) -> pl.Series:
        """The deliberation code of each row of ``frame`` (UInt32; null for a deliberation the
        utterances do not have, or with a null key)."""
        run, heads = runs(frame, self.keys)
        return heads.join(
            self._heads.with_row_index("_code"), on=self.keys, how="left", maintain_order="left"
        )["_code"].gather(run)

    def rows(self, frame: pl.DataFrame) -> pl.Series:
        """For each row of ``frame``, the row number of the utterance with the same keys and
        seq (UInt32; null when there is none, or when a key or seq is null, as an inner join
        would drop the row)."""
        seq = frame[self.seq]
        turn = pl.select(
            pl.when(_in_range(seq))
            .then(self.deliberations(frame).cast(pl.Int64) * _SEQ_SPAN + seq)
            .otherwise(None)
        ).to_series()
        probe = pl.DataFrame({"_turn": turn})
        if turn.null_count() == 0 and turn.is_sorted():
            probe = probe.set_sorted("_turn")
        return probe.join(self._lookup, on="_turn", how="left", maintain_order="left")["_row"]


def turn_rows(
    left: pl.DataFrame,
    right: pl.DataFrame,
    keys: Sequence[str] = ("meeting_id", "deliberation_group"),
    seq: str = "seq",
) -> pl.Series | None:
    """For each row of ``left``, the row number in ``right`` of the row with the same ``keys``
    and ``seq`` (see :meth:`Turns.rows`); None when ``right`` is not usable as
    :class:`Turns` (not in turn order: the caller then joins on the keys)."""
    turns = Turns(right, keys, seq)
    return turns.rows(left) if turns.usable else None


def strictly_ascending(frame: pl.DataFrame, columns: Sequence[str]) -> bool:
    """Whether each row of ``frame`` comes after the one before in ``columns``' order (the first
    column deciding, the next on a tie, …): the rows are then sorted and no combination of the
    values is there twice, so a check that each is there once (``is_first_distinct``) can be
    skipped. False when a null has to be compared. Only neighbouring rows are compared."""
    later = None
    for name in reversed(list(columns)):
        col, prev = pl.col(name), pl.col(name).shift()
        later = col > prev if later is None else (col > prev) | ((col == prev) & later)
    return frame.height < 2 or frame.select(later.slice(1).fill_null(False).all()).item()


def turns_where(
    frame: pl.DataFrame,
    rows: pl.Series,
    utterances: pl.DataFrame,
    condition: pl.Expr,
    name: str = "_turn",
) -> pl.DataFrame:
    """The rows of ``frame`` whose turn, at ``rows`` in ``utterances`` (:meth:`Turns.rows`), is
    there and meets ``condition``; with that row number as column ``name``."""
    keep = utterances.select(condition.fill_null(False)).to_series()
    return frame.with_columns(rows.alias(name)).filter(keep.gather(rows).fill_null(False))
