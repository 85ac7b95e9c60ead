"""``reports/schedule.yml``: which reports ``council reports`` renders, checked on load.

Format::

    jobs:
      - notebook: meeting_summary.py      # relative to notebooks/ (or an absolute path)
        for_each: meeting                 # one report per meeting found in the data
        parameters: {top_n: 10}           # fixed parameters (optional)
        name: "会議録-{meeting_id}"        # optional report name template
        formats: [html]                   # optional; html is the default and the only one yet
      - notebook: overview.py
        parameters: {fiscal_year: 2020}   # one report with exactly these parameters

``for_each`` is one of ``meeting``, ``fiscal_year``, ``department`` or ``category``; each value
found in the datasets gives one report, with the value in the parameter ``meeting_id``,
``fiscal_year``, ``department`` or ``category`` (:data:`FOR_EACH`). ``parameters`` and
``for_each`` may be combined; with neither, the notebook runs once with its defaults. Notebooks
whose name starts with ``_`` (``_template.py``) are examples, not meant to be scheduled.

:func:`load_schedule` raises :class:`ScheduleError` naming the job (index from 0) and the key for
anything malformed. :func:`render_schedule` renders every report in one kernel; a failing report
is recorded and the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.render.naming import ReportNameError, report_name, template_fields
from analysis.render.notebook import (
    FORMATS,
    RenderError,
    RenderResult,
    ReportKernel,
    prepare,
    run_notebook,
)
from analysis.render.parameters import ParameterError

FOR_EACH: dict[str, str] = {
    "meeting": "meeting_id",
    "fiscal_year": "fiscal_year",
    "department": "department",
    "category": "category",
}
_JOB_KEYS = ("notebook", "name", "parameters", "for_each", "formats")
_LATER_FORMATS = ("slides", "pdf")


class ScheduleError(ValueError):
    """The schedule file is malformed. The message names the file, the job and the key."""


@dataclass(frozen=True)
class Job:
    index: int
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    for_each: str | None = None
    name: str | None = None
    formats: tuple[str, ...] = FORMATS

    def describe(self) -> str:
        return f"job {self.index} ({self.notebook.name})"


@dataclass(frozen=True)
class Schedule:
    path: Path
    jobs: tuple[Job, ...]


def _job(raw: Any, index: int, where: str, notebooks: Path) -> Job:
    at = f"{where}: jobs[{index}]"
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"{at}: a job must be a mapping with a 'notebook' key")
    unknown = [k for k in raw if k not in _JOB_KEYS]
    if unknown:
        raise ScheduleError(f"{at}: unknown key {unknown[0]!r} (allowed: {', '.join(_JOB_KEYS)})")
    nb = raw.get("notebook")
    if not isinstance(nb, str) or not nb.strip():
        raise ScheduleError(f"{at}.notebook: required, the notebook's file name")
    path = Path(nb)
    if not path.is_absolute():
        path = notebooks / path
    if not path.is_file():
        raise ScheduleError(f"{at}.notebook: {path} does not exist")

    params = raw.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ScheduleError(f"{at}.parameters: must be a mapping of parameter name to value")

    for_each = raw.get("for_each")
    if for_each is not None:
        if for_each not in FOR_EACH:
            raise ScheduleError(f"{at}.for_each: {for_each!r} is not one of {', '.join(FOR_EACH)}")
        if FOR_EACH[for_each] in params:
            raise ScheduleError(
                f"{at}.parameters: {FOR_EACH[for_each]!r} is set by for_each: {for_each}"
            )

    name = raw.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ScheduleError(f"{at}.name: must be a non-empty text")
        try:
            fields = template_fields(name)
        except ReportNameError as exc:
            raise ScheduleError(f"{at}.name: {exc}") from None
        available = set(params) | ({FOR_EACH[for_each]} if for_each else set())
        missing = [f for f in fields if f not in available]
        if missing:
            raise ScheduleError(f"{at}.name: {{{missing[0]}}} is not a parameter of this job")
        if for_each and FOR_EACH[for_each] not in fields:
            raise ScheduleError(
                f"{at}.name: must contain {{{FOR_EACH[for_each]}}}, or every report of the "
                f"for_each would get the same name"
            )

    formats = raw.get("formats", list(FORMATS))
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) for f in formats):
        raise ScheduleError(f"{at}.formats: must be a list such as [html]")
    for f in formats:
        if f in _LATER_FORMATS:
            raise ScheduleError(f"{at}.formats: {f!r} is not supported yet (only html)")
        if f not in FORMATS:
            raise ScheduleError(f"{at}.formats: unknown format {f!r} (known: {', '.join(FORMATS)})")

    return Job(index, path.resolve(), dict(params), for_each, name, tuple(dict.fromkeys(formats)))


def load_schedule(path: Path, *, notebooks_dir: Path | None = None) -> Schedule:
    """Read and check a schedule file. Relative notebook paths are under ``notebooks_dir``
    (default: the project's ``notebooks/``)."""
    import yaml

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ScheduleError(f"{where}: no such schedule file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{where}: not valid YAML: {exc}") from None
    if data is None:
        data = {"jobs": []}
    if not isinstance(data, Mapping):
        raise ScheduleError(f"{where}: must be a mapping with a 'jobs' list")
    unknown = [k for k in data if k != "jobs"]
    if unknown:
        raise ScheduleError(f"{where}: unknown top-level key {unknown[0]!r} (allowed: jobs)")
    jobs = data.get("jobs")
    if jobs is None:
        jobs = []
    if not isinstance(jobs, list):
        raise ScheduleError(f"{where}: 'jobs' must be a list")
    notebooks = Path(notebooks_dir) if notebooks_dir else paths.notebooks_dir()
    return Schedule(path, tuple(_job(raw, i, where, notebooks) for i, raw in enumerate(jobs)))


def for_each_values(kind: str, data_dir: Path) -> list[Any]:
    """The values ``for_each: kind`` runs over, as found in the datasets in ``data_dir``."""
    import polars as pl

    from analysis.datasets import load
    from analysis.schema import CATEGORIES

    if kind not in FOR_EACH:
        raise ScheduleError(f"for_each: {kind!r} is not one of {', '.join(FOR_EACH)}")
    if kind in ("meeting", "fiscal_year"):
        meetings = load(data_dir, tables=("meetings",), build_if_missing=False)["meetings"]
        if kind == "meeting":
            ordered = meetings.sort("date", "meeting_id", nulls_last=True)["meeting_id"]
            return ordered.unique(maintain_order=True).to_list()
        return sorted(meetings["fiscal_year"].unique().to_list())
    consultations = load(data_dir, tables=("consultations",), build_if_missing=False)[
        "consultations"
    ]
    if kind == "department":
        values = consultations.select(pl.col("departments").explode()).drop_nulls()
        return sorted(values["departments"].unique().to_list())
    found = set(consultations["category"].unique().to_list())
    return [c for c in CATEGORIES if c in found]


def expand(job: Job, data_dir: Path) -> list[dict[str, Any]]:
    """The parameter sets of one job (one per value for a ``for_each`` job)."""
    if job.for_each is None:
        return [dict(job.parameters)]
    values = for_each_values(job.for_each, data_dir)
    return [{**job.parameters, FOR_EACH[job.for_each]: v} for v in values]


def check_schedule(schedule: Schedule, data_dir: Path) -> list[str]:
    """Problems rendering would hit, found without running anything (empty when all is well):
    parameters unknown to a notebook or of the wrong type, and reports sharing a name."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for job in schedule.jobs:
        try:
            sets = expand(job, data_dir)
        except Exception as exc:
            problems.append(f"{job.describe()}: {exc}")
            continue
        for params in sets:
            try:
                _, _, _, name = prepare(job.notebook, params, name_template=job.name)
            except (ParameterError, ReportNameError, RenderError) as exc:
                problems.append(f"{job.describe()}: {exc}")
                break
            if name in seen:
                problems.append(
                    f"{job.describe()}: report {name!r} is also made by job {seen[name]}"
                )
            seen.setdefault(name, job.index)
    return problems


def _failed(job: Job, params: dict[str, Any], error: str, seconds: float = 0.0) -> RenderResult:
    try:
        name = report_name(job.notebook, params, template=job.name)
    except ReportNameError:
        name = f"{job.notebook.stem}-job{job.index}"
    return RenderResult(job.notebook, name, params, seconds=seconds, error=error, job=job.index)


def render_schedule(
    schedule_path: Path,
    data_dir: Path,
    out_dir: Path,
    *,
    notebooks_dir: Path | None = None,
    kernel_name: str | None = None,
    reuse_kernel: bool = True,
    timeout: float | None = 600,
    log: Callable[[str], None] | None = None,
) -> list[RenderResult]:
    """Render every report the schedule lists; one result per report, failures included.

    All reports run in one kernel (see :class:`analysis.render.notebook.ReportKernel`) unless
    ``reuse_kernel`` is false, which starts a fresh kernel for each report (slower, fully
    isolated). A report that fails — bad parameters, a failing cell, a for_each whose values
    cannot be read — is recorded with its error and the others still run. Two reports that would
    write the same file: the second is recorded as failed. :func:`summarize` words the results.
    Raises :class:`ScheduleError` only when the schedule file itself is malformed.
    """
    schedule = load_schedule(schedule_path, notebooks_dir=notebooks_dir)
    say = log or (lambda _msg: None)
    results: list[RenderResult] = []
    written: dict[str, int] = {}
    kernel = ReportKernel(kernel_name) if reuse_kernel else None
    try:
        for job in schedule.jobs:
            try:
                sets = expand(job, data_dir)
            except Exception as exc:
                results.append(_failed(job, dict(job.parameters), f"for_each: {exc}"))
                say(f"FAILED {job.describe()}: {exc}")
                continue
            for params in sets:
                started = time.perf_counter()
                try:
                    _, _, _, name = prepare(job.notebook, params, name_template=job.name)
                    if name in written:
                        raise RenderError(
                            f"report {name!r} is also made by job {written[name]}; "
                            f"give the job a name template"
                        )
                    written[name] = job.index
                    result = run_notebook(
                        job.notebook,
                        params,
                        data_dir,
                        out_dir,
                        kernel_name=kernel_name,
                        kernel=kernel,
                        name=job.name,
                        formats=job.formats,
                        timeout=timeout,
                    )
                    result.job = job.index
                    say(f"ok     {result.name} ({result.seconds:.1f} s)")
                except Exception as exc:  # one report's failure must not stop the others
                    partial = getattr(exc, "result", None)
                    if isinstance(partial, RenderResult):
                        result = partial
                        result.job = job.index
                        result.error = result.error or str(exc)
                    else:
                        result = _failed(job, params, str(exc), time.perf_counter() - started)
                    say(f"FAILED {job.describe()} {result.name}: {result.error}")
                results.append(result)
    finally:
        if kernel is not None:
            kernel.close()
    return results


def summarize(results: list[RenderResult]) -> str:
    """A few lines for the terminal: counts, time, and each failure with its error."""
    failed = [r for r in results if not r.ok]
    seconds = sum(r.seconds for r in results)
    lines = [
        f"rendered {len(results) - len(failed)} of {len(results)} report(s) in {seconds:.1f} s"
    ]
    if failed:
        lines.append(f"{len(failed)} failed:")
        lines += [f"  job {r.job} {r.name}: {r.error}" for r in failed]
    return "\n".join(lines)
