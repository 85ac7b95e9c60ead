"""How much faster ``council reports`` is than running each report by hand with the CLIs.

    python -m analysis.render.bench [--schedule reports/schedule.yml] [--data data/processed]

Both sides render the same reports (the schedule's notebook jobs, HTML only; deck jobs have no
hand-made equivalent and are left out) from a cold start:

- **council reports**: ``python -m analysis.cli reports --force`` in a fresh process — one
  kernel for all reports, namespace wiped between them, the run folder and index included;
- **naive loop**: per report, ``papermill`` (a new process and a new kernel) and then
  ``jupyter nbconvert --to html --no-input`` (another process), the way the reports would be
  made from a shell script. Converting the py:percent notebooks to ``.ipynb`` for papermill is
  done beforehand and not timed.

It prints both wall-clock times and the ratio. On the 2-core machine the project targets the
ratio grows with the number of reports, since the shared kernel saves a kernel start and two
interpreter starts with their imports per report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def _bench_schedule(schedule_path: Path, folder: Path) -> tuple[Path, list]:
    """A copy of the schedule with only notebook jobs, HTML only; and its jobs loaded."""
    from analysis.render.schedule import load_schedule

    loaded = load_schedule(schedule_path)
    raw = yaml.safe_load(Path(schedule_path).read_text(encoding="utf-8")) or {}
    jobs = []
    for job, entry in zip(loaded.jobs, raw.get("jobs") or [], strict=True):
        if job.slides:
            continue
        entry = dict(entry)
        entry["notebook"] = str(job.notebook)
        entry["formats"] = ["html"]
        jobs.append(entry)
    path = folder / "bench-schedule.yml"
    path.write_text(yaml.safe_dump({"jobs": jobs}, allow_unicode=True), encoding="utf-8")
    return path, list(load_schedule(path).jobs)


def run_council(schedule: Path, data_dir: Path, out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "reports",
            "--schedule",
            str(schedule),
            "--data",
            str(data_dir),
            "--out",
            str(out),
            "--force",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"council reports failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds


def run_naive(jobs: list, data_dir: Path, folder: Path) -> tuple[float, int]:
    import jupytext

    from analysis.render.schedule import expand, task_name

    tasks = []
    for job in jobs:
        ipynb = folder / f"{job.notebook.stem}.ipynb"
        if not ipynb.exists():
            jupytext.write(jupytext.read(job.notebook), ipynb)  # untimed preparation
        for params in expand(job, data_dir):
            tasks.append((ipynb, task_name(job, params), params))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    for ipynb, name, params in tasks:
        out = folder / f"{name}.ipynb"
        values = {"data_dir": str(Path(data_dir).resolve()), **params}
        subprocess.run(
            [sys.executable, "-m", "papermill", str(ipynb), str(out), "-y", yaml.safe_dump(values),
             "--cwd", str(job.notebook.parent), "--no-progress-bar"],
            check=False, capture_output=True, env=env,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--no-input", str(out)],
            check=False, capture_output=True, env=env,
        )  # fmt: skip
    return time.perf_counter() - started, len(tasks)


def main(argv: list[str] | None = None) -> int:
    from analysis import paths

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedule", type=Path, default=paths.reports_dir() / "schedule.yml")
    parser.add_argument("--data", type=Path, default=paths.processed_dir())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="council-bench-") as tmp:
        folder = Path(tmp)
        schedule, jobs = _bench_schedule(args.schedule, folder)
        if not jobs:
            print("no notebook jobs in the schedule: nothing to compare")
            return 2
        naive_dir = folder / "naive"
        naive_dir.mkdir()
        council = run_council(schedule, args.data, folder / "council")
        naive, reports = run_naive(jobs, args.data, naive_dir)
    print(f"reports: {reports} (from {len(jobs)} notebook job(s), HTML only)")
    print(
        f"council reports (one shared kernel): {council:7.1f} s  ({council / reports:.1f} s each)"
    )
    print(f"naive papermill + nbconvert loop:    {naive:7.1f} s  ({naive / reports:.1f} s each)")
    print(f"speed-up: {naive / council:.1f}x")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
