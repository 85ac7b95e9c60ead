"""`council build`: raw minutes in ``data/raw`` → validated tables in ``data/processed``.

Three visible sections, in the spirit of an ETL step: load inputs (the raw files, their
provenance record and the reference data), process (parse each document — a pure function, in
parallel — then combine, de-duplicate and validate), save (atomically, deterministically).
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from analysis import paths
from analysis.reading.errors import InputError


class BuildError(Exception):
    """The build stopped. ``str()`` is one line naming the file and the reason."""


@dataclass
class BuildReport:
    files: int
    meetings: int
    rows: dict[str, int]
    diagnostics: dict[str, int]
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    out_dir: Path | None = None


# ---------------------------------------------------------------------------- per document
def parse_file(path: str, raw_dir: str, reference_dir: str | None) -> dict:
    """Read and parse one raw file. Runs in a worker process; returns plain data only.

    Returns ``{"ok": tables}`` or ``{"error": one-line message}``; any exception other than bad
    input is a bug and propagates.
    """
    from analysis.parse.minutes import parse_minutes
    from analysis.reading.document import read_document
    from analysis.reference import load_reference

    rel = Path(path).relative_to(raw_dir).as_posix()
    try:
        doc = read_document(path)
        result = parse_minutes(
            doc, load_reference(Path(reference_dir) if reference_dir else None), rel
        )
    except InputError as exc:
        return {"error": _one_line(exc, rel, path), "file": rel}
    return {"ok": result.tables, "file": rel, "meeting_id": result.meeting_id, "sha256": doc.sha256}


MB_PER_WORKER = 24
"""Megabytes of raw minutes that make one more parse worker worth its start-up (about a second
of imports per spawned worker; one worker parses about 8 MB a second)."""


def default_workers(files: list[Path]) -> int:
    """Parse workers for ``files`` when none are asked for: every core for a large corpus, one
    (parsing in this process, no pool to start) while the files are too few to pay for more."""
    size = sum(p.stat().st_size for p in files)
    return max(1, min(os.cpu_count() or 1, round(size / (MB_PER_WORKER * 1_000_000))))


def _one_line(exc: InputError, rel: str, path: str) -> str:
    msg = str(exc).replace(str(path), rel)
    return " ".join(msg.split())


DOC = "_doc"  # temporary column: which document of its chunk a row came from
PACKED_COMPRESSION = "zstd"  # chunk frames travel and wait in the parent as compressed Arrow IPC
# (the file format: the stream format is read back in half the time, 0.43 s instead of 0.92 at
# 10,000 meetings, but raised the build's peak memory by 300 MB, past 1.5 GB)


def parse_chunk(
    paths_: list[str], raw_dir: str, reference_dir: str | None
) -> tuple[list, dict[str, bytes]]:
    """Parse a few documents in one worker; return their rows as packed typed frames.

    Returns (one result per document without its rows, {table: packed frame}); each frame
    carries the column :data:`DOC`, the document's index in the chunk, so the caller can drop
    the rows of a document it rejects, and :func:`unpack` reads it. The chunk's question topics
    are coded here too. Doing this in the worker keeps the parent's memory and work small.
    """
    from analysis.tables import sort_table, to_frame

    metas: list[dict] = []
    rows: dict[str, list[dict]] = {}
    docs: dict[str, list[int]] = {}
    # Parsing makes many small acyclic objects, alive until they are frames: the cyclic
    # collector would only walk them, again and again.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i, path in enumerate(paths_):
            res = parse_file(path, raw_dir, reference_dir)
            for name, table_rows in res.pop("ok", {}).items():
                rows.setdefault(name, []).extend(table_rows)
                docs.setdefault(name, []).extend([i] * len(table_rows))
            metas.append(res)
        frames = {
            name: to_frame(name, table_rows, tag=(DOC, docs[name]))
            for name, table_rows in rows.items()
        }
        del rows, docs
    finally:
        if was_enabled:
            gc.enable()
    if "utterances" in frames:
        frames["question_topics"] = sort_table(
            "question_topics", chunk_topics(frames["utterances"], reference_dir)
        )
    return metas, {name: pack(df) for name, df in frames.items()}


def chunk_topics(utterances, reference_dir: str | None):
    """The question topics of a chunk's utterances (tagged with :data:`DOC`).

    ``code_topics`` keys its rows by (meeting_id, deliberation_group, seq); in a chunk two
    documents may carry the same meeting id (a duplicate the parent then drops), so while coding
    each utterance's row number stands in for its meeting id, and the real id and the document
    are put back from it. Topics are coded per utterance, so coding chunks and concatenating
    gives the rows of coding the whole table (the parent sorts them).
    """
    import polars as pl

    from analysis.topics import code_topics

    keyed = utterances.drop(DOC).with_columns(
        pl.int_range(pl.len()).cast(pl.String).alias("meeting_id")
    )
    coded = code_topics(keyed, Path(reference_dir) if reference_dir else None)
    rows = coded["meeting_id"].cast(pl.Int64)
    origin = utterances.select(pl.col("meeting_id", DOC).gather(rows))
    return coded.with_columns(origin["meeting_id"], origin[DOC])


def pack(df) -> bytes:
    buf = io.BytesIO()
    df.write_ipc(buf, compression=PACKED_COMPRESSION)
    return buf.getvalue()


def unpack(data: bytes):
    import polars as pl

    return pl.read_ipc(io.BytesIO(data))


def _parse_all(
    files: list[Path],
    raw_dir: Path,
    reference_dir: Path | None,
    workers: int,
    progress: bool,
    while_waiting: Callable[[], object] | None = None,
):
    """Yield (metas, packed frames) per chunk of files, in file order.

    With a pool, ``while_waiting`` runs in this process once the work is handed out (it would
    otherwise sit idle until the first chunk comes back).
    """
    ref = str(reference_dir) if reference_dir else None
    chunks = [[str(p) for p in files[i : i + n]] for i, n in _chunk_spans(len(files), workers)]
    args = [(c, str(raw_dir), ref) for c in chunks]
    bar = None
    if progress and len(files) >= 20:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", desc="parsing", file=sys.stderr, leave=False)
    try:
        if workers <= 1 or len(chunks) < 2:
            results = map(_parse_star, args)
            for res in results:
                yield res
                if bar:
                    bar.update(len(res[0]))
        else:
            # spawn, not fork: a forked child inherits polars' thread pool in whatever state
            # the parent's threads left it, and can hang on its first parallel operation.
            spawn = multiprocessing.get_context("spawn")
            ex = ProcessPoolExecutor(
                workers, spawn, initializer=_watch_parent, initargs=(os.getpid(),)
            )
            try:
                with _sigint_held():
                    results = ex.map(_parse_star, args)
                if while_waiting:
                    while_waiting()
                for res in results:
                    yield res
                    if bar:
                        bar.update(len(res[0]))
            except BaseException:  # Ctrl-C, a bad file, the caller stopped: drop the rest
                ex.shutdown(cancel_futures=True)  # and wait for the workers
                raise
            # Every chunk is in: the idle workers exit (about 0.15 s) while the caller goes on.
            ex.shutdown(wait=False)
    finally:
        if bar:
            bar.close()


# A chunk's fixed costs (frames, topic coding, packing, and unpacking in the parent) are about
# 20 ms: 160 documents a chunk pay them 4-5 % less often per document than 64.
_CHUNK_MOST = 160


def _chunk_spans(n: int, workers: int) -> list[tuple[int, int]]:
    """(start, size) of the chunks of ``n`` files, in file order.

    Parsed in this process, chunks of up to :data:`_CHUNK_MOST`. For a pool, guided sizes: each
    chunk half of a worker's share of the files left, at most :data:`_CHUNK_MOST` and at least
    16 (fewer for a small corpus), so the chunks get smaller towards the end and the workers
    finish together. At 10,000 files and two workers: 71 chunks, 160 files each until the last
    few hundred files (157 chunks of 64 before: 4-5 % more CPU per document in the workers).
    """
    if workers <= 1:
        size = max(1, min(_CHUNK_MOST, n // 4))
        return [(start, min(size, n - start)) for start in range(0, n, size)]
    least = max(1, min(16, n // (workers * 4)))
    spans: list[tuple[int, int]] = []
    start = 0
    while start < n:
        left = n - start
        size = min(max(least, min(_CHUNK_MOST, left // (workers * 2))), left)
        spans.append((start, size))
        start += size
    return spans


@contextlib.contextmanager
def _sigint_held():
    """Hold Ctrl-C (SIGINT) back while the pool starts its workers.

    The workers inherit the blocked signal, so a Ctrl-C reaches only the build, which then
    cancels the work not started yet (a worker interrupted while it starts would print a
    traceback); the build itself gets a Ctrl-C pressed meanwhile once the block is lifted.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _parse_star(a):
    return parse_chunk(*a)


