"""The consultation register: one row per 諮問, with everything an analyst filters or counts by."""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis.analyses._common import (
    GROUP_KEY,
    Tables,
    consultations_view,
    count,
    get_table,
    validate_choices,
)
from analysis.schema import CATEGORIES

REGISTER_COLUMNS = (
    "consultation_id",
    "meeting_id",
    "date",
    "fiscal_year",
    "session_no",
    "label",
    "title",
    "category",
    "category_ja",
    "bureau",
    "departments",
    "deliberation_group",
    "decision",
    "vote",
    "conditions",
    "questions",
    "remarks",
    "follow_ups",
    "commitments",
    "corrections",
    "requests",
    "safeguard_measures",
    "safeguard_statements",
    "personal_data_items",
    "source_line_start",
    "source_line_end",
)


def consultation_register(
    tables: Tables,
    *,
    fiscal_years: Any = None,
    bureau: Any = None,
    department: Any = None,
    category: Any = None,
    meeting_id: Any = None,
    category_labels: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per 諮問 (``agenda_kind == "consultation"``; reports are left out).

    Columns, in order: consultation_id, meeting_id, date, fiscal_year, session_no, label, title,
    category, category_ja, bureau, departments, deliberation_group, decision, vote, conditions,
    questions, remarks, follow_ups, commitments, corrections, requests, safeguard_measures,
    safeguard_statements, personal_data_items, source_line_start, source_line_end.

    Counting rules:

    - ``questions``, ``remarks`` and the follow-up counts (``follow_ups`` = commitments +
      corrections + requests) belong to the deliberation; every 諮問 of a group deliberated
      together carries the group's figures (as ``consultations.questions`` already does). Count
      a group once by de-duplicating on (meeting_id, deliberation_group).
    - ``safeguard_measures``: distinct classified measure codes stated for the 諮問
      (``unclassified`` is not a measure); ``safeguard_statements``: distinct statements
      (text, source line), classified or not — 0 means the 諮問 states no safeguard at all.
    - ``personal_data_items``: rows of ``personal_data_items`` for the 諮問.

    Filters (each takes one value or a list; ``None`` means no filter): ``fiscal_years``,
    ``bureau``, ``department`` (a 諮問 matches if the department is among its ``departments``),
    ``category`` (one of :data:`analysis.schema.CATEGORIES`), ``meeting_id``. A value not found
    in the data raises ``ValueError`` naming it and the allowed values.

    ``category_labels`` (category, label_ja) defaults to ``data/reference/categories.csv``.
    """
    cons = consultations_view(tables)

    def allowed(values: pl.Series) -> list:
        return values.drop_nulls().unique().sort().to_list()

    years = bureaus = depts = meetings = None
    if fiscal_years is not None:
        years = validate_choices("fiscal_years", fiscal_years, allowed(cons["fiscal_year"]))
    if bureau is not None:
        bureaus = validate_choices("bureau", bureau, allowed(cons["bureau"]))
    if department is not None:
        depts = validate_choices("department", department, allowed(cons["departments"].explode()))
    cats = validate_choices("category", category, CATEGORIES)
    if meeting_id is not None:
        meetings = validate_choices("meeting_id", meeting_id, allowed(cons["meeting_id"]))

    if years is not None:
        cons = cons.filter(pl.col("fiscal_year").is_in(years))
    if bureaus is not None:
        cons = cons.filter(pl.col("bureau").is_in(bureaus))
    if depts is not None:
        cons = cons.filter(pl.col("departments").list.eval(pl.element().is_in(depts)).list.any())
    if cats is not None:
        cons = cons.filter(pl.col("category").is_in(cats))
    if meetings is not None:
        cons = cons.filter(pl.col("meeting_id").is_in(meetings))

    if category_labels is None:
        from analysis.analyses.reference_data import load_category_labels

        category_labels = load_category_labels()
    labels = category_labels.select("category", category_ja="label_ja").unique(
        "category", keep="first", maintain_order=True
    )

    follow_ups = (
        get_table(tables, "follow_ups")
        .group_by(*GROUP_KEY)
        .agg(
            follow_ups=count(pl.len()),
            commitments=count((pl.col("kind") == "commitment").sum()),
            corrections=count((pl.col("kind") == "correction").sum()),
            requests=count((pl.col("kind") == "request").sum()),
        )
    )
    safeguards = (
        get_table(tables, "safeguards")
        .group_by("consultation_id")
        .agg(
            safeguard_measures=count(
                pl.col("measure").filter(pl.col("measure") != "unclassified").n_unique()
            ),
            safeguard_statements=count(pl.struct("text", "source_line").n_unique()),
        )
    )
    items = (
        get_table(tables, "personal_data_items")
        .group_by("consultation_id")
        .agg(personal_data_items=count(pl.len()))
    )

    counts = (
        "follow_ups",
        "commitments",
        "corrections",
        "requests",
        "safeguard_measures",
        "safeguard_statements",
        "personal_data_items",
    )
    return (
        cons.join(labels, on="category", how="left")
        .join(follow_ups, on=list(GROUP_KEY), how="left")
        .join(safeguards, on="consultation_id", how="left")
        .join(items, on="consultation_id", how="left")
        .with_columns(
            pl.col(list(counts)).fill_null(0),
            pl.coalesce("category_ja", "category").alias("category_ja"),
        )
        .sort("date", "meeting_id", "seq", nulls_last=True)
        .select(REGISTER_COLUMNS)
    )
