"""wilson_interval, approval_rates and outcome_profile with known answers."""

from __future__ import annotations

import math

import polars as pl
import pytest

from analysis.analyses import approval_rates, outcome_profile, wilson_exprs, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # symmetric and boundary cases
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_known_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_edge_cases():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    lo, hi = wilson_interval(3, 10, z=2.576)
    lo95, hi95 = wilson_interval(3, 10)
    assert lo < lo95 < hi95 < hi  # a wider interval at 99 %
    for bad in [(-1, 5), (6, 5), (1, -1)]:
        with pytest.raises(ValueError, match="0 <= k <= n"):
            wilson_interval(*bad)
    with pytest.raises(ValueError, match="z must be positive"):
        wilson_interval(1, 2, z=0)


def test_wilson_exprs_match_scalar():
    df = pl.DataFrame({"k": [81, 0, 10, 0], "n": [263, 20, 10, 0]})
    low, high = wilson_exprs(pl.col("k"), pl.col("n"))
    out = df.select(low=low, high=high)
    for (k, n), (lo, hi) in zip(df.rows(), out.rows(), strict=True):
        if n == 0:
            assert lo is None and hi is None
        else:
            assert (lo, hi) == pytest.approx(wilson_interval(k, n))


def register() -> pl.DataFrame:
    rows = [
        # category, departments, fiscal_year, bureau, decision, conditions, follow_ups, questions
        ("A", ["D1"], 2020, "B1", "approved", None, 0, 2),
        ("A", ["D1", "D2"], 2020, "B1", "approved_with_conditions", "報告すること", 2, 4),
        ("A", ["D2"], 2021, "B1", "rejected", None, 1, 3),
        ("A", ["D2"], 2021, "B1", "unknown", None, 0, 0),
        ("B", ["D3"], 2021, "B2", "deferred", None, 1, 1),
        ("B", [], 2021, "B2", "withdrawn", None, 0, 0),
    ]
    cols = [
        "category",
        "departments",
        "fiscal_year",
        "bureau",
        "decision",
        "conditions",
        "follow_ups",
        "questions",
    ]
    df = pl.DataFrame(rows, schema=cols, orient="row")
    return df.with_columns(
        consultation_id=pl.format("c{}", pl.int_range(1, pl.len() + 1)),
        commitments=pl.col("follow_ups"),
        corrections=pl.lit(0),
        requests=pl.lit(0),
    )


def test_approval_rates_by_category():
    r = approval_rates(register(), by="category")
    a = r.filter(pl.col("category") == "A").row(0, named=True)
    assert (a["consultations"], a["n"], a["approved"]) == (4, 3, 2)  # unknown not in n
    assert a["rate"] == pytest.approx(2 / 3)
    assert (a["wilson_low"], a["wilson_high"]) == pytest.approx(wilson_interval(2, 3))
    assert (a["n_approved"], a["n_approved_with_conditions"], a["n_rejected"]) == (1, 1, 1)
    assert a["n_unknown"] == 1
    assert a["consultation_ids"] == ["c1", "c2", "c3", "c4"]
    assert a["not_approved_ids"] == ["c3", "c4"]
    b = r.filter(pl.col("category") == "B").row(0, named=True)
    assert (b["n"], b["approved"], b["rate"]) == (2, 0, 0.0)
    assert (b["n_deferred"], b["n_withdrawn"]) == (1, 1)
    assert b["wilson_low"] == 0.0


def test_approval_rates_by_department_counts_each_department():
    r = approval_rates(register(), by="department")
    got = {
        row["department"]: (row["consultations"], row["approved"])
        for row in r.iter_rows(named=True)
    }
    assert got == {"D1": (2, 2), "D2": (3, 1), "D3": (1, 0), None: (1, 0)}


def test_approval_rates_by_year_bureau_all():
    y = approval_rates(register(), by="fiscal_year")
    assert y.select("fiscal_year", "n", "approved").rows() == [(2020, 2, 2), (2021, 3, 0)]
    b = approval_rates(register(), by="bureau")
    assert b["bureau"].to_list() == ["B1", "B2"]
    a = approval_rates(register(), by="all")
    assert a.select("consultations", "n", "approved").row(0) == (6, 5, 2)


def test_approval_rates_all_unknown_gives_null_rate():
    reg = register().with_columns(decision=pl.lit("unknown"))
    r = approval_rates(reg, by="all").row(0, named=True)
    assert r["n"] == 0
    assert r["rate"] is None and r["wilson_low"] is None


def test_approval_rates_bad_by_and_empty():
    with pytest.raises(ValueError, match="by must be one of: category, department, fiscal_year"):
        approval_rates(register(), by="year")
    e = approval_rates(register().head(0), by="category")
    assert e.height == 0 and "wilson_high" in e.columns


def test_outcome_profile():
    p = outcome_profile(register(), by="category")
    a = p.filter(pl.col("category") == "A").row(0, named=True)
    assert a["consultations"] == 4
    assert a["with_conditions"] == 1
    assert a["conditions_share"] == pytest.approx(0.25)
    assert a["rejected"] == 1
    assert a["with_follow_ups"] == 2
    assert a["follow_ups_per_consultation"] == pytest.approx(3 / 4)
    assert a["questions_per_consultation"] == pytest.approx(9 / 4)
    assert (a["conditioned_ids"], a["other_outcome_ids"]) == (["c2"], ["c3"])
    b = p.filter(pl.col("category") == "B").row(0, named=True)
    assert (b["deferred"], b["withdrawn"]) == (1, 1)
    assert b["deferral_rate"] == pytest.approx(0.5)
    assert b["withdrawal_rate"] == pytest.approx(0.5)


def test_outcome_profile_conditions_text_without_decision_counts():
    reg = register().with_columns(
        conditions=pl.when(pl.col("decision") == "approved")
        .then(pl.lit("意見"))
        .otherwise(pl.col("conditions"))
    )
    p = outcome_profile(reg, by="all").row(0, named=True)
    assert p["with_conditions"] == 2
