"""Tests for analysis.store: round trip, determinism, atomicity, locking and Excel exports."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analysis import store
from analysis.store import (
    BuildLock,
    OutputError,
    duckdb_content_digest,
    list_tables,
    read_manifest,
    read_table,
    repair,
    verify,
    write_datasets,
)


def _chmod_blocks_writes() -> bool:
    """False when running as root (with CAP_DAC_OVERRIDE), where chmod does not stop writes."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        try:
            (folder / "probe").write_bytes(b"")
        except PermissionError:
            return True
        finally:
            folder.chmod(0o755)
    return False


CHMOD_BLOCKS_WRITES = _chmod_blocks_writes()


def make_tables(version: int = 1) -> dict[str, pl.DataFrame]:
    meetings = pl.DataFrame(
        {
            "meeting_id": ["r02-09", "r02-10", "r03-01"],
            "date": [date(2020, 12, 15), None, date(2021, 3, 1)],
            "attendees": pl.Series([12, None, 9], dtype=pl.Int64),
            "title": [
                "令和2年度第9回 情報公開・個人情報保護運営審議会",
                "第10回　会議録",
                "=SUM(A1)",
            ],
            "topics": [["個人情報", "諮問"], [], None],
        }
    )
    speakers = pl.DataFrame(
        {
            "meeting_id": ["r02-09", "r02-09"],
            "speaker": ["会長", "委員（山田）"],
            "turns": pl.Series([3, None], dtype=pl.Int64),
        }
    )
    if version == 1:
        return {"meetings": meetings, "speakers": speakers}
    votes = pl.DataFrame(
        {
            "meeting_id": ["r03-01"],
            "item": ["答申案の承認"],
            "held_at": [datetime(2021, 3, 1, 14, 30)],
            "unanimous": [True],
        }
    )
    meetings = meetings.with_columns(pl.col("attendees").fill_null(0))
    return {"meetings": meetings, "votes": votes}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(out: Path) -> dict[str, str]:
    """Content of every published (non-hidden) file; DuckDB files by their content digest."""
    result = {}
    for rel in store._iter_files(out):
        path = out / rel
        if rel.endswith(".duckdb"):
            result[rel] = duckdb_content_digest(path)
        elif rel == "MANIFEST.json":  # names the DuckDB file's bytes, which differ per write
            result[rel] = repr(manifest_key(read_manifest(out)))
        else:
            result[rel] = sha(path)
    return result


def manifest_key(manifest: dict) -> tuple:
    files = {rel: e.get("content") or e["sha256"] for rel, e in manifest["files"].items()}
    return tuple(manifest["tables"]), tuple(sorted(files.items()))


def staging_dirs(out: Path) -> list[Path]:
    return sorted(out.glob(".staging-*"))


# --------------------------------------------------------------------------------------------


def test_round_trip_parquet_and_duckdb(tmp_path: Path) -> None:
    tables = make_tables(1)
    report = write_datasets(tables, tmp_path, metadata={"source": "unit test"})
    assert report.written == ["council.duckdb", "meetings.parquet", "speakers.parquet"]
    assert report.unchanged == []
    assert report.manifest_path == tmp_path / "MANIFEST.json"
    assert list_tables(tmp_path) == ["meetings", "speakers"]
    assert read_manifest(tmp_path)["metadata"] == {"source": "unit test"}
    assert verify(tmp_path) == []
    for name, df in tables.items():
        assert_frame_equal(read_table(tmp_path, name), df)
        assert_frame_equal(pl.read_parquet(tmp_path / f"{name}.parquet"), df)
    with pytest.raises(KeyError):
        read_table(tmp_path, "nope")

    con = duckdb.connect(str(tmp_path / "council.duckdb"), read_only=True)
    try:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'meetings'"
            ).fetchall()
        )
        rows = con.execute("SELECT topics, date FROM meetings ORDER BY meeting_id").fetchall()
    finally:
        con.close()
    assert types == {
        "meeting_id": "VARCHAR",
        "date": "DATE",
        "attendees": "BIGINT",
        "title": "VARCHAR",
        "topics": "VARCHAR[]",
    }
    assert rows[0] == (["個人情報", "諮問"], date(2020, 12, 15))
    assert rows[1] == ([], None)


