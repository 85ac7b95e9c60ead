"""Personal data the 諮問 handle: which items recur, what each 諮問 handles, which are sensitive.

Items stated once for a group deliberated together are stored once per 諮問 of the group;
``count_groups_once`` decides whether they count once per deliberation or once per 諮問.
"""

from __future__ import annotations

import polars as pl

from analysis.analyses._common import (
    GROUP_KEY,
    Tables,
    consultations_view,
    count,
    every_ref,
    first_refs,
    get_table,
)
from analysis.analyses._keys import enum_codes, pair_key

_FLAG_SCHEMA = {
    "consultation_id": pl.String,
    "meeting_id": pl.String,
    "deliberation_group": pl.String,
    "item": pl.String,
    "item_norm": pl.String,
    "item_group": pl.String,
    "pattern": pl.String,
    "label_ja": pl.String,
    "kind": pl.String,
    "matched_in": pl.String,
    "source_line": pl.Int64,
}


def _sensitive(sensitive_items: pl.DataFrame | None) -> pl.DataFrame:
    if sensitive_items is None:
        from analysis.analyses.reference_data import load_sensitive_items

        sensitive_items = load_sensitive_items()
    return (
        sensitive_items.select("pattern", "label_ja", "kind")
        .with_columns(pl.col("pattern").str.normalize("NFKC"))
        .filter(pl.col("pattern").is_not_null() & (pl.col("pattern") != ""))
        .unique("pattern", keep="first", maintain_order=True)
    )


def items_by_frequency(
    personal_data_items: pl.DataFrame,
    *,
    count_groups_once: bool = True,
    refs_limit: int | None = None,
) -> pl.DataFrame:
    """Items (by ``item_norm``) and how many 諮問 handle them.

    Columns: item_norm, count (deliberations when ``count_groups_once``, else 諮問),
    consultations, deliberations, meetings, item_groups (the enclosing groups the item was
    listed under, e.g. 課税情報), consultation_ids, source_refs (``meeting_id:line``).
    Sorted by count (descending), then item_norm. With ``refs_limit``, source_refs holds only
    the first ``refs_limit`` references in meeting and line order, and a last column n_refs
    counts them all (see :func:`analysis.analyses._common.first_refs`).
    """
    out = personal_data_items.group_by("item_norm").agg(
        consultations=count(pl.col("consultation_id").n_unique()),
        deliberations=count(pl.struct(*GROUP_KEY).n_unique()),
        meetings=count(pl.col("meeting_id").n_unique()),
        item_groups=pl.col("item_group").drop_nulls().unique(maintain_order=True),
        consultation_ids=pl.col("consultation_id").unique(maintain_order=True),
        **every_ref(refs_limit),
    )
    if refs_limit is not None:
        refs = first_refs(personal_data_items, "item_norm", refs_limit)
        out = out.join(refs, on="item_norm", nulls_equal=True)
    return (
        out.with_columns(
            count=pl.col("deliberations") if count_groups_once else pl.col("consultations")
        )
        .select(
            "item_norm",
            "count",
            "consultations",
            "deliberations",
            "meetings",
            "item_groups",
            "consultation_ids",
            "source_refs",
            *(["n_refs"] if refs_limit is not None else []),
        )
        .sort(["count", "item_norm"], descending=[True, False])
    )


