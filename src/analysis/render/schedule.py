"""``reports/schedule.yml``: which reports ``council reports`` renders, checked on load.

Format::

    jobs:
      - notebook: meeting_summary.py      # relative to notebooks/ (or an absolute path)
        for_each: meeting                 # one report per meeting found in the data
        parameters: {top_n: 10}           # fixed parameters (optional)
        name: "会議録-{meeting_id}"        # optional report name template
        formats: [html, pdf]              # optional: html (default), pdf, slides
      - notebook: overview.py
        parameters: {fiscal_year: 2020}   # one report with exactly these parameters
      - slides: council                   # the council deck (analysis.render.slides)
        for_each: meeting
        parameters: {pseudonymize: true}  # optional
        formats: [slides, pdf]            # slides (default) and/or pdf

Formats: ``html`` the report page; ``pdf`` the page printed to A4 by headless Chromium (the
HTML is written too; without Chromium the PDF is skipped with a warning); ``slides`` a reveal.js
deck of the report (``<name>.slides.html``), or for a ``slides`` job the deck itself.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.render.naming import ReportNameError, report_name, template_fields
from analysis.render.notebook import (
    ALL_FORMATS,
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
_JOB_KEYS = ("notebook", "slides", "name", "parameters", "for_each", "formats", "pseudonymize")
DECKS = ("council",)  # what a `slides:` job can make
SLIDES_FORMATS = ("slides", "pdf")
# The council deck's parameters: name → (type, description)
SLIDES_PARAMETERS: dict[str, type] = {"meeting_id": str, "pseudonymize": bool}


class ScheduleError(ValueError):
    """The schedule file is malformed. The message names the file, the job and the key."""


@dataclass(frozen=True)
class Job:
    index: int
    notebook: Path | None
    parameters: dict[str, Any] = field(default_factory=dict)
    for_each: str | None = None
    name: str | None = None
    formats: tuple[str, ...] = FORMATS
    slides: str | None = None  # a built-in deck ("council") instead of a notebook
    pseudonymize: bool = False  # render from a copy of the data with names replaced by roles

    @property
    def source(self) -> str:
        """What the job renders: the notebook's file name, or ``slides: council``."""
        return f"slides: {self.slides}" if self.slides else self.notebook.name

    @property
    def stem(self) -> str:
        return f"{self.slides}_slides" if self.slides else self.notebook.stem

    def describe(self) -> str:
        return f"job {self.index} ({self.source})"


@dataclass(frozen=True)
class Schedule:
    path: Path
    jobs: tuple[Job, ...]


def _formats(raw: Any, at: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple:
    formats = raw.get("formats", list(default))
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) for f in formats):
        raise ScheduleError(f"{at}.formats: must be a list such as [{', '.join(default)}]")
    for f in formats:
        if f not in allowed:
            raise ScheduleError(
                f"{at}.formats: unknown format {f!r} for this job (known: {', '.join(allowed)})"
            )
    return tuple(dict.fromkeys(formats))


