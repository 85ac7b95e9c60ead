"""Scheduled runs: a folder per run, an index, and only the reports whose inputs changed.

:func:`run_reports` (behind ``council reports``) renders what ``reports/schedule.yml`` lists
into ``<out>/runs/<UTC time>_<data version>/`` and then points ``<out>/latest`` at it::

    reports/output/
      runs/20261127T010203Z_c40bd62d/   one folder per run: index.html, run.json, the reports
      latest -> runs/20261127T010203Z_c40bd62d   (a symlink; a copied folder where symlinks
                                                  cannot be made, e.g. Windows without rights)
      LATEST                            the name of the latest run, one line
      .council-reports.lock             held while a run is going on

Incremental. Each report has a *fingerprint*: the data version (:func:`versions.data_version`),
the notebook file's hash (or the deck's name), the parameters, the name template, the formats,
the reference files' hash and the package's code version. A report whose fingerprint equals the
one recorded in the latest run, that succeeded there and whose files are all there, is not
rendered again: its files are hard-linked (or copied) from the previous run, and it appears in
the new index as 変更なし. ``force`` renders everything. When *nothing* would be rendered and the
list of reports is unchanged, no new run folder is made at all (so an hourly cron job does not
pile up identical folders); the outcome says so.

A report that fails is listed with its error; if an earlier run had made it, those files are
carried into the new run (marked as the previous version) so readers still have something. A
failed report is always tried again next time.

Robustness. The run is built in a hidden ``runs/.partial-*`` folder and renamed into place when
complete; ``latest`` then changes in one rename (a new symlink replacing the old). A crash leaves
the previous ``latest`` intact; the next run removes stale partial folders. Only one run at a
time per output folder (a file lock; a second run exits with :data:`EXIT_LOCKED`). Old runs
beyond ``keep`` are deleted, never the one ``latest`` points at.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.render.notebook import RenderResult, ReportKernel
from analysis.render.schedule import (
    Job,
    ScheduleError,
    expand,
    load_schedule,
    render_one,
    task_name,
)

# Exit codes of `council reports` (the contract for cron, systemd and the Task Scheduler).
EXIT_OK = 0  # every report rendered or up to date
EXIT_FAILED = 1  # at least one report failed; the others were rendered, the index written
EXIT_USAGE = 2  # bad schedule file or command-line usage: nothing rendered
EXIT_NO_DATA = 3  # the datasets are missing or unreadable (run `council build`)
EXIT_LOCKED = 4  # another `council reports` is running on the same output folder

RUNS = "runs"
LATEST = "latest"
LATEST_FILE = "LATEST"
RUN_RECORD = "run.json"
INDEX = "index.html"
LOCK = ".council-reports.lock"
PARTIAL = ".partial-"
RECORD_FORMAT = "council-run/1"
DEFAULT_KEEP = 20
INDEX_TITLE = "情報公開・個人情報保護運営審議会 レポート一覧"


class DataMissing(RuntimeError):
    """The datasets folder has no readable MANIFEST.json."""


class RunLocked(RuntimeError):
    """Another run holds the output folder's lock."""


@dataclass
class Entry:
    """One report of a run, as recorded in ``run.json`` and shown in the index."""

    name: str
    job: int
    source: str
    parameters: dict[str, Any]
    formats: list[str]
    fingerprint: str | None
    status: str  # rendered | skipped | failed
    data_version: str
    rendered_at: str | None = None
    seconds: float = 0.0
    title: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # format → file name in the run
    pdf_unavailable: bool = False  # pdf asked for, Chromium missing when rendered
    carried: bool = False  # failed now; the files are the previous run's


@dataclass
class RunOutcome:
    """What a call of :func:`run_reports` did."""

    run_dir: Path | None
    entries: list[Entry]
    created: bool  # False: nothing changed, no new run folder
    data_version: str
    latest: Path | None = None

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def summary(self) -> str:
        lines = [
            f"{len(self.entries)} report(s): {self.count('rendered')} rendered, "
            f"{self.count('skipped')} up to date (skipped), {len(self.failed)} failed"
        ]
        if self.created and self.run_dir is not None:
            lines.append(f"run folder: {self.run_dir}")
        elif not self.created:
            lines.append("nothing changed since the latest run: no new run folder")
        if self.latest is not None:
            lines.append(f"latest: {self.latest / INDEX}")
        for e in self.failed:
            lines.append(f"FAILED job {e.job} {e.name}: {e.error}")
        for w in sorted({w for e in self.entries for w in e.warnings}):
            lines.append(f"warning: {w}")
        return "\n".join(lines)


