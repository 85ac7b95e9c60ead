"""The ``council report`` and ``council reports`` commands.

Mounted by :mod:`analysis.cli`::

    from analysis.render.cli import report_command, reports_command

    app.command("report")(report_command)
    app.command("reports")(reports_command)

(or ``app.add_typer(report_app, ...)`` for the same two commands under a group). Heavy imports
happen inside the commands, so ``council --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SCHEDULE_NAME = "schedule.yml"
OUTPUT_NAME = "output"


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _data_dir(data: Path | None, code: int = 1) -> Path:
    from analysis import paths, store

    folder = data or paths.processed_dir()
    if not (folder / store.MANIFEST_NAME).is_file():
        _fail(f"{folder}: no datasets here; run `council build` first", code)
    return folder


def _out_dir(out: Path | None) -> Path:
    from analysis import paths

    return out or paths.reports_dir() / OUTPUT_NAME


def _find_notebook(notebook: Path) -> Path:
    from analysis import paths

    candidates = [notebook]
    if not notebook.is_absolute():
        candidates += [paths.notebooks_dir() / notebook]
    candidates += [c.with_suffix(".py") for c in candidates if not c.suffix]
    for c in candidates:
        if c.is_file():
            return c
    _fail(f"{notebook}: no such notebook (looked in . and {paths.notebooks_dir()})")
    raise AssertionError  # unreachable


def report_command(
    notebook: Annotated[
        Path, typer.Argument(help="Notebook (py:percent), a path or a name in notebooks/.")
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Parameter as name=value (repeatable); a list as a,b or as YAML.",
        ),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Datasets folder (default data/processed).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default reports/output).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Report name template, e.g. '会議-{meeting_id}' (default: derived)."),
    ] = None,
    kernel: Annotated[str | None, typer.Option(help="Jupyter kernel (default python3).")] = None,
    list_params: Annotated[
        bool, typer.Option("--list-params", help="Show the notebook's parameters and stop.")
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print an A4 PDF (needs Chromium).")
    ] = False,
    slides: Annotated[
        bool, typer.Option("--slides", help="Also write a slide deck (<name>.slides.html).")
    ] = False,
    pseudonymize: Annotated[
        bool,
        typer.Option(
            "--pseudonymize", help="Replace names of members and staff with their roles (委員A…)."
        ),
    ] = False,
) -> None:
    """Render one report notebook with parameters to HTML (works with no network)."""
    from analysis.render import ParameterError, RenderError, notebook_parameters, run_notebook
    from analysis.render.parameters import DATA_DIR, parse_cli_value

    path = _find_notebook(notebook)
    try:
        declared = notebook_parameters(path)
    except (ParameterError, RenderError) as exc:
        _fail(str(exc))
    if list_params:
        for p in declared.values():
            if p.name != DATA_DIR:
                typer.echo(f"{p.name}: {p.describe()} = {p.default!r}")
        return
    values = {}
    for item in param or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            _fail(f"--param {item!r}: expected name=value")
        if key not in declared or key == DATA_DIR:
            known = ", ".join(n for n in declared if n != DATA_DIR) or "none"
            _fail(f"{path.name}: unknown parameter {key!r} (the notebook declares: {known})")
        try:
            values[key] = parse_cli_value(declared[key], raw, path.name)
        except ParameterError as exc:
            _fail(str(exc))
    data_dir = _data_dir(data)
    if pseudonymize:
        from analysis.pseudonymize import pseudonymized_datasets

        data_dir = pseudonymized_datasets(data_dir, _out_dir(out) / ".pseudonymized")
    try:
        formats = ("html", *(["pdf"] if pdf else []), *(["slides"] if slides else []))
        result = run_notebook(
            path, values, data_dir, _out_dir(out), kernel_name=kernel, name=name, formats=formats
        )
    except (ParameterError, RenderError) as exc:
        _fail(str(exc))
    typer.echo(f"wrote {result.html or result.ipynb} ({result.seconds:.1f} s)")
    for fmt in ("pdf", "slides"):
        if fmt in result.outputs:
            typer.echo(f"wrote {result.outputs[fmt]}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}")


def reports_command(
    schedule: Annotated[
        Path | None, typer.Option(help="Schedule file (default reports/schedule.yml).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Datasets folder (default data/processed).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output root (default reports/output): runs/<run>/ and latest/."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Render every report, even those up to date.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Check the schedule and parameters without rendering."),
    ] = False,
    keep: Annotated[
        int, typer.Option(help="Run folders to keep (older ones are deleted; 0 keeps all).")
    ] = 20,
    fresh_kernels: Annotated[
        bool,
        typer.Option(
            "--fresh-kernels", help="Start a new kernel for every report (slower, isolated)."
        ),
    ] = False,
    kernel: Annotated[str | None, typer.Option(help="Jupyter kernel (default python3).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
) -> None:
    """Render the scheduled reports into a new run folder; skip those whose inputs are unchanged.

    Exit status: 0 all reports rendered or up to date; 1 some reports failed (the others were
    rendered and the index written); 2 bad schedule or usage; 3 datasets missing; 4 another run
    is going on. See docs/scheduling.md.
    """
    from analysis import paths
    from analysis.render import ScheduleError, check_schedule, load_schedule
    from analysis.render.runs import (
        EXIT_LOCKED,
        EXIT_NO_DATA,
        EXIT_USAGE,
        DataMissing,
        RunLocked,
        run_reports,
    )

    schedule_path = schedule or paths.reports_dir() / SCHEDULE_NAME
    try:
        loaded = load_schedule(schedule_path)
    except ScheduleError as exc:
        _fail(str(exc), EXIT_USAGE)
    if not loaded.jobs:
        typer.echo(f"{schedule_path}: no jobs scheduled")
        return
    data_dir = _data_dir(data, EXIT_NO_DATA)
    if check:
        problems = check_schedule(loaded, data_dir)
        for p in problems:
            typer.echo(p, err=True)
        if problems:
            raise typer.Exit(EXIT_USAGE)
        typer.echo(f"{schedule_path}: {len(loaded.jobs)} job(s), no problems found")
        return
    try:
        outcome = run_reports(
            schedule_path,
            data_dir,
            _out_dir(out),
            force=force,
            kernel_name=kernel,
            reuse_kernel=not fresh_kernels,
            keep=keep,
            log=None if quiet else typer.echo,
        )
    except ScheduleError as exc:
        _fail(str(exc), EXIT_USAGE)
    except DataMissing as exc:
        _fail(str(exc), EXIT_NO_DATA)
    except RunLocked as exc:
        _fail(str(exc), EXIT_LOCKED)
    typer.echo(outcome.summary())
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def slides_command(
    meeting: Annotated[str, typer.Option("--meeting", help="Meeting id, e.g. tama-2020-09.")],
    data: Annotated[
        Path | None, typer.Option(help="Datasets folder (default data/processed).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default reports/output/slides).")
    ] = None,
    pseudonymize: Annotated[
        bool,
        typer.Option("--pseudonymize", help="Replace attendees' names by 委員A, 職員A, …"),
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print the deck to PDF (needs Chromium).")
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="File name template (default council_slides-{meeting_id}).")
    ] = None,
) -> None:
    """Write the council deck for one meeting: one offline HTML file (reveal.js)."""
    from analysis import paths
    from analysis.render.runs import EXIT_NO_DATA, EXIT_USAGE
    from analysis.render.slides import SlidesError, write_council_deck

    data_dir = _data_dir(data, EXIT_NO_DATA)
    folder = out or paths.reports_dir() / OUTPUT_NAME / "slides"
    try:
        written = write_council_deck(
            meeting, data_dir, folder, pseudonymize=pseudonymize, name=name, pdf=pdf
        )
    except SlidesError as exc:
        _fail(str(exc), EXIT_USAGE)
    typer.echo(f"wrote {written['html']}")
    if "pdf" in written:
        typer.echo(f"wrote {written['pdf']}")
    if "pdf_skipped" in written:
        typer.echo(f"warning: {written['pdf_skipped']}")


report_app = typer.Typer(no_args_is_help=True, help="Render report notebooks to HTML.")
report_app.command("report")(report_command)
report_app.command("reports")(reports_command)
report_app.command("slides")(slides_command)