def flag_sensitive_items(
    personal_data_items: pl.DataFrame, sensitive_items: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Item rows that match a sensitive pattern, one row per (item row, sensitive label).

    A pattern matches when it is a substring of ``item_norm`` (NFKC-normalised by the build) or
    of ``item_group`` (normalised here); patterns are NFKC-normalised too. When several patterns
    of one label match a row, the row appears once for that label, with the first pattern found
    in the item itself (else in its group); ``matched_in`` says where (``item`` or
    ``item_group``).
    ``sensitive_items`` (pattern, label_ja, kind) defaults to
    ``data/reference/sensitive_items.csv``.

    Columns: consultation_id, meeting_id, deliberation_group, item, item_norm, item_group,
    pattern, label_ja, kind, matched_in, source_line.
    """
    patterns = _sensitive(sensitive_items)
    if personal_data_items.height == 0 or patterns.height == 0:
        return pl.DataFrame(schema=_FLAG_SCHEMA)
    plist = patterns["pattern"].to_list()
    labels = patterns["label_ja"].drop_nulls().unique().sort().to_list()
    rows = personal_data_items
    found = pl.concat(
        [
            _rows_matching(rows, "item_norm", pl.col("item_norm"), plist, 0),  # NFKC already
            _rows_matching(
                rows, "item_group", pl.col("item_group").str.normalize("NFKC"), plist, 1
            ),
        ]
    )
    # per (row, label), the first pattern found in the item, else in its group
    label = patterns.select(
        enum_codes(pl.col("label_ja"), labels, null_code=len(labels))
    ).to_series()
    picked = (
        found.sort("_row", "_in", "_p")
        .filter(pair_key(pl.col("_row"), pl.lit(label).gather(pl.col("_p"))).is_first_distinct())
        .sort("_row", "_p")
    )
    matched_in = pl.when(pl.col("_in") == 0).then(pl.lit("item")).otherwise(pl.lit("item_group"))
    return pl.concat(
        [
            rows.select(pl.all().gather(picked["_row"])),
            patterns.select(pl.all().gather(picked["_p"])),
            picked.select(matched_in=matched_in),
        ],
        how="horizontal",
    ).select(pl.col(c).cast(t) for c, t in _FLAG_SCHEMA.items())


def _rows_matching(
    rows: pl.DataFrame, column: str, text: pl.Expr, patterns: list[str], matched_in: int
) -> pl.DataFrame:
    """(_row, _p, _in) for each pattern (its place ``_p`` in ``patterns``) found in ``text``
    (an expression of ``column``), overlaps included, with ``_in`` = ``matched_in``; the
    patterns are searched once per distinct value of ``column`` (items repeat across 諮問),
    not once per row, and the rows are matched to the values by their place among them."""
    values = rows[column].drop_nulls().unique().sort().to_list()
    found = (
        pl.DataFrame({column: values}, schema={column: rows.schema[column]})
        .with_columns(_p=text.str.extract_many(patterns, overlapping=True))
        .with_row_index("_v")
        .explode("_p")
        .drop_nulls("_p")
        .select("_v", _p=enum_codes(pl.col("_p"), patterns))
    )
    return (
        rows.select(_v=enum_codes(pl.col(column), values))
        .with_row_index("_row")
        .join(found, on="_v", how="inner")
        .select("_row", "_p", _in=pl.lit(matched_in, pl.UInt8))
    )


def sensitive_summary(
    flags: pl.DataFrame, *, count_groups_once: bool = True, refs_limit: int | None = None
) -> pl.DataFrame:
    """Sensitive categories by how many 諮問 handle them, from :func:`flag_sensitive_items`.

    Columns: label_ja, kind, count (deliberations when ``count_groups_once``, else 諮問),
    consultations, deliberations, items (distinct item_norm), patterns, consultation_ids,
    source_refs. Sorted by count (descending), then label_ja. With ``refs_limit``, source_refs
    holds only the first ``refs_limit`` references in meeting and line order, and a last
    column n_refs counts them all (see :func:`analysis.analyses._common.first_refs`).
    """
    out = flags.group_by("label_ja", "kind").agg(
        consultations=count(pl.col("consultation_id").n_unique()),
        deliberations=count(pl.struct(*GROUP_KEY).n_unique()),
        items=pl.col("item_norm").unique(maintain_order=True),
        patterns=pl.col("pattern").unique(maintain_order=True),
        consultation_ids=pl.col("consultation_id").unique(maintain_order=True),
        **every_ref(refs_limit),
    )
    if refs_limit is not None:
        refs = first_refs(flags, ["label_ja", "kind"], refs_limit)
        out = out.join(refs, on=["label_ja", "kind"], nulls_equal=True)
    return (
        out.with_columns(
            count=pl.col("deliberations") if count_groups_once else pl.col("consultations")
        )
        .select(
            "label_ja",
            "kind",
            "count",
            "consultations",
            "deliberations",
            "items",
            "patterns",
            "consultation_ids",
            "source_refs",
            *(["n_refs"] if refs_limit is not None else []),
        )
        .sort(["count", "label_ja"], descending=[True, False])
    )


def items_by_consultation(
    tables: Tables,
    *,
    sensitive_items: pl.DataFrame | None = None,
    flags: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per 諮問 with the personal data items it handles and its sensitive categories.

    Every 諮問 appears, those that list no item with ``n_items`` 0 (a gap worth checking in the
    minutes). Columns: consultation_id, meeting_id, label, deliberation_group, category,
    n_items, items (item_norm, in the order stated), item_groups, n_sensitive (items matching a
    sensitive pattern), sensitive_labels, sensitive_kinds, source_lines.

    ``flags``: :func:`flag_sensitive_items` of the tables' items, when the caller already has
    it (``sensitive_items`` is then not used).
    """
    cons = consultations_view(tables).select(
        "consultation_id", "meeting_id", "label", "deliberation_group", "category", "seq", "date"
    )
    pdi = get_table(tables, "personal_data_items")
    items = pdi.group_by("consultation_id").agg(
        n_items=count(pl.len()),
        items=pl.col("item_norm"),
        item_groups=pl.col("item_group").drop_nulls().unique(maintain_order=True),
        source_lines=pl.col("source_line").unique(maintain_order=True),
    )
    if flags is None:
        flags = flag_sensitive_items(pdi, sensitive_items)
    sens = flags.group_by("consultation_id").agg(
        n_sensitive=count(pl.struct("item_norm", "item_group", "source_line").n_unique()),
        sensitive_labels=pl.col("label_ja").unique(maintain_order=True),
        sensitive_kinds=pl.col("kind").unique(maintain_order=True),
    )
    empty_str = pl.lit([], pl.List(pl.String))
    return (
        cons.join(items, on="consultation_id", how="left")
        .join(sens, on="consultation_id", how="left")
        .with_columns(
            pl.col("n_items", "n_sensitive").fill_null(0),
            pl.col("items", "item_groups", "sensitive_labels", "sensitive_kinds").fill_null(
                empty_str
            ),
            pl.col("source_lines").fill_null(pl.lit([], pl.List(pl.Int64))),
        )
        .sort("date", "meeting_id", "seq", nulls_last=True)
        .select(
            "consultation_id",
            "meeting_id",
            "label",
            "deliberation_group",
            "category",
            "n_items",
            "items",
            "item_groups",
            "n_sensitive",
            "sensitive_labels",
            "sensitive_kinds",
            "source_lines",
        )
    )