# -- fingerprints ----------------------------------------------------------------------------
def fingerprint(job: Job, params: dict[str, Any], versions: dict[str, str]) -> str:
    """A hash of everything a report is made from (see the module docstring)."""
    import hashlib

    from analysis.render.versions import file_version

    record = {
        "source": f"slides:{job.slides}" if job.slides else file_version(job.notebook),
        "parameters": params,
        "name": job.name,
        "formats": sorted(job.formats),
        "pseudonymize": job.pseudonymize,
        **versions,
    }
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _versions(data_dir: Path) -> dict[str, str]:
    from analysis.render.versions import code_version, data_version, reference_version

    try:
        data = data_version(data_dir)
    except (OSError, ValueError) as exc:
        raise DataMissing(f"{data_dir}: no readable datasets ({exc}); run `council build`") from exc
    return {"data": data, "reference": reference_version(), "code": code_version()}


# -- previous runs ---------------------------------------------------------------------------
def latest_run(out_root: Path) -> Path | None:
    """The folder of the latest complete run, or None."""
    out_root = Path(out_root)
    marker = out_root / LATEST_FILE
    if marker.is_file():
        name = marker.read_text(encoding="utf-8").strip()
        folder = out_root / RUNS / name
        if name and (folder / RUN_RECORD).is_file():
            return folder
    link = out_root / LATEST
    if (link / RUN_RECORD).is_file():
        return link
    return None


