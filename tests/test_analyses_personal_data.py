"""Personal-data analyses on small handmade tables: frequency, per 諮問, sensitive flags."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.analyses import (
    flag_sensitive_items,
    items_by_consultation,
    items_by_frequency,
    sensitive_summary,
)
from analysis.tables import empty, to_frame

SENSITIVE = pl.DataFrame(
    {
        "pattern": ["課税", "税額", "所得", "口座", "ＤＶ", "マイナンバー", "個人番号"],
        "label_ja": ["課税情報", "課税情報", "所得", "口座情報", "DV被害", "個人番号", "個人番号"],
        "kind": [
            "tax_financial",
            "tax_financial",
            "tax_financial",
            "tax_financial",
            "special_care",
            "my_number",
            "my_number",
        ],
    }
)


def _item(cid, group, item, line, item_group=None, mid="m1"):
    return {
        "consultation_id": cid,
        "meeting_id": mid,
        "deliberation_group": group,
        "item": item,
        "item_norm": item.replace("ＤＶ", "DV"),
        "item_group": item_group,
        "source_line": line,
    }


def items() -> pl.DataFrame:
    """ア lists two items; ク・ケ・コ share one statement of three items (one in a group)."""
    rows = [
        _item("m1-ア", "ア", "氏名", 10),
        _item("m1-ア", "ア", "口座番号", 10),
    ]
    for cid in ("m1-ク", "m1-ケ", "m1-コ"):
        rows += [
            _item(cid, "ク・ケ・コ", "氏名", 50, "課税情報"),
            _item(cid, "ク・ケ・コ", "市民税額", 50, "課税情報"),
            _item(cid, "ク・ケ・コ", "ＤＶ被害の有無", 50),
        ]
    rows.append(_item("m2-ア", "ア", "個人番号（マイナンバー）", 7, mid="m2"))
    return to_frame("personal_data_items", rows)


def test_items_by_frequency_groups_once():
    f = items_by_frequency(items())
    name = f.filter(pl.col("item_norm") == "氏名").row(0, named=True)
    assert name["count"] == 2  # ア and the ク・ケ・コ deliberation
    assert (name["consultations"], name["deliberations"], name["meetings"]) == (4, 2, 1)
    assert name["item_groups"] == ["課税情報"]
    assert name["source_refs"] == ["m1:10", "m1:50"]
    assert f["item_norm"][0] == "氏名"


def test_items_by_frequency_per_consultation():
    f = items_by_frequency(items(), count_groups_once=False)
    got = dict(f.select("item_norm", "count").rows())
    assert got["氏名"] == 4
    assert got["市民税額"] == 3
    assert got["口座番号"] == 1


def test_flags_substring_of_item_or_group_once_per_label():
    fl = flag_sensitive_items(items(), SENSITIVE)
    ku = fl.filter(pl.col("consultation_id") == "m1-ク")
    got = ku.select("item_norm", "label_ja", "pattern", "matched_in").rows()
    assert got == [
        ("氏名", "課税情報", "課税", "item_group"),  # an item listed under 課税情報
        ("市民税額", "課税情報", "税額", "item"),  # 税額 in the item wins over 課税 in its group
        ("DV被害の有無", "DV被害", "DV", "item"),  # full-width pattern normalised
    ]
    a = fl.filter(pl.col("consultation_id") == "m1-ア")
    assert a.select("item_norm", "label_ja").rows() == [("口座番号", "口座情報")]
    assert a["source_line"].to_list() == [10]
    m2 = fl.filter(pl.col("meeting_id") == "m2")
    # two patterns of one label (個人番号, マイナンバー): one row
    assert m2.select("label_ja", "pattern").rows() == [("個人番号", "マイナンバー")]


def test_flags_null_group_and_empty():
    fl = flag_sensitive_items(items(), SENSITIVE)
    assert fl.filter(pl.col("item_norm") == "氏名")["consultation_id"].to_list() == [
        "m1-ク",
        "m1-ケ",
        "m1-コ",
    ]  # ア's 氏名 has no group and matches nothing
    e = flag_sensitive_items(empty("personal_data_items"), SENSITIVE)
    assert e.height == 0 and "label_ja" in e.columns
    assert flag_sensitive_items(items(), SENSITIVE.head(0)).height == 0


def test_flags_every_row_of_a_repeated_item_or_group():
    """Patterns are searched once per distinct item and group: each row still gets its flags."""
    rows = [
        _item(f"m{i}-ア", "ア", item, i, group, mid=f"m{i}")
        for i, (item, group) in enumerate(
            [("口座番号", None), ("氏名", "ＤＶ関係"), ("口座番号", "ＤＶ関係"), ("氏名", None)], 1
        )
    ]
    fl = flag_sensitive_items(to_frame("personal_data_items", rows), SENSITIVE)
    assert fl.select("consultation_id", "label_ja", "matched_in").rows() == [
        ("m1-ア", "口座情報", "item"),
        ("m2-ア", "DV被害", "item_group"),  # full-width group normalised
        ("m3-ア", "口座情報", "item"),
        ("m3-ア", "DV被害", "item_group"),
    ]


def test_sensitive_summary():
    s = sensitive_summary(flag_sensitive_items(items(), SENSITIVE))
    got = {r["label_ja"]: (r["count"], r["consultations"]) for r in s.iter_rows(named=True)}
    assert got == {"課税情報": (1, 3), "DV被害": (1, 3), "口座情報": (1, 1), "個人番号": (1, 1)}
    tax = s.filter(pl.col("label_ja") == "課税情報").row(0, named=True)
    assert tax["items"] == ["氏名", "市民税額"]
    assert tax["patterns"] == ["課税", "税額"]
    per = sensitive_summary(flag_sensitive_items(items(), SENSITIVE), count_groups_once=False)
    assert per.filter(pl.col("label_ja") == "課税情報")["count"].item() == 3


def test_items_by_consultation_includes_consultations_without_items():
    cons = to_frame(
        "consultations",
        [
            {
                "consultation_id": cid,
                "meeting_id": "m1",
                "label": cid[-1],
                "seq": i,
                "agenda_kind": "consultation",
                "category": "outsourcing",
                "deliberation_group": group,
                "departments": [],
            }
            for i, (cid, group) in enumerate(
                [("m1-ア", "ア"), ("m1-イ", "イ"), ("m1-ク", "ク・ケ・コ")], start=1
            )
        ],
    )
    t = {
        "meetings": to_frame("meetings", [{"meeting_id": "m1"}]),
        "consultations": cons,
        "personal_data_items": items(),
    }
    out = items_by_consultation(t, sensitive_items=SENSITIVE)
    assert out["consultation_id"].to_list() == ["m1-ア", "m1-イ", "m1-ク"]
    rows = {r["label"]: r for r in out.iter_rows(named=True)}
    assert rows["ア"]["items"] == ["氏名", "口座番号"]
    assert (rows["ア"]["n_items"], rows["ア"]["n_sensitive"]) == (2, 1)
    assert rows["イ"]["n_items"] == 0 and rows["イ"]["items"] == []
    assert rows["イ"]["sensitive_labels"] == [] and rows["イ"]["source_lines"] == []
    ku = rows["ク"]
    assert (ku["n_items"], ku["n_sensitive"]) == (3, 3)
    assert ku["sensitive_labels"] == ["課税情報", "DV被害"]
    assert ku["sensitive_kinds"] == ["tax_financial", "special_care"]
    assert ku["item_groups"] == ["課税情報"]


@pytest.mark.parametrize("fn", [items_by_frequency, sensitive_summary])
def test_empty_tables(fn):
    src = empty("personal_data_items")
    if fn is sensitive_summary:
        src = flag_sensitive_items(src, SENSITIVE)
    assert fn(src).height == 0
    assert items_by_consultation({}, sensitive_items=SENSITIVE).height == 0


def test_items_by_consultation_takes_the_flags_already_made():
    cons = to_frame(
        "consultations",
        [
            {
                "consultation_id": "m1-ア",
                "meeting_id": "m1",
                "label": "ア",
                "seq": 1,
                "agenda_kind": "consultation",
                "category": "outsourcing",
                "deliberation_group": "ア",
                "departments": [],
            }
        ],
    )
    t = {
        "meetings": to_frame("meetings", [{"meeting_id": "m1"}]),
        "consultations": cons,
        "personal_data_items": items(),
    }
    flags = flag_sensitive_items(items(), SENSITIVE)
    out = items_by_consultation(t, flags=flags)
    assert out.equals(items_by_consultation(t, sensitive_items=SENSITIVE))
    assert out["n_sensitive"].item() > 0


def test_items_by_frequency_refs_limit():
    full = items_by_frequency(items())
    short = items_by_frequency(items(), refs_limit=1)
    assert short.drop("source_refs", "n_refs").equals(full.drop("source_refs"))
    assert short["n_refs"].to_list() == full["source_refs"].list.len().to_list()
    assert short["source_refs"].to_list() == full["source_refs"].list.sort().list.head(1).to_list()


@pytest.mark.parametrize("limit", [1, 2, 6])
def test_sensitive_summary_refs_limit_cites_as_the_full_list(limit):
    from analysis.report_helpers import with_refs

    rows = [
        *items().to_dicts(),
        _item("m2-イ", "イ", "口座番号", 3, mid="m2"),
        _item("m2-イ", "イ", "課税額", None, mid="m2"),  # no line: not cited
        _item("m10-ア", "ア", "市民税額", 12, mid="m10"),  # sorts before m2 as text
    ]
    flags = flag_sensitive_items(to_frame("personal_data_items", rows), SENSITIVE)
    full = sensitive_summary(flags)
    short = sensitive_summary(flags, refs_limit=limit)
    assert short.drop("source_refs", "n_refs").equals(full.drop("source_refs"))
    assert short["n_refs"].to_list() == full["source_refs"].list.drop_nulls().list.len().to_list()
    for meetings in (True, False):
        cited = with_refs(short, "source_refs", show_meeting=meetings, limit=limit, total="n_refs")
        assert cited["行"].to_list() == (
            with_refs(full, "source_refs", show_meeting=meetings, limit=limit)["行"].to_list()
        )
    assert sensitive_summary(flags.clear(), refs_limit=limit).height == 0
