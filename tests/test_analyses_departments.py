"""department_summary and department_follow_ups on small handmade tables."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.analyses import consultation_register, department_follow_ups, department_summary
from analysis.schema import CATEGORIES
from analysis.tables import to_frame

LABELS = pl.DataFrame({"category": ["outsourcing"], "label_ja": ["外部委託"]})


def _cons(cid, mid, seq, category, bureau, depts, group, questions, remarks=0):
    return {
        "consultation_id": cid,
        "meeting_id": mid,
        "label": cid[-1],
        "seq": seq,
        "agenda_kind": "consultation",
        "category": category,
        "bureau": bureau,
        "departments": depts,
        "deliberation_group": group,
        "decision": "approved",
        "vote": "unanimous",
        "questions": questions,
        "remarks": remarks,
        "source_line_start": seq * 10,
        "source_line_end": seq * 10 + 9,
    }


def _fu(mid, group, seq, kind, line):
    return {
        "meeting_id": mid,
        "deliberation_group": group,
        "seq": seq,
        "kind": kind,
        "text": f"{kind} at {line}",
        "source_line": line,
    }


def _utt(mid, group, seq, role, org=None, kind="answer"):
    return {
        "meeting_id": mid,
        "deliberation_group": group,
        "seq": seq,
        "speaker_role": role,
        "speaker_org": org,
        "kind": kind,
        "text": "…",
        "source_line": seq,
    }


def world() -> dict[str, pl.DataFrame]:
    return {
        "meetings": to_frame(
            "meetings",
            [
                {"meeting_id": "m1", "fiscal_year": 2020, "date": date(2020, 12, 15)},
                {"meeting_id": "m2", "fiscal_year": 2021, "date": date(2021, 6, 1)},
            ],
        ),
        "consultations": to_frame(
            "consultations",
            [
                _cons("m1-ア", "m1", 1, "system_change", "B1", ["D1"], "ア", 2),
                _cons("m1-イ", "m1", 2, "outsourcing", "B1", ["D1", "D2"], "イ・ウ", 3, 1),
                _cons("m1-ウ", "m1", 3, "system_change", "B1", ["D1", "D2"], "イ・ウ", 3, 1),
                _cons("m2-ア", "m2", 1, "outsourcing", "B2", ["D3"], "ア", 1),
                _cons("m2-イ", "m2", 2, "use_outside_purpose", "B2", [], "イ", 0),
            ],
        ),
        "follow_ups": to_frame(
            "follow_ups",
            [
                _fu("m1", "イ・ウ", 2, "commitment", 30),
                _fu("m1", "イ・ウ", 4, "correction", 32),
                _fu("m1", "イ・ウ", 5, "request", 34),
                _fu("m2", "ア", 2, "commitment", 20),
            ],
        ),
        "utterances": to_frame(
            "utterances",
            [
                _utt("m1", "イ・ウ", 2, "department", "D2"),
                _utt("m1", "イ・ウ", 4, "department", None),  # 課 unknown: goes to D1 and D2
                _utt("m1", "イ・ウ", 5, "member", kind="remark"),
                _utt("m2", "ア", 2, "department", "D3"),
            ],
        ),
    }


def register() -> pl.DataFrame:
    return consultation_register(world(), category_labels=LABELS)


def by_key(df: pl.DataFrame, keys: list[str], cols: list[str]) -> dict:
    return {tuple(r[k] for k in keys): tuple(r[c] for c in cols) for r in df.iter_rows(named=True)}


def test_department_summary_groups_counted_once():
    s = department_summary(register())
    cols = [
        "consultations",
        "deliberations",
        "n_system_change",
        "n_outsourcing",
        "n_use_outside_purpose",
        "questions",
        "remarks",
        "follow_ups",
        "commitments",
        "corrections",
        "requests",
    ]
    assert by_key(s, ["bureau", "department"], cols) == {
        ("B1", "D1"): (3, 2, 2, 1, 0, 5, 1, 3, 1, 1, 1),
        ("B1", "D2"): (2, 1, 1, 1, 0, 3, 1, 3, 1, 1, 1),
        ("B2", "D3"): (1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0),
        ("B2", None): (1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0),  # 諮問 without a known department
    }
    d1 = s.filter(pl.col("department") == "D1").row(0, named=True)
    assert d1["questions_per_consultation"] == pytest.approx(5 / 3)
    assert d1["consultation_ids"] == ["m1-ア", "m1-イ", "m1-ウ"]
    assert d1["first_date"] == d1["last_date"] == date(2020, 12, 15)
    assert s["consultations"].to_list() == sorted(s["consultations"].to_list(), reverse=True)


def test_department_summary_per_consultation_attribution():
    s = department_summary(register(), count_groups_once=False)
    got = by_key(s, ["bureau", "department"], ["questions", "follow_ups"])
    assert got[("B1", "D1")] == (2 + 3 + 3, 6)
    assert got[("B1", "D2")] == (6, 6)


def test_department_summary_every_category_column():
    s = department_summary(register())
    assert all(f"n_{c}" in s.columns for c in CATEGORIES)
    assert s["n_external_provision"].sum() == 0


def test_bureau_level():
    s = department_summary(register(), level="bureau")
    assert "department" not in s.columns
    got = by_key(s, ["bureau"], ["consultations", "deliberations", "questions", "follow_ups"])
    assert got == {("B1",): (3, 2, 5, 3), ("B2",): (2, 2, 1, 1)}


def test_department_summary_bad_level_and_empty():
    with pytest.raises(ValueError, match="level must be one of: department, bureau; got '課'"):
        department_summary(register(), level="課")
    empty = department_summary(register().head(0))
    assert empty.height == 0
    assert "questions_per_consultation" in empty.columns


def test_follow_ups_attributed_to_speaker_or_group_departments():
    f = department_follow_ups(world())
    got = [(r["department"], r["kind"], r["source_line"]) for r in f.iter_rows(named=True)]
    assert got == [
        ("D2", "commitment", 30),  # the speaker's own 課
        ("D1", "correction", 32),  # speaker's 課 unknown: every department of the group
        ("D2", "correction", 32),
        ("D3", "commitment", 20),
    ]
    row = f.row(0, named=True)
    assert row["bureau"] == "B1"
    assert row["labels"] == ["イ", "ウ"]
    assert row["consultation_ids"] == ["m1-イ", "m1-ウ"]
    assert row["text"] == "commitment at 30"
    assert row["fiscal_year"] == 2020


def test_follow_ups_requests_go_to_group_departments():
    f = department_follow_ups(world(), kinds="request")
    assert f.select("department", "speaker_role", "source_line").rows() == [
        ("D1", "member", 34),
        ("D2", "member", 34),
    ]


def test_follow_ups_filters_and_validation():
    assert department_follow_ups(world(), department="D1")["source_line"].to_list() == [32]
    assert department_follow_ups(world(), bureau="B2")["department"].to_list() == ["D3"]
    with pytest.raises(ValueError, match="kinds must be one of: commitment, correction, request"):
        department_follow_ups(world(), kinds="promise")
    with pytest.raises(ValueError, match="department must be one of: D1, D2, D3; got 'D4'"):
        department_follow_ups(world(), department="D4")


def test_follow_ups_empty():
    t = world()
    t["follow_ups"] = t["follow_ups"].head(0)
    f = department_follow_ups(t)
    assert f.height == 0
    assert {"department", "text", "source_line"} <= set(f.columns)
    assert department_follow_ups({}).height == 0
