"""Integer stand-ins for the string keys (analysis.analyses._keys), against plain joins."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.analyses._keys import (
    Turns,
    enum_codes,
    group_codes,
    key_codes,
    pair_key,
    statement_codes,
    strictly_ascending,
    turn_rows,
)

G = ["meeting_id", "deliberation_group"]


def _utterances(rows):
    return pl.DataFrame(
        rows,
        schema={"meeting_id": pl.String, "deliberation_group": pl.String, "seq": pl.Int64},
        orient="row",
    )


UTT = _utterances(
    [
        ("m1", "ア", 1),
        ("m1", "ア", 2),
        ("m1", "イ・ウ", 1),
        ("m1", "イ・ウ", 3),
        ("m2", "ア", 1),
        ("m10", "ア", 1),
        ("m10", "ア", 2),
    ]
)
LEFT = _utterances(
    [
        ("m10", "ア", 2),
        ("m1", "イ・ウ", 3),
        ("m1", "イ・ウ", 2),  # no such turn
        ("m3", "ア", 1),  # no such deliberation
        (None, "ア", 1),
        ("m1", None, 1),
        ("m1", "ア", None),
        ("m1", "ア", -1),
        ("m1", "ア", 1 << 33),  # out of range: must not meet another deliberation's turn
        ("m1", "ア", 1),
        ("m1", "ア", 1),
    ]
)


def _joined(left, right):
    return left.join(
        right.with_row_index("_row"), on=[*G, "seq"], how="left", maintain_order="left"
    )["_row"]


def test_turn_rows_as_a_join():
    rows = turn_rows(LEFT, UTT)
    assert rows is not None
    assert rows.to_list() == _joined(LEFT, UTT).to_list()
    sorted_left = LEFT.drop_nulls().filter(pl.col("seq") > 0).sort([*G, "seq"])
    assert turn_rows(sorted_left, UTT).to_list() == _joined(sorted_left, UTT).to_list()
    moved = pl.concat([UTT.slice(2), UTT.head(2)])  # deliberations in any order, each whole
    assert turn_rows(LEFT, moved).to_list() == _joined(LEFT, moved).to_list()
    assert turn_rows(LEFT.head(0), UTT).to_list() == []
    assert turn_rows(LEFT, UTT.head(0)).null_count() == LEFT.height


@pytest.mark.parametrize(
    "right",
    [
        UTT.reverse(),  # seq descending
        pl.concat([UTT.head(1), UTT.slice(2), UTT.slice(1, 1)]),  # a deliberation in two runs
        pl.concat([UTT.head(1), UTT]),  # a turn twice
        pl.concat([UTT, _utterances([("m1", "ア", None)])]),  # a null
        pl.concat([_utterances([("m0", "ア", -1)]), UTT]),  # out of range
    ],
)
def test_turn_rows_refuses_what_it_cannot_merge(right):
    assert turn_rows(LEFT, right) is None
    assert not Turns(right).usable


def test_turns_code_deliberations_in_row_order():
    turns = Turns(UTT)
    assert turns.deliberation.to_list() == [0, 0, 1, 1, 2, 3, 3]
    other = _utterances([("m10", "ア", 9), ("m9", "ア", 1), ("m1", "ア", 5), (None, "ア", 1)])
    assert turns.deliberations(other).to_list() == [3, None, 0, None]


def test_key_codes_equal_exactly_for_equal_keys():
    a = LEFT.select(G)
    b = UTT.select(G).reverse()
    ca, cb = key_codes([a, b], G)
    both = pl.concat([a, b]).with_columns(_c=pl.concat([ca, cb]))
    # one code per distinct key (nulls as values, as a group-by sees them) and vice versa
    assert both.select(pl.struct(G).n_unique()).item() == both["_c"].n_unique()
    assert both.group_by(G).agg(pl.col("_c").n_unique())["_c"].max() == 1
    assert sorted(both["_c"].unique().to_list()) == list(range(both["_c"].n_unique()))


def test_enum_codes_and_pair_key():
    frame = pl.DataFrame({"t": ["b", None, "a", "z", "b"], "n": [0, 1, 2, 3, 4]})
    out = frame.select(
        plain=enum_codes(pl.col("t"), ["a", "b"]),
        with_null=enum_codes(pl.col("t"), ["a", "b"], null_code=2),
        key=pair_key(pl.col("n"), enum_codes(pl.col("t"), ["a", "b"], null_code=2)),
    )
    assert out["plain"].to_list() == [1, None, 0, None, 1]
    assert out["with_null"].to_list() == [1, 2, 0, None, 1]
    assert out["key"].to_list() == [1, (1 << 32) + 2, (2 << 32), None, (4 << 32) + 1]


def _codes_match_keys(frame, keys, codes):
    """Codes equal exactly when the keys are (nulls as values, as a group-by sees them)."""
    both = frame.select(keys).with_columns(_c=codes)
    assert both.select(pl.struct(keys).n_unique()).item() == both["_c"].n_unique()
    assert frame.height == 0 or both.group_by(keys).agg(pl.col("_c").n_unique())["_c"].max() == 1


@pytest.mark.parametrize(
    "frame",
    [
        UTT,  # each value in one run (the fast path)
        LEFT,  # values repeated in separate runs, nulls
        UTT.reverse(),
        pl.concat([UTT, UTT]),  # every value in two runs
        UTT.head(0),
    ],
)
@pytest.mark.parametrize("keys", [["meeting_id"], G, ["deliberation_group"]])
def test_group_codes_equal_exactly_for_equal_keys(frame, keys):
    _codes_match_keys(frame, keys, group_codes(frame, keys))


def test_group_codes_null_runs_fall_back():
    frame = pl.DataFrame({"k": [None, "a", None, "a", "b"]}).sort("k")
    _codes_match_keys(frame, ["k"], group_codes(frame, ["k"]))
    frame = pl.DataFrame({"k": ["a", None, "b", None]})
    _codes_match_keys(frame, ["k"], group_codes(frame, ["k"]))


@pytest.mark.parametrize(
    "lines",
    [
        [1, 1, 2, None, 1, None, 0, 2],
        [1, 1, 2, None, 1, None, -5, 2],  # out of range: the plain codes
        [1, 1, 2, None, 1, None, 1 << 40, 2],
    ],
)
def test_statement_codes_equal_exactly_for_equal_statements(lines):
    frame = pl.DataFrame(
        {"text": ["a", "a", "a", "b", None, None, "a", "b"], "source_line": lines},
        schema={"text": pl.String, "source_line": pl.Int64},
    )
    for f in (frame, frame.reverse(), frame.head(0)):
        _codes_match_keys(f, ["text", "source_line"], statement_codes(f))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], True),
        ([(1, "a")], True),
        ([(1, "a"), (1, "b"), (2, "a"), (3, None)], True),  # a null told apart by the turn
        ([(1, "a"), (1, "a")], False),  # a pair twice
        ([(1, "b"), (1, "a")], False),  # not sorted within a turn
        ([(2, "a"), (1, "b")], False),
        ([(1, "a"), (1, None)], False),  # a null: not known to be ascending
        ([(1, "a"), (2, "a"), (1, "b")], False),
    ],
)
def test_strictly_ascending_as_sorted_and_distinct(rows, expected):
    frame = pl.DataFrame(rows, schema={"turn": pl.Int64, "topic": pl.String}, orient="row")
    assert strictly_ascending(frame, ["turn", "topic"]) is expected
    if expected and frame.height:
        assert frame.filter(pl.struct("turn", "topic").is_first_distinct()).equals(frame)
        assert frame.equals(frame.sort("turn", "topic", nulls_last=False))
