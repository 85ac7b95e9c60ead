"""preparation_checklist on small handmade tables with known answers."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.analyses import preparation_checklist
from analysis.analyses.checklist import CHECKLIST_COLUMNS, latest_examples
from analysis.tables import empty, to_frame


def _cons(mid, label, seq, group, category):
    return {
        "consultation_id": f"{mid}-{label}",
        "meeting_id": mid,
        "label": label,
        "seq": seq,
        "agenda_kind": "consultation",
        "category": category,
        "deliberation_group": group,
        "departments": ["D1"],
    }


def _utt(mid, group, seq, role, kind, text, line, reply_to=None, org=None):
    return {
        "meeting_id": mid,
        "deliberation_group": group,
        "seq": seq,
        "speaker_role": role,
        "speaker_org": org,
        "kind": kind,
        "text": text,
        "reply_to": reply_to,
        "source_line": line,
    }


def _qt(mid, group, seq, topic, matched):
    return {
        "meeting_id": mid,
        "deliberation_group": group,
        "seq": seq,
        "topic": topic,
        "matched": matched,
    }


def world() -> dict[str, pl.DataFrame]:
    """Three outsourcing deliberations (m1 ア, m1 イ・ウ, m2 ア) and one system change (m2 イ)."""
    meetings = to_frame(
        "meetings",
        [
            {"meeting_id": "m1", "fiscal_year": 2020, "date": date(2020, 12, 15)},
            {"meeting_id": "m2", "fiscal_year": 2021, "date": date(2021, 6, 1)},
        ],
    )
    consultations = to_frame(
        "consultations",
        [
            _cons("m1", "ア", 1, "ア", "outsourcing"),
            _cons("m1", "イ", 2, "イ・ウ", "system_change"),
            _cons("m1", "ウ", 3, "イ・ウ", "outsourcing"),
            _cons("m2", "ア", 1, "ア", "outsourcing"),
            _cons("m2", "イ", 2, "イ", "system_change"),
        ],
    )
    utterances = to_frame(
        "utterances",
        [
            _utt("m1", "ア", 1, "member", "question", "再委託はあるか。", 20),
            _utt("m1", "ア", 2, "department", "answer", "ない。", 21, 1, "D1"),
            _utt("m1", "ア", 3, "department", "answer", "契約で禁止する。", 22, 1, "D1"),
            _utt("m1", "イ・ウ", 1, "chair", "question", "下請けは使うか。", 40),
            _utt("m1", "イ・ウ", 2, "department", "answer", "使わない。", 41, 1, "D1"),
            _utt("m1", "イ・ウ", 3, "member", "remark", "職員研修をしてほしい。", 42),
            _utt("m2", "ア", 1, "member", "question", "委託先はどこか。", 10),
            _utt("m2", "ア", 2, "member", "question", "担当職員は何名か。", 12),
            _utt("m2", "ア", 3, "department", "answer", "5名。", 13, 2, "D1"),
            _utt("m2", "ア", 4, "department", "answer", "委託先は職員が選ぶ。", 14),
            _utt("m2", "イ", 1, "member", "question", "経費はいくらか。", 30),
        ],
    )
    topics = to_frame(
        "question_topics",
        [
            _qt("m1", "ア", 1, "outsourcing_subcontracting", "再委託"),
            _qt("m1", "イ・ウ", 1, "outsourcing_subcontracting", "下請け"),
            _qt("m1", "イ・ウ", 3, "staffing", "職員"),
            _qt("m2", "ア", 1, "outsourcing_subcontracting", "委託"),
            _qt("m2", "ア", 2, "staffing", "職員"),
            _qt("m2", "ア", 4, "staffing", "職員"),  # a department's turn: not raised by members
            _qt("m2", "イ", 1, "cost", "経費"),  # a system change: not in the outsourcing list
        ],
    )
    return {
        "meetings": meetings,
        "consultations": consultations,
        "utterances": utterances,
        "question_topics": topics,
    }


def test_topics_counts_and_share():
    c = preparation_checklist(world(), "outsourcing")
    assert c.columns == list(CHECKLIST_COLUMNS)
    stats = c.unique("topic", keep="first", maintain_order=True)
    assert stats.select("topic", "deliberations", "utterances").rows() == [
        ("outsourcing_subcontracting", 3, 3),
        ("staffing", 2, 2),
    ]
    assert stats["share"].to_list() == pytest.approx([1.0, 2 / 3])
    assert "cost" not in c["topic"].to_list()


def test_examples_most_recent_first_with_answers():
    c = preparation_checklist(world(), "outsourcing", examples=2)
    out = c.filter(pl.col("topic") == "outsourcing_subcontracting")
    assert out["example"].to_list() == [1, 2]
    first, second = out.rows(named=True)
    assert (first["meeting_id"], first["question"], first["question_line"]) == (
        "m2",
        "委託先はどこか。",
        10,
    )
    assert first["answer"] is None and first["answer_lines"] is None  # never answered
    assert second["meeting_id"] == "m1" and second["deliberation_group"] == "ア"
    assert second["answer"] == "ない。\n契約で禁止する。"
    assert second["answer_lines"] == [21, 22]
    assert second["answer_orgs"] == ["D1"]
    assert second["labels"] == ["ア"]
    assert second["matched"] == "再委託"
    assert second["date"] == date(2020, 12, 15)


def test_remark_counts_and_kinds_switch():
    c = preparation_checklist(world(), "outsourcing")
    staff = c.filter(pl.col("topic") == "staffing")
    assert staff["kind"].to_list() == ["question", "remark"]
    assert staff.row(1, named=True)["labels"] == ["イ", "ウ"]
    q = preparation_checklist(world(), "outsourcing", kinds=("question",))
    assert q.filter(pl.col("topic") == "staffing")["deliberations"].to_list() == [1]
    assert preparation_checklist(world(), "outsourcing", kinds="question").equals(q)


def test_examples_limit_and_before():
    c = preparation_checklist(world(), "outsourcing", examples=1)
    assert c["example"].max() == 1
    assert c.height == 2
    before = preparation_checklist(world(), "outsourcing", before=date(2021, 1, 1))
    stats = before.unique("topic", keep="first", maintain_order=True)
    assert stats.select("topic", "deliberations", "share").rows() == [
        ("outsourcing_subcontracting", 2, 1.0),
        ("staffing", 1, 0.5),
    ]


def test_other_category():
    c = preparation_checklist(world(), "system_change")
    # m1 イ・ウ is also a system change (イ); m2 イ asked about cost
    assert sorted(c["topic"].unique().to_list()) == [
        "cost",
        "outsourcing_subcontracting",
        "staffing",
    ]
    assert c.filter(pl.col("topic") == "cost")["share"].item() == 0.5


def test_validation():
    with pytest.raises(ValueError, match="category must be one of: system_change, outsourcing"):
        preparation_checklist(world(), "outsource")
    with pytest.raises(ValueError, match="examples must be at least 1"):
        preparation_checklist(world(), "outsourcing", examples=0)
    with pytest.raises(ValueError, match="kinds must be one of"):
        preparation_checklist(world(), "outsourcing", kinds=("answers",))


def test_empty_topics_and_tables():
    t = world()
    t["question_topics"] = empty("question_topics")
    c = preparation_checklist(t, "outsourcing")
    assert c.height == 0 and c.columns == list(CHECKLIST_COLUMNS)
    assert preparation_checklist({}, "outsourcing").height == 0
    assert preparation_checklist(world(), "external_provision").height == 0


@pytest.mark.parametrize("examples", [1, 2, 3])
def test_latest_examples_merges_the_categories_examples(examples):
    """The example rows of every category's checklist, each utterance once per topic, the
    most recent first."""
    categories = ["outsourcing", "system_change"]
    per_topic = ("deliberations", "share", "utterances")
    merged = (
        pl.concat(
            [
                preparation_checklist(world(), c, examples=examples).drop(per_topic)
                for c in categories
            ]
        )
        .unique(["topic", "meeting_id", "deliberation_group", "seq"], keep="first")
        .sort(
            ["topic", "date", "meeting_id", "deliberation_group", "seq"],
            descending=[False, True, True, False, False],
        )
        .with_columns(example=pl.int_range(1, pl.len() + 1).over("topic").cast(pl.Int64))
        .filter(pl.col("example") <= examples)
    )
    got = latest_examples(world(), categories=categories, examples=examples)
    assert got.columns == [c for c in CHECKLIST_COLUMNS if c not in per_topic]
    assert got.equals(merged.select(got.columns))
    only = latest_examples(world(), categories=["system_change"], examples=examples)
    assert only.drop("example").equals(
        preparation_checklist(world(), "system_change", examples=examples)
        .sort("topic", "example")
        .select(only.columns)
        .drop("example")
    )


def test_latest_examples_from_the_council_topics_given():
    from analysis.report_helpers import council_topics

    tables = world()
    categories = ["outsourcing", "system_change"]
    for examples in (1, 2):
        assert latest_examples(
            tables, categories=categories, examples=examples, tagged=council_topics(tables)
        ).equals(latest_examples(tables, categories=categories, examples=examples))
