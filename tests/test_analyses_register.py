"""consultation_register on small handmade tables with known answers."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.analyses import consultation_register, validate_choice, validate_choices
from analysis.analyses.register import REGISTER_COLUMNS
from analysis.schema import CATEGORIES
from analysis.tables import to_frame

LABELS = pl.DataFrame(
    {"category": ["system_change", "outsourcing"], "label_ja": ["システム変更", "外部委託"]}
)


def _cons(cid, mid, label, seq, category, bureau, depts, group, decision, **kw):
    row = {
        "consultation_id": cid,
        "meeting_id": mid,
        "label": label,
        "seq": seq,
        "agenda_kind": "consultation",
        "title": f"title {label}",
        "category": category,
        "bureau": bureau,
        "departments": depts,
        "deliberation_group": group,
        "decision": decision,
        "vote": "unanimous",
        "questions": 0,
        "remarks": 0,
        "source_line_start": 10 * seq,
        "source_line_end": 10 * seq + 9,
    }
    row.update(kw)
    return row


def world() -> dict[str, pl.DataFrame]:
    """Two meetings; m1 has ア alone, イ・ウ deliberated together, and a report; m2 has two."""
    meetings = to_frame(
        "meetings",
        [
            {"meeting_id": "m1", "fiscal_year": 2020, "session_no": 9, "date": date(2020, 12, 15)},
            {"meeting_id": "m2", "fiscal_year": 2021, "session_no": 2, "date": date(2021, 6, 1)},
        ],
    )
    consultations = to_frame(
        "consultations",
        [
            _cons(
                "m1-ア", "m1", "ア", 1, "system_change", "B1", ["D1"], "ア", "approved", questions=2
            ),
            _cons(
                "m1-イ",
                "m1",
                "イ",
                2,
                "outsourcing",
                "B1",
                ["D1", "D2"],
                "イ・ウ",
                "approved_with_conditions",
                questions=3,
                remarks=1,
                conditions="報告すること",
            ),
            _cons(
                "m1-ウ",
                "m1",
                "ウ",
                3,
                "system_change",
                "B1",
                ["D1", "D2"],
                "イ・ウ",
                "approved_with_conditions",
                questions=3,
                remarks=1,
                conditions="報告すること",
            ),
            _cons(
                "m1-報告ア",
                "m1",
                "報告ア",
                4,
                "other",
                None,
                [],
                "報告ア",
                "not_applicable",
                agenda_kind="report",
            ),
            _cons(
                "m2-ア",
                "m2",
                "ア",
                1,
                "outsourcing",
                "B2",
                ["D3"],
                "ア",
                "deferred",
                questions=1,
                vote="none",
            ),
            _cons("m2-イ", "m2", "イ", 2, "use_outside_purpose", "B2", [], "イ", "unknown"),
        ],
    )
    follow_ups = to_frame(
        "follow_ups",
        [
            {
                "meeting_id": "m1",
                "deliberation_group": "イ・ウ",
                "seq": 2,
                "kind": "commitment",
                "text": "追加する。",
                "source_line": 30,
            },
            {
                "meeting_id": "m1",
                "deliberation_group": "イ・ウ",
                "seq": 4,
                "kind": "correction",
                "text": "誤りである。",
                "source_line": 32,
            },
            {
                "meeting_id": "m1",
                "deliberation_group": "イ・ウ",
                "seq": 5,
                "kind": "request",
                "text": "検討されたい。",
                "source_line": 34,
            },
            {
                "meeting_id": "m2",
                "deliberation_group": "ア",
                "seq": 2,
                "kind": "commitment",
                "text": "周知する。",
                "source_line": 20,
            },
        ],
    )

    def sg(cid, mid, group, text, measure, cat, line):
        return {
            "consultation_id": cid,
            "meeting_id": mid,
            "deliberation_group": group,
            "text": text,
            "measure": measure,
            "control_category": cat,
            "source_line": line,
        }

    safeguards = to_frame(
        "safeguards",
        [
            sg("m1-ア", "m1", "ア", "LGWAN・媒体", "closed_network", "technical", 12),
            sg("m1-ア", "m1", "ア", "LGWAN・媒体", "removable_media_rules", "organizational", 12),
            *[
                row
                for cid in ("m1-イ", "m1-ウ")
                for row in (
                    sg(
                        cid,
                        "m1",
                        "イ・ウ",
                        "特記事項と暗号化",
                        "contract_clause",
                        "organizational",
                        25,
                    ),
                    sg(cid, "m1", "イ・ウ", "特記事項と暗号化", "encryption", "technical", 25),
                    sg(cid, "m1", "イ・ウ", "適切に管理", "unclassified", "unclassified", 26),
                )
            ],
        ],
    )

    def item(cid, mid, group, name, line, item_group=None):
        return {
            "consultation_id": cid,
            "meeting_id": mid,
            "deliberation_group": group,
            "item": name,
            "item_norm": name,
            "item_group": item_group,
            "source_line": line,
        }

    items = to_frame(
        "personal_data_items",
        [
            item("m1-ア", "m1", "ア", "氏名", 11),
            item("m1-ア", "m1", "ア", "住所", 11),
            *[
                item(cid, "m1", "イ・ウ", name, 23, "課税情報")
                for cid in ("m1-イ", "m1-ウ")
                for name in ("氏名", "所得")
            ],
        ],
    )
    return {
        "meetings": meetings,
        "consultations": consultations,
        "follow_ups": follow_ups,
        "safeguards": safeguards,
        "personal_data_items": items,
    }


def reg(**kw) -> pl.DataFrame:
    return consultation_register(world(), category_labels=LABELS, **kw)


def test_one_row_per_consultation_reports_left_out():
    r = reg()
    assert r.columns == list(REGISTER_COLUMNS)
    assert r["consultation_id"].to_list() == ["m1-ア", "m1-イ", "m1-ウ", "m2-ア", "m2-イ"]


def test_meeting_fields_and_category_label():
    r = reg()
    row = r.row(3, named=True)
    assert row["date"] == date(2021, 6, 1)
    assert row["fiscal_year"] == 2021
    assert row["session_no"] == 2
    assert r["category_ja"].to_list() == [
        "システム変更",
        "外部委託",
        "システム変更",
        "外部委託",
        "use_outside_purpose",  # no label: falls back to the code
    ]


def test_counts_known_answers():
    r = reg()
    cols = [
        "questions",
        "follow_ups",
        "commitments",
        "corrections",
        "requests",
        "safeguard_measures",
        "safeguard_statements",
        "personal_data_items",
    ]
    got = {row["consultation_id"]: [row[c] for c in cols] for row in r.iter_rows(named=True)}
    assert got == {
        "m1-ア": [2, 0, 0, 0, 0, 2, 1, 2],
        # the group's follow-ups and questions are carried by both of its 諮問
        "m1-イ": [3, 3, 1, 1, 1, 2, 2, 2],
        "m1-ウ": [3, 3, 1, 1, 1, 2, 2, 2],
        "m2-ア": [1, 1, 1, 0, 0, 0, 0, 0],
        "m2-イ": [0, 0, 0, 0, 0, 0, 0, 0],
    }


def test_group_counted_once_by_deduplicating():
    r = reg()
    once = r.unique(["meeting_id", "deliberation_group"])
    assert once["follow_ups"].sum() == 4  # the four rows of follow_ups
    assert once["questions"].sum() == 2 + 3 + 1 + 0


def test_source_lines_and_conditions_kept():
    r = reg()
    row = r.filter(pl.col("consultation_id") == "m1-イ").row(0, named=True)
    assert (row["source_line_start"], row["source_line_end"]) == (20, 29)
    assert row["conditions"] == "報告すること"
    assert row["departments"] == ["D1", "D2"]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"fiscal_years": 2021}, ["m2-ア", "m2-イ"]),
        ({"fiscal_years": [2020, 2021]}, ["m1-ア", "m1-イ", "m1-ウ", "m2-ア", "m2-イ"]),
        ({"bureau": "B1"}, ["m1-ア", "m1-イ", "m1-ウ"]),
        ({"department": "D2"}, ["m1-イ", "m1-ウ"]),
        ({"department": ["D2", "D3"]}, ["m1-イ", "m1-ウ", "m2-ア"]),
        ({"category": "outsourcing"}, ["m1-イ", "m2-ア"]),
        ({"category": "external_provision"}, []),  # a known category with no 諮問
        ({"meeting_id": "m2"}, ["m2-ア", "m2-イ"]),
        ({"bureau": "B1", "category": "system_change"}, ["m1-ア", "m1-ウ"]),
    ],
)
def test_filters(kw, expected):
    assert reg(**kw)["consultation_id"].to_list() == expected


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"department": "D9"}, "department must be one of: D1, D2, D3; got 'D9'"),
        ({"bureau": "総務部"}, "bureau must be one of: B1, B2; got '総務部'"),
        ({"fiscal_years": [2020, 1999]}, "fiscal_years must be one of: 2020, 2021; got '1999'"),
        ({"meeting_id": "m3"}, "meeting_id must be one of: m1, m2; got 'm3'"),
        ({"category": "outsource"}, "got 'outsource'"),
    ],
)
def test_unknown_filter_values_are_named(kw, message):
    with pytest.raises(ValueError) as err:
        reg(**kw)
    assert message in str(err.value)


def test_unknown_category_lists_every_category():
    with pytest.raises(ValueError, match="category must be one of: ") as err:
        reg(category="foo")
    assert all(c in str(err.value) for c in CATEGORIES)


def test_empty_tables():
    r = consultation_register({}, category_labels=LABELS)
    assert r.height == 0
    assert r.columns == list(REGISTER_COLUMNS)
    with pytest.raises(ValueError, match=r"none: the table is empty"):
        consultation_register({}, category_labels=LABELS, department="D1")


def test_missing_side_tables_give_zero_counts():
    t = world()
    only = {"meetings": t["meetings"], "consultations": t["consultations"]}
    r = consultation_register(only, category_labels=LABELS)
    assert r.height == 5
    assert r["follow_ups"].to_list() == [0] * 5
    assert r["personal_data_items"].to_list() == [0] * 5


def test_consultation_without_meeting_row_keeps_null_date():
    t = world()
    t["meetings"] = t["meetings"].filter(pl.col("meeting_id") == "m1")
    r = consultation_register(t, category_labels=LABELS)
    assert r.height == 5
    assert r.filter(pl.col("meeting_id") == "m2")["date"].is_null().all()


def test_validate_choice_message():
    assert validate_choice("by", "a", ["a", "b"]) == "a"
    with pytest.raises(ValueError) as err:
        validate_choice("by", "c", ["a", "b"])
    assert str(err.value) == "by must be one of: a, b; got 'c'"


def test_validate_choices_scalar_list_none():
    assert validate_choices("x", None, [1]) is None
    assert validate_choices("x", 1, [1, 2]) == [1]
    assert validate_choices("x", (1, 2), [1, 2]) == [1, 2]
    assert validate_choices("x", "ab", ["ab"]) == ["ab"]  # a string is one value
    with pytest.raises(ValueError, match="got '3'"):
        validate_choices("x", [1, 3], [1, 2])


def test_pandas_frames_accepted():
    t = {k: v.to_pandas() for k, v in world().items()}
    r = consultation_register(t, category_labels=LABELS)
    assert r.height == 5