def test_rewrite_is_byte_identical_and_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_datasets(make_tables(1), a, excel=True)
    # Same data, different chunking: must still give the same bytes.
    chunked = {
        name: pl.concat([df.head(1), df.tail(df.height - 1)], rechunk=False)
        for name, df in make_tables(1).items()
    }
    write_datasets(chunked, b, excel=True)
    files_a = list(store._iter_files(a))
    assert files_a == list(store._iter_files(b))
    assert "excel/council.xlsx" in files_a and "excel/meetings.csv" in files_a
    for rel in files_a:
        if rel == "MANIFEST.json":
            assert manifest_key(read_manifest(a)) == manifest_key(read_manifest(b))
        elif rel.endswith(".duckdb"):
            assert duckdb_content_digest(a / rel) == duckdb_content_digest(b / rel)
        else:
            assert sha(a / rel) == sha(b / rel), rel
    with zipfile.ZipFile(a / "excel" / "council.xlsx") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_pre_serialised_tables_give_the_same_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_datasets(make_tables(1), a, excel=True)
    serialised = {name: store.ParquetTable.of(df) for name, df in make_tables(1).items()}
    assert serialised["meetings"].frame().equals(make_tables(1)["meetings"])
    write_datasets(serialised, b, excel=True)
    assert manifest_key(read_manifest(a)) == manifest_key(read_manifest(b))
    for rel in store._iter_files(a):
        if not rel.endswith(".duckdb") and rel != "MANIFEST.json":  # DuckDB: a random id
            assert sha(a / rel) == sha(b / rel), rel


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    write_datasets(make_tables(1), tmp_path, excel=True)
    old_ns = 1_000_000_000_000_000_000
    tracked = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".build.lock"]
    for path in tracked:
        os.utime(path, ns=(old_ns, old_ns))
    manifest_before = (tmp_path / "MANIFEST.json").read_bytes()

    report = write_datasets(make_tables(1), tmp_path, excel=True)
    assert report.written == []
    assert len(report.unchanged) == 6
    assert (tmp_path / "MANIFEST.json").read_bytes() == manifest_before
    assert all(p.stat().st_mtime_ns == old_ns for p in tracked if p.exists())

    changed = make_tables(1)
    changed["speakers"] = changed["speakers"].with_columns(pl.col("turns").fill_null(1))
    report = write_datasets(changed, tmp_path, excel=True)
    assert report.written == [
        "council.duckdb",
        "excel/council.xlsx",
        "excel/speakers.csv",
        "speakers.parquet",
    ]
    assert report.unchanged == ["excel/meetings.csv", "meetings.parquet"]
    for rel in report.unchanged:
        assert (tmp_path / rel).stat().st_mtime_ns == old_ns
    assert verify(tmp_path) == []
    assert_frame_equal(read_table(tmp_path, "speakers"), changed["speakers"])


def test_removed_tables_and_excel_are_cleaned_up(tmp_path: Path) -> None:
    write_datasets(make_tables(1), tmp_path, excel=True)
    report = write_datasets(make_tables(2), tmp_path, excel=False)
    assert "speakers.parquet" in report.removed
    assert sorted(store._iter_files(tmp_path)) == [
        "MANIFEST.json",
        "council.duckdb",
        "meetings.parquet",
        "votes.parquet",
    ]
    assert not (tmp_path / "excel").exists()
    assert verify(tmp_path) == []
    # Only the objects of the current and the previous set are kept.
    manifest = read_manifest(tmp_path)
    assert len(list((tmp_path / ".objects").iterdir())) <= len(manifest["files"]) + 6


class Crash(BaseException):
    """Stands in for SIGKILL: not an Exception, so the store's cleanup code does not run."""


