"""Topic cross-tabulations and the small-count test of independence."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from analysis.crosstab import (
    chi2_sf,
    fisher_exact_2x2,
    independence_test,
    topic_by,
    topic_vs_rest,
)
from analysis.tables import to_frame


# ---------------------------------------------------------------------------- brute force
def _permutation_distribution(table) -> tuple[Counter, int]:
    """Every table reachable by shuffling the column labels of the individuals, with its count.

    Each shuffle is equally likely under independence, so this is the exact null distribution
    given both margins — computed without any formula (only for tiny n).
    """
    table = np.asarray(table)
    r, c = table.shape
    row_labels = [i for i in range(r) for j in range(c) for _ in range(table[i, j])]
    col_labels = [j for i in range(r) for j in range(c) for _ in range(table[i, j])]
    seen: Counter = Counter()
    total = 0
    for perm in itertools.permutations(col_labels):
        cells = Counter(zip(row_labels, perm, strict=True))
        seen[tuple(cells.get((i, j), 0) for i in range(r) for j in range(c))] += 1
        total += 1
    return seen, total


def _chi2(flat, shape) -> float:
    t = np.asarray(flat, dtype=float).reshape(shape)
    e = np.outer(t.sum(1), t.sum(0)) / t.sum()
    return float(((t - e) ** 2 / e).sum())


def brute_fisher(table) -> Fraction:
    dist, total = _permutation_distribution(table)
    observed = dist[tuple(np.asarray(table).ravel())]
    return Fraction(sum(k for k in dist.values() if k <= observed), total)


def brute_chi2_p(table) -> float:
    shape = np.asarray(table).shape
    dist, total = _permutation_distribution(table)
    obs = _chi2(np.asarray(table).ravel(), shape)
    return sum(k for t, k in dist.items() if _chi2(t, shape) >= obs - 1e-9) / total


# ---------------------------------------------------------------------------- Fisher 2×2
def test_fisher_lady_tasting_tea():
    # Fisher's own example: P = (1 + 16 + 16 + 1) / 70 = 34/70
    p, odds = fisher_exact_2x2([[3, 1], [1, 3]])
    assert p == pytest.approx(34 / 70, abs=1e-15)
    assert odds == 9.0


def test_fisher_known_value():
    # [[1, 9], [11, 3]]: R's fisher.test gives p = 0.002759
    res = independence_test([[1, 9], [11, 3]])
    assert res["method"] == "fisher_exact"
    assert res["p_value"] == pytest.approx(0.0027594561852200836, rel=1e-12)
    assert res["statistic_name"] == "odds_ratio"
    assert res["statistic"] == pytest.approx(3 / 99)


@pytest.mark.parametrize(
    "table",
    [[[2, 0], [0, 3]], [[1, 2], [3, 1]], [[0, 3], [2, 2]], [[2, 2], [2, 2]], [[4, 1], [0, 2]]],
)
def test_fisher_matches_exhaustive_enumeration(table):
    assert fisher_exact_2x2(table)[0] == pytest.approx(float(brute_fisher(table)), abs=1e-12)


def test_fisher_odds_ratio_edge_cases():
    assert math.isinf(fisher_exact_2x2([[3, 0], [0, 2]])[1])
    assert math.isnan(fisher_exact_2x2([[0, 3], [0, 2]])[1])


# ---------------------------------------------------------------------------- r×c
def test_exact_rxc_hand_computed():
    # margins rows (2, 2), columns (2, 1, 1): four tables with probabilities 1, 2, 2, 1 (/6);
    # chi2 = 4 for the two extreme ones, 2 otherwise, so P(chi2 >= 4) = 2/6.
    res = independence_test([[2, 0, 0], [0, 1, 1]])
    assert res["method"] == "exact_permutation_chi2"
    assert res["chi2"] == pytest.approx(4.0)
    assert res["dof"] == 2
    assert res["p_value"] == pytest.approx(1 / 3, abs=1e-12)
    # transposed: same answer
    assert independence_test([[2, 0], [0, 1], [0, 1]])["p_value"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "table",
    [
        [[2, 1, 0], [0, 1, 2]],
        [[1, 1, 1], [2, 0, 1]],
        [[3, 0, 1], [0, 2, 1]],
        [[1, 0], [1, 2], [0, 2]],
        [[2, 0, 0], [0, 2, 0], [0, 0, 1]],
    ],
)
def test_exact_rxc_matches_exhaustive_enumeration(table):
    res = independence_test(table)
    assert res["method"] == "exact_permutation_chi2"
    assert res["p_value"] == pytest.approx(brute_chi2_p(table), abs=1e-9)


def test_monte_carlo_is_deterministic_and_close_to_exact():
    table = [[5, 2, 1], [1, 4, 6], [0, 3, 2]]
    exact = independence_test(table)
    assert exact["method"] == "exact_permutation_chi2"
    mc = independence_test(table, exact_limit=0)
    again = independence_test(table, exact_limit=0)
    assert mc["method"] == "monte_carlo_permutation_chi2"
    assert mc["p_value"] == again["p_value"]
    assert (mc["permutations"], mc["seed"]) == (20_000, 20201215)
    # standard error of the estimate is about sqrt(p(1-p)/B) ~ 0.0014
    assert mc["p_value"] == pytest.approx(exact["p_value"], abs=0.006)
    other = independence_test(table, exact_limit=0, seed=1)
    assert other["p_value"] == pytest.approx(exact["p_value"], abs=0.006)
    # p = (1 + hits) / (B + 1): never zero (one small row keeps it off the asymptotic test)
    strong = independence_test([[30, 0, 0], [0, 30, 0], [0, 0, 30], [1, 1, 1]], exact_limit=0)
    assert strong["method"] == "monte_carlo_permutation_chi2"
    assert strong["p_value"] == pytest.approx(1 / 20_001)


def test_large_tables_fall_back_to_monte_carlo():
    rng = np.random.default_rng(7)
    table = rng.poisson(4, size=(12, 6))
    res = independence_test(table, permutations=2_000)
    assert res["method"] == "monte_carlo_permutation_chi2"
    assert 0 < res["p_value"] <= 1
    assert res["shape"] == (12, 6)


@pytest.mark.parametrize(
    ("x", "dof", "p"),
    [
        (3.841458820694124, 1, 0.05),
        (5.991464547107979, 2, 0.05),
        (18.307038053275146, 10, 0.05),
        (6.634896601021214, 1, 0.01),
        (1.0, 1, math.erfc(math.sqrt(0.5))),  # one dof: P(|Z| >= 1)
        (2.0, 2, math.exp(-1.0)),  # two dof: exp(-x/2)
        (7.0, 2, math.exp(-3.5)),
        (100.0, 50, 3.4549e-05),
        (0.5, 30, 1.0),
    ],
)
def test_chi2_sf_known_values(x, dof, p):
    assert chi2_sf(x, dof) == pytest.approx(p, rel=1e-4, abs=1e-12)


def test_chi2_sf_edges():
    assert chi2_sf(0.0, 3) == 1.0 and chi2_sf(-1.0, 1) == 1.0
    assert 0 <= chi2_sf(1000.0, 2) < 1e-200
    assert chi2_sf(1000.0, 2) == pytest.approx(math.exp(-500))
    with pytest.raises(ValueError):
        chi2_sf(1.0, 0)
    # decreasing in x, increasing in dof
    xs = [0.1, 1, 2, 5, 10, 20, 40]
    assert all(chi2_sf(a, 4) > chi2_sf(b, 4) for a, b in itertools.pairwise(xs))
    assert all(chi2_sf(8.0, k) < chi2_sf(8.0, k + 1) for k in range(1, 30))


def test_asymptotic_chi2_when_every_expected_count_is_at_least_5():
    # smallest expected count exactly 5 (margins 20, 20 × 10, 10, 20): the asymptotic test
    table = [[4, 6, 10], [6, 4, 10]]
    res = independence_test(table)
    assert res["min_expected"] == 5.0 and res["method"] == "asymptotic_chi2"
    assert res["chi2"] == pytest.approx(0.8) and res["dof"] == 2
    assert res["p_value"] == pytest.approx(math.exp(-0.4))
    assert res["permutations"] is None and res["warning"] is None
    # one expected count just below 5: the permutation test
    below = independence_test([[4, 6, 10], [6, 4, 9]])
    assert below["min_expected"] < 5 and below["method"] == "exact_permutation_chi2"
    # 2×2 keeps Fisher's exact test however large the counts
    assert independence_test([[60, 40], [40, 60]])["method"] == "fisher_exact"


def test_asymptotic_chi2_is_close_to_the_permutation_test_on_large_counts():
    table = [[40, 25, 30], [20, 35, 30], [25, 30, 45]]
    res = independence_test(table)
    assert res["method"] == "asymptotic_chi2" and res["dof"] == 4
    assert res["p_value"] == pytest.approx(chi2_sf(res["chi2"], 4))
    mc = independence_test(table, exact_limit=0)  # what the old rule gave; Monte Carlo here
    assert res["p_value"] == pytest.approx(mc["p_value"], abs=0.01)


def test_asymptotic_chi2_method_sentence():
    from analysis import report_helpers as rh

    text = rh.describe_test_ja(independence_test([[40, 25, 30], [20, 35, 30], [25, 30, 45]]))
    assert "カイ二乗検定（すべてのセルの期待度数が5以上のため、漸近分布による p値）" in text
    assert "並べ替え検定" not in text and "期待度数が5未満" not in text


# ---------------------------------------------------------------------------- input handling
def test_empty_rows_and_columns_are_dropped_and_reported():
    table = pl.DataFrame({"topic": ["a", "b", "c"], "x": [3, 1, 0], "y": [1, 3, 0], "z": [0, 0, 0]})
    res = independence_test(table)
    assert res["dropped_rows"] == ["c"] and res["dropped_columns"] == ["z"]
    assert res["shape"] == (2, 2) and res["method"] == "fisher_exact"
    assert res["p_value"] == pytest.approx(34 / 70)
    assert "dropped 1 empty row(s) and 1 empty column(s)" in res["warning"]


def test_one_column_is_not_testable():
    res = independence_test(pl.DataFrame({"topic": ["a", "b"], "2020": [3, 4]}))
    assert res["method"] == "not_testable" and res["p_value"] is None
    assert "2×1" in res["warning"]


def test_small_expected_counts_warn_large_ones_do_not():
    small = independence_test([[3, 1], [1, 3]])
    assert small["min_expected"] == 2.0 and small["small_expected"] == 1.0
    assert "expected count below 5" in small["warning"]
    large = independence_test([[60, 40], [40, 60]])
    assert large["warning"] is None
    assert large["chi2"] == pytest.approx(8.0)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="negative"):
        independence_test([[1, -1], [2, 3]])
    with pytest.raises(ValueError, match="whole numbers"):
        independence_test([[1.5, 1], [2, 3]])
    with pytest.raises(ValueError, match="two dimensions"):
        independence_test([1, 2, 3])


# ---------------------------------------------------------------------------- topic_by
def _tables():
    utterances = to_frame(
        "utterances",
        [
            dict(
                meeting_id=m,
                deliberation_group=g,
                seq=s,
                speaker_label="委 員",
                speaker_role="member",
                kind=k,
                text="t",
                text_norm="t",
                source_line=i,
            )
            for i, (m, g, s, k) in enumerate(
                [
                    ("tama-2020-09", "ア", 1, "question"),
                    ("tama-2020-09", "ア", 3, "question"),
                    ("tama-2020-09", "イ・ウ", 1, "question"),
                    ("tama-2020-09", "イ・ウ", 2, "remark"),
                    ("tama-2021-02", "ア", 1, "question"),
                ]
            )
        ],
    )
    qt = to_frame(
        "question_topics",
        [
            dict(meeting_id=m, deliberation_group=g, seq=s, topic=t, matched="w")
            for m, g, s, t in [
                ("tama-2020-09", "ア", 1, "cost"),
                ("tama-2020-09", "ア", 1, "staffing"),
                ("tama-2020-09", "ア", 3, "cost"),
                ("tama-2020-09", "イ・ウ", 1, "cost"),
                ("tama-2020-09", "イ・ウ", 2, "staffing"),
                ("tama-2021-02", "ア", 1, "staffing"),
            ]
        ],
    )
    cons = pl.DataFrame(
        {
            "meeting_id": ["tama-2020-09", "tama-2020-09", "tama-2020-09", "tama-2021-02"],
            "deliberation_group": ["ア", "イ・ウ", "イ・ウ", "ア"],
            "category": ["system_change", "outsourcing", "system_change", "outsourcing"],
            "bureau": ["市民経済部", "市民経済部", "市民経済部", None],
            "departments": [["課税課"], ["課税課", "市民課"], ["市民課"], []],
        }
    )
    meetings = pl.DataFrame(
        {"meeting_id": ["tama-2020-09", "tama-2021-02"], "fiscal_year": [2020, 2021]}
    )
    return qt, utterances, cons, meetings


def test_topic_by_category_counts_each_utterance_once_per_group():
    qt, u, cons, _ = _tables()
    tb = topic_by(qt, u, cons, "category")
    # イ・ウ covers an outsourcing and a system_change 諮問: its utterances count in both
    assert tb.to_dicts() == [
        {"topic": "cost", "outsourcing": 1, "system_change": 3},
        {"topic": "staffing", "outsourcing": 2, "system_change": 2},
    ]


def test_topic_by_department_explodes_departments_once_per_utterance():
    qt, u, cons, _ = _tables()
    tb = topic_by(qt, u, cons, "department")
    # イ・ウ lists 市民課 twice (in two 諮問): still one count per utterance
    assert tb.to_dicts() == [
        {"topic": "cost", "(unknown)": 0, "市民課": 1, "課税課": 3},
        {"topic": "staffing", "(unknown)": 1, "市民課": 1, "課税課": 2},
    ]


def test_topic_by_bureau_and_fiscal_year():
    qt, u, cons, meetings = _tables()
    assert topic_by(qt, u, cons, "bureau").to_dicts() == [
        {"topic": "cost", "(unknown)": 0, "市民経済部": 3},
        {"topic": "staffing", "(unknown)": 1, "市民経済部": 2},
    ]
    by_year = topic_by(qt, u, cons, "fiscal_year", meetings=meetings)
    assert by_year.to_dicts() == [
        {"topic": "cost", "2020": 3, "2021": 0},
        {"topic": "staffing", "2020": 2, "2021": 1},
    ]
    # without meetings, the fiscal year is read from the meeting_id
    assert topic_by(qt, u, cons, "fiscal_year").equals(by_year)


def test_topic_by_kinds_filter_and_long_form():
    qt, u, cons, _ = _tables()
    long = topic_by(qt, u, cons, "category", kinds=["question"], wide=False)
    assert long.columns == ["topic", "group", "n"]
    assert long.rows() == [
        ("cost", "outsourcing", 1),
        ("cost", "system_change", 3),
        ("staffing", "outsourcing", 1),  # the remark in イ・ウ is left out
        ("staffing", "system_change", 1),
    ]


def test_topic_by_rejects_unknown_grouping_and_handles_empty():
    qt, u, cons, _ = _tables()
    with pytest.raises(ValueError, match="by must be one of: category, department"):
        topic_by(qt, u, cons, "colour")
    empty = topic_by(qt.clear(), u, cons, "category")
    assert empty.columns == ["topic"] and empty.height == 0


def test_topic_vs_rest_and_test_on_a_topic_table():
    qt, u, cons, _ = _tables()
    tb = topic_by(qt, u, cons, "category")
    two = topic_vs_rest(tb, "cost")
    assert two.rows() == [("cost", 1, 3), ("(other topics)", 2, 2)]
    res = independence_test(two)
    assert res["method"] == "fisher_exact"
    assert res["p_value"] == pytest.approx(float(brute_fisher([[1, 3], [2, 2]])))
    with pytest.raises(ValueError, match="not in the table"):
        topic_vs_rest(tb, "nothing")


def test_topic_by_on_the_seed(seed_tables):
    t = seed_tables
    tb = topic_by(t["question_topics"], t["utterances"], t["consultations"], "category")
    assert set(tb.columns) - {"topic"} <= {
        "system_change",
        "outsourcing",
        "collection_from_third_party",
        "use_outside_purpose",
    }
    # the camera questions all come from the one collection_from_third_party 諮問 (オ)
    row = tb.filter(pl.col("topic") == "recording_camera").to_dicts()[0]
    assert row["collection_from_third_party"] == 4 and row["outsourcing"] == 0
    res = independence_test(tb)
    assert res["method"] == "monte_carlo_permutation_chi2"
    assert 0 < res["p_value"] <= 1 and res["warning"]


@pytest.mark.parametrize("by", ["category", "department", "bureau", "fiscal_year"])
def test_topic_by_counts_the_tagged_rows_given(by):
    qt, u, cons, meetings = _tables()
    kinds = ["question"]
    tagged = (
        qt.select("meeting_id", "deliberation_group", "seq", "topic")
        .unique()
        .join(
            u.filter(pl.col("kind").is_in(kinds)),
            on=["meeting_id", "deliberation_group", "seq"],
            how="semi",
        )
    )
    expected = topic_by(qt, u, cons, by, meetings=meetings, kinds=kinds)
    assert topic_by(None, None, cons, by, meetings=meetings, tagged=tagged).equals(expected)
