"""Schema validation names the table, the column and the offending rows."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.tables import empty, to_frame
from analysis.validate import ValidationError, validate_all, validate_table


def test_seed_tables_pass(seed_tables):
    validate_all(seed_tables)


def test_a_bad_code_names_table_column_and_rows(seed_tables):
    bad = seed_tables["consultations"].with_columns(
        pl.when(pl.col("label") == "ウ")
        .then(pl.lit("bogus"))
        .otherwise(pl.col("category"))
        .alias("category")
    )
    with pytest.raises(ValidationError) as exc:
        validate_table("consultations", bad)
    msg = str(exc.value)
    assert "consultations" in msg and "category" in msg and "bogus" in msg
    assert "[2]" in msg  # ウ is the third row


def test_null_in_a_required_column_is_caught():
    df = to_frame(
        "diagnostics",
        [
            dict(
                meeting_id="m",
                source_path="f",
                source_line=None,
                severity="info",
                code=None,
                message="x",
            )
        ],
    )
    with pytest.raises(ValidationError, match="code"):
        validate_table("diagnostics", df)


def test_duplicate_primary_key_is_caught(seed_tables):
    u = seed_tables["utterances"]
    with pytest.raises(ValidationError, match="utterances"):
        validate_table("utterances", pl.concat([u, u.head(1)]))


def test_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="not in the schema"):
        to_frame("follow_ups", [dict(meeting_id="m", surprise=1)])


def test_empty_tables_validate():
    validate_table("question_topics", empty("question_topics"))


def test_duplicated_key_compares_values_after_hashes():
    from analysis.validate import duplicated_key

    df = pl.DataFrame({"m": ["a", "a", "b", None, None], "n": [1, 2, 1, 3, 4]})
    assert not duplicated_key(df, ["m", "n"])
    assert duplicated_key(pl.concat([df, df.slice(3, 1)]), ["m", "n"])  # nulls compare equal
    # rows whose per-column hashes cancel out under xor still differ by value
    swapped = pl.DataFrame({"m": ["x", "y"], "n": ["y", "x"]})
    assert not duplicated_key(swapped, ["m", "n"])


def test_a_duplicate_key_reads_as_pandera_reports_it(seed_tables):
    u = seed_tables["utterances"]
    with pytest.raises(ValidationError) as exc:
        validate_table("utterances", pl.concat([u, u.slice(5, 1)]))
    assert "multiple_fields_uniqueness" in str(exc.value) and "[5, 81]" in str(exc.value)
