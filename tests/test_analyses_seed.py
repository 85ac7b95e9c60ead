"""Smoke test of every analysis on the seed build, traceability to source lines, and speed.

The seed is 令和2年度第9回: ten 諮問 (ア … コ), イ・ウ and ク・ケ・コ deliberated together, all
approved unanimously; ク・ケ・コ state no safeguard. ``question_topics`` may be empty or filled
(the coding rules are edited separately), so topic-based checks only assert what holds either way.
"""

from __future__ import annotations

import polars as pl
import pytest

from analysis.analyses import (
    approval_rates,
    consultation_register,
    coverage_matrix,
    department_follow_ups,
    department_summary,
    flag_sensitive_items,
    items_by_consultation,
    items_by_frequency,
    legal_regime,
    measure_recurrence,
    outcome_profile,
    preparation_checklist,
    safeguard_gaps,
    sensitive_summary,
    uncovered_topics,
)

LABELS = ["ア", "イ", "ウ", "エ", "オ", "カ", "キ", "ク", "ケ", "コ"]


@pytest.fixture(scope="module")
def t(seed_tables):
    return dict(seed_tables)


@pytest.fixture(scope="module")
def register(t):
    return consultation_register(t)


def _roles(t, meeting_id: str, lines) -> set[str]:
    ledger = t["source_lines"].filter(
        (pl.col("meeting_id") == meeting_id) & pl.col("source_line").is_in(list(lines))
    )
    assert ledger.height == len(set(lines)), "a source line is missing from the ledger"
    return set(ledger["role"])


def _refs_roles(t, refs) -> set[str]:
    roles: set[str] = set()
    for ref in refs:
        meeting_id, line = ref.rsplit(":", 1)
        roles |= _roles(t, meeting_id, [int(line)])
    return roles


def test_register(t, register):
    assert register["label"].to_list() == LABELS
    assert register["fiscal_year"].unique().to_list() == [2020]
    assert set(register["decision"]) == {"approved"}
    assert _roles(t, "tama-2020-09", register["source_line_start"]) == {"consultation_header"}
    rows = {r["label"]: r for r in register.iter_rows(named=True)}
    assert (rows["カ"]["commitments"], rows["カ"]["corrections"]) == (1, 1)
    assert rows["ク"]["requests"] == rows["コ"]["requests"] == 2
    assert [rows[x]["safeguard_statements"] for x in "クケコ"] == [0, 0, 0]
    assert rows["イ"]["departments"] == ["課税課", "市民課"]
    assert consultation_register(t, department="市民課")["label"].to_list() == ["イ", "ウ", "エ"]
    with pytest.raises(ValueError, match=r"department must be one of: .*; got '財政課'"):
        consultation_register(t, department="財政課")


def test_departments(t, register):
    s = department_summary(register)
    kosodate = s.filter(pl.col("department") == "子育て支援課").row(0, named=True)
    assert (kosodate["consultations"], kosodate["commitments"], kosodate["corrections"]) == (
        2,
        1,
        1,
    )
    kyoiku = s.filter(pl.col("department") == "教育振興課").row(0, named=True)
    assert (kyoiku["consultations"], kyoiku["deliberations"]) == (3, 1)
    assert kyoiku["questions"] == register.filter(pl.col("label") == "ク")["questions"].item()
    f = department_follow_ups(t)
    assert f.select("department", "kind", "source_line").rows() == [
        ("子育て支援課", "commitment", 230),
        ("子育て支援課", "correction", 234),
    ]
    assert _roles(t, "tama-2020-09", f["source_line"]) == {"answer"}


def test_outcomes(register):
    a = approval_rates(register, by="all").row(0, named=True)
    assert (a["n"], a["approved"]) == (10, 10)
    assert a["wilson_low"] == pytest.approx(0.7225, abs=1e-4)
    by_cat = approval_rates(register, by="category")
    assert by_cat["consultations"].sum() == 10
    assert outcome_profile(register, by="department").height == 5


def test_safeguards(t):
    r = measure_recurrence(t["safeguards"])
    closed = r.filter(pl.col("measure") == "closed_network").row(0, named=True)
    assert (closed["consultations"], closed["deliberations"]) == (3, 2)
    assert _refs_roles(t, r["source_refs"].explode().to_list()) == {"safeguard"}
    c = coverage_matrix(t)
    assert c.height == 10
    g = safeguard_gaps(t)
    assert g.filter(pl.col("states_none"))["label"].to_list() == ["ク", "ケ", "コ"]
    u = uncovered_topics(t["question_topics"], t["utterances"], t["safeguards"])
    if u.height:
        lines = u["source_lines"].explode().to_list()
        assert _roles(t, "tama-2020-09", lines) <= {"question", "remark"}
        # ク・ケ・コ state nothing, so nothing they raised can be covered
        assert not u.filter(pl.col("deliberation_group") == "ク・ケ・コ")["covered"].any()


def test_personal_data(t):
    f = items_by_frequency(t["personal_data_items"])
    name = f.filter(pl.col("item_norm") == "氏名").row(0, named=True)
    assert (name["consultations"], name["deliberations"]) == (5, 4)
    assert _refs_roles(t, f["source_refs"].explode().to_list()) == {"personal_data"}
    flags = flag_sensitive_items(t["personal_data_items"])
    ki = flags.filter(pl.col("consultation_id") == "tama-2020-09-キ")
    assert {"口座情報", "課税情報"} <= set(ki["label_ja"])
    assert "戸籍" in flags.filter(pl.col("consultation_id") == "tama-2020-09-イ")["label_ja"]
    assert sensitive_summary(flags).height > 0
    per = items_by_consultation(t)
    none = per.filter(pl.col("n_items") == 0)["label"].to_list()
    assert none == ["エ", "オ", "ク", "ケ", "コ"]  # minutes that list no items


def test_checklist(t):
    c = preparation_checklist(t, "outsourcing")
    if t["question_topics"].height == 0:
        assert c.height == 0
        return
    assert c.height > 0
    assert (c["share"] <= 1).all() and (c["deliberations"] <= 3).all()
    assert _roles(t, "tama-2020-09", c["question_line"]) <= {"question", "remark"}
    answered = c["answer_lines"].explode().drop_nulls().to_list()
    if answered:
        assert _roles(t, "tama-2020-09", answered) == {"answer"}


def test_regime(t):
    r = legal_regime(t["meetings"])
    assert r["regime"].to_list() == ["municipal_ordinance"]


# Speed at 10,000 meetings is measured by `make bench` (analysis.bench), not asserted here.
