"""`council build`: raw minutes in ``data/raw`` → validated tables in ``data/processed``.

Three visible sections, in the spirit of an ETL step: load inputs (the raw files, their
provenance record and the reference data), process (parse each document — a pure function, in
parallel — then combine, de-duplicate and validate), save (atomically, deterministically).
"""

from __future__ import annotations

import csv
import gc
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
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


def _one_line(exc: InputError, rel: str, path: str) -> str:
    msg = str(exc).replace(str(path), rel)
    return " ".join(msg.split())


DOC = "_doc"  # temporary column: which document of its chunk a row came from


def parse_chunk(paths_: list[str], raw_dir: str, reference_dir: str | None) -> tuple[list, dict]:
    """Parse a few documents in one worker and return their rows as typed frames.

    Returns (one result per document without its rows, {table: frame}); each frame carries the
    column :data:`DOC`, the document's index in the chunk, so the caller can drop the rows of a
    document it rejects. Converting to frames here keeps the parent's memory and work small.
    """
    from analysis.tables import to_frame

    metas: list[dict] = []
    rows: dict[str, list[dict]] = {}
    docs: dict[str, list[int]] = {}
    # Parsing makes many small acyclic objects: the cyclic collector would only walk them.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i, path in enumerate(paths_):
            res = parse_file(path, raw_dir, reference_dir)
            for name, table_rows in res.pop("ok", {}).items():
                rows.setdefault(name, []).extend(table_rows)
                docs.setdefault(name, []).extend([i] * len(table_rows))
            metas.append(res)
    finally:
        if was_enabled:
            gc.enable()
    frames = {
        name: to_frame(name, table_rows, sort=False, tag=(DOC, docs[name]))
        for name, table_rows in rows.items()
    }
    return metas, frames


def _parse_all(
    files: list[Path], raw_dir: Path, reference_dir: Path | None, workers: int, progress: bool
):
    """Yield (metas, frames) per chunk of files, in file order."""
    ref = str(reference_dir) if reference_dir else None
    size = max(1, min(32, len(files) // (max(workers, 1) * 4) or 1))
    chunks = [[str(p) for p in files[i : i + size]] for i in range(0, len(files), size)]
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
            with ProcessPoolExecutor(max_workers=workers, initializer=_watch_parent) as ex:
                for res in ex.map(_parse_star, args):
                    yield res
                    if bar:
                        bar.update(len(res[0]))
    finally:
        if bar:
            bar.close()


def _parse_star(a):
    return parse_chunk(*a)


def _watch_parent() -> None:
    """Runs in each parse worker: exit as soon as the process that started it is gone.

    A build killed with SIGKILL cannot shut its pool down, and its workers, re-parented to
    init, would wait for work forever.
    """
    import threading
    import time

    parent = os.getppid()

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
    import polars as pl

    from analysis import sources, store
    from analysis.reference import ReferenceError, load_reference
    from analysis.schema import TABLES
    from analysis.tables import empty, sort_table, to_frame
    from analysis.validate import ValidationError, validate_all

    raw_dir = Path(raw_dir or paths.raw_dir()).resolve()
    out_dir = Path(out_dir or paths.processed_dir())
    workers = workers or os.cpu_count() or 1

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
    try:
        unlisted = sources.verify(raw_dir, files)
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

    # -- process -------------------------------------------------------------------------
    parts: dict[str, list] = {}
    rejected: list[str] = []
    extra_diagnostics: list[dict] = []
    seen_ids: dict[str, str] = {}
    seen_hashes: dict[str, str] = {}
    for metas, chunk_frames in _parse_all(files, raw_dir, reference_dir, workers, progress):
        keep: list[int] = []
        for i, res in enumerate(metas):
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
        for name, df in chunk_frames.items():
            if len(keep) < len(metas):
                df = df.filter(pl.col(DOC).is_in(keep))
            parts.setdefault(name, []).append(df.drop(DOC))
    if not seen_ids:
        raise BuildError(f"{raw_dir}: no file could be read as minutes ({len(rejected)} rejected)")
    parts.setdefault("diagnostics", []).append(to_frame("diagnostics", extra_diagnostics))
    tables = {
        t.name: sort_table(t.name, pl.concat(parts[t.name])) if t.name in parts else empty(t.name)
        for t in TABLES
    }

    from analysis.topics import code_topics, with_topic_diagnostics

    try:
        tables["question_topics"] = code_topics(tables["utterances"], reference_dir)
        tables["diagnostics"] = with_topic_diagnostics(
            tables["diagnostics"], tables["question_topics"], reference_dir
        )
    except ReferenceError as exc:
        raise BuildError(str(exc)) from None
    try:
        tables = validate_all(tables)
    except ValidationError as exc:
        raise BuildError(str(exc).replace("\n", " | ")) from None

    # -- save ----------------------------------------------------------------------------
    try:
        with store.BuildLock(out_dir, timeout=lock_timeout):
            rep = store.write_datasets(tables, out_dir, excel=excel)
    except store.OutputError as exc:
        raise BuildError(str(exc)) from None
    diag = tables["diagnostics"]
    counts = {s: int((diag["severity"] == s).sum()) for s in ("info", "warning", "error")}
    report = BuildReport(
        files=len(files),
        meetings=len(seen_ids),
        rows={k: v.height for k, v in tables.items()},
        diagnostics=counts,
        written=list(rep.written),
        unchanged=list(rep.unchanged),
        rejected=rejected,
        out_dir=out_dir,
    )
    if log:
        log(summary(report))
    return report


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