def test_crash_at_every_step_leaves_old_or_new_set(tmp_path: Path) -> None:
    old_tables, new_tables = make_tables(1), make_tables(2)
    template = tmp_path / "template"
    write_datasets(old_tables, template, excel=True)
    old_snap, old_key = snapshot(template), manifest_key(read_manifest(template))
    reference = tmp_path / "reference"
    write_datasets(new_tables, reference, excel=True)
    new_snap, new_key = snapshot(reference), manifest_key(read_manifest(reference))
    assert old_snap != new_snap

    real_replace, real_unlink = os.replace, os.unlink
    seen = {"pre-commit": 0, "detected-mixed": 0, "post-commit-clean": 0}
    k = 0
    while True:
        out = tmp_path / f"k{k:03d}"
        shutil.copytree(template, out, symlinks=True)
        calls = [0]

        def crashing(real, *args, _k=k, _calls=calls, **kwargs):
            _calls[0] += 1
            if _calls[0] == _k + 1:
                raise Crash
            return real(*args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:  # every rename and every delete can be "killed"
            mp.setattr(os, "replace", lambda *a, **kw: crashing(real_replace, *a, **kw))
            mp.setattr(os, "unlink", lambda *a, **kw: crashing(real_unlink, *a, **kw))
            try:
                write_datasets(new_tables, out, excel=True)
                crashed = False
            except Crash:
                crashed = True
        if not crashed:
            assert verify(out) == [] and snapshot(out) == new_snap
            break

        key = manifest_key(read_manifest(out))
        assert key in (old_key, new_key), f"crash after {k} calls: manifest is neither set"
        expected_tables = old_tables if key == old_key else new_tables
        assert list_tables(out) == list(expected_tables)
        for name, df in expected_tables.items():  # readers going through the manifest
            assert_frame_equal(read_table(out, name), df)
        problems = verify(out)
        if key == old_key:
            assert problems == [], f"crash after {k} calls before commit: {problems}"
            assert snapshot(out) == old_snap
            seen["pre-commit"] += 1
        elif problems:
            assert snapshot(out) != new_snap
            seen["detected-mixed"] += 1
        else:
            assert snapshot(out) == new_snap
            seen["post-commit-clean"] += 1

        # The next build cleans up and repairs.
        write_datasets(new_tables, out, excel=True)
        assert verify(out) == [], f"not repaired after crash at {k}"
        assert snapshot(out) == new_snap
        assert staging_dirs(out) == []
        shutil.rmtree(out)
        k += 1
    assert k >= 10
    assert all(count > 0 for count in seen.values()), seen


def test_verify_detects_tampering_and_repair_fixes_it(tmp_path: Path) -> None:
    tables = make_tables(1)
    write_datasets(tables, tmp_path, excel=True)
    (tmp_path / "speakers.parquet").write_bytes(b"not parquet")
    (tmp_path / "excel" / "meetings.csv").unlink()
    problems = verify(tmp_path)
    assert len(problems) == 2
    assert any(p.startswith("speakers.parquet:") for p in problems)
    assert any(p.startswith("excel/meetings.csv:") for p in problems)
    # Readers that go through the manifest still get the committed data.
    assert_frame_equal(read_table(tmp_path, "speakers"), tables["speakers"])
    assert repair(tmp_path) == ["excel/meetings.csv", "speakers.parquet"]
    assert verify(tmp_path) == []


def test_stale_staging_is_removed(tmp_path: Path) -> None:
    write_datasets(make_tables(1), tmp_path)
    stale = tmp_path / ".staging-deadbeef"
    stale.mkdir()
    (stale / "meetings.parquet").write_bytes(b"half written")
    (tmp_path / ".meetings.parquet.publish-tmp").write_bytes(b"x")
    write_datasets(make_tables(1), tmp_path)
    assert staging_dirs(tmp_path) == []
    assert not (tmp_path / ".meetings.parquet.publish-tmp").exists()


# --------------------------------------------------------------------------------------------
# Errors


def _assert_old_set_intact(out: Path, before: dict[str, str], mtimes: dict[str, int]) -> None:
    assert snapshot(out) == before
    assert {rel: (out / rel).stat().st_mtime_ns for rel in mtimes} == mtimes
    assert staging_dirs(out) == []
    assert verify(out) == []


@pytest.mark.parametrize(
    ("code", "cause"), [(errno.ENOSPC, "disk full"), (errno.EACCES, "permission denied")]
)
def test_write_error_midway_keeps_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, cause: str
) -> None:
    write_datasets(make_tables(1), tmp_path, excel=True)
    before = snapshot(tmp_path)
    mtimes = {rel: (tmp_path / rel).stat().st_mtime_ns for rel in before}
    real_write = store._write_bytes
    calls = [0]

    def failing(path: Path, data: bytes) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(code, os.strerror(code), str(path))
        real_write(path, data)

    monkeypatch.setattr(store, "_write_bytes", failing)
    with pytest.raises(OutputError) as info:
        write_datasets(make_tables(2), tmp_path, excel=True)
    message = str(info.value)
    assert "\n" not in message and cause in message and str(tmp_path) in message
    _assert_old_set_intact(tmp_path, before, mtimes)


