"""Analyses of the cleaned datasets: pure functions, polars tables in, polars tables out.

They never read the minutes. The only files they may read are the editable reference tables in
``data/reference/`` (through :mod:`analysis.analyses.reference_data`), and only when the caller
does not pass them. Every count keeps a way back to the minutes: consultation ids, meeting ids
and source lines (``source_refs`` are ``"<meeting_id>:<line>"``).

Usage::

    from analysis import load
    from analysis.analyses import consultation_register, approval_rates

    t = load()
    reg = consultation_register(t, fiscal_years=[2020, 2021])
    approval_rates(reg, by="category")
"""

from __future__ import annotations

from analysis.analyses._common import validate_choice, validate_choices
from analysis.analyses.checklist import preparation_checklist
from analysis.analyses.departments import department_follow_ups, department_summary
from analysis.analyses.outcomes import (
    approval_rates,
    outcome_profile,
    wilson_exprs,
    wilson_interval,
)
from analysis.analyses.personal_data import (
    flag_sensitive_items,
    items_by_consultation,
    items_by_frequency,
    sensitive_summary,
)
from analysis.analyses.reference_data import (
    SENSITIVE_KINDS,
    known_topic_codes,
    load_category_labels,
    load_legal_regimes,
    load_sensitive_items,
    load_taxonomy,
    load_topic_safeguard_map,
)
from analysis.analyses.regime import legal_regime
from analysis.analyses.register import consultation_register
from analysis.analyses.safeguards import (
    coverage_matrix,
    measure_recurrence,
    safeguard_gaps,
    topic_safeguard_coverage,
    uncovered_topics,
)

__all__ = [
    "SENSITIVE_KINDS",
    "approval_rates",
    "consultation_register",
    "coverage_matrix",
    "department_follow_ups",
    "department_summary",
    "flag_sensitive_items",
    "items_by_consultation",
    "items_by_frequency",
    "known_topic_codes",
    "legal_regime",
    "load_category_labels",
    "load_legal_regimes",
    "load_sensitive_items",
    "load_taxonomy",
    "load_topic_safeguard_map",
    "measure_recurrence",
    "outcome_profile",
    "preparation_checklist",
    "safeguard_gaps",
    "sensitive_summary",
    "topic_safeguard_coverage",
    "uncovered_topics",
    "validate_choice",
    "validate_choices",
    "wilson_exprs",
    "wilson_interval",
]
