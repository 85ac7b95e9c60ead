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