@pytest.mark.skipif(not CHMOD_BLOCKS_WRITES, reason="chmod does not stop root from writing")
def test_read_only_folder_keeps_old_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_datasets(make_tables(1), out)
    before = snapshot(out)
    mtimes = {rel: (out / rel).stat().st_mtime_ns for rel in before}
    out.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_datasets(make_tables(2), out)
    finally:
        out.chmod(0o755)
    _assert_old_set_intact(out, before, mtimes)


def test_out_dir_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "processed"
    target.write_text("oops")
    with pytest.raises(OutputError, match="not a folder") as info:
        write_datasets(make_tables(1), target)
    assert str(target) in str(info.value)
    assert target.read_text() == "oops"


def test_error_after_commit_is_reported_and_repaired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_datasets(make_tables(1), tmp_path)

    def full(src: Path, dst: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(store, "_copy_file", full)
    with pytest.raises(OutputError, match=r"disk full.*committed"):
        write_datasets(make_tables(2), tmp_path)
    assert list_tables(tmp_path) == ["meetings", "votes"]
    assert verify(tmp_path) != []
    monkeypatch.undo()
    write_datasets(make_tables(2), tmp_path)
    assert verify(tmp_path) == []
    assert staging_dirs(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Lock

_HOLDER = """
import sys
from pathlib import Path
from analysis.store import BuildLock
with BuildLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_second_build_fails_fast_while_another_holds_the_lock(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(OutputError) as info, BuildLock(tmp_path):
            pass
        assert time.monotonic() - start < 1
        message = str(info.value)
        assert message.startswith(f"{tmp_path}: another build is running (lock held by pid ")
        assert f"pid {child.pid} since " in message and "\n" not in message

        with pytest.raises(OutputError, match="another build is running"):
            write_datasets(make_tables(1), tmp_path)
        assert not (tmp_path / "MANIFEST.json").exists()

        start = time.monotonic()
        with pytest.raises(OutputError), BuildLock(tmp_path, timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.25
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.close()
        child.wait(timeout=10)
    with BuildLock(tmp_path):
        write_datasets(make_tables(1), tmp_path)  # re-entrant inside the same process
    assert verify(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Excel exports


def test_csv_has_bom_crlf_and_japanese(tmp_path: Path) -> None:
    write_datasets(make_tables(1), tmp_path, excel=True)
    raw = (tmp_path / "excel" / "meetings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 4 and raw.count(b"\n") == 4
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["meeting_id", "date", "attendees", "title", "topics"]
    assert rows[1] == [
        "r02-09",
        "2020-12-15",
        "12",
        "令和2年度第9回 情報公開・個人情報保護運営審議会",
        "個人情報; 諮問",
    ]
    assert rows[2][1:3] == ["", ""]
    assert raw.splitlines()[2].endswith(b',""')  # empty list, distinct from a missing value
    assert rows[3][4] == ""


def test_xlsx_sheets_header_dates_and_lists(tmp_path: Path) -> None:
    write_datasets(make_tables(2), tmp_path, excel=True)
    workbook = openpyxl.load_workbook(tmp_path / "excel" / "council.xlsx")
    assert workbook.sheetnames == ["meetings", "votes"]
    sheet = workbook["meetings"]
    assert [c.value for c in sheet[1]] == ["meeting_id", "date", "attendees", "title", "topics"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet["B2"].value == datetime(2020, 12, 15) and sheet["B2"].is_date
    assert sheet["B3"].value is None
    assert sheet["C3"].value == 0
    assert sheet["D2"].value == "令和2年度第9回 情報公開・個人情報保護運営審議会"
    assert sheet["D4"].value == "=SUM(A1)" and sheet["D4"].data_type == "s"
    assert sheet["E2"].value == "個人情報; 諮問"
    votes = workbook["votes"]
    assert votes["C2"].value == datetime(2021, 3, 1, 14, 30)
    assert votes["D2"].value is True
    votes_csv = (tmp_path / "excel" / "votes.csv").read_bytes().decode("utf-8-sig")
    assert votes_csv.splitlines()[1] == "r03-01,答申案の承認,2021-03-01 14:30:00,true"


# ---------------------------------------------------------------------------- DatasetWriter
def test_dataset_writer_gives_the_set_write_datasets_gives(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    tables = make_tables(1)
    write_datasets({"speakers": tables["speakers"], "meetings": tables["meetings"]}, a)
    with store.DatasetWriter(b) as writer:
        writer.add("meetings", tables["meetings"])
        writer.add("speakers", store.ParquetTable.of(tables["speakers"]))
        with pytest.raises(ValueError, match="not the tables added"):
            writer.commit(["speakers"])
        report = writer.commit(["speakers", "meetings"])
    assert read_manifest(b)["tables"] == ["speakers", "meetings"]
    assert snapshot(a) == snapshot(b)
    assert report.written == ["council.duckdb", "meetings.parquet", "speakers.parquet"]
    assert staging_dirs(b) == [] and store._lock_key(b) not in store._HELD


@pytest.mark.parametrize("changed_first", [False, True])
def test_duckdb_file_holds_every_table_when_only_some_changed(
    tmp_path: Path, changed_first: bool
) -> None:
    """Loads of unchanged tables are put off (the old DuckDB file may be kept); once a table
    differs they must all be loaded, whatever the order."""
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    write_datasets(make_tables(1), out)
    changed = make_tables(1)
    changed["speakers"] = changed["speakers"].with_columns(pl.col("turns").fill_null(1))
    order = ["speakers", "meetings"] if changed_first else ["meetings", "speakers"]
    with store.DatasetWriter(out) as writer:
        for name in order:
            writer.add(name, changed[name])
        writer.commit(["meetings", "speakers"])
    write_datasets(changed, fresh)
    assert duckdb_content_digest(out / "council.duckdb") == duckdb_content_digest(
        fresh / "council.duckdb"
    )
    with duckdb.connect(str(out / "council.duckdb"), read_only=True) as con:
        assert con.execute("SELECT turns FROM speakers ORDER BY turns").fetchall() == [
            (1,),
            (3,),
        ]
    assert verify(out) == []


def test_leaving_the_writer_without_commit_keeps_the_old_set(tmp_path: Path) -> None:
    write_datasets(make_tables(1), tmp_path, excel=True)
    before = snapshot(tmp_path)
    mtimes = {rel: (tmp_path / rel).stat().st_mtime_ns for rel in before}
    with (
        pytest.raises(RuntimeError, match="stopped"),
        store.DatasetWriter(tmp_path, excel=True) as writer,
    ):
        for name, df in make_tables(2).items():
            writer.add(name, df)  # the DuckDB thread is loading these meanwhile
        raise RuntimeError("stopped")
    _assert_old_set_intact(tmp_path, before, mtimes)
    assert store._lock_key(tmp_path) not in store._HELD


def test_duckdb_error_in_the_background_is_a_one_line_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_datasets(make_tables(1), tmp_path)
    before = snapshot(tmp_path)
    mtimes = {rel: (tmp_path / rel).stat().st_mtime_ns for rel in before}

    def full(con: object, table: str, parquet: Path) -> None:
        raise duckdb.IOException("Could not write file: No space left on device")

    monkeypatch.setattr(store, "_load_duckdb_table", full)
    with pytest.raises(OutputError) as info:
        write_datasets(make_tables(2), tmp_path)
    message = str(info.value)
    assert "\n" not in message and "council.duckdb" in message and "disk full" in message
    _assert_old_set_intact(tmp_path, before, mtimes)