def read_run(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((Path(folder) / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if record.get("format") == RECORD_FORMAT else None


def _previous(out_root: Path) -> tuple[Path | None, dict[str, Entry]]:
    folder = latest_run(out_root)
    record = read_run(folder) if folder else None
    if not record:
        return None, {}
    entries = {}
    for raw in record.get("reports", []):
        try:
            entries[raw["name"]] = Entry(**raw)
        except TypeError:
            continue
    return folder, entries


def _up_to_date(prev: Entry | None, fp: str, folder: Path | None, chromium: bool) -> bool:
    if prev is None or folder is None or prev.fingerprint != fp or prev.status == "failed":
        return False
    if not prev.outputs or not all((folder / n).is_file() for n in prev.outputs.values()):
        return False
    if "pdf" in prev.formats and "pdf" not in prev.outputs:
        # made without Chromium: worth redoing once Chromium is there
        return prev.pdf_unavailable and not chromium
    return True


# -- files -----------------------------------------------------------------------------------
def _link_or_copy(src: Path, dst: Path) -> None:
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry(prev: Entry, folder: Path, run_dir: Path) -> dict[str, str]:
    carried = {}
    for fmt, name in prev.outputs.items():
        src = folder / name
        if src.is_file():
            _link_or_copy(src, run_dir / name)
            carried[fmt] = name
    return carried


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _unique_run_dir(runs: Path, base: str) -> Path:
    candidate, n = runs / base, 2
    while candidate.exists():
        candidate, n = runs / f"{base}-{n}", n + 1
    return candidate


def point_latest(out_root: Path, run_dir: Path) -> Path:
    """Make ``<out_root>/latest`` show ``run_dir``: a relative symlink swapped in with one
    rename, or, where symlinks cannot be made, a copy swapped in with two renames."""
    out_root = Path(out_root)
    link = out_root / LATEST
    target = Path(RUNS) / run_dir.name
    tmp = out_root / f".{LATEST}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        os.symlink(target, tmp, target_is_directory=True)
        if link.is_dir() and not link.is_symlink():
            _swap_folder(link, tmp)
        else:
            os.replace(tmp, link)
    except OSError:
        if tmp.is_symlink():
            tmp.unlink()
        shutil.copytree(run_dir, tmp, copy_function=_copy_for_latest)
        _swap_folder(link, tmp)
    _write_text(out_root / LATEST_FILE, run_dir.name + "\n")
    return link


def _copy_for_latest(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _swap_folder(link: Path, new: Path) -> None:
    old = link.with_name(f".{LATEST}-old-{os.getpid()}-{time.monotonic_ns()}")
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        os.rename(link, old)
    os.rename(new, link)
    shutil.rmtree(old, ignore_errors=True)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def prune_runs(out_root: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` run folders (never the latest); stale partials too."""
    runs = Path(out_root) / RUNS
    if not runs.is_dir():
        return []
    removed = []
    for partial in runs.glob(f"{PARTIAL}*"):
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
    latest = latest_run(out_root)
    keep_name = latest.resolve().name if latest else None
    folders = sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))
    if keep <= 0:
        return []
    for folder in folders[:-keep]:
        if folder.name == keep_name:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


# -- the run ---------------------------------------------------------------------------------
def _files(result: RenderResult) -> dict[str, str]:
    return {fmt: Path(p).name for fmt, p in result.outputs.items() if Path(p).is_file()}


def run_reports(
    schedule_path: Path,
    data_dir: Path,
    out_root: Path,
    *,
    force: bool = False,
    notebooks_dir: Path | None = None,
    kernel_name: str | None = None,
    reuse_kernel: bool = True,
    timeout: float | None = 600,
    keep: int = DEFAULT_KEEP,
    log: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> RunOutcome:
    """Render the schedule into a new run folder, skipping up-to-date reports (see module).

    Raises :class:`ScheduleError` (bad schedule), :class:`DataMissing` (no datasets) and
    :class:`RunLocked` (another run is going on) before anything is written.
    """
    from filelock import FileLock, Timeout

    from analysis.render.browser import find_chromium
    from analysis.render.index import index_html

    say = log or (lambda _msg: None)
    schedule = load_schedule(schedule_path, notebooks_dir=notebooks_dir)
    data_dir = Path(data_dir)
    versions = _versions(data_dir)
    data_short = versions["data"][:8]
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_root / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunLocked(
            f"{out_root}: another `council reports` is running (lock {out_root / LOCK})"
        ) from None
    try:
        return _run_locked(
            schedule,
            data_dir,
            out_root,
            versions,
            data_short,
            force,
            kernel_name,
            reuse_kernel,
            timeout,
            keep,
            say,
            now or datetime.now(UTC),
            find_chromium() is not None,
            index_html,
        )
    finally:
        lock.release()


def _run_locked(
    schedule, data_dir, out_root, versions, data_short, force, kernel_name, reuse_kernel,
    timeout, keep, say, now, chromium, index_html,
) -> RunOutcome:  # fmt: skip
    prev_dir, previous = _previous(out_root)
    started = now.astimezone(UTC).isoformat(timespec="seconds")

    # plan: every report of every job, with its fingerprint
    plan: list[tuple[Job, dict[str, Any] | None, str | None, str | None, str | None]] = []
    names: dict[str, int] = {}
    for job in schedule.jobs:
        try:
            sets = expand(job, data_dir)
        except Exception as exc:
            plan.append((job, None, None, None, f"for_each: {exc}"))
            continue
        for params in sets:
            try:
                name = task_name(job, params)
            except Exception as exc:
                plan.append((job, params, None, None, str(exc)))
                continue
            if name in names:
                plan.append(
                    (
                        job,
                        params,
                        name,
                        None,
                        f"report {name!r} is also made by job "
                        f"{names[name]}; give the job a name template",
                    )
                )
                continue
            names[name] = job.index
            plan.append((job, params, name, fingerprint(job, params, versions), None))

    todo = [
        p for p in plan
        if p[4] is not None
        or force
        or not _up_to_date(previous.get(p[2]), p[3], prev_dir, chromium)
    ]  # fmt: skip
    if not todo and prev_dir is not None and set(names) == set(previous):
        say(f"all {len(plan)} report(s) up to date (data {data_short}); nothing to render")
        entries = [previous[p[2]] for p in plan]
        for e in entries:
            e.status = "skipped"
        latest = out_root / LATEST if (out_root / LATEST).exists() else prev_dir
        return RunOutcome(prev_dir, entries, False, versions["data"], latest)

    runs = out_root / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    final = _unique_run_dir(runs, f"{_stamp(now)}_{data_short}")
    work = runs / f"{PARTIAL}{final.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()

    entries: list[Entry] = []
    kernel = None
    total = len(plan)
    written: dict[str, int] = {}
    try:
        for i, (job, params, name, fp, problem) in enumerate(plan, 1):
            step = f"[{i}/{total}]"
            prev = previous.get(name) if name else None
            base = {
                "job": job.index,
                "source": job.source,
                "parameters": params if params is not None else dict(job.parameters),
                "formats": list(job.formats),
                "fingerprint": fp,
                "data_version": versions["data"],
            }
            if problem is not None:
                entry = Entry(name=name or f"{job.stem}-job{job.index}", status="failed",
                              error=problem, **base)  # fmt: skip
                say(f"{step} FAILED {job.describe()}: {problem}")
            elif not force and _up_to_date(prev, fp, prev_dir, chromium):
                entry = Entry(
                    name=name,
                    status="skipped",
                    rendered_at=prev.rendered_at,
                    seconds=prev.seconds,
                    title=prev.title,
                    warnings=prev.warnings,
                    outputs=_carry(prev, prev_dir, work),
                    pdf_unavailable=prev.pdf_unavailable,
                    **base,
                )
                say(f"{step} up to date, skipped: {name}")
            else:
                say(f"{step} rendering {name} — {job.describe()} ...")
                if kernel is None and reuse_kernel and job.slides is None:
                    kernel = ReportKernel(kernel_name)
                result = render_one(
                    job, params, data_dir, work, written,
                    kernel=kernel, kernel_name=kernel_name, timeout=timeout,
                )  # fmt: skip
                entry = Entry(
                    name=result.name,
                    status="rendered" if result.ok else "failed",
                    rendered_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    seconds=round(result.seconds, 2),
                    title=result.title,
                    error=result.error,
                    warnings=list(result.warnings),
                    outputs=_files(result),
                    pdf_unavailable="pdf" in job.formats and "pdf" not in result.outputs,
                    **base,
                )
                if result.ok:
                    say(f"{step} ok {result.name} ({result.seconds:.1f} s)")
                else:
                    say(f"{step} FAILED {job.describe()} {result.name}: {result.error}")
                    if prev is not None and prev.status != "failed" and prev_dir is not None:
                        # readers keep the last good version, marked as such in the index
                        for name_ in entry.outputs.values():
                            (work / name_).unlink(missing_ok=True)
                        entry.outputs = _carry(prev, prev_dir, work)
                        entry.carried = bool(entry.outputs)
                        entry.rendered_at = prev.rendered_at
                        entry.data_version = prev.data_version
                    elif "ipynb" in entry.outputs:
                        entry.outputs = {"ipynb": entry.outputs["ipynb"]}  # the traceback
            entries.append(entry)
    finally:
        if kernel is not None:
            kernel.close()

    record = {
        "format": RECORD_FORMAT,
        "run": final.name,
        "title": INDEX_TITLE,
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_dir": str(data_dir.resolve()),
        "data_version": versions["data"],
        "reference_version": versions["reference"],
        "code_version": versions["code"],
        "forced": force,
        "reports": [asdict(e) for e in entries],
    }
    _write_text(work / RUN_RECORD, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    _write_text(work / INDEX, index_html(record))
    os.rename(work, final)
    latest = point_latest(out_root, final)
    removed = prune_runs(out_root, keep)
    if removed:
        say(f"removed {len(removed)} old run folder(s) (keeping {keep})")
    return RunOutcome(final, entries, True, versions["data"], latest)


__all__ = [
    "EXIT_FAILED",
    "EXIT_LOCKED",
    "EXIT_NO_DATA",
    "EXIT_OK",
    "EXIT_USAGE",
    "DataMissing",
    "Entry",
    "RunLocked",
    "RunOutcome",
    "ScheduleError",
    "fingerprint",
    "latest_run",
    "point_latest",
    "prune_runs",
    "read_run",
    "run_reports",
]
