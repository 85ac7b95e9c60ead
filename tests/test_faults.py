"""Faults around `council build`: killed builds, two builds at once, full or unwritable disks,
determinism and running without a network.

Most tests run the real command in a subprocess, because what matters is what a killed or
refused *process* leaves behind. The store's own unit tests (tests/test_store.py) inject a crash
at every rename and delete; here the build is killed for real, at moments found by watching the
output folder (``.staging-*`` appears when the write phase starts).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from analysis import netguard, paths, store
from analysis.build import BuildError, build
from conftest import SEED_NAME

PYTHON = sys.executable
CORPUS_SIZE = 300
SEED_TEXT = (paths.raw_dir() / SEED_NAME).read_text(encoding="utf-8")


def cli_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "analysis.cli", *args]


def council(*args: str, env: dict | None = None, timeout: float = 300, prefix=()):
    return subprocess.run(
        [*prefix, *cli_argv(*args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def one_line_error(res: subprocess.CompletedProcess) -> str:
    """The stderr of a refused build: exactly one line, no traceback; returns it."""
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr, res.stderr
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: "), err
    return err


def write_corpus(raw: Path, n: int) -> Path:
    """n copies of the seed as meetings 第1回 .. 第n回 (different meeting ids)."""
    raw.mkdir(parents=True, exist_ok=True)
    for k in range(1, n + 1):
        text = SEED_TEXT.replace("第9回", f"第{k}回", 1)
        (raw / f"minutes_{k:03d}.txt").write_text(text, encoding="utf-8")
    return raw


def published(out: Path) -> dict[str, str]:
    """sha256 of every file a reader can see (hidden files and the lock excluded)."""
    return {
        rel: hashlib.sha256((out / rel).read_bytes()).hexdigest() for rel in store._iter_files(out)
    }


def manifest_digests(out: Path) -> dict[str, str]:
    """The committed set's content: each file's sha256 (DuckDB by its content digest)."""
    m = store.read_manifest(out)
    return {
        rel: e["content"] if e["kind"] == "duckdb" else e["sha256"] for rel, e in m["files"].items()
    }


def tables_via_manifest(out: Path) -> dict[str, pl.DataFrame]:
    return {name: store.read_table(out, name) for name in store.list_tables(out)}


def assert_same_tables(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert list(got) == list(want)
    for name, df in want.items():
        assert got[name].equals(df), name


def staging(out: Path) -> list[Path]:
    return list(out.glob(store.STAGING_PREFIX + "*")) if out.is_dir() else []


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "raw", CORPUS_SIZE)


@pytest.fixture(scope="module")
def old_set(tmp_path_factory) -> tuple[Path, dict[str, pl.DataFrame], dict[str, str]]:
    """The last good datasets: the seed, built once; tests copy the folder."""
    out = tmp_path_factory.mktemp("old") / "out"
    build(paths.raw_dir(), out, progress=False, workers=1)
    return out, tables_via_manifest(out), manifest_digests(out)


@pytest.fixture(scope="module")
def new_set(tmp_path_factory, corpus) -> dict[str, str]:
    """What a finished build of the corpus commits (content digests of every file)."""
    out = tmp_path_factory.mktemp("new") / "out"
    res = council("build", "--raw", str(corpus), "--out", str(out), "--workers", "2", "-q")
    assert res.returncode == 0, res.stderr
    return manifest_digests(out)


def copy_set(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


# ---------------------------------------------------------------------------- SIGKILL
def _children(pid: int) -> set[int]:
    """Child processes of ``pid`` (Linux /proc; empty elsewhere)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(x) for x in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _manifest_changed(out: Path, before: bytes) -> bool:
    try:
        return (out / store.MANIFEST_NAME).read_bytes() != before
    except OSError:
        return False


def _new_object(out: Path, before: set[str]) -> bool:
    try:
        return bool(set(os.listdir(out / store.OBJECTS_DIR)) - before)
    except OSError:
        return False


