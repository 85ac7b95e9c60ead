"""End-to-end tests of `council build` on the seed and on bad inputs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analysis import store
from analysis.build import BuildError, build
from conftest import SEED_NAME, SEED_SHA256

EXPECTED_ROWS = {
    "meetings": 1,
    "attendees": 30,
    "consultations": 10,
    "utterances": 81,
    "personal_data_items": 42,
    "safeguards": 39,
    "follow_ups": 4,
    "source_lines": 330,
}


def council(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".build.lock")
    }


def test_seed_builds_every_table(seed_tables):
    rows = {name: df.height for name, df in seed_tables.items()}
    for name, n in EXPECTED_ROWS.items():
        assert rows[name] == n, name
    assert rows["question_topics"] >= 0
    m = seed_tables["meetings"].row(0, named=True)
    assert m["meeting_id"] == "tama-2020-09"
    assert m["source_sha256"] == SEED_SHA256
    assert m["source_path"] == SEED_NAME


def test_every_non_blank_line_has_a_role(seed_tables):
    lines = seed_tables["source_lines"]
    assert lines.height == 330
    assert lines.filter(pl.col("role").is_null()).height == 0
    non_blank = lines.filter(pl.col("text").str.strip_chars() != "")
    assert (non_blank["role"] == "blank").sum() == 0
    unplaced = lines.filter(pl.col("role") == "unplaced")["source_line"].to_list()
    diag_lines = (
        seed_tables["diagnostics"]
        .filter(pl.col("code") == "unplaced_line")["source_line"]
        .to_list()
    )
    assert sorted(unplaced) == sorted(diag_lines)


def test_sample_rows_trace_to_source_lines(seed_tables):
    u = seed_tables["utterances"]
    row = u.filter(pl.col("source_line") == 113).row(0, named=True)
    assert row["speaker_label"] == "市民"
    assert row["speaker_org"] == "市民課"
    assert row["kind"] == "answer"
    assert row["text"].startswith("22%程度")
    lines = seed_tables["source_lines"]
    assert lines.filter(pl.col("source_line") == 113)["text"].item().startswith("〔市民〕 22%程度")
    s = seed_tables["safeguards"].filter(pl.col("measure") == "encryption")
    assert s["source_line"].to_list() == [98, 98]  # イ and ウ share the statement
    assert set(s["consultation_id"]) == {"tama-2020-09-イ", "tama-2020-09-ウ"}


def test_rebuild_is_byte_identical_and_rewrites_nothing(raw_copy, tmp_path):
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1, excel=True)
    first = hashes(out)
    rep = build(raw_copy, out, progress=False, workers=1, excel=True)
    assert rep.written == []
    assert hashes(out) == first
    other = tmp_path / "other"
    build(raw_copy, other, progress=False, workers=1, excel=True)
    second = hashes(other)
    for name, digest in first.items():
        if name.endswith(".duckdb") or name == store.MANIFEST_NAME:
            continue  # DuckDB stamps a random database id in a fresh file (see store docs)
        assert second[name] == digest, name
    assert store.duckdb_content_digest(out / "council.duckdb") == store.duckdb_content_digest(
        other / "council.duckdb"
    )


def test_excel_copies(raw_copy, tmp_path):
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1, excel=True)
    csv = (out / "excel" / "consultations.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    assert "個人情報の目的外利用".encode() in csv
    import openpyxl

    wb = openpyxl.load_workbook(out / "excel" / "council.xlsx", read_only=True)
    assert "consultations" in wb.sheetnames and "source_lines" in wb.sheetnames


def test_duckdb_holds_the_same_tables(seed_build, seed_tables):
    import duckdb

    con = duckdb.connect(str(seed_build / "council.duckdb"), read_only=True)
    try:
        n = con.execute("select count(*) from utterances").fetchone()[0]
        cats = con.execute(
            "select category, count(*) from consultations group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()
    assert n == seed_tables["utterances"].height
    assert dict(cats) == {
        "collection_from_third_party": 1,
        "outsourcing": 4,
        "system_change": 4,
        "use_outside_purpose": 1,
    }


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        (
            "recipe.txt",
            "カレーの作り方\n玉ねぎを炒める。\n水を加えて煮込む。\n".encode(),
            "not minutes",
        ),
    ],
)
def test_bad_input_fails_with_one_line_and_keeps_old_datasets(
    raw_copy, tmp_path, name, content, reason
):
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    before = hashes(out)
    (raw_copy / name).write_bytes(content)
    res = council("build", "--raw", str(raw_copy), "--out", str(out), "--quiet")
    assert res.returncode != 0
    err = res.stderr.strip()
    assert "Traceback" not in res.stderr
    assert len(err.splitlines()) == 1, err
    assert name in err and reason in err
    assert hashes(out) == before


def test_skip_invalid_builds_the_rest_and_records_the_rejection(raw_copy, tmp_path):
    (raw_copy / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    rep = build(raw_copy, out, progress=False, workers=1, skip_invalid=True)
    assert rep.rejected == ["empty.txt"]
    diag = store.read_table(out, "diagnostics")
    rejected = diag.filter(pl.col("code") == "rejected_file").row(0, named=True)
    assert rejected["source_path"] == "empty.txt" and rejected["severity"] == "error"
    assert store.read_table(out, "meetings").height == 1


def test_changed_raw_file_is_named(raw_copy, tmp_path):
    p = raw_copy / SEED_NAME
    p.write_bytes(p.read_bytes() + b"\n")
    with pytest.raises(BuildError, match=f"{SEED_NAME}: changed since it was recorded"):
        build(raw_copy, tmp_path / "out", progress=False, workers=1)


def test_changed_raw_file_that_no_longer_parses_is_named_as_changed(raw_copy, tmp_path):
    """The build compares the hash its reader computes; a file that fails to parse is hashed
    separately, so the message still says what happened to it (even with --skip-invalid)."""
    (raw_copy / SEED_NAME).write_bytes(b"")
    for skip in (False, True):
        with pytest.raises(BuildError, match=f"{SEED_NAME}: changed since it was recorded"):
            build(raw_copy, tmp_path / "out", progress=False, workers=1, skip_invalid=skip)


def test_changed_raw_file_is_named_by_a_parallel_build(raw_copy, tmp_path):
    text = (raw_copy / SEED_NAME).read_bytes()
    (raw_copy / "other.txt").write_bytes(text.replace("第9回".encode(), "第10回".encode()))
    (raw_copy / SEED_NAME).write_bytes(text + b"\n")
    with pytest.raises(BuildError, match=f"{SEED_NAME}: changed since it was recorded"):
        build(raw_copy, tmp_path / "out", progress=False, workers=2)
    assert not (tmp_path / "out" / "MANIFEST.json").exists()


def test_same_meeting_twice_is_reported_not_counted(raw_copy, tmp_path):
    text = (raw_copy / SEED_NAME).read_text(encoding="utf-8")
    (raw_copy / "copy_in_cp932.txt").write_bytes(text.encode("cp932"))
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    assert store.read_table(out, "meetings").height == 1
    diag = store.read_table(out, "diagnostics")
    dup = diag.filter(pl.col("code") == "duplicate_meeting")
    assert dup.height == 1 and "copy_in_cp932.txt" in dup["message"].item()


def test_identical_bytes_twice_is_reported(raw_copy, tmp_path):
    shutil.copy2(raw_copy / SEED_NAME, raw_copy / "again.txt")
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    diag = store.read_table(out, "diagnostics")
    assert diag.filter(pl.col("code") == "duplicate_file").height == 1


def test_parallel_build_equals_serial(tmp_path):
    """Several documents parsed in worker processes give the same tables as one worker."""
    from analysis import paths

    raw = tmp_path / "raw"
    raw.mkdir()
    text = (paths.raw_dir() / SEED_NAME).read_text(encoding="utf-8")
    for n in range(1, 6):
        (raw / f"m{n}.txt").write_text(text.replace("第9回", f"第{n}回"), encoding="utf-8")
    a = build(raw, tmp_path / "serial", progress=False, workers=1)
    b = build(raw, tmp_path / "parallel", progress=False, workers=2)
    assert a.meetings == b.meetings == 5
    for name in store.list_tables(tmp_path / "serial"):
        pa = (tmp_path / "serial" / f"{name}.parquet").read_bytes()
        pb = (tmp_path / "parallel" / f"{name}.parquet").read_bytes()
        assert pa == pb, name


def test_tables_are_in_key_order_when_files_are_not(tmp_path):
    """Meetings whose files come in another order than their ids, a duplicate in the same
    chunk as its first copy: every table comes out in its stable key order, serial or not."""
    from analysis import paths
    from analysis.tables import SORT_KEYS

    raw = tmp_path / "raw"
    raw.mkdir()
    text = (paths.raw_dir() / SEED_NAME).read_text(encoding="utf-8")
    for name, session in zip("abcdefgh", [5, 1, 3, 3, 8, 2, 7, 4], strict=True):
        (raw / f"{name}.txt").write_text(text.replace("第9回", f"第{session}回"), encoding="utf-8")
    a = build(raw, tmp_path / "serial", progress=False, workers=1)  # chunks of two files
    b = build(raw, tmp_path / "parallel", progress=False, workers=2)
    assert a.meetings == b.meetings == 7
    for name in store.list_tables(tmp_path / "serial"):
        df = store.read_table(tmp_path / "serial", name)
        assert df.equals(store.read_table(tmp_path / "parallel", name)), name
        keys = SORT_KEYS[name]
        order = df.select(pl.arg_sort_by(keys, maintain_order=True, nulls_last=False))
        assert order.to_series().to_list() == list(range(df.height)), name
    ids = store.read_table(tmp_path / "serial", "meetings")["meeting_id"].to_list()
    assert ids == sorted(ids) and len(ids) == 7


@pytest.mark.parametrize("n, workers", [(10_000, 2), (1_000, 2), (100, 4), (20, 2), (5, 2), (1, 2)])
def test_pool_chunks_cover_the_files_in_order_and_shrink_towards_the_end(n, workers):
    from analysis.build import _CHUNK_MOST, _chunk_spans

    spans = _chunk_spans(n, workers)
    assert [start for start, _ in spans] == [
        sum(size for _, size in spans[:i]) for i in range(len(spans))
    ]
    sizes = [size for _, size in spans]
    assert sum(sizes) == n and max(sizes) <= _CHUNK_MOST and min(sizes) >= 1
    assert sizes == sorted(sizes, reverse=True)  # guided: the largest first
    if n >= 1_000:
        assert sizes[0] == _CHUNK_MOST and sizes[-2] <= 16  # the last are small: an even finish
        assert len(spans) < -(-n // 64)  # fewer chunks than chunks of 64 documents


def test_chunks_parsed_in_this_process_are_even():
    from analysis.build import _chunk_spans

    assert [size for _, size in _chunk_spans(10_000, 1)] == [160] * 62 + [80]
    assert [size for _, size in _chunk_spans(8, 1)] == [2, 2, 2, 2]


def test_topics_coded_per_chunk_equal_coding_the_whole(tmp_path):
    """A worker codes its chunk's topics; two documents of one chunk may share a meeting id."""
    from analysis import paths
    from analysis.build import DOC, parse_chunk, unpack
    from analysis.tables import sort_table
    from analysis.topics import code_topics

    text = (paths.raw_dir() / SEED_NAME).read_text(encoding="utf-8")
    names = []
    for n, session in enumerate([1, 2, 1]):  # the third is meeting 1 again
        names.append(str(tmp_path / f"m{n}.txt"))
        Path(names[-1]).write_text(text.replace("第9回", f"第{session}回"), encoding="utf-8")
    metas, packed = parse_chunk(names, str(tmp_path), None)
    assert [m["meeting_id"] for m in metas] == ["tama-2020-01", "tama-2020-02", "tama-2020-01"]
    utterances = unpack(packed["utterances"])
    topics = unpack(packed["question_topics"])
    assert topics.height > 0
    for doc in range(3):
        whole = code_topics(utterances.filter(pl.col(DOC) == doc).drop(DOC))
        mine = sort_table("question_topics", topics.filter(pl.col(DOC) == doc).drop(DOC))
        assert mine.equals(whole), doc


