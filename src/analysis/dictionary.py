"""The data dictionary, generated from :mod:`analysis.schema` so that it cannot drift."""

from __future__ import annotations

from analysis.schema import LINE_ROLES, TABLES


def render() -> str:
    out = [
        "# Data dictionary",
        "",
        "Generated from `src/analysis/schema.py` by `council dictionary`; do not edit by hand",
        "(a test fails when this file and the schema disagree).",
        "",
        "Every table is written to `data/processed/<table>.parquet` and into",
        "`data/processed/council.duckdb`; `council build --excel` adds `excel/<table>.csv`",
        "(UTF-8 with BOM) and `excel/council.xlsx`. List columns are joined with `; ` in the",
        "Excel copies.",
        "",
    ]
    for t in TABLES:
        out += [f"## {t.name}", "", t.description, ""]
        if t.primary_key:
            out += [f"Key: {', '.join('`' + k + '`' for k in t.primary_key)}", ""]
        out += ["| column | type | null | meaning |", "|---|---|---|---|"]
        for c in t.columns:
            desc = c.description
            if c.choices:
                desc += " One of: " + ", ".join(f"`{v}`" for v in c.choices) + "."
            out.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.nullable else 'no'} | {desc} |")
        out.append("")
        if t.name == "source_lines":
            out += ["Line roles: " + ", ".join(f"`{r}`" for r in LINE_ROLES) + ".", ""]
    return "\n".join(out)
