"""The `council` command: a thin face over functions that tests and notebooks call directly."""

from __future__ import annotations

import csv
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Analysis workbench for the minutes of Tama City's 情報公開・個人情報保護運営審議会.",
)
sources_app = typer.Typer(
    no_args_is_help=True, help="The raw folder's provenance record (sources.csv)."
)
app.add_typer(sources_app, name="sources")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def build(
    raw: Annotated[
        Path | None, typer.Option(help="Folder of raw minutes (default data/raw).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default data/processed).")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Build the other files when one is not minutes; record it in diagnostics.",
        ),
    ] = False,
    excel: Annotated[
        bool, typer.Option("--excel", help="Also write CSV (UTF-8 with BOM) and an .xlsx workbook.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for parsing (default: every core for a large corpus, one "
            "for a small one, where starting workers would cost more than it saves)."
        ),
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another build's lock.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Build the cleaned datasets from the raw minutes."""
    from analysis.build import BuildError
    from analysis.build import build as run_build

    try:
        run_build(
            raw,
            out,
            skip_invalid=skip_invalid,
            excel=excel,
            workers=workers,
            progress=not quiet,
            lock_timeout=wait,
            log=None if quiet else typer.echo,
        )
    except BuildError as exc:
        _fail(str(exc))


@app.command()
def dictionary(
    out: Annotated[Path, typer.Option(help="Where to write the data dictionary.")] = Path(
        "docs/data-dictionary.md"
    ),
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if the file is not up to date.")
    ] = False,
) -> None:
    """Write the data dictionary (Markdown) generated from the table schemas."""
    from analysis.dictionary import render

    text = render()
    if check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            _fail(f"{out} is out of date: run `council dictionary`")
        typer.echo(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


@sources_app.command("check")
def sources_check(
    raw: Annotated[Path | None, typer.Option(help="Raw folder (default data/raw).")] = None,
) -> None:
    """Check every raw file against its recorded sha256."""
    from analysis import paths, sources

    raw = raw or paths.raw_dir()
    try:
        unlisted = sources.verify(raw, sources.raw_files(raw))
    except sources.SourcesError as exc:
        _fail(str(exc))
    except (UnicodeDecodeError, csv.Error) as exc:
        _fail(f"{sources.sources_csv(raw)}: not a UTF-8 CSV file ({' '.join(str(exc).split())})")
    for name in unlisted:
        typer.echo(f"not recorded: {name}")
    typer.echo(
        "sources.csv agrees with the raw folder"
        if not unlisted
        else f"{len(unlisted)} file(s) not recorded"
    )


@sources_app.command("add")
def sources_add(
    file: Annotated[Path, typer.Argument(help="A raw file already copied into the raw folder.")],
    title: Annotated[str, typer.Option(help="Title of the minutes.")] = "",
    url: Annotated[str, typer.Option(help="Where it was published.")] = "",
    retrieved: Annotated[str, typer.Option(help="Date retrieved, YYYY-MM-DD.")] = "",
    note: Annotated[str, typer.Option()] = "",
    raw: Annotated[Path | None, typer.Option(help="Raw folder (default data/raw).")] = None,
) -> None:
    """Record a new raw file (its sha256) in sources.csv."""
    from analysis import paths, sources

    raw = raw or paths.raw_dir()
    try:
        src = sources.add_source(raw, file, title, url, retrieved, note)
    except ValueError:
        _fail(f"{file}: not inside the raw folder {raw}")
    typer.echo(f"recorded {src.file} sha256 {src.sha256}")


def _mount_render_commands() -> None:
    from analysis.render.cli import report_command, reports_command, slides_command

    app.command("report")(report_command)
    app.command("reports")(reports_command)
    app.command("slides")(slides_command)


_mount_render_commands()


def _interrupt_once(signum, frame) -> None:
    """First Ctrl-C: stop the command; later ones are ignored so clean-up can finish."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:  # console-script entry point
    """Run the CLI. Ctrl-C stops it quietly with exit status 130, whatever it was doing."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupt_once)
    try:
        app()
    except KeyboardInterrupt:  # typer turns it into exit 130 itself; this is the fallback
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
