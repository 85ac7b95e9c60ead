"""Safeguard analyses on small handmade tables: recurrence, coverage, gaps, uncovered topics."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.analyses import (
    coverage_matrix,
    measure_recurrence,
    safeguard_gaps,
    topic_safeguard_coverage,
    uncovered_topics,
)
from analysis.schema import CONTROL_CATEGORIES
from analysis.tables import empty, to_frame

TAXONOMY = pl.DataFrame(
    {
        "measure": [
            "contract_clause",
            "limited_staff",
            "locked_storage",
            "encryption",
            "access_control",
            "staff_training",
        ],
        "control_category": [
            "organizational",
            "human",
            "physical",
            "technical",
            "technical",
            "human",
        ],
        "label_ja": ["契約条項", "取扱者の限定", "施錠保管", "暗号化", "アクセス制御", "研修"],
    }
)

TOPIC_MAP = pl.DataFrame(
    {
        "topic": ["staffing", "staffing", "outsourcing_subcontracting", "access_control"],
        "measure": ["limited_staff", "staff_training", "contract_clause", "access_control"],
    }
)


def _sg(cid, group, text, measure, cat, line, mid="m1"):
    return {
        "consultation_id": cid,
        "meeting_id": mid,
        "deliberation_group": group,
        "text": text,
        "measure": measure,
        "control_category": cat,
        "source_line": line,
    }


def _cons(cid, label, seq, group, category="outsourcing"):
    return {
        "consultation_id": cid,
        "meeting_id": "m1",
        "label": label,
        "seq": seq,
        "agenda_kind": "consultation",
        "category": category,
        "deliberation_group": group,
        "departments": ["D1"],
        "source_line_start": seq * 10,
        "source_line_end": seq * 10 + 9,
    }


def world() -> dict[str, pl.DataFrame]:
    """ア states all four categories; イ states nothing; ク・ケ・コ share one statement."""
    consultations = to_frame(
        "consultations",
        [
            _cons("m1-ア", "ア", 1, "ア"),
            _cons("m1-イ", "イ", 2, "イ", "system_change"),
            _cons("m1-ク", "ク", 3, "ク・ケ・コ"),
            _cons("m1-ケ", "ケ", 4, "ク・ケ・コ"),
            _cons("m1-コ", "コ", 5, "ク・ケ・コ", "system_change"),
        ],
    )
    safeguards = to_frame(
        "safeguards",
        [
            _sg("m1-ア", "ア", "特記事項を遵守させる", "contract_clause", "organizational", 10),
            _sg("m1-ア", "ア", "特定の職員のみ", "limited_staff", "human", 11),
            _sg("m1-ア", "ア", "施錠保管", "locked_storage", "physical", 12),
            _sg("m1-ア", "ア", "暗号化", "encryption", "technical", 13),
            _sg("m1-ア", "ア", "適切に管理する", "unclassified", "unclassified", 14),
            *[
                _sg(
                    cid, "ク・ケ・コ", "特記事項を添付する", "contract_clause", "organizational", 50
                )
                for cid in ("m1-ク", "m1-ケ", "m1-コ")
            ],
        ],
    )
    return {
        "meetings": to_frame("meetings", [{"meeting_id": "m1", "fiscal_year": 2020}]),
        "consultations": consultations,
        "safeguards": safeguards,
    }


def test_recurrence_group_statement_counted_once_per_group():
    r = measure_recurrence(world()["safeguards"], taxonomy=TAXONOMY)
    cc = r.filter(pl.col("measure") == "contract_clause").row(0, named=True)
    assert cc["count"] == 2  # ア and the ク・ケ・コ deliberation
    assert (cc["consultations"], cc["deliberations"], cc["statements"]) == (4, 2, 2)
    assert cc["label_ja"] == "契約条項"
    assert cc["control_category"] == "organizational"
    assert cc["consultation_ids"] == ["m1-ア", "m1-ク", "m1-ケ", "m1-コ"]
    assert cc["source_refs"] == ["m1:10", "m1:50"]
    assert r["measure"][0] == "contract_clause"  # sorted by count


def test_recurrence_switch_counts_each_consultation():
    r = measure_recurrence(world()["safeguards"], taxonomy=TAXONOMY, count_groups_once=False)
    assert r.filter(pl.col("measure") == "contract_clause")["count"].item() == 4


def test_recurrence_unclassified_and_unused():
    r = measure_recurrence(world()["safeguards"], taxonomy=TAXONOMY)
    un = r.filter(pl.col("measure") == "unclassified").row(0, named=True)
    assert un["label_ja"] is None and un["control_category"] == "unclassified"
    assert "access_control" not in r["measure"].to_list()
    full = measure_recurrence(world()["safeguards"], taxonomy=TAXONOMY, include_unused=True)
    ac = full.filter(pl.col("measure") == "access_control").row(0, named=True)
    assert (ac["count"], ac["consultations"], ac["consultation_ids"]) == (0, 0, [])
    assert full.height == r.height + 2  # access_control and staff_training


def test_recurrence_empty():
    r = measure_recurrence(empty("safeguards"), taxonomy=TAXONOMY)
    assert r.height == 0 and "source_refs" in r.columns
    r = measure_recurrence(empty("safeguards"), taxonomy=TAXONOMY, include_unused=True)
    assert r.height == TAXONOMY.height and r["count"].sum() == 0


def test_coverage_matrix_counts_and_booleans():
    c = coverage_matrix(world())
    assert c["consultation_id"].to_list() == ["m1-ア", "m1-イ", "m1-ク", "m1-ケ", "m1-コ"]
    a = c.row(0, named=True)
    assert [a[k] for k in ("organizational", "human", "physical", "technical")] == [1, 1, 1, 1]
    assert a["categories_covered"] == 4
    assert (a["unclassified"], a["statements"], a["states_none"]) == (1, 5, False)
    i = c.row(1, named=True)
    assert (i["categories_covered"], i["statements"], i["states_none"]) == (0, 0, True)
    assert i["measures"] == []
    for row in c.slice(2).iter_rows(named=True):  # the group's one statement reaches each 諮問
        assert row["organizational"] == 1 and row["has_organizational"]
        assert not row["has_human"] and row["categories_covered"] == 1


def test_gaps_none_first_then_missing_categories():
    g = safeguard_gaps(world())
    assert g["consultation_id"].to_list() == ["m1-イ", "m1-ク", "m1-ケ", "m1-コ"]
    first = g.row(0, named=True)
    assert first["states_none"]
    assert first["missing_categories"] == ["organizational", "human", "physical", "technical"]
    assert g.row(1, named=True)["missing_categories"] == ["human", "physical", "technical"]
    assert g.row(1, named=True)["deliberation_group"] == "ク・ケ・コ"


def test_gaps_and_coverage_on_empty_tables():
    assert coverage_matrix({}).height == 0
    assert safeguard_gaps({}).height == 0
    t = world()
    t["safeguards"] = empty("safeguards")
    assert safeguard_gaps(t)["states_none"].all()
    assert safeguard_gaps(t).height == 5


def _utt(group, seq, role, kind, line):
    return {
        "meeting_id": "m1",
        "deliberation_group": group,
        "seq": seq,
        "speaker_role": role,
        "kind": kind,
        "text": "…",
        "source_line": line,
    }


def _qt(group, seq, topic, matched="語"):
    return {
        "meeting_id": "m1",
        "deliberation_group": group,
        "seq": seq,
        "topic": topic,
        "matched": matched,
    }


def topic_tables():
    utterances = to_frame(
        "utterances",
        [
            _utt("ク・ケ・コ", 1, "member", "question", 60),
            _utt("ク・ケ・コ", 2, "department", "answer", 61),
            _utt("ク・ケ・コ", 3, "chair", "question", 62),
            _utt("ク・ケ・コ", 4, "department", "answer", 63),
            _utt("ク・ケ・コ", 5, "member", "question", 64),
            _utt("ク・ケ・コ", 6, "member", "remark", 65),
            _utt("イ", 1, "member", "question", 20),
        ],
    )
    topics = to_frame(
        "question_topics",
        [
            _qt("ク・ケ・コ", 1, "outsourcing_subcontracting", "委託"),  # covered: contract_clause
            _qt("ク・ケ・コ", 3, "staffing", "職員"),  # uncovered
            _qt("ク・ケ・コ", 4, "staffing", "職員"),  # a department's answer: ignored
            _qt("ク・ケ・コ", 5, "cost", "経費"),  # not in the map
            _qt("ク・ケ・コ", 6, "staffing", "人員"),  # a remark raises it too
            _qt("イ", 1, "access_control", "権限"),  # イ states nothing
        ],
    )
    return topics, utterances, world()["safeguards"]


def test_topic_coverage_known_answers():
    topics, utt, sg = topic_tables()
    c = topic_safeguard_coverage(topics, utt, sg, TOPIC_MAP)
    got = {(r["deliberation_group"], r["topic"]): r for r in c.iter_rows(named=True)}
    assert set(got) == {
        ("ク・ケ・コ", "outsourcing_subcontracting"),
        ("ク・ケ・コ", "staffing"),
        ("イ", "access_control"),
    }
    out = got[("ク・ケ・コ", "outsourcing_subcontracting")]
    assert out["covered"] and out["covering_measures"] == ["contract_clause"]
    staff = got[("ク・ケ・コ", "staffing")]
    assert not staff["covered"]
    assert staff["seqs"] == [3, 6] and staff["source_lines"] == [62, 65]
    assert staff["utterances"] == 2
    assert staff["matched"] == ["職員", "人員"]
    assert staff["expected_measures"] == ["limited_staff", "staff_training"]
    assert staff["stated_measures"] == ["contract_clause"]
    assert got[("イ", "access_control")]["stated_measures"] == []


def test_uncovered_topics():
    topics, utt, sg = topic_tables()
    u = uncovered_topics(topics, utt, sg, TOPIC_MAP)
    assert u.select("deliberation_group", "topic").rows() == [
        ("イ", "access_control"),
        ("ク・ケ・コ", "staffing"),
    ]
    q_only = uncovered_topics(topics, utt, sg, TOPIC_MAP, kinds=("question",))
    staff = q_only.filter(pl.col("topic") == "staffing").row(0, named=True)
    assert staff["seqs"] == [3]
    assert uncovered_topics(topics, utt, sg, TOPIC_MAP, kinds="question").equals(q_only)
    with_unmapped = uncovered_topics(topics, utt, sg, TOPIC_MAP, include_unmapped=True)
    cost = with_unmapped.filter(pl.col("topic") == "cost").row(0, named=True)
    assert not cost["mapped"] and cost["expected_measures"] == []


def test_uncovered_topics_empty_inputs_and_bad_kind():
    topics, utt, sg = topic_tables()
    assert uncovered_topics(empty("question_topics"), utt, sg, TOPIC_MAP).height == 0
    u = uncovered_topics(topics, utt, empty("safeguards"), TOPIC_MAP)
    assert u.height == 3  # every mapped topic is uncovered when nothing is stated
    with pytest.raises(ValueError, match="kinds must be one of"):
        uncovered_topics(topics, utt, sg, TOPIC_MAP, kinds=("speech",))


def test_gaps_take_the_coverage_matrix_already_made():
    t = world()
    assert safeguard_gaps(t, coverage=coverage_matrix(t)).equals(safeguard_gaps(t))


@pytest.mark.parametrize("include_unused", [False, True])
def test_recurrence_refs_limit(include_unused):
    kw = dict(taxonomy=TAXONOMY, include_unused=include_unused)
    full = measure_recurrence(world()["safeguards"], **kw)
    short = measure_recurrence(world()["safeguards"], refs_limit=1, **kw)
    assert short.drop("source_refs", "n_refs").equals(full.drop("source_refs"))
    assert short["n_refs"].to_list() == full["source_refs"].list.len().to_list()
    assert short["source_refs"].to_list() == full["source_refs"].list.sort().list.head(1).to_list()
    assert measure_recurrence(empty("safeguards"), taxonomy=TAXONOMY, refs_limit=3).height == 0


def test_gaps_missing_categories_for_every_pattern():
    g = safeguard_gaps(world())
    cov = coverage_matrix(world())
    for row in g.iter_rows(named=True):
        has = cov.filter(pl.col("consultation_id") == row["consultation_id"]).row(0, named=True)
        assert row["missing_categories"] == [c for c in CONTROL_CATEGORIES if not has[f"has_{c}"]]


def detail_tables():
    """topic_tables plus a second meeting: a topic covered only through a second mapped
    measure, an unclassified statement, a map row naming ``unclassified``, a topic raised
    twice in one deliberation and a turn without a line."""
    topics, utt, sg = topic_tables()
    utt2 = to_frame(
        "utterances",
        [
            {**_utt("ア", 1, "member", "question", 30), "meeting_id": "m2"},
            {**_utt("ア", 2, "member", "remark", None), "meeting_id": "m2"},
            {**_utt("イ・ウ", 1, "chair", "question", 40), "meeting_id": "m2"},
            {**_utt("イ・ウ", 2, "member", "remark", 41), "meeting_id": "m2"},
        ],
    )
    topics2 = to_frame(
        "question_topics",
        [
            {**_qt("ア", 1, "staffing", "職員"), "meeting_id": "m2"},
            {**_qt("ア", 2, "staffing", None), "meeting_id": "m2"},
            {**_qt("ア", 2, "access_control", "権限"), "meeting_id": "m2"},
            {**_qt("イ・ウ", 1, "staffing", "人員"), "meeting_id": "m2"},
            {**_qt("イ・ウ", 2, "cost", "経費"), "meeting_id": "m2"},
        ],
    )
    sg2 = to_frame(
        "safeguards",
        [
            {**_sg("m2-イ", "イ・ウ", "研修", "staff_training", "human", 42), "meeting_id": "m2"},
            {
                **_sg("m2-ア", "ア", "適切に", "unclassified", "unclassified", 31),
                "meeting_id": "m2",
            },
        ],
    )
    return (
        pl.concat([topics2, topics]),  # not in table order
        pl.concat([utt, utt2]),
        pl.concat([sg, sg2]),
    )


LIST_COLUMNS = [
    "seqs",
    "source_lines",
    "matched",
    "expected_measures",
    "stated_measures",
    "covering_measures",
]


@pytest.mark.parametrize("include_unmapped", [False, True])
@pytest.mark.parametrize("kinds", [("question", "remark"), ("question",)])
def test_uncovered_topics_detail_rows_as_the_plain_path(include_unmapped, kinds):
    topics, utt, sg = detail_tables()
    tmap = pl.concat(
        [TOPIC_MAP, pl.DataFrame({"topic": ["access_control"], "measure": ["unclassified"]})]
    )
    kw = dict(kinds=kinds, include_unmapped=include_unmapped)
    plain = uncovered_topics(topics, utt, sg, tmap, **kw)
    assert plain.height >= 3
    for n in (0, 1, 2, plain.height, plain.height + 5):
        fast = uncovered_topics(topics, utt, sg, tmap, detail_rows=n, **kw)
        assert fast.schema == plain.schema
        assert fast.drop(LIST_COLUMNS).equals(plain.drop(LIST_COLUMNS))
        assert fast.head(n).equals(plain.head(n))
        assert (
            fast.slice(n)
            .select(pl.all_horizontal(pl.col(LIST_COLUMNS).is_null()))
            .to_series()
            .all()
        )


def test_uncovered_topics_detail_rows_on_empty_tables():
    topics, utt, sg = topic_tables()
    for t, s in ((empty("question_topics"), sg), (topics, empty("safeguards"))):
        plain = uncovered_topics(t, utt, s, TOPIC_MAP)
        fast = uncovered_topics(t, utt, s, TOPIC_MAP, detail_rows=10)
        assert fast.equals(plain)


@pytest.mark.parametrize("include_unmapped", [False, True])
def test_uncovered_topics_detail_rows_with_utterances_in_turn_order(include_unmapped):
    """The utterances as the tables are written (each deliberation in one run, seq ascending):
    turns are merged, not joined, with the same result."""
    topics, utt, sg = detail_tables()
    utt = utt.sort("meeting_id", "deliberation_group", "seq")
    kw = dict(include_unmapped=include_unmapped)
    plain = uncovered_topics(topics, utt, sg, TOPIC_MAP, **kw)
    assert plain.height >= 3
    fast = uncovered_topics(topics, utt, sg, TOPIC_MAP, detail_rows=plain.height, **kw)
    assert fast.equals(plain)
    # the same rows when the utterances are not in turn order
    shuffled = uncovered_topics(
        topics, utt.reverse(), sg, TOPIC_MAP, detail_rows=plain.height, **kw
    )
    assert shuffled.equals(plain)


def _scattered_world():
    """world() with more statements (a null text, a null line, one text on two lines and two
    meetings) and its statements in an order that splits every 諮問 into several runs."""
    w = world()
    extra = to_frame(
        "safeguards",
        [
            _sg("m1-ア", "ア", "暗号化", "encryption", "technical", 15),
            _sg("m1-ア", "ア", None, "unclassified", "unclassified", 16),
            _sg("m1-ア", "ア", "適切に管理する", "unclassified", "unclassified", None),
            _sg("m1-ク", "ク・ケ・コ", "暗号化", "encryption", "technical", 13),
            _sg("m2-ア", "ア", "暗号化", "encryption", "technical", 13, mid="m2"),
        ],
    )
    sg = pl.concat([w["safeguards"], extra])
    order = [9, 0, 5, 1, 10, 6, 2, 11, 7, 3, 12, 8, 4]
    return {**w, "safeguards": sg[order]}, sg


def test_counts_do_not_depend_on_row_order():
    scattered, in_order = _scattered_world()
    counts = [
        "count",
        "consultations",
        "deliberations",
        "meetings",
        "statements",
    ]
    a = measure_recurrence(scattered["safeguards"], taxonomy=TAXONOMY).select("measure", *counts)
    b = measure_recurrence(in_order, taxonomy=TAXONOMY).select("measure", *counts)
    assert a.equals(b)
    plain = in_order.group_by("measure").agg(
        statements=pl.struct("meeting_id", "text", "source_line").n_unique().cast(pl.Int64),
        deliberations=pl.struct("meeting_id", "deliberation_group").n_unique().cast(pl.Int64),
    )
    assert (
        a.select("measure", "statements", "deliberations")
        .sort("measure")
        .equals(plain.sort("measure"))
    )
    cov = coverage_matrix(scattered).drop("measures")
    assert cov.equals(coverage_matrix({**scattered, "safeguards": in_order}).drop("measures"))
    plain = in_order.group_by("consultation_id").agg(
        statements=pl.struct("text", "source_line").n_unique().cast(pl.Int64)
    )
    got = cov.join(plain, on="consultation_id", suffix="_plain")
    assert got["statements"].to_list() == got["statements_plain"].to_list()
    assert cov.filter(pl.col("consultation_id") == "m1-ア")["statements"].item() == 8
