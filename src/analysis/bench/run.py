"""``python -m analysis.bench``: speed at corpus scale, measured against the issue's targets.

For each corpus size (default 1, 100, 1,000 and 10,000 synthetic meetings; ``--quick``: 1, 100
and 500) it measures, on a corpus made by :mod:`analysis.bench.corpus`:

* the build end to end (read, parse, validate, write) with one worker and with every core, each
  in a fresh child process: MB of minutes per second, meetings per second and the peak resident
  memory of the build process and of its largest worker (``getrusage``);
* the floor: the same files merely read and split into lines by Python, and the build's time
  over that floor;

and, once:

* ``import analysis`` in a fresh interpreter (best of 5);
* every analysis behind the report notebooks (:mod:`analysis.analyses`, :mod:`analysis.topics`,
  :mod:`analysis.words`), called on the largest corpus's tables in a child process; what does
  not exist yet is skipped with a note;
* report rendering (:func:`bench_rendering`): the first report and each further one of a batch
  in one kernel (each further report rendered :data:`RENDER_ROUNDS` times; its median is held
  to the target), against a naive loop of the papermill and ``jupyter nbconvert`` command lines.

It prints a table, marks each target met or missed, and writes everything to JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.bench.corpus import generate

DEFAULT_SIZES = (1, 100, 1000, 10_000)
QUICK_SIZES = (1, 100, 500)
IMPORT_REPEATS = 5
FLOOR_REPEATS = 3

#: The issue's targets, for a 2-core machine.
TARGETS = {
    "build_mb_s_1": 5.0,  # MB/s with one worker, at least
    "speedup_all": 1.7,  # all cores vs one worker, at least
    "linear_ratio": 1.25,  # marginal cost per meeting, largest step vs the step before, at most
    "peak_rss_mb": 1536.0,  # peak memory at 10,000 meetings, below
    "import_s": 0.3,  # import analysis, below
    "analysis_s": 1.0,  # each analysis at 10,000 meetings, below
    "further_report_s": 1.0,  # each further report of a batch, below
}
TARGET_SIZE = 10_000  # the size the memory and analysis targets are stated for
RENDER_ROUNDS = 3  # each further report is rendered this many times in the batch (median)


# ================================================================================ helpers
def _python() -> str:
    return sys.executable


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _child_json(code: str, *args: str, timeout: float | None = None) -> dict:
    """Run ``python -c code args…`` and return the JSON it prints on its last stdout line."""
    proc = subprocess.run(
        [_python(), "-c", code, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError("child failed: " + " | ".join(tail))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for mod in ("polars", "pandera", "duckdb", "pyarrow", "sudachipy"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[mod] = version(mod)
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


# ================================================================================ builds
_BUILD_CHILD = """\
import json, os, resource, sys, time
t0 = time.perf_counter()
from analysis.build import build
from analysis.bench.run import TreeMemory
t1 = time.perf_counter()
tree = TreeMemory(os.getpid())
tree.start()
r = build(sys.argv[1], sys.argv[2], progress=False, workers=int(sys.argv[3]))
t2 = time.perf_counter()
tree.stop()
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "seconds": t2 - t1, "import_seconds": t1 - t0, "meetings": r.meetings,
    "rows": r.rows, "diagnostics": r.diagnostics,
    "rss_main_mb": me.ru_maxrss / 1024, "rss_worker_mb": kids.ru_maxrss / 1024,
    "cpu_main_s": me.ru_utime + me.ru_stime, "cpu_workers_s": kids.ru_utime + kids.ru_stime,
    "rss_tree_peak_mb": tree.peak_mb, "rss_tree_peak_anon_mb": tree.peak_anon_mb,
}))
"""


class TreeMemory:
    """Samples, every ``interval`` seconds in a thread, the resident memory of a process and all
    its descendants at once (``/proc``), keeping the largest sum: the build's real peak with its
    pool workers, where the sum of each process's own peak only bounds it. ``peak_mb`` is None
    where ``/proc`` is missing.

    Resident memory counts the pages of shared libraries a process has touched, and how many
    the kernel maps at a touch depends on how much of each file the page cache holds (freshly
    installed libraries are cached whole): the same build measured 1,290 MB in an old virtual
    environment and 1,420 MB in a new one. ``peak_anon_mb`` is the largest sum without those
    file pages (``RssFile``): the memory the build itself holds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_mb: float | None = None
        self.peak_anon_mb: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            parts = self.sample_parts()
            if parts is not None:
                total, files = parts
                self.peak_mb = max(self.peak_mb or 0.0, total)
                self.peak_anon_mb = max(self.peak_anon_mb or 0.0, total - files)
            if self._done.wait(self.interval):
                return

    def sample(self) -> float | None:
        """MB resident in the process and its descendants now, or None without ``/proc``."""
        parts = self.sample_parts()
        return None if parts is None else parts[0]

    def sample_parts(self) -> tuple[float, float] | None:
        """(MB resident, MB of it file pages) in the process and its descendants now, or None
        without ``/proc``."""
        try:
            parents = {}
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/stat", "rb") as fh:
                            stat = fh.read()
                    except OSError:  # ended meanwhile
                        continue
                    # the fields after the command name (in parentheses, which may hold spaces)
                    parents[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except OSError:
            return None
        tree, grew = {self.pid}, True
        while grew:
            more = {p for p, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        total_kb = files_kb = 0
        for p in tree:
            try:
                with open(f"/proc/{p}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            total_kb += int(line.split()[1])
                        elif line.startswith("RssFile:"):
                            files_kb += int(line.split()[1])
            except OSError:
                continue
        return total_kb / 1024, files_kb / 1024


def _busy_cpu_s() -> float | None:
    """CPU-seconds the whole machine has spent busy since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def bench_build(raw: Path, out: Path, workers: int, timeout: float | None = None) -> dict:
    """One build in a fresh child process, into an empty ``out``."""
    if out.exists():
        shutil.rmtree(out)
    load_before = os.getloadavg()[0]
    busy_before = _busy_cpu_s()
    started = time.perf_counter()
    res = _child_json(_BUILD_CHILD, str(raw), str(out), str(workers), timeout=timeout)
    res["process_seconds"] = time.perf_counter() - started
    busy_after = _busy_cpu_s()
    res["workers"] = workers
    res["cpu_s"] = res["cpu_main_s"] + res["cpu_workers_s"]
    # other work on the machine steals CPU: the load average says how busy it was
    res["load_before"] = load_before
    res["load_after"] = os.getloadavg()[0]
    # CPU time other processes took while the build ran, as a share of the machine
    if busy_before is not None and busy_after is not None:
        others = max(0.0, busy_after - busy_before - res["cpu_s"])
        res["others_cpu_s"] = others
        res["others_share"] = others / ((os.cpu_count() or 1) * res["process_seconds"])
    # pool workers run at the same time as the main process: the sum of their own peaks bounds
    # the peak; the peak itself is the largest sum sampled at one moment (TreeMemory)
    pool = workers if workers > 1 else 0
    res["rss_bound_mb"] = res["rss_main_mb"] + pool * res["rss_worker_mb"]
    # (never below the main process's own peak, which a sample may fall between)
    sampled = res.get("rss_tree_peak_mb")
    res["rss_total_mb"] = max(sampled, res["rss_main_mb"]) if sampled else res["rss_bound_mb"]
    return res


def bench_floor(files: list[Path]) -> float:
    """Seconds to merely read the files and split them into lines (best of a few)."""
    best = float("inf")
    for _ in range(FLOOR_REPEATS):
        t = time.perf_counter()
        n = 0
        for f in files:
            n += len(f.read_bytes().decode("utf-8").splitlines())
        best = min(best, time.perf_counter() - t)
    return best


# ================================================================================ import
_IMPORT_CHILD = """\
import json, sys, time
t = time.perf_counter()
__import__(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "modules": len(sys.modules)}))
"""


def bench_import(module: str = "analysis", repeats: int = IMPORT_REPEATS) -> dict:
    """``import module`` in a fresh interpreter, best of ``repeats`` (interpreter start excluded),
    with the heaviest imports from ``-X importtime`` of one more run."""
    runs = [_child_json(_IMPORT_CHILD, module) for _ in range(repeats)]
    best = min(r["seconds"] for r in runs)
    proc = subprocess.run(
        [_python(), "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    heaviest = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            heaviest.append((int(parts[1]), parts[2].rstrip()))
    heaviest.sort(reverse=True)
    top = [{"cumulative_ms": us / 1000, "module": name.strip()} for us, name in heaviest[:5]]
    return {
        "module": module,
        "best_s": best,
        "runs_s": [r["seconds"] for r in runs],
        "modules_loaded": runs[0]["modules"],
        "heaviest": top,
    }


# ================================================================================ analyses
#: Helpers exported by analysis.analyses that are not analyses.
NOT_ANALYSES = {"validate_choice", "validate_choices", "wilson_exprs", "wilson_interval"}
#: Functions from other modules that reports call.
EXTRA_ANALYSES = (
    ("analysis.topics", "code_topics"),
    ("analysis.words", "term_frequencies"),
    ("analysis.words", "kwic"),
)


class _Timeout(Exception):
    pass


class _Inputs:
    """Values for the parameters analyses take, made once (not part of any timing)."""

    def __init__(self, tables: dict):
        self.tables = tables
        self._cache: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        return name in self._makers() or name in self.tables

    def get(self, name: str) -> Any:
        if name not in self._cache:
            maker = self._makers().get(name)
            self._cache[name] = maker() if maker else self.tables[name]
        return self._cache[name]

    def _makers(self) -> dict[str, Callable[[], Any]]:
        def register():
            from analysis.analyses import consultation_register

            return consultation_register(self.tables)

        def flags():
            from analysis.analyses import flag_sensitive_items

            return flag_sensitive_items(self.tables["personal_data_items"])

        def topic_measure_map():
            from analysis.analyses import load_topic_safeguard_map

            return load_topic_safeguard_map()

        def category():
            counts = self.tables["consultations"]["category"].value_counts(sort=True)
            return counts.row(0)[0]

        return {
            "tables": lambda: self.tables,
            "register": register,
            "flags": flags,
            "topic_measure_map": topic_measure_map,
            "category": category,
            "keyword": lambda: "個人情報",
        }


def _candidates() -> tuple[list[tuple[str, Callable | None, str]], list[dict]]:
    """(qualified name, function or None, note) for every analysis; notes on what is missing."""
    import importlib

    found: list[tuple[str, Callable | None, str]] = []
    notes: list[dict] = []
    try:
        pkg = importlib.import_module("analysis.analyses")
        names = getattr(pkg, "__all__", None) or [n for n in dir(pkg) if not n.startswith("_")]
        for name in names:
            obj = getattr(pkg, name, None)
            if callable(obj) and inspect.isfunction(obj) and name not in NOT_ANALYSES:
                found.append((f"analyses.{name}", obj, ""))
    except Exception as exc:  # an analysis module being written may not import yet
        notes.append({"name": "analysis.analyses", "skipped": f"cannot import: {exc}"})
    for mod, name in EXTRA_ANALYSES:
        try:
            obj = getattr(importlib.import_module(mod), name, None)
        except Exception as exc:
            notes.append({"name": f"{mod}.{name}", "skipped": f"cannot import {mod}: {exc}"})
            continue
        if obj is None:
            notes.append({"name": f"{mod}.{name}", "skipped": f"{mod} has no {name} yet"})
        else:
            found.append((f"{mod.removeprefix('analysis.')}.{name}", obj, ""))
    return found, notes


def _arguments(fn: Callable, inputs: _Inputs) -> tuple[list, str | None]:
    args = []
    for p in inspect.signature(fn).parameters.values():
        if p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind == p.KEYWORD_ONLY:
            return [], f"needs keyword argument {p.name!r}"
        if not inputs.has(p.name):
            return [], f"needs argument {p.name!r}, which the benchmark cannot supply"
        args.append(inputs.get(p.name))
    return args, None


def _timed(fn: Callable, args: list, limit: float) -> float:
    def alarm(*_):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        t = time.perf_counter()
        fn(*args)
        return time.perf_counter() - t
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def analyses_in_process(data_dir: Path, limit: float = 120.0) -> dict:
    """Time every analysis on the tables in ``data_dir`` (in this process; see
    :func:`bench_analyses` for the child-process wrapper)."""

    import analysis

    t = time.perf_counter()
    tables = analysis.load(data_dir, build_if_missing=False)
    load_s = time.perf_counter() - t
    inputs = _Inputs(tables)
    found, notes = _candidates()
    rows = []
    for name, fn, _ in found:
        try:
            args, why = _arguments(fn, inputs)
        except Exception as exc:
            rows.append({"name": name, "skipped": f"its input failed: {type(exc).__name__}: {exc}"})
            continue
        if why:
            rows.append({"name": name, "skipped": why})
            continue
        try:
            cold = _timed(fn, args, limit)
            warm = _timed(fn, args, limit)
        except _Timeout:
            rows.append({"name": name, "error": f"did not finish within {limit:.0f} s"})
            continue
        except Exception as exc:
            rows.append({"name": name, "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        rows.append({"name": name, "cold_s": cold, "warm_s": warm})

    rows.extend(_distinct_text_rows(tables, limit, notes))
    return {
        "data_dir": str(data_dir),
        "load_s": load_s,
        "rows": {k: v.height for k, v in tables.items()},
        "analyses": rows,
        "notes": notes,
    }


def _distinct(frame, column: str):
    """``frame`` with every ``column`` value made distinct (a running number appended)."""
    import polars as pl

    suffix = pl.lit("（") + pl.int_range(pl.len()).cast(pl.String) + pl.lit("）")
    return frame.with_columns((pl.col(column) + suffix).alias(column))


def _distinct_text_rows(tables: dict, limit: float, notes: list) -> list[dict]:
    """Time the text analyses as if every utterance were distinct.

    Synthetic meetings repeat the seed's few dozen utterances, and topics.code_topics and
    words.* work once per distinct text, so on the corpus they look faster than they will on
    real minutes. Here they run on the whole table with its texts made distinct. code_topics
    and kwic keep nothing between calls: one call each. term_frequencies is timed three times:
    cold (nothing tokenised yet; it also writes its token cache file, in a scratch folder),
    again in the same process, and from the token cache file with the process' analyses
    forgotten (the first call of a new process once the file exists): the row's warm figure.
    """
    import importlib

    utt = tables.get("utterances")
    if utt is None or utt.height == 0:
        return []
    out = []
    distinct_share = utt["text"].n_unique() / utt.height
    base = f"the corpus has {utt['text'].n_unique()} distinct texts in {utt.height} utterances"
    for mod, name, column, args in (
        ("analysis.topics", "code_topics", "text_norm", ()),
        ("analysis.words", "kwic", "text", ("個人情報",)),
    ):
        fn = getattr(_try_import(importlib, mod), name, None)
        if fn is None:
            continue
        try:
            frame = _distinct(_distinct(utt, column), "text_norm" if column == "text" else "text")
            secs = _timed(fn, [frame, *args], limit)
            out.append(
                {
                    "name": f"{mod.removeprefix('analysis.')}.{name} (distinct texts)",
                    "cold_s": secs,
                    "warm_s": None,
                    "note": base,
                    "distinct_share": distinct_share,
                }
            )
        except _Timeout:
            out.append({"name": f"{name} (distinct texts)", "error": f"over {limit:.0f} s"})
        except Exception as exc:
            notes.append({"name": f"{name} (distinct texts)", "skipped": str(exc)[:200]})
    words = _try_import(importlib, "analysis.words")
    if words is not None and hasattr(words, "term_frequencies"):
        try:
            out.append(_term_frequencies_distinct(words, utt, limit, distinct_share))
        except _Timeout:
            out.append({"name": "term_frequencies (distinct)", "error": f"over {limit:.0f} s"})
        except Exception as exc:
            notes.append({"name": "term_frequencies (distinct)", "skipped": str(exc)[:200]})
    return out


def _term_frequencies_distinct(words, utt, limit: float, distinct_share: float) -> dict:
    """words.term_frequencies on every utterance, texts made distinct: cold, again, and from
    its token cache file (see :func:`_distinct_text_rows`)."""
    import functools
    import tempfile

    import polars as pl

    frame = _distinct(utt, "text")
    counted = frame.filter(pl.col("kind").is_in(list(words.DEFAULT_KINDS))).height
    with tempfile.TemporaryDirectory(prefix="bench-tokens-") as cache:
        fn = functools.partial(words.term_frequencies, cache_dir=cache)
        words.clear_cache()
        words.term_frequencies(utt.head(1))  # the dictionary loads once per process
        cold = _timed(fn, [frame], limit)
        again = _timed(fn, [frame], limit)
        words.clear_cache()
        from_file = _timed(fn, [frame], limit)
    return {
        "name": "words.term_frequencies (distinct texts)",
        "cold_s": cold,
        "warm_s": from_file,
        "note": f"{counted} questions and remarks; cold: every text tokenised (and the token "
        f"cache file written); warm: a new process' first call, from the token cache file; "
        f"second call in the same process {again:.2f} s",
        "distinct_share": distinct_share,
    }


def _try_import(importlib, name: str):
    try:
        return importlib.import_module(name)
    except Exception:
        return None


_ANALYSES_CHILD = """\
import json, sys
from analysis.bench.run import analyses_in_process
print(json.dumps(analyses_in_process(sys.argv[1], float(sys.argv[2])), default=str))
"""


def bench_analyses(data_dir: Path, limit: float = 120.0, timeout: float | None = None) -> dict:
    """Every analysis behind the reports, timed in a fresh child process on ``data_dir``."""
    return _child_json(_ANALYSES_CHILD, str(data_dir), str(limit), timeout=timeout)


# ================================================================================ rendering
def _render_plan(
    data_dir: Path, repeats: int, others: bool = True
) -> tuple[list[tuple[Path, dict]], str]:
    """What to render: the first scheduled notebook ``repeats`` times (different parameters),
    then one report of every other scheduled notebook; without a schedule, the first report
    notebook in notebooks/ (or the template) ``repeats`` times."""
    from analysis.render import load_schedule

    with contextlib.suppress(Exception):
        from analysis.render.schedule import expand

        jobs = [j for j in load_schedule(paths.reports_dir() / "schedule.yml").jobs if j.notebook]
        plan: list[tuple[Path, dict]] = []
        seen: set[Path] = set()
        for j in jobs:
            sets = expand(j, data_dir)
            take = repeats if not plan else (0 if j.notebook in seen or not others else 1)
            plan += [(Path(j.notebook), dict(p)) for p in sets[:take]]
            seen.add(j.notebook)
        if plan:
            return plan, "reports/schedule.yml"
    nb_dir = paths.notebooks_dir()
    candidates = sorted(p for p in nb_dir.glob("report*.py")) or sorted(nb_dir.glob("_template.py"))
    if not candidates:
        return [], "no report notebook in notebooks/"
    notebook = candidates[0]
    return [(notebook, p) for p in _parameter_sets(notebook, data_dir, repeats)], str(notebook)


def _parameter_sets(notebook: Path, data_dir: Path, count: int) -> list[dict]:
    from analysis.render import notebook_parameters

    declared = notebook_parameters(notebook)
    if "meeting_id" in declared:
        import polars as pl

        ids = pl.read_parquet(data_dir / "meetings.parquet", columns=["meeting_id"])
        return [{"meeting_id": m} for m in ids["meeting_id"].sort().head(count)]
    return [{} for _ in range(count)]


def bench_rendering(
    data_dir: Path,
    work: Path,
    reports: int = 4,
    naive: int = 2,
    others: bool = True,
    rounds: int = RENDER_ROUNDS,
) -> dict:
    """Render a batch of reports in one kernel and ``naive`` of them with the command lines.

    The plan is the first scheduled notebook ``reports`` times, then one report of each other
    scheduled notebook (see :func:`_render_plan`). The batch renders the plan's first report
    once (it pays for the kernel and the imports), then every further report of the plan,
    ``rounds`` times over (round after round, so each round is a batch of different reports):
    the further ones show what each report costs, and their median over the rounds
    (:func:`further_reports`) is what a report costs without a moment's pause of the shared
    machine. The naive loop runs the first notebook through the papermill command line, then
    ``jupyter nbconvert``, per report. Skipped with a note when :mod:`analysis.render` (or a
    report notebook) is not there yet.
    """
    try:
        import analysis.render as render
    except ImportError as exc:
        return {"skipped": f"analysis.render is not there yet ({exc})"}
    if not hasattr(render, "ReportKernel") or not hasattr(render, "run_notebook"):
        return {"skipped": "analysis.render has no batch rendering (ReportKernel/run_notebook)"}
    data_dir = Path(data_dir).resolve()
    plan, source = _render_plan(data_dir, reports, others)
    if not plan:
        return {"skipped": source}
    out = work / "render"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    result: dict[str, Any] = {
        "plan_from": source,
        "data_dir": str(data_dir),
        "rounds": rounds,
        "batch": [],
    }
    batch = [(0, *plan[0])] + [(r, *job) for r in range(1, rounds + 1) for job in plan[1:]]
    try:
        with render.ReportKernel() as kernel:
            for r, notebook, p in batch:
                t = time.perf_counter()
                render.run_notebook(notebook, p, data_dir, out / "batch", kernel=kernel)
                result["batch"].append(
                    {
                        "notebook": notebook.name,
                        "parameters": p,
                        "round": r,
                        "s": time.perf_counter() - t,
                    }
                )
    except Exception as exc:
        result["error"] = f"batch: {type(exc).__name__}: {exc}"[:300]
        return result
    times = [b["s"] for b in result["batch"]]
    result["notebook"] = result["batch"][0]["notebook"]
    result["first_s"], result["further_s"] = times[0], times[1:]
    result["further"] = further_reports(result["batch"][1:])

    # the naive loop: papermill, then jupyter nbconvert, per report (command lines)
    if naive <= 0:
        result["naive_skipped"] = "(not run; the full benchmark runs it)"
        return result
    bindir = Path(_python()).parent
    papermill, jupyter = bindir / "papermill", bindir / "jupyter"
    if not (papermill.exists() and jupyter.exists()):
        result["naive_skipped"] = "papermill or jupyter command not found next to python"
        return result
    notebook = plan[0][0]
    ipynb = out / f"{notebook.stem}.ipynb"
    import jupytext

    jupytext.write(jupytext.read(notebook), ipynb)  # conversion is not timed
    naive_times = []
    for i, (nb, p) in enumerate(plan[:naive]):
        if nb != notebook:
            break
        executed = out / "naive" / f"report-{i}.ipynb"
        executed.parent.mkdir(exist_ok=True)
        cmd = [str(papermill), str(ipynb), str(executed), "-p", "data_dir", str(data_dir)]
        for k, v in p.items():
            cmd += ["-p", k, str(v)]
        t = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=notebook.parent)
        if run.returncode == 0:
            run = subprocess.run(
                [str(jupyter), "nbconvert", "--to", "html", "--no-input", str(executed)],
                capture_output=True,
                text=True,
            )
        if run.returncode != 0:
            result["naive_error"] = (run.stderr or run.stdout).strip().splitlines()[-1:]
            break
        naive_times.append(time.perf_counter() - t)
    result["naive_s"] = naive_times
    return result


def further_reports(renders: list[dict]) -> list[dict]:
    """The further renders of a batch, one row per report (notebook and parameters), in the
    order first rendered: ``s`` (every render's seconds), ``median_s`` and ``max_s``."""
    import statistics

    rows: dict[str, dict] = {}
    for b in renders:
        key = json.dumps([b["notebook"], b["parameters"]], sort_keys=True, default=str)
        row = rows.setdefault(
            key, {"notebook": b["notebook"], "parameters": b["parameters"], "s": []}
        )
        row["s"].append(b["s"])
    for row in rows.values():
        row["median_s"] = statistics.median(row["s"])
        row["max_s"] = max(row["s"])
    return list(rows.values())


# ================================================================================ the run
def _mb(n: int) -> float:
    return n / 1e6


def bench_size(n: int, work: Path, workers: list[int], seed: int) -> dict:
    t = time.perf_counter()
    corpus = generate(n, work / f"corpus-{n}", seed=seed, reuse=True)
    gen_s = time.perf_counter() - t
    floor = bench_floor(corpus.files)
    res: dict[str, Any] = {
        "meetings": n,
        "bytes": corpus.bytes,
        "mb": _mb(corpus.bytes),
        "generate_s": gen_s,
        "floor_s": floor,
        "floor_mb_s": _mb(corpus.bytes) / floor if floor else None,
        "builds": {},
    }
    for w in workers:
        b = bench_build(corpus.raw, corpus.root / f"processed-w{w}", w)
        b["mb_s"] = _mb(corpus.bytes) / b["seconds"]
        b["mb_per_cpu_s"] = _mb(corpus.bytes) / b["cpu_s"] if b["cpu_s"] else None
        b["meetings_s"] = n / b["seconds"]
        b["over_floor"] = b["seconds"] / floor if floor else None
        res["builds"][str(w)] = b
    res["data_dir"] = str(corpus.root / f"processed-w{workers[-1]}")
    return res


def _marginal(sizes: list[dict], w: str) -> list[dict]:
    """Seconds per extra meeting between consecutive sizes."""
    out = []
    for a, b in itertools.pairwise(sizes):
        dn = b["meetings"] - a["meetings"]
        if dn > 0:
            dt_ = b["builds"][w]["seconds"] - a["builds"][w]["seconds"]
            out.append({"from": a["meetings"], "to": b["meetings"], "s_per_meeting": dt_ / dn})
    return out


def evaluate(result: dict) -> list[dict]:
    """Each target with its value and whether it is met (None: not measured at this size)."""
    sizes = result["sizes"]
    largest = sizes[-1]
    w1, wall = "1", str(result["workers"][-1])
    out = []

    def add(name, value, target, met, unit="", note=""):
        out.append(
            {"target": name, "value": value, "goal": target, "met": met, "unit": unit, "note": note}
        )

    b1 = largest["builds"].get(w1)
    cores = result["machine"]["cores"] or 1
    busy = [
        f"w={w}: other processes took {b['others_share']:.0%} of the CPU"
        if "others_share" in b
        else f"w={w} load {max(b['load_before'], b['load_after']):.1f}"
        for w, b in largest["builds"].items()
        if b.get("others_share", 0) > 0.15
        or ("others_share" not in b and max(b["load_before"], b["load_after"]) > cores)
    ]
    busy_note = ("machine busy: " + "; ".join(busy)) if busy else ""
    if b1:
        v = b1["mb_s"]
        note = f"{b1['mb_per_cpu_s']:.2f} MB per CPU-second"
        if busy_note:
            note += "; " + busy_note
        goal = f">= {TARGETS['build_mb_s_1']}"
        add("build MB/s, 1 worker", v, goal, v >= TARGETS["build_mb_s_1"], "MB/s", note)
    if wall != w1 and b1:
        sp = b1["seconds"] / largest["builds"][wall]["seconds"]
        add(
            f"speed-up, {wall} workers vs 1",
            sp,
            f">= {TARGETS['speedup_all']}",
            sp >= TARGETS["speedup_all"],
            "×",
            busy_note,
        )
    m = result.get("marginal_w1") or []
    if len(m) >= 2:
        ratio = m[-1]["s_per_meeting"] / m[-2]["s_per_meeting"]
        add(
            "time linear in size",
            ratio,
            f"<= {TARGETS['linear_ratio']}",
            ratio <= TARGETS["linear_ratio"],
            "× s/meeting",
            f"marginal s/meeting {m[-2]['from']}→{m[-2]['to']} vs {m[-1]['from']}→{m[-1]['to']}",
        )
    peak = max(b["rss_total_mb"] for b in largest["builds"].values())
    at_size = largest["meetings"] >= TARGET_SIZE
    anon = [b.get("rss_tree_peak_anon_mb") for b in largest["builds"].values()]
    anon = [a for a in anon if a is not None]
    note = "" if at_size else f"target is for {TARGET_SIZE} meetings"
    if anon:  # the target holds the resident peak, shared libraries' file pages included
        note = "; ".join(filter(None, [f"{max(anon):.0f} MB without library file pages", note]))
    add(
        f"peak memory at {largest['meetings']} meetings",
        peak,
        f"< {TARGETS['peak_rss_mb']:.0f} at {TARGET_SIZE}",
        peak < TARGETS["peak_rss_mb"] if at_size else None,
        "MB",
        note,
    )
    imp = result.get("import") or {}
    if "best_s" in imp:
        add(
            "import analysis",
            imp["best_s"],
            f"< {TARGETS['import_s']}",
            imp["best_s"] < TARGETS["import_s"],
            "s",
        )
    an = result.get("analyses") or {}
    for row in an.get("analyses", []):
        goal = f"< {TARGETS['analysis_s']} at {TARGET_SIZE}"
        if "cold_s" not in row:
            add(row["name"], None, goal, False if "error" in row else None, "s",
                row.get("error") or row.get("skipped", ""))  # fmt: skip
            continue
        cold, warm = row["cold_s"], row.get("warm_s")
        met: bool | None = cold < TARGETS["analysis_s"]
        note = row.get("note", "")
        if not met and warm is not None and warm < TARGETS["analysis_s"]:
            note = (note + "; " if note else "") + f"warm call {warm:.2f} s"
        if an.get("meetings", 0) < TARGET_SIZE:
            note = (note + "; " if note else "") + f"measured at {an.get('meetings')} meetings"
            met = None if met else False
        add(row["name"], cold, goal, met, "s", note)
    ren = result.get("rendering") or {}
    if ren.get("further_s"):
        # each report's median over the rounds; the slowest single render is in the note
        rows = ren.get("further") or further_reports(ren["batch"][1:])
        slowest = max(rows, key=lambda row: row["median_s"])
        worst = slowest["median_s"]
        rounds = max(len(row["s"]) for row in rows)
        add(
            "further report in a batch",
            worst,
            f"< {TARGETS['further_report_s']}",
            worst < TARGETS["further_report_s"],
            "s",
            f"median of {rounds} renders, slowest {slowest['notebook']}; "
            f"single renders {min(ren['further_s']):.2f}-{max(ren['further_s']):.2f} s; "
            f"first {ren['first_s']:.1f} s; naive loop {_fmt_list(ren.get('naive_s'))} s/report",
        )
    elif ren:
        add("further report in a batch", None, f"< {TARGETS['further_report_s']}", None, "s",
            ren.get("skipped") or ren.get("error", ""))  # fmt: skip
    return out


def _share(b: dict) -> str:
    return f"{b['others_share']:.0%}" if "others_share" in b else "-"


def _fmt_list(xs) -> str:
    return ", ".join(f"{x:.1f}" for x in xs) if xs else "-"


def _f(v, fmt=".2f") -> str:
    return "-" if v is None else format(v, fmt)


def table(result: dict) -> str:
    lines = []
    ws = [str(w) for w in result["workers"]]
    head = f"{'meetings':>9} {'MB':>7} {'floor s':>8}"
    for w in ws:
        head += (
            f" | w={w}: {'s':>7} {'MB/s':>6} {'mtg/s':>7} {'×floor':>7} {'cpu s':>7}"
            f" {'peak MB':>8} {'other':>5}"
        )
    lines.append(head)
    lines.append("-" * len(head))
    for s in result["sizes"]:
        row = f"{s['meetings']:>9} {s['mb']:>7.1f} {s['floor_s']:>8.3f}"
        for w in ws:
            b = s["builds"][w]
            row += (
                f" |      {b['seconds']:>7.2f} {b['mb_s']:>6.2f} {b['meetings_s']:>7.1f}"
                f" {b['over_floor']:>7.0f} {b['cpu_s']:>7.2f} {b['rss_total_mb']:>8.0f}"
                f" {_share(b):>5}"
            )
        lines.append(row)
    imp = result.get("import")
    if imp:
        lines.append("")
        lines.append(f"import analysis: {imp['best_s'] * 1000:.0f} ms (best of {IMPORT_REPEATS})")
        for extra in result.get("import_other", []):
            lines.append(f"import {extra['module']}: {extra['best_s'] * 1000:.0f} ms (info)")
    an = result.get("analyses")
    if an:
        lines.append("")
        lines.append(
            f"analyses at {an.get('meetings')} meetings (load {an['load_s']:.2f} s): cold / warm s"
        )
        for row in an["analyses"]:
            if "cold_s" in row:
                lines.append(
                    f"  {row['name']:<58} {row['cold_s']:>7.3f} {_f(row['warm_s'], '>7.3f')}"
                )
            else:
                lines.append(f"  {row['name']:<58} {row.get('error') or row.get('skipped')}")
        for note in an.get("notes", []):
            lines.append(f"  {note['name']:<58} skipped: {note['skipped']}")
    ren = result.get("rendering")
    if ren:
        lines.append("")
        if "first_s" in ren:
            lines.append(f"rendering, one kernel ({ren['plan_from']}; data at {ren['data_dir']}):")
            first = ren["batch"][0]
            params = ", ".join(f"{k}={v}" for k, v in first["parameters"].items())
            lines.append(f"  first    {first['s']:>6.2f} s  {first['notebook']} ({params})")
            for row in ren.get("further") or further_reports(ren["batch"][1:]):
                params = ", ".join(f"{k}={v}" for k, v in row["parameters"].items())
                each = ", ".join(f"{x:.2f}" for x in row["s"])
                lines.append(
                    f"  further  {row['median_s']:>6.2f} s  {row['notebook']} ({params})"
                    f"  median of {each}"
                )
            naive_note = ren.get("naive_error") or ren.get("naive_skipped") or ""
            lines.append(
                f"  naive papermill + nbconvert command lines: "
                f"{_fmt_list(ren.get('naive_s'))} s/report {naive_note}"
            )
        else:
            lines.append(f"rendering: skipped — {ren.get('skipped') or ren.get('error')}")
    lines.append("")
    lines.append("targets:")
    for t in result["targets"]:
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[t["met"]]
        val = "-" if t["value"] is None else f"{t['value']:.2f} {t['unit']}"
        note = f"  ({t['note']})" if t["note"] else ""
        lines.append(f"  [{mark}] {t['target']:<52} {val:>14}  goal {t['goal']}{note}")
    lines.append(
        f"\ntotal {result['total_s']:.0f} s; other = share of the machine's CPU that other "
        "processes took during the build (it slows the wall times; 'cpu s' is unaffected)"
    )
    return "\n".join(lines)


def run(
    sizes: list[int],
    *,
    work: Path,
    workers: list[int],
    seed: int = 0,
    analyses: bool = True,
    rendering: bool = True,
    reports: int = 4,
    naive: int = 2,
    other_reports: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": " ".join(["python -m analysis.bench", *sys.argv[1:]]),
        "workers": workers,
        "seed": seed,
        "sizes": [],
    }
    for n in sorted(sizes):
        log(f"corpus of {n} meeting(s): generating, reading, building…")
        s = bench_size(n, work, workers, seed)
        builds = ", ".join(
            f"w={w} {b['seconds']:.1f} s {b['mb_s']:.2f} MB/s" for w, b in s["builds"].items()
        )
        log(f"  {s['mb']:.1f} MB, floor {s['floor_s']:.3f} s; {builds}")
        result["sizes"].append(s)
    result["marginal_w1"] = _marginal(result["sizes"], "1")
    log("import analysis…")
    result["import"] = bench_import("analysis")
    result["import_other"] = [
        bench_import(m, repeats=3) for m in ("analysis.analyses", "analysis.words")
    ]
    largest = result["sizes"][-1]
    if analyses:
        log(f"analyses on {largest['meetings']} meetings…")
        try:
            an = bench_analyses(Path(largest["data_dir"]))
            an["meetings"] = largest["meetings"]
        except Exception as exc:
            an = {"load_s": 0.0, "analyses": [], "notes": [{"name": "all", "skipped": str(exc)}]}
            an["meetings"] = largest["meetings"]
        result["analyses"] = an
    if rendering:
        log(f"rendering reports on {largest['meetings']} meetings…")
        result["rendering"] = bench_rendering(
            Path(largest["data_dir"]), work, reports, naive, others=other_reports
        )
    result["total_s"] = time.perf_counter() - started
    result["targets"] = evaluate(result)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.bench",
        description="Benchmark the build, the analyses and report rendering on synthetic "
        "corpora, against the targets of the issue 'Speed at corpus scale'.",
    )
    ap.add_argument("--quick", action="store_true", help="sizes 1,100,500; under a minute")
    ap.add_argument("--sizes", help="comma-separated corpus sizes (default 1,100,1000,10000)")
    ap.add_argument("--out", type=Path, help="JSON results (default .bench/bench[-quick].json)")
    ap.add_argument("--work", type=Path, help="scratch folder for corpora (default .bench/)")
    ap.add_argument("--workers", help="worker counts to compare (default 1 and all cores)")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    ap.add_argument("--no-analyses", action="store_true")
    ap.add_argument("--no-rendering", action="store_true")
    args = ap.parse_args(argv)

    if args.sizes:
        sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
    else:
        sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if not sizes or min(sizes) < 1:
        ap.error("--sizes needs positive integers")
    cores = os.cpu_count() or 1
    workers = (
        [int(w) for w in args.workers.split(",")] if args.workers else sorted({1, max(1, cores)})
    )
    work = (args.work or paths.project_root() / ".bench").resolve()
    out = args.out or work / ("bench-quick.json" if args.quick else "bench.json")
    result = run(
        sizes,
        work=work,
        workers=workers,
        seed=args.seed,
        analyses=not args.no_analyses,
        rendering=not args.no_rendering,
        reports=2 if args.quick else 3,
        naive=0 if args.quick else 2,
        other_reports=not args.quick,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(table(result))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