def _job(raw: Any, index: int, where: str, notebooks: Path) -> Job:
    at = f"{where}: jobs[{index}]"
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"{at}: a job must be a mapping with a 'notebook' key")
    unknown = [k for k in raw if k not in _JOB_KEYS]
    if unknown:
        raise ScheduleError(f"{at}: unknown key {unknown[0]!r} (allowed: {', '.join(_JOB_KEYS)})")
    deck = raw.get("slides")
    if deck is not None and "notebook" in raw:
        raise ScheduleError(f"{at}: a job has either 'notebook' or 'slides', not both")
    path: Path | None = None
    if deck is not None:
        if deck not in DECKS:
            raise ScheduleError(f"{at}.slides: {deck!r} is not one of {', '.join(DECKS)}")
    else:
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

    if deck is not None:
        for key, value in params.items():
            kind = SLIDES_PARAMETERS.get(key)
            if kind is None:
                raise ScheduleError(
                    f"{at}.parameters: unknown parameter {key!r} for slides "
                    f"(known: {', '.join(SLIDES_PARAMETERS)})"
                )
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise ScheduleError(
                    f"{at}.parameters: {key!r} must be {kind.__name__}, got {value!r}"
                )
        if for_each not in (None, "meeting"):
            raise ScheduleError(f"{at}.for_each: slides are per meeting: use for_each: meeting")
        if for_each is None and "meeting_id" not in params:
            raise ScheduleError(
                f"{at}: slides need a meeting: add for_each: meeting or parameters.meeting_id"
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

    pseudonymize = raw.get("pseudonymize", False)
    if not isinstance(pseudonymize, bool):
        raise ScheduleError(f"{at}.pseudonymize: must be true or false, got {pseudonymize!r}")
    if deck is not None and pseudonymize:
        raise ScheduleError(f"{at}.pseudonymize: for slides use parameters: {{pseudonymize: true}}")

    if deck is not None:
        formats = _formats(raw, at, SLIDES_FORMATS, ("slides",))
    else:
        formats = _formats(raw, at, ALL_FORMATS, FORMATS)
    return Job(
        index,
        path.resolve() if path else None,
        dict(params),
        for_each,
        name,
        formats,
        deck,
        pseudonymize,
    )


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
    # departments and categories of 諮問 only: a department that only gave a 報告 has no
    # consultation report to make
    consultations = consultations.filter(pl.col("agenda_kind") == "consultation")
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


def task_name(job: Job, params: dict[str, Any]) -> str:
    """The report name one parameter set of ``job`` gets (checks a notebook's parameters)."""
    if job.slides:
        return report_name(job.stem, params, order=list(SLIDES_PARAMETERS), template=job.name)
    _, _, _, name = prepare(job.notebook, params, name_template=job.name)
    return name


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
                name = task_name(job, params)
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
        name = report_name(job.stem, params, template=job.name)
    except ReportNameError:
        name = f"{job.stem}-job{job.index}"
    source = job.notebook or Path(job.stem)
    return RenderResult(source, name, params, seconds=seconds, error=error, job=job.index)


def render_task(
    job: Job,
    params: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    *,
    kernel: ReportKernel | None = None,
    kernel_name: str | None = None,
    timeout: float | None = 600,
) -> RenderResult:
    """Render one report of ``job`` (a notebook run, or a deck); raises like run_notebook."""
    if job.slides:
        return _render_deck(job, params, data_dir, out_dir)
    if job.pseudonymize:
        from analysis.pseudonymize import pseudonymized_datasets

        data_dir = pseudonymized_datasets(data_dir, Path(out_dir).parent / ".pseudonymized")
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
    return result


def _render_deck(job: Job, params: dict[str, Any], data_dir: Path, out_dir: Path) -> RenderResult:
    from analysis import load
    from analysis.render.browser import BrowserError
    from analysis.render.naming import output_path
    from analysis.render.notebook import _write_atomic
    from analysis.render.slides import council_deck, handout_pdf
    from analysis.render.versions import data_version

    started = time.perf_counter()
    name = task_name(job, params)
    result = RenderResult(Path(job.stem), name, dict(params), job=job.index)
    result.title = f"審議会スライド {params['meeting_id']}"
    try:
        tables = load(data_dir, build_if_missing=False)
        options = {
            "pseudonymize": bool(params.get("pseudonymize", False)),
            "data_version": data_version(data_dir),
            "generated": datetime.now(UTC),
        }
        deck = council_deck(tables, params["meeting_id"], **options)
        path = output_path(Path(out_dir), name, ".html")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, deck)
        result.outputs["slides"] = path
        if "pdf" in job.formats:
            handout = council_deck(tables, params["meeting_id"], handout=True, **options)
            written = handout_pdf(handout, path.with_suffix(".pdf"))
            if "pdf" in written:
                result.outputs["pdf"] = Path(written["pdf"])
            else:
                result.warnings.append(str(written["pdf_skipped"]))
    except BrowserError as exc:
        result.error = f"PDF: {exc}"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - started
    if result.error:
        raise RenderError(f"{job.describe()} ({name}): {result.error}", result)
    return result


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
    """Render every report the schedule lists into ``out_dir``; one result per report.

    All reports run in one kernel (see :class:`analysis.render.notebook.ReportKernel`) unless
    ``reuse_kernel`` is false, which starts a fresh kernel for each report (slower, fully
    isolated). A report that fails — bad parameters, a failing cell, a for_each whose values
    cannot be read — is recorded with its error and the others still run. Two reports that would
    write the same file: the second is recorded as failed. :func:`summarize` words the results.
    Raises :class:`ScheduleError` only when the schedule file itself is malformed.

    This writes straight into ``out_dir``, every time. ``council reports`` uses
    :func:`analysis.render.runs.run_reports` instead: a folder per run, an index, and only the
    reports whose inputs changed.
    """
    schedule = load_schedule(schedule_path, notebooks_dir=notebooks_dir)
    say = log or (lambda _msg: None)
    tasks: list[tuple[Job, dict[str, Any] | None, str | None]] = []
    for job in schedule.jobs:
        try:
            tasks += [(job, params, None) for params in expand(job, data_dir)]
        except Exception as exc:
            tasks.append((job, None, f"for_each: {exc}"))
    results: list[RenderResult] = []
    written: dict[str, int] = {}
    kernel = ReportKernel(kernel_name) if reuse_kernel else None
    try:
        for job, params, problem in tasks:
            if params is None:
                results.append(_failed(job, dict(job.parameters), problem or "failed"))
                say(f"FAILED {job.describe()}: {problem}")
                continue
            result = render_one(
                job,
                params,
                data_dir,
                out_dir,
                written,
                kernel=kernel,
                kernel_name=kernel_name,
                timeout=timeout,
            )
            if result.ok:
                say(f"ok     {result.name} ({result.seconds:.1f} s)")
            else:
                say(f"FAILED {job.describe()} {result.name}: {result.error}")
            results.append(result)
    finally:
        if kernel is not None:
            kernel.close()
    return results


def render_one(
    job: Job,
    params: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    written: dict[str, int],
    *,
    kernel: ReportKernel | None,
    kernel_name: str | None = None,
    timeout: float | None = 600,
) -> RenderResult:
    """One report of a schedule, never raising: a failure is a result with ``error`` set.

    ``written`` maps report names already made in this run to their job, so two jobs cannot
    write the same file.
    """
    started = time.perf_counter()
    try:
        name = task_name(job, params)
        if name in written:
            raise RenderError(
                f"report {name!r} is also made by job {written[name]}; give the job a name template"
            )
        written[name] = job.index
        return render_task(
            job, params, data_dir, out_dir, kernel=kernel, kernel_name=kernel_name, timeout=timeout
        )
    except Exception as exc:  # one report's failure must not stop the others
        partial = getattr(exc, "result", None)
        if isinstance(partial, RenderResult):
            result = partial
            result.job = job.index
            result.error = result.error or str(exc)
            if not result.seconds:
                result.seconds = time.perf_counter() - started
        else:
            result = _failed(job, params, str(exc), time.perf_counter() - started)
        return result


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
    warnings = sorted({w for r in results for w in r.warnings})
    lines += [f"warning: {w}" for w in warnings]
    return "\n".join(lines)
