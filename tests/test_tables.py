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


def _diagnostic_parts(rows_per_meeting: int, meetings: list[str], seed: int) -> list[pl.DataFrame]:
    """Parts as the build's workers make them: each part's rows in the table's order, each
    meeting in one part; source lines repeat, so there are ties whose parse order counts."""
    import random

    from analysis.tables import sort_table

    rnd = random.Random(seed)
    parts, n = [], 0
    for chunk in (meetings[i : i + 3] for i in range(0, len(meetings), 3)):
        rows = []
        for m in chunk:
            for _ in range(rows_per_meeting):
                rows.append({"meeting_id": m, "source_line": rnd.choice([None, 1, 2, 3]),
                             "code": rnd.choice("ab"), "source_path": "f.txt",
                             "severity": "info", "message": str(n)})  # fmt: skip
                n += 1
        rnd.shuffle(rows)  # a document's rows in any parse order
        parts.append(sort_table("diagnostics", to_frame("diagnostics", rows, sort=False)))
    return parts


@pytest.mark.parametrize("rows_per_meeting", [3, 70])  # gathers rows / copies slices
def test_sort_by_meeting_gives_the_stable_sort_of_parts_in_order(rows_per_meeting):
    from analysis.tables import sort_by_meeting, sort_table

    meetings = ["m7", "m10", "m2", "m1", "m30", "m3", "m11"]  # m10 sorts before m2 as text
    df = pl.concat(_diagnostic_parts(rows_per_meeting, meetings, seed=rows_per_meeting))
    got = sort_by_meeting("diagnostics", df)
    assert got.equals(sort_table("diagnostics", df))
    assert got["meeting_id"].unique(maintain_order=True).to_list() == sorted(meetings)
    assert sort_by_meeting("diagnostics", got) is got  # in order already: not moved


def test_sort_by_meeting_falls_back_to_the_full_sort_when_a_meeting_is_in_two_blocks():
    from analysis.tables import sort_by_meeting, sort_table

    parts = _diagnostic_parts(4, ["m2", "m1", "m3"], seed=1)
    split = pl.concat([parts[0], parts[0].head(2).with_columns(message=pl.lit("again"))])
    got = sort_by_meeting("diagnostics", split)
    assert got.equals(sort_table("diagnostics", split))
    assert got.filter(pl.col("message") == "again").height == 2

    nulls = parts[0].with_columns(
        meeting_id=pl.when(pl.col("meeting_id") == "m1").then(None).otherwise("meeting_id")
    )
    assert sort_by_meeting("diagnostics", nulls).equals(sort_table("diagnostics", nulls))
