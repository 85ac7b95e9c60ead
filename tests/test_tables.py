"""Rows into typed frames (analysis.tables.to_frame)."""

import polars as pl
import pytest

from analysis.tables import to_frame


def _attendee(**kw):
    row = {"meeting_id": "m1", "name": "山田", "role": "member", "source_line": 3}
    return row | kw


def test_list_columns_keep_values_nulls_and_empty_lists():
    rows = [
        _attendee(consultation_labels=["イ", "ウ"]),
        _attendee(consultation_labels=[]),
        _attendee(consultation_labels=None),
        _attendee(),  # missing nullable key
    ]
    df = to_frame("attendees", rows, sort=False)
    assert df.schema["consultation_labels"] == pl.List(pl.String)
    assert df["consultation_labels"].to_list() == [["イ", "ウ"], [], None, None]


def test_list_column_of_the_wrong_type_is_converted_as_polars_would():
    rows = [_attendee(consultation_labels=[1, 2])]
    df = to_frame("attendees", rows, sort=False)
    assert df["consultation_labels"].to_list() == [["1", "2"]]


def test_tag_column_and_unknown_keys():
    df = to_frame(
        "attendees", [_attendee(), _attendee(name="佐藤")], sort=False, tag=("_doc", [0, 1])
    )
    assert df["_doc"].dtype == pl.Int32 and df["_doc"].to_list() == [0, 1]
    with pytest.raises(ValueError, match="not in the schema"):
        to_frame("attendees", [_attendee(colour="red")])


def test_sort_table_orders_as_a_stable_sort_and_keeps_a_sorted_table_as_it_is():
    from analysis.tables import SORT_KEYS, sort_table

    rows = [
        {"meeting_id": "m2", "source_line": 5, "code": "b"},
        {"meeting_id": "m1", "source_line": None, "code": "z"},  # nulls first
        {"meeting_id": "m1", "source_line": 3, "code": "a"},
        {"meeting_id": "m10", "source_line": 1, "code": "a"},  # sorts before m2 as text
        {"meeting_id": "m1", "source_line": 3, "code": "a"},  # a tie: parse order kept
        {"meeting_id": "m2", "source_line": 5, "code": "a"},
    ]
    rows = [r | {"source_path": f"f{i}.txt", "severity": "info", "message": str(i)}
            for i, r in enumerate(rows)]  # fmt: skip
    df = to_frame("diagnostics", rows, sort=False)
    expected = df.sort(SORT_KEYS["diagnostics"], maintain_order=True, nulls_last=False)
    got = sort_table("diagnostics", df)
    assert got.equals(expected)
    assert got["message"].to_list() == ["1", "2", "4", "3", "5", "0"]
    assert sort_table("diagnostics", got) is got  # already in order: the rows are not moved
