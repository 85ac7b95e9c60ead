"""Outcomes of 諮問: approval rates with Wilson intervals, and what happened beyond pass/fail."""

from __future__ import annotations

import math

import polars as pl

from analysis.analyses._common import count, explode_list, validate_choice

BY_CHOICES = ("category", "department", "fiscal_year", "bureau", "all")

# Decisions that count as the council agreeing to the 諮問.
APPROVED = ("approved", "approved_with_conditions")
# Decisions that are outcomes of a 諮問 (``unknown`` is a parse gap, not an outcome).
DECIDED = ("approved", "approved_with_conditions", "rejected", "deferred", "withdrawn")


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials at normal quantile ``z``.

    Returns ``(low, high)``; ``(nan, nan)`` when ``n == 0``. Unlike the normal approximation it
    stays inside [0, 1] and is sensible for 0 or n successes, which small councils often have
    (e.g. 10 of 10 approved gives 0.722–1.000).
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if z <= 0:
        raise ValueError(f"z must be positive, got {z}")
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson_exprs(k: pl.Expr, n: pl.Expr, z: float = 1.96) -> tuple[pl.Expr, pl.Expr]:
    """:func:`wilson_interval` as polars expressions; null where ``n`` is 0."""
    nf = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / nf
    z2 = z * z
    denom = 1 + z2 / nf
    centre = (p + z2 / (2 * nf)) / denom
    half = z * (p * (1 - p) / nf + z2 / (4 * nf * nf)).sqrt() / denom
    low = pl.when(n > 0).then((centre - half).clip(0.0, 1.0))
    high = pl.when(n > 0).then((centre + half).clip(0.0, 1.0))
    return low, high


def _grouped(register: pl.DataFrame, by: str) -> tuple[pl.DataFrame, str]:
    validate_choice("by", by, BY_CHOICES)
    if by == "department":
        return explode_list(register, "departments", "department"), by
    if by == "all":
        return register.with_columns(all=pl.lit("all")), by
    return register, by


def approval_rates(register: pl.DataFrame, by: str = "category", z: float = 1.96) -> pl.DataFrame:
    """Share of 諮問 the council agreed to, per ``by`` group, with a Wilson interval.

    ``register`` is the output of :func:`analysis.analyses.consultation_register`. ``by`` is one
    of category, department (a 諮問 of several departments counts for each), fiscal_year, bureau,
    or all (one row).

    Columns: <by>, consultations (all 諮問), n (those with a known decision: ``unknown`` is left
    out of the rate), approved (approved + approved_with_conditions), rate (approved / n),
    wilson_low, wilson_high, then one count per decision: n_approved,
    n_approved_with_conditions, n_rejected, n_deferred, n_withdrawn, n_unknown; and, to trace
    the figures back, consultation_ids (all) and not_approved_ids (any other decision).
    """
    rows, key = _grouped(register, by)
    decision = pl.col("decision")
    out = rows.group_by(key).agg(
        *[count((decision == d).sum()).alias(f"n_{d}") for d in (*DECIDED, "unknown")],
        consultations=count(pl.len()),
        n=count(decision.is_in(DECIDED).sum()),
        approved=count(decision.is_in(APPROVED).sum()),
        consultation_ids=pl.col("consultation_id"),
        not_approved_ids=pl.col("consultation_id").filter(~decision.is_in(APPROVED)),
    )
    low, high = wilson_exprs(pl.col("approved"), pl.col("n"), z)
    return (
        out.with_columns(
            rate=pl.when(pl.col("n") > 0).then(pl.col("approved") / pl.col("n")),
            wilson_low=low,
            wilson_high=high,
        )
        .select(
            key,
            "consultations",
            "n",
            "approved",
            "rate",
            "wilson_low",
            "wilson_high",
            *[f"n_{d}" for d in (*DECIDED, "unknown")],
            "consultation_ids",
            "not_approved_ids",
        )
        .sort(key, nulls_last=True)
    )


def outcome_profile(register: pl.DataFrame, by: str = "category") -> pl.DataFrame:
    """Outcomes beyond pass/fail, per ``by`` group (same choices as :func:`approval_rates`).

    Columns: <by>, consultations, with_conditions (approved_with_conditions, or any 諮問 whose
    ``conditions`` is filled), conditions_share, deferred, withdrawn, rejected, deferral_rate,
    withdrawal_rate, with_follow_ups (諮問 whose deliberation produced any follow-up),
    follow_ups_per_consultation, commitments_per_consultation, corrections_per_consultation,
    requests_per_consultation, questions_per_consultation, conditioned_ids (the 諮問 with
    conditions) and other_outcome_ids (rejected, deferred or withdrawn).

    Per-諮問 figures average the register's columns, where every 諮問 of a group carries the
    group's questions and follow-ups.
    """
    rows, key = _grouped(register, by)
    n = pl.len()
    decision = pl.col("decision")
    conditioned = (decision == "approved_with_conditions") | pl.col("conditions").is_not_null()
    out = rows.group_by(key).agg(
        consultations=count(n),
        with_conditions=count(conditioned.sum()),
        deferred=count((decision == "deferred").sum()),
        withdrawn=count((decision == "withdrawn").sum()),
        rejected=count((decision == "rejected").sum()),
        with_follow_ups=count((pl.col("follow_ups") > 0).sum()),
        follow_ups_per_consultation=pl.col("follow_ups").mean(),
        commitments_per_consultation=pl.col("commitments").mean(),
        corrections_per_consultation=pl.col("corrections").mean(),
        requests_per_consultation=pl.col("requests").mean(),
        questions_per_consultation=pl.col("questions").mean(),
        conditioned_ids=pl.col("consultation_id").filter(conditioned),
        other_outcome_ids=pl.col("consultation_id").filter(
            decision.is_in(("rejected", "deferred", "withdrawn"))
        ),
    )
    c = pl.col("consultations")
    return (
        out.with_columns(
            conditions_share=pl.col("with_conditions") / c,
            deferral_rate=pl.col("deferred") / c,
            withdrawal_rate=pl.col("withdrawn") / c,
        )
        .select(
            key,
            "consultations",
            "with_conditions",
            "conditions_share",
            "deferred",
            "withdrawn",
            "rejected",
            "deferral_rate",
            "withdrawal_rate",
            "with_follow_ups",
            "follow_ups_per_consultation",
            "commitments_per_consultation",
            "corrections_per_consultation",
            "requests_per_consultation",
            "questions_per_consultation",
            "conditioned_ids",
            "other_outcome_ids",
        )
        .sort(key, nulls_last=True)
    )
