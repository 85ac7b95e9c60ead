"""Validate every table against a pandera schema (polars backend) from :mod:`analysis.schema`."""

from __future__ import annotations

import operator
from functools import cache, reduce

import polars as pl

from analysis.schema import TABLES, Table, table
from analysis.tables import polars_schema


class ValidationError(Exception):
    """A table breaks its schema. The message names the table, the column and the offending rows."""


@cache
def pandera_schema(name: str, *, with_key: bool = True):
    """The table's pandera schema; ``with_key=False`` leaves out its composite-key check."""
    import pandera.polars as pa

    t: Table = table(name)
    dtypes = polars_schema(t)
    columns = {}
    for c in t.columns:
        checks = []
        if c.choices:
            checks.append(pa.Check.isin(list(c.choices)))
        columns[c.name] = pa.Column(
            dtypes[c.name], nullable=c.nullable, unique=c.unique, checks=checks
        )
    return pa.DataFrameSchema(
        columns,
        strict=True,
        unique=_composite_key(t) if with_key else None,
        name=name,
    )


def _composite_key(t: Table) -> list[str] | None:
    return list(t.primary_key) if len(t.primary_key) > 1 else None


def prepare() -> None:
    """Build the schemas :func:`validate_table` passes tables with now (importing pandera), so
    that validating costs no start-up; the full schemas are needed only for a failing table."""
    for t in TABLES:
        pandera_schema(t.name, with_key=False)


def validate_table(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """The table as pandera's schema passes it; :class:`ValidationError` if it breaks it.

    pandera checks a composite key by hashing whole rows of its columns, which costs several
    times the table's memory on the large tables; a table passes when the other checks pass and
    :func:`duplicated_key` finds no repeated key. Anything else is validated again with the full
    schema, so that a failure reads exactly as pandera reports it.
    """
    import pandera.errors as pe

    key = _composite_key(table(name))
    try:
        out = pandera_schema(name, with_key=False).validate(df, lazy=True)
    except pe.SchemaErrors:
        return _validate_fully(name, df)
    if key is not None and duplicated_key(df, key):
        return _validate_fully(name, df)
    return out


def duplicated_key(df: pl.DataFrame, key: list[str]) -> bool:
    """Whether two rows share the values of ``key`` (nulls equal), in little memory.

    Each row's key is hashed to 64 bits and the hashes sorted; only rows whose hash repeats
    are compared by value.
    """
    row_hash = reduce(operator.xor, (pl.col(c).hash(i) for i, c in enumerate(key)))
    hashes = df.select(row_hash.sort()).to_series()
    repeated = hashes.filter(hashes == hashes.shift(1))
    if repeated.is_empty():
        return False
    suspects = df.filter(row_hash.is_in(repeated.implode())).select(key)
    return bool(suspects.is_duplicated().any())


def _validate_fully(name: str, df: pl.DataFrame) -> pl.DataFrame:
    import pandera.errors as pe

    try:
        return pandera_schema(name).validate(df, lazy=True)
    except pe.SchemaErrors as exc:
        raise ValidationError(_describe(name, df, exc)) from None
    except pe.SchemaError as exc:  # pragma: no cover - lazy=True reports SchemaErrors
        raise ValidationError(f"table {name}: {exc}") from None


def _describe(name: str, df: pl.DataFrame, exc) -> str:
    lines = [f"table {name} breaks its schema:"]
    fc = exc.failure_cases
    try:
        rows = fc.to_dicts() if hasattr(fc, "to_dicts") else fc.to_dict("records")
    except Exception:  # pragma: no cover
        rows = []
    by_col: dict[str, list] = {}
    for r in rows:
        col = r.get("column") or r.get("schema_context") or "?"
        by_col.setdefault(str(col), []).append(r)
    for col, cases in by_col.items():
        check = cases[0].get("check")
        idx = [c.get("index") for c in cases if c.get("index") is not None][:10]
        vals = [c.get("failure_case") for c in cases][:5]
        lines.append(f"  column {col}: {check}; rows {idx or '?'}; values {vals}")
    return "\n".join(lines)


def validate_all(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {t.name: validate_table(t.name, frames[t.name]) for t in TABLES}
