"""Departments before the council: what they brought, what members asked, what they promised.

A 諮問 presented by several departments (課税課・市民課) counts once for each of them; its
bureau counts it once.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis.analyses._common import (
    GROUP_KEY,
    Tables,
    consultations_view,
    count,
    explode_list,
    get_table,
    group_info,
    validate_choice,
    validate_choices,
)
from analysis.schema import CATEGORIES, FOLLOW_UP_KINDS

LEVELS = ("department", "bureau")
_GROUP_FIGURES = ("questions", "remarks", "follow_ups", "commitments", "corrections", "requests")


def department_summary(
    register: pl.DataFrame, *, level: str = "department", count_groups_once: bool = True
) -> pl.DataFrame:
    """諮問 counts by category, questions drawn and follow-ups, per department or bureau.

    ``register`` is the output of :func:`analysis.analyses.consultation_register` (filter it
    first to restrict years or categories). ``level`` is ``"department"`` (one row per bureau and
    department) or ``"bureau"``.

    Columns: bureau, [department,] consultations, deliberations, meetings, one column
    ``n_<category>`` per category (every category of the schema, zeros included), questions,
    questions_per_consultation, remarks, follow_ups, commitments, corrections, requests,
    consultation_ids, first_date, last_date.

    Questions, remarks and follow-ups belong to a deliberation. With ``count_groups_once`` (the
    default) a group deliberated together (ク・ケ・コ) adds its questions once to the unit; with
    ``False`` every 諮問 adds the group's figures (the register's own per-諮問 attribution).
    ``questions_per_consultation`` is ``questions / consultations``.
    """
    validate_choice("level", level, LEVELS)
    keys = ["bureau", "department"] if level == "department" else ["bureau"]
    rows = register
    if level == "department":
        rows = explode_list(register, "departments", "department")
    # With count_groups_once, a deliberation's figures count on its first row in each unit only.
    first = pl.struct(*GROUP_KEY).is_first_distinct() if count_groups_once else pl.lit(True)
    return (
        rows.group_by(keys)
        .agg(
            *[count((pl.col("category") == c).sum()).alias(f"n_{c}") for c in CATEGORIES],
            *[count(pl.col(f).filter(first).sum()).alias(f) for f in _GROUP_FIGURES],
            consultations=count(pl.len()),
            deliberations=count(pl.struct(*GROUP_KEY).n_unique()),
            meetings=count(pl.col("meeting_id").n_unique()),
            consultation_ids=pl.col("consultation_id"),
            first_date=pl.col("date").min(),
            last_date=pl.col("date").max(),
        )
        .with_columns(
            questions_per_consultation=pl.when(pl.col("consultations") > 0).then(
                pl.col("questions") / pl.col("consultations")
            )
        )
        .select(
            *keys,
            "consultations",
            "deliberations",
            "meetings",
            *[f"n_{c}" for c in CATEGORIES],
            "questions",
            "questions_per_consultation",
            "remarks",
            "follow_ups",
            "commitments",
            "corrections",
            "requests",
            "consultation_ids",
            "first_date",
            "last_date",
        )
        .sort(
            ["consultations", *keys],
            descending=[True] + [False] * len(keys),
            nulls_last=True,
        )
    )


def department_follow_ups(
    tables: Tables,
    *,
    kinds: Any = ("commitment", "correction"),
    bureau: Any = None,
    department: Any = None,
) -> pl.DataFrame:
    """What departments promised or corrected before the council, one row per department.

    Each row of ``follow_ups`` is attributed to a department: the speaker's 課 when a
    department's staff said it (``utterances.speaker_org``), otherwise (a member's request, or a
    speaker whose 課 is unknown) every department of the deliberation's 諮問.

    Columns: meeting_id, date, fiscal_year, deliberation_group, labels, consultation_ids,
    bureau, department, kind, text, seq, speaker_role, source_line.

    ``kinds``: one kind or several of commitment, correction, request (default: commitments and
    corrections). ``bureau`` / ``department``: optional filters, validated against the values in
    the data.
    """
    kinds = validate_choices("kinds", kinds, FOLLOW_UP_KINDS)
    cons = consultations_view(tables)
    groups = group_info(cons)
    dept_bureau = (
        explode_list(cons, "departments")
        .select(*GROUP_KEY, department="departments", dept_bureau="bureau")
        .drop_nulls("department")
        .unique([*GROUP_KEY, "department"], keep="first")
    )
    speakers = get_table(tables, "utterances").select(
        *GROUP_KEY, "seq", "speaker_role", "speaker_org"
    )
    fu = get_table(tables, "follow_ups")
    if kinds is not None:
        fu = fu.filter(pl.col("kind").is_in(kinds))
    rows = (
        fu.join(speakers, on=[*GROUP_KEY, "seq"], how="left")
        .join(groups, on=list(GROUP_KEY), how="left")
        .with_columns(
            department=pl.when(
                (pl.col("speaker_role") == "department") & pl.col("speaker_org").is_not_null()
            )
            .then(pl.concat_list(pl.col("speaker_org")))
            .otherwise(pl.col("departments"))
        )
        .pipe(explode_list, "department")
        .join(dept_bureau, on=[*GROUP_KEY, "department"], how="left")
        .with_columns(
            bureau=pl.coalesce("dept_bureau", pl.col("bureaus").list.first()),
        )
    )
    bureaus = depts = None
    if bureau is not None:
        allowed = pl.concat([cons["bureau"], rows["bureau"]]).drop_nulls().unique().sort()
        bureaus = validate_choices("bureau", bureau, allowed.to_list())
    if department is not None:
        allowed = pl.concat([dept_bureau["department"], rows["department"]])
        allowed = allowed.drop_nulls().unique().sort()
        depts = validate_choices("department", department, allowed.to_list())
    if bureaus is not None:
        rows = rows.filter(pl.col("bureau").is_in(bureaus))
    if depts is not None:
        rows = rows.filter(pl.col("department").is_in(depts))
    return rows.select(
        "meeting_id",
        "date",
        "fiscal_year",
        "deliberation_group",
        "labels",
        "consultation_ids",
        "bureau",
        "department",
        "kind",
        "text",
        "seq",
        "speaker_role",
        "source_line",
    ).sort("date", "meeting_id", "source_line", "department", nulls_last=True)