KILL_MOMENTS = {
    # name: (condition on the output folder, extra delay after it holds)
    "parsing": ("workers", 0.3),
    "staging_created": ("staging", 0.0),
    # well inside the write stage, which now takes about half a second on the test corpus
    "serialising": ("staging", 0.1),
    "objects_moved": ("object", 0.0),
    "committed": ("manifest", 0.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(KILL_MOMENTS))
def test_sigkill_leaves_the_last_good_datasets(tmp_path, corpus, old_set, new_set, moment):
    old_dir, old_tables, old_digests = old_set
    out = copy_set(old_dir, tmp_path / "out")
    before_files = published(out)
    before_mtimes = {rel: (out / rel).stat().st_mtime_ns for rel in before_files}
    manifest_before = (out / store.MANIFEST_NAME).read_bytes()
    objects_before = set(os.listdir(out / store.OBJECTS_DIR))
    condition, delay = KILL_MOMENTS[moment]

    proc = subprocess.Popen(
        cli_argv("build", "--raw", str(corpus), "--out", str(out), "--workers", "2", "-q"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    children: set[int] = set()
    try:
        checks = {
            "workers": lambda: bool(_children(proc.pid)),
            "staging": lambda: bool(staging(out)),
            "object": lambda: _new_object(out, objects_before),
            "manifest": lambda: _manifest_changed(out, manifest_before),
        }
        deadline = time.monotonic() + 120
        while not checks[condition]() and proc.poll() is None:
            children.update(_children(proc.pid))
            assert time.monotonic() < deadline, f"{moment}: condition never held"
            time.sleep(0.001)
        time.sleep(delay)
        children.update(_children(proc.pid))
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Parse workers notice their parent is gone and exit (they do not linger forever).
        deadline = time.monotonic() + 10
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        lingering = [c for c in children if _alive(c)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session only
            proc.wait(timeout=30)
        for c in children:
            if _alive(c):
                os.kill(c, signal.SIGKILL)
    assert children or moment != "parsing", "no parse workers seen: the corpus is too small"
    assert not lingering, f"parse workers {lingering} outlived the killed build"
    if finished:
        pytest.skip(f"{moment}: the build finished before it could be killed")

    digests = manifest_digests(out)
    assert digests in (old_digests, new_set), "MANIFEST.json is neither the old nor the new set"
    if digests == old_digests:
        # Killed before the commit: readers see the complete old set, and nothing changed.
        assert_same_tables(tables_via_manifest(out), old_tables)
        assert store.verify(out) == []
        assert published(out) == before_files
        assert {rel: (out / rel).stat().st_mtime_ns for rel in before_files} == before_mtimes
    else:
        # Killed after the commit: readers through the manifest see the complete new set.
        meetings = store.read_table(out, "meetings")
        assert meetings.height == CORPUS_SIZE
        lines = old_tables["source_lines"].height
        assert store.read_table(out, "source_lines").height == CORPUS_SIZE * lines
    assert moment != "parsing" or digests == old_digests

    problems = store.verify(out)
    if problems:  # killed while publishing: the next build repairs the plain copies
        res = council("build", "--raw", str(corpus), "--out", str(out), "--workers", "2", "-q")
        assert res.returncode == 0, res.stderr
        assert store.verify(out) == []
        assert manifest_digests(out) == new_set
    else:
        assert store.verify(out) == []


# ---------------------------------------------------------------------------- Ctrl-C
@pytest.mark.slow
@pytest.mark.parametrize("moment", ["parsing", "writing"])
def test_ctrl_c_stops_quietly_and_keeps_the_last_good_datasets(tmp_path, corpus, old_set, moment):
    """SIGINT to the build's process group, as a terminal's Ctrl-C sends it."""
    old_dir, old_tables, old_digests = old_set
    out = copy_set(old_dir, tmp_path / "out")
    before = published(out)
    proc = subprocess.Popen(
        cli_argv("build", "--raw", str(corpus), "--out", str(out), "--workers", "2", "-q"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # Wait for the phase itself, not a fixed time: on a busy machine the command may
        # still be importing (where Ctrl-C gives Python's usual traceback, as for any program).
        deadline = time.monotonic() + 120
        if moment == "parsing":
            while not _children(proc.pid) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(0.3)
        else:  # lands while the new set is written (staging exists for the whole write phase)
            while not staging(out) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.skip(f"{moment}: the build finished before Ctrl-C")
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    # 130: typer's exit status for Ctrl-C; -2: the process ended by SIGINT itself (Python does
    # that when the interrupt lands in a native library's own handler). Either way: no traceback
    # and the last good datasets in place.
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert manifest_digests(out) == old_digests, err
    assert store.verify(out) == [] and published(out) == before, err
    assert_same_tables(tables_via_manifest(out), old_tables)


def test_interrupt_inside_duckdb_is_a_keyboard_interrupt(tmp_path, monkeypatch):
    """DuckDB reports Ctrl-C as RuntimeError('Query interrupted'); it used to escape as a
    traceback from `council build`. Now it is a KeyboardInterrupt (exit 130, no traceback) and
    the old set stays."""
    out = tmp_path / "out"
    build(paths.raw_dir(), out, progress=False, workers=1)
    before = published(out)
    tables = tables_via_manifest(out)
    changed = {**tables, "meetings": tables["meetings"].with_columns(pl.lit("x").alias("venue"))}

    def interrupted(con, table, parquet):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(store, "_load_duckdb_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_datasets(changed, out)
    assert published(out) == before and store.verify(out) == [] and staging(out) == []


# ---------------------------------------------------------------------------- two at once
@pytest.mark.slow
def test_second_build_stops_with_lock_message_or_waits(tmp_path, corpus, old_set):
    """Build A (corpus, with Excel: a long write phase) holds the lock; B (seed) stops at
    once with the lock message; C (seed, --wait) waits for A and then writes its own set."""
    out = copy_set(old_set[0], tmp_path / "out")
    c = None
    a = subprocess.Popen(
        cli_argv("build", "--raw", str(corpus), "--out", str(out), "--excel", "-q"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not staging(out):
            assert a.poll() is None, a.stderr.read() if a.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.005)
        args = ["build", "--raw", str(paths.raw_dir()), "--out", str(out), "--workers", "1", "-q"]
        c = subprocess.Popen(
            cli_argv(*args, "--wait", "300"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        b = council(*args)
        a_running = a.poll() is None
        err = one_line_error(b)
        assert "another build is running" in err and f"lock held by pid {a.pid}" in err, err
        assert a_running, "A finished before B asked for the lock: the test did not overlap"
        _, a_err = a.communicate(timeout=300)
        assert a.returncode == 0, a_err
        _, c_err = c.communicate(timeout=300)
        assert c.returncode == 0, c_err
    finally:
        for p in (a, c):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    # C came last: its set, whole, and nothing of A's left mixed in.
    assert store.verify(out) == []
    assert_same_tables(tables_via_manifest(out), old_set[1])
    assert not (out / "excel").exists()
    for name in store.list_tables(out):
        plain = pl.read_parquet(out / f"{name}.parquet")
        assert plain.equals(old_set[1][name]), name
    assert staging(out) == []


# ---------------------------------------------------------------------------- disk and folder
@pytest.mark.parametrize("failing_call", [1, 4, 9])
def test_disk_full_while_writing_keeps_the_last_good_datasets(
    tmp_path, raw_copy, monkeypatch, failing_call
):
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    before = published(out)
    old_tables = tables_via_manifest(out)
    (raw_copy / "more.txt").write_text(SEED_TEXT.replace("第9回", "第10回", 1), encoding="utf-8")
    real_write = store._write_bytes
    calls = [0]

    def full(path: Path, data: bytes) -> None:
        calls[0] += 1
        if calls[0] >= failing_call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data)

    monkeypatch.setattr(store, "_write_bytes", full)
    with pytest.raises(BuildError) as info:
        build(raw_copy, out, progress=False, workers=1, excel=True)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and "disk full" in message and str(out) in message
    assert published(out) == before
    assert store.verify(out) == []
    assert staging(out) == []
    assert_same_tables(tables_via_manifest(out), old_tables)


def test_sources_csv_that_is_not_utf8_is_named_in_one_line(tmp_path, raw_copy):
    """It used to stop `council build` with a UnicodeDecodeError traceback."""
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    before = published(out)
    (raw_copy / "sources.csv").write_bytes("file,sha256\n議事録.txt,x\n".encode("cp932"))
    err = one_line_error(council("build", "--raw", str(raw_copy), "--out", str(out), "-q"))
    assert str(raw_copy / "sources.csv") in err and "not a UTF-8 CSV file" in err, err
    assert published(out) == before


def test_output_folder_is_a_file(tmp_path, raw_copy):
    target = tmp_path / "processed"
    target.write_text("not a folder")
    err = one_line_error(council("build", "--raw", str(raw_copy), "--out", str(target), "-q"))
    assert str(target) in err and "not a folder" in err
    assert target.read_text() == "not a folder"
    below = target / "sub"
    err = one_line_error(council("build", "--raw", str(raw_copy), "--out", str(below), "-q"))
    assert str(target) in err and "a file" in err


_TMPFS_DRIVER = r"""
import json, subprocess, sys
from pathlib import Path
mnt, small_raw, big_raw, size = sys.argv[1:5]
def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return {"rc": r.returncode, "stderr": r.stderr}
def cli(raw, out):
    return run(sys.executable, "-m", "analysis.cli", "build", "--raw", raw, "--out", out, "-q")
result = {"mount": run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt)}
if result["mount"]["rc"] == 0:
    from analysis import store
    out = Path(mnt) / "out"
    def state():
        m = store.read_manifest(out)
        return {
            "verify": store.verify(out),
            "files": {k: v["sha256"] for k, v in m["files"].items()},
            "tables": {n: store.read_table(out, n).hash_rows().sum() for n in m["tables"]},
            "staging": [p.name for p in out.glob(".staging-*")],
        }
    result["first"] = cli(small_raw, str(out))
    result["before"] = state()
    result["full"] = cli(big_raw, str(out))
    result["after_full"] = state()
    result["remount"] = run("mount", "-o", "remount,ro", mnt)
    result["read_only"] = cli(big_raw, str(out))
    result["after_read_only"] = state()
print(json.dumps(result, default=str))
"""


def _namespaces_allow(flags: str) -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return (
            subprocess.run(["unshare", flags, "true"], capture_output=True, timeout=30).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.slow
def test_real_full_disk_and_read_only_disk(tmp_path, corpus):
    """A tiny tmpfs in a private mount namespace (``unshare -rm``): the seed's datasets fit,
    the corpus's do not; then the same disk remounted read-only."""
    if not _namespaces_allow("-rm"):
        pytest.skip("unshare -rm (user + mount namespace) is not permitted here")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(
        [
            "unshare",
            "-rm",
            PYTHON,
            "-c",
            _TMPFS_DRIVER,
            str(mnt),
            str(paths.raw_dir()),
            str(corpus),
            "8m",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)
    if result["mount"]["rc"] != 0:
        pytest.skip(f"cannot mount a tmpfs: {result['mount']['stderr'].strip()}")
    assert result["first"]["rc"] == 0, result["first"]["stderr"]
    before = result["before"]
    assert before["verify"] == []
    for step, cause in (("full", "disk full"), ("read_only", "read-only file system")):
        r = result[step]
        err = r["stderr"].strip()
        assert r["rc"] != 0 and "Traceback" not in err, err
        assert len(err.splitlines()) == 1 and err.startswith("error: ") and cause in err, err
        assert str(mnt / "out") in err
        after = result[f"after_{step}"]
        assert after == before, f"{step}: the last good datasets changed"


# ---------------------------------------------------------------------------- determinism
def test_two_builds_are_byte_identical(tmp_path):
    """Two processes (different hash seeds, 1 and 2 workers) build the same inputs: every
    parquet, CSV and xlsx file is byte-identical; the DuckDB files hold the same content."""
    raw = write_corpus(tmp_path / "raw", 5)
    outs = []
    for k, (seed, workers) in enumerate((("0", "1"), ("4242", "2"))):
        out = tmp_path / f"out{k}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = council(
            "build",
            "--raw",
            str(raw),
            "--out",
            str(out),
            "--excel",
            "--workers",
            workers,
            "-q",
            env=env,
        )
        assert res.returncode == 0, res.stderr
        outs.append(out)
    a, b = (published(o) for o in outs)
    assert a.keys() == b.keys()
    kinds = {Path(rel).suffix for rel in a}
    assert {".parquet", ".csv", ".xlsx", ".duckdb", ".json"} <= kinds
    differ = sorted(rel for rel in a if a[rel] != b[rel])
    # The DuckDB file carries a random database id; the manifest records its sha256.
    assert differ in ([], ["MANIFEST.json", "council.duckdb"]), differ
    assert store.duckdb_content_digest(outs[0] / "council.duckdb") == store.duckdb_content_digest(
        outs[1] / "council.duckdb"
    )
    assert manifest_digests(outs[0]) == manifest_digests(outs[1])
    # No time stamps inside the workbook: zip members dated 1980-01-01, created 2000-01-01.
    with zipfile.ZipFile(outs[0] / "excel" / "council.xlsx") as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert str(time.gmtime().tm_year) not in core


# ---------------------------------------------------------------------------- no network
def test_build_in_process_with_network_blocked(tmp_path, raw_copy):
    with netguard.blocked() as attempts:
        with pytest.raises(netguard.NetworkBlocked):
            import socket

            socket.create_connection(("192.0.2.1", 80), timeout=1)  # the guard is on
        attempts.clear()
        rep = build(raw_copy, tmp_path / "out", progress=False, workers=1, excel=True)
    assert attempts == []
    assert rep.meetings == 1 and store.verify(tmp_path / "out") == []


_GUARDED_CLI = (
    "import sys; from analysis import netguard; netguard.install(); "
    "from analysis.cli import main; sys.argv[0] = 'council'; main()"
)


@pytest.mark.slow
def test_cli_with_network_blocked_in_the_process_and_its_workers(tmp_path):
    raw = write_corpus(tmp_path / "raw", 6)
    out = tmp_path / "out"
    res = subprocess.run(
        [PYTHON, "-c", _GUARDED_CLI, "build", "--raw", str(raw), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "network access blocked" not in res.stderr
    assert store.read_table(out, "meetings").height == 6


@pytest.mark.slow
def test_cli_in_an_empty_network_namespace(tmp_path, raw_copy):
    """``unshare -rn``: no interface but a downed loopback; native code cannot reach out
    either (DuckDB, pyarrow)."""
    if not _namespaces_allow("-rn"):
        pytest.skip("unshare -rn (user + network namespace) is not permitted here")
    probe = subprocess.run(
        [
            "unshare",
            "-rn",
            PYTHON,
            "-c",
            "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode != 0  # the namespace really has no network
    out = tmp_path / "out"
    res = council(
        "build",
        "--raw",
        str(raw_copy),
        "--out",
        str(out),
        "--excel",
        "-q",
        prefix=("unshare", "-rn"),
    )
    assert res.returncode == 0, res.stderr
    assert store.verify(out) == []
    assert store.read_table(out, "meetings")["meeting_id"].to_list() == ["tama-2020-09"]
