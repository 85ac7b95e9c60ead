"""Validate every table against a pandera schema (polars backend) from :mod:`analysis.schema`."""

from __future__ import annotations

from functools import cache

import polars as pl

from analysis.schema import TABLES, Table, table
from analysis.tables import polars_schema


class ValidationError(Exception):
    """A table breaks its schema. The message names the table, the column and the offending rows."""


@cache
def pandera_schema(name: str):
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
        unique=list(t.primary_key) if len(t.primary_key) > 1 else None,
        name=name,
    )


def validate_table(name: str, df: pl.DataFrame) -> pl.DataFrame:
    import pandera.errors as pe

    schema = pandera_schema(name)
    try:
        return schema.validate(df, lazy=True)
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