def test_truncated_minutes_build_what_they_have(raw_copy, tmp_path):
    p = raw_copy / SEED_NAME
    lines = p.read_text(encoding="utf-8").splitlines()
    (raw_copy / "truncated.txt").write_text(
        "\n".join(lines[:150]).replace("第9回", "第10回"), encoding="utf-8"
    )
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    cons = store.read_table(out, "consultations").filter(pl.col("meeting_id") == "tama-2020-10")
    assert cons["label"].to_list() == ["ア", "イ", "ウ", "エ"]
    assert cons.filter(pl.col("label") == "エ")["decision"].item() == "unknown"
    diag = store.read_table(out, "diagnostics").filter(pl.col("meeting_id") == "tama-2020-10")
    codes = set(diag["code"])
    assert {"truncated_document", "no_decision"} <= codes


def test_default_workers_follow_the_corpus_size(tmp_path, monkeypatch):
    from analysis import build as build_module

    files = []
    for i in range(3):
        f = tmp_path / f"m{i}.txt"
        f.write_bytes(b"x" * 1000)
        files.append(f)
    monkeypatch.setattr(build_module.os, "cpu_count", lambda: 4)
    # a small corpus is parsed in this process: starting workers would cost more than it saves
    assert build_module.default_workers(files) == 1
    monkeypatch.setattr(build_module, "MB_PER_WORKER", 0.001)  # 1,000 bytes per worker
    assert build_module.default_workers(files) == 3
    monkeypatch.setattr(build_module, "MB_PER_WORKER", 0.0001)
    assert build_module.default_workers(files) == 4  # never more than the cores