def _watch_parent(parent: int) -> None:
    """Runs in each parse worker: exit as soon as ``parent``, the build's process, is gone.

    A build killed with SIGKILL cannot shut its pool down, and its workers, re-parented to
    init, would wait for work forever. The pid is passed in rather than read here: a worker
    that is still starting when the build dies already has another parent.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


# ---------------------------------------------------------------------------- the build
def build(
    raw_dir: Path | None = None,
    out_dir: Path | None = None,
    *,
    skip_invalid: bool = False,
    excel: bool = False,
    workers: int | None = None,
    progress: bool = True,
    reference_dir: Path | None = None,
    lock_timeout: float = 0,
    log: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build the datasets of ``raw_dir`` into ``out_dir``; raise :class:`BuildError` if it stops.

    With ``workers`` > 1 the documents are parsed in worker processes started with ``spawn``:
    a script that calls this must do so under ``if __name__ == "__main__":`` (as for any
    ``multiprocessing`` code), since each worker imports the script's main module.
    """

    from analysis import sources, store
    from analysis.reference import ReferenceError, load_reference
    from analysis.schema import TABLES
    from analysis.tables import empty
    from analysis.topics import topic_diagnostics

    raw_dir = Path(raw_dir or paths.raw_dir()).resolve()
    out_dir = Path(out_dir or paths.processed_dir())

    # -- load inputs ---------------------------------------------------------------------
    if not raw_dir.is_dir():
        raise BuildError(f"{raw_dir}: raw folder does not exist")
    try:
        load_reference(reference_dir)
    except ReferenceError as exc:
        raise BuildError(str(exc)) from None
    files = sources.raw_files(raw_dir)
    if not files:
        raise BuildError(f"{raw_dir}: no raw minutes found")
    workers = workers or default_workers(files)
    try:  # hashes are compared as the files are read (_check_recorded)
        recorded, unlisted_names = sources.check_listed(raw_dir, files)
        unlisted = set(unlisted_names)
    except sources.SourcesError as exc:
        raise BuildError(str(exc)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BuildError(
            f"{paths.sources_csv(raw_dir)}: not a UTF-8 CSV file ({' '.join(str(exc).split())})"
        ) from None
    except OSError as exc:
        raise BuildError(
            f"{exc.filename or raw_dir}: cannot read ({exc.strerror or exc})".replace("\n", " ")
        ) from None

    try:  # the workers code topics with these rules: a broken rule file stops the build here
        topic_diagnostics(empty("question_topics"), reference_dir=reference_dir)
    except ReferenceError as exc:
        raise BuildError(str(exc)) from None

    # -- process -------------------------------------------------------------------------
    parts: dict[str, list[tuple[bytes, list[int] | None]]] = {}
    rejected: list[str] = []
    extra_diagnostics: list[dict] = []
    seen_ids: dict[str, str] = {}
    seen_hashes: dict[str, str] = {}
    chunks = _parse_all(files, raw_dir, reference_dir, workers, progress, _prepare_parent)
    for metas, packed in chunks:
        keep: list[int] = []
        for i, res in enumerate(metas):
            _check_recorded(res, recorded, raw_dir)
            if "error" in res:
                if not skip_invalid:
                    raise BuildError(res["error"])
                rejected.append(res["file"])
                extra_diagnostics.append(
                    _diag(
                        f"rejected:{res['file']}",
                        res["file"],
                        "error",
                        "rejected_file",
                        res["error"],
                    )
                )
                continue
            mid, rel = res["meeting_id"], res["file"]
            if res["sha256"] in seen_hashes:
                extra_diagnostics.append(
                    _diag(
                        seen_ids_for(seen_hashes[res["sha256"]], seen_ids),
                        rel,
                        "warning",
                        "duplicate_file",
                        f"{rel} has the same bytes as {seen_hashes[res['sha256']]}; "
                        "not counted twice",
                    )
                )
                continue
            if mid in seen_ids:
                extra_diagnostics.append(
                    _diag(
                        mid,
                        rel,
                        "warning",
                        "duplicate_meeting",
                        f"{rel} is meeting {mid} again (first read from {seen_ids[mid]}); "
                        "not counted twice",
                    )
                )
                continue
            seen_ids[mid] = rel
            seen_hashes[res["sha256"]] = rel
            keep.append(i)
            if rel in unlisted:
                extra_diagnostics.append(
                    _diag(
                        mid,
                        rel,
                        "info",
                        "source_not_recorded",
                        f"{rel} is not recorded in sources.csv (add it with `council sources add`)",
                    )
                )
        if keep:
            kept = None if len(keep) == len(metas) else keep
            for name, data in packed.items():
                parts.setdefault(name, []).append((data, kept))
    if not seen_ids:
        raise BuildError(f"{raw_dir}: no file could be read as minutes ({len(rejected)} rejected)")

    # -- validate and save --------------------------------------------------------------
    try:
        with (
            store.BuildLock(out_dir, timeout=lock_timeout),
            store.DatasetWriter(out_dir, excel=excel) as writer,
        ):
            rows, counts = _write_tables(writer, parts, extra_diagnostics, reference_dir)
            rep = writer.commit([t.name for t in TABLES])
    except store.OutputError as exc:
        raise BuildError(str(exc)) from None
    report = BuildReport(
        files=len(files),
        meetings=len(seen_ids),
        rows={t.name: rows[t.name] for t in TABLES},
        diagnostics=counts,
        written=list(rep.written),
        unchanged=list(rep.unchanged),
        rejected=rejected,
        out_dir=out_dir,
    )
    if log:
        log(summary(report))
    return report


def _check_recorded(res: dict, recorded: dict[str, str], raw_dir: Path) -> None:
    """Stop the build if a file no longer has the sha256 that sources.csv records for it.

    The hash comes with the parse result (the worker computes it from the bytes it read); a file
    that could not be read as minutes is hashed here, so a changed file is named as changed.
    """
    from analysis import sources

    expected = recorded.get(res["file"])
    if not expected:
        return
    actual = res.get("sha256")
    if actual is None:
        try:
            actual = sources.sha256_of(raw_dir / res["file"])
        except OSError:
            return  # unreadable: the parse error says so
    try:
        sources.check_hash(raw_dir, res["file"], actual, expected)
    except sources.SourcesError as exc:
        raise BuildError(str(exc)) from None


def _write_tables(
    writer,
    parts: dict[str, list[tuple[bytes, list[int] | None]]],
    extra_diagnostics: list[dict],
    reference_dir: Path | None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Combine, validate and hand each table to ``writer``; (rows per table, diagnostics counts).

    One table at a time: its chunks are combined, it is validated and handed to the writer
    (which serialises it and loads it into the DuckDB file in the background), and the frame is
    let go. The largest first, while the least memory is in use; diagnostics after
    question_topics, whose unused rules it reports.
    """
    import polars as pl

    from analysis.reference import ReferenceError
    from analysis.schema import TABLES
    from analysis.tables import sort_table, to_frame
    from analysis.topics import with_topic_diagnostics
    from analysis.validate import ValidationError, validate_table

    order = sorted(
        TABLES,
        key=lambda t: (t.name == "diagnostics", -sum(len(p[0]) for p in parts.get(t.name, []))),
    )
    rows: dict[str, int] = {}
    counts: dict[str, int] = {}
    question_topics = None
    for t in order:
        df = _combine(t.name, parts.pop(t.name, []))
        if t.name == "question_topics":
            question_topics = df
        elif t.name == "diagnostics":
            df = sort_table(t.name, pl.concat([df, to_frame("diagnostics", extra_diagnostics)]))
            try:
                df = with_topic_diagnostics(df, question_topics, reference_dir)
            except ReferenceError as exc:
                raise BuildError(str(exc)) from None
            counts = {s: int((df["severity"] == s).sum()) for s in ("info", "warning", "error")}
        try:
            df = validate_table(t.name, df)
        except ValidationError as exc:
            raise BuildError(str(exc).replace("\n", " | ")) from None
        rows[t.name] = df.height
        writer.add(t.name, df)
        del df
    return rows, counts


def _combine(name: str, parts: list[tuple[bytes, list[int] | None]]):
    """One table from its packed chunks (rows of rejected documents dropped), sorted.

    Chunks are unpacked on every core (polars releases the GIL while it reads). Each chunk is
    in the table's order already and a kept meeting's rows come from one chunk, so sorting is
    putting the meetings in order.
    """
    import polars as pl

    from analysis.tables import empty, sort_by_meeting

    if not parts:
        return empty(name)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        frames = list(pool.map(_unpack_kept, parts))
    parts.clear()
    return sort_by_meeting(name, pl.concat(frames, rechunk=False))


def _unpack_kept(part: tuple[bytes, list[int] | None]):
    import polars as pl

    data, kept = part
    df = unpack(data)
    if kept is not None:
        df = df.filter(pl.col(DOC).is_in(kept))
    return df.drop(DOC)


def _prepare_parent() -> None:
    """Imports and schemas the parent needs after parsing, made while the workers parse."""
    import duckdb  # noqa: F401  (imported for its start-up cost only)

    from analysis.validate import prepare

    prepare()


def seen_ids_for(rel: str, seen_ids: dict[str, str]) -> str:
    return next((mid for mid, r in seen_ids.items() if r == rel), f"duplicate:{rel}")


def _diag(meeting_id: str, rel: str, severity: str, code: str, message: str) -> dict:
    return dict(
        meeting_id=meeting_id,
        source_path=rel,
        source_line=None,
        severity=severity,
        code=code,
        message=message,
    )


def summary(r: BuildReport) -> str:
    rows = ", ".join(f"{k} {v}" for k, v in r.rows.items())
    d = r.diagnostics
    out = [
        f"built {r.meetings} meeting(s) from {r.files} file(s) into {r.out_dir}",
        f"rows: {rows}",
        f"diagnostics: {d['error']} error(s), {d['warning']} warning(s), {d['info']} info",
        f"files written: {len(r.written)}, unchanged: {len(r.unchanged)}",
    ]
    if r.rejected:
        out.append("rejected: " + ", ".join(r.rejected))
    return "\n".join(out)
