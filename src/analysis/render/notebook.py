"""Run one report notebook with parameters and write ``<name>.ipynb`` and ``<name>.html``.

A report notebook is a jupytext py:percent file in ``notebooks/`` (``.ipynb`` works too). It is
converted in memory, its parameters are checked against its ``parameters`` cell
(:mod:`analysis.render.parameters`) *before* anything runs, papermill injects them (always with
``data_dir``, the datasets folder) and runs the notebook, and nbconvert writes the HTML report
(:mod:`analysis.render.html`).

Kernels. :func:`run_notebook` on its own starts a kernel and stops it afterwards. To render many
reports, open a :class:`ReportKernel` and pass it as ``kernel=``: one kernel then runs them all.
Before each report its namespace is wiped (IPython ``reset``), the working folder is set to the
notebook's, execution counts start again at 1, and the Altair renderer/theme/data transformer,
the offline chart state and polars' display settings are put back
(:mod:`analysis.render.kernel_state`). Imported modules stay imported — that is what saves the
start-up time — so a report must not rely on changing other module-level state of a library;
the kernel client is kept as well, so a further report does not wait for a new one to
connect. After a failed report the kernel is replaced by a fresh one;
``render_schedule(..., reuse_kernel=False)`` gives every report its own kernel.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.render.html import notebook_to_html
from analysis.render.naming import output_path, report_name
from analysis.render.page import PageInfo
from analysis.render.parameters import (
    DATA_DIR,
    Parameter,
    ParameterError,
    parse_parameters,
    validate_parameters,
)

DEFAULT_KERNEL = "python3"
FORMATS = ("html",)  # the default; besides the .ipynb that is always written
ALL_FORMATS = ("html", "pdf", "slides")
SLIDES_SUFFIX = ".slides.html"
_RESET_TAG = "council-reset"
_ENGINE = "council_shared_kernel"

log = logging.getLogger(__name__)


class RenderError(Exception):
    """A report could not be rendered. ``result`` holds what was written (may be None)."""

    def __init__(self, message: str, result: RenderResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class NotebookExecutionError(RenderError):
    """A cell of the notebook raised. The ``.ipynb`` with the traceback is still written."""


@dataclass
class RenderResult:
    """What rendering one report produced."""

    notebook: Path
    name: str
    parameters: dict[str, Any]
    ipynb: Path | None = None
    html: Path | None = None
    seconds: float = 0.0
    error: str | None = None
    job: int | None = None  # index of the schedule job, when rendered from a schedule
    outputs: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. no PDF: Chromium not installed
    title: str | None = None  # the page's title (the notebook's first heading)

    @property
    def ok(self) -> bool:
        return self.error is None


# -- reading ---------------------------------------------------------------------------------
def read_notebook(path: Path, kernel_name: str | None = None) -> Any:
    """A notebook node from a jupytext py:percent file (or an ``.ipynb``), in memory."""
    import jupytext

    path = Path(path)
    if not path.is_file():
        raise RenderError(f"{path}: no such notebook")
    nb = jupytext.read(path)
    # The executed copy is a plain .ipynb: jupytext's pairing metadata ("formats: py:percent")
    # would make JupyterLab refuse to open it.
    nb.metadata.pop("jupytext", None)
    spec = nb.metadata.get("kernelspec") or {}
    if kernel_name or not spec.get("name"):
        nb.metadata["kernelspec"] = {
            "name": kernel_name or DEFAULT_KERNEL,
            "language": "python",
            "display_name": "Python 3",
        }
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def notebook_parameters(path: Path) -> dict[str, Parameter]:
    """The parameters ``path`` declares (name → :class:`Parameter`), in declaration order."""
    return parse_parameters(read_notebook(path), Path(path).name)


def prepare(
    notebook: Path, parameters: dict[str, Any], *, name_template: str | None = None
) -> tuple[Any, dict[str, Parameter], dict[str, Any], str]:
    """Read and check without running: (notebook node, declared, checked values, report name).

    Raises :class:`ParameterError` for unknown names, wrong types or values outside the choices.
    """
    notebook = Path(notebook)
    nb = read_notebook(notebook)
    declared = parse_parameters(nb, notebook.name)
    values = validate_parameters(declared, dict(parameters), notebook.name)
    if DATA_DIR not in declared:
        raise ParameterError(
            f"{notebook.name}: the parameters cell must declare {DATA_DIR!r} "
            f"(`{DATA_DIR} = None`): reports read their data from there"
        )
    name = report_name(notebook, values, order=list(declared), template=name_template)
    return nb, declared, values, name


# -- kernels ---------------------------------------------------------------------------------
def _register_engine() -> None:
    """A papermill engine that runs in a kernel it is given and leaves it running."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if _ENGINE in papermill_engines._engines:
        return

    class SharedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            shared = kwargs.pop("report_kernel")  # the ReportKernel: its client is reused
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final)
            client.kc = shared.client()  # None before the kernel's first report
            try:
                executed = client.execute()
            except BaseException:
                if client.kc is not None and client.kc is not shared.client():
                    client.kc.stop_channels()  # made for this report and not kept
                raise
            shared.keep_client(client.kc)
            return executed

    papermill_engines.register(_ENGINE, SharedKernelEngine)


class ReportKernel:
    """One kernel reused for many reports (a context manager; see the module docstring)."""

    def __init__(self, kernel_name: str | None = None, *, startup_timeout: float = 60) -> None:
        self.kernel_name = kernel_name or DEFAULT_KERNEL
        self.startup_timeout = startup_timeout
        self._km: Any = None
        self._kc: Any = None  # the client of the reports run so far, channels open
        self._folders: list[str] = []
        self.reports = 0
        self.starts = 0

    def manager(self) -> Any:
        """The kernel manager to hand to papermill; a new one if the kernel died."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        if self._km is not None and self._km.has_kernel:
            if run_sync(self._km.is_alive)():
                return self._km
            self.discard()
        if self._km is None:
            self._km = AsyncKernelManager(kernel_name=self.kernel_name)
            if os.name == "posix":
                # IPC sockets instead of TCP on loopback: nothing listens on a port, and
                # ipykernel does not warn. The socket files go in a private folder (by default
                # they would land in the working folder).
                folder = tempfile.mkdtemp(prefix="council-kernel-")
                self._folders.append(folder)
                self._km.transport = "ipc"
                self._km.connection_file = os.path.join(folder, "kernel.json")
                self._km.ip = os.path.join(folder, "ipc")
            self.starts += 1  # papermill starts it on first use
        return self._km

    def client(self) -> Any:
        """The kernel client the last report used, to use again (None: make a new one).

        A new client waits until the kernel's output channel has been quiet for 0.2 s before
        it runs anything; keeping one spares each further report that wait.
        """
        return self._kc

    def keep_client(self, kc: Any) -> None:
        """Keep ``kc`` (channels open) for the next report."""
        if kc is not self._kc:
            self._stop_client()
        self._kc = kc

    def _stop_client(self) -> None:
        kc, self._kc = self._kc, None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception as exc:  # pragma: no cover - best effort
                log.warning("could not stop kernel client: %s", exc)

    def discard(self) -> None:
        """Stop the kernel (after a failure); the next report gets a fresh one."""
        from jupyter_core.utils import run_sync

        self._stop_client()
        km, self._km = self._km, None
        if km is None:
            return
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception as exc:  # pragma: no cover - best effort
            log.warning("could not stop kernel: %s", exc)

    def close(self) -> None:
        """Stop the kernel and remove its socket folders."""
        self.discard()
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._folders.clear()

    def __enter__(self) -> ReportKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_RESET_CODE = """\
get_ipython().reset(new_session=True)
__import__("importlib").import_module("analysis.render.kernel_state").restore({cwd!r})
get_ipython().execution_count = 1
"""


def _reset_cell(cwd: Path) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(_RESET_CODE.format(cwd=str(cwd)))
    cell.metadata["tags"] = [_RESET_TAG]
    return cell


# -- running ---------------------------------------------------------------------------------
def _write_atomic(path: Path, data: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(data)
        os.chmod(tmp, readable_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def readable_mode() -> int:
    """Permission bits for a report file: what the umask allows (mkstemp's are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _clean(nb: Any) -> Any:
    nb.cells = [c for c in nb.cells if _RESET_TAG not in c.get("metadata", {}).get("tags", [])]
    return nb


def _error_summary(exc: Exception) -> str:
    ename = getattr(exc, "ename", None)
    if ename:
        evalue = str(getattr(exc, "evalue", "")).strip()
        count = getattr(exc, "exec_count", None)
        return f"{ename}: {evalue}" + (f" (in cell [{count}])" if count else "")
    return f"{type(exc).__name__}: {exc}"


def run_notebook(
    notebook: Path,
    parameters: dict[str, Any] | None,
    data_dir: Path,
    out_dir: Path,
    *,
    kernel_name: str | None = None,
    kernel: ReportKernel | None = None,
    name: str | None = None,
    formats: tuple[str, ...] = FORMATS,
    timeout: float | None = 600,
    info: PageInfo | None = None,
) -> RenderResult:
    """Run ``notebook`` with ``parameters`` on the datasets in ``data_dir``; write the report.

    Writes ``<out_dir>/<name>.ipynb`` (the executed notebook) and, for ``"html"`` in
    ``formats``, ``<out_dir>/<name>.html`` (inputs hidden, no network needed, the Japanese font
    and an A4 print sheet inside). ``"pdf"`` also writes ``<name>.html`` and prints it to
    ``<name>.pdf`` with headless Chromium; without Chromium the PDF is left out and
    ``result.warnings`` says so (not an error). ``"slides"`` writes ``<name>.slides.html``, a
    reveal.js deck of the report (a slide per heading). ``info`` sets the title block (by default
    the notebook's first heading, the parameters and the data version). ``name`` is a
    template such as ``"会議-{meeting_id}"``; by default the notebook's stem and the parameter
    values (see :func:`analysis.render.naming.report_name`). Either way it is one safe file name
    inside ``out_dir``.

    ``kernel`` reuses a running :class:`ReportKernel`; without it a kernel (``kernel_name``,
    default ``python3``) is started and stopped for this report. ``timeout`` is per cell, in
    seconds (None: no limit).

    Raises :class:`ParameterError` before running anything when a parameter is unknown or of the
    wrong type; :class:`NotebookExecutionError` when a cell fails (the ``.ipynb`` with the
    traceback is written, any older ``.html`` of the same name removed so no stale report stays).
    """
    started = time.perf_counter()
    notebook = Path(notebook).resolve()
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown:
        raise RenderError(
            f"unknown format(s) {', '.join(unknown)} (known: {', '.join(ALL_FORMATS)})"
        )
    nb, _, values, report = prepare(notebook, parameters or {}, name_template=name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb_path = output_path(out_dir, report, ".ipynb")
    html_path = output_path(out_dir, report, ".html")
    result = RenderResult(notebook, report, values)

    injected = {DATA_DIR: str(Path(data_dir).resolve()), **values}
    own_kernel = kernel is None
    if kernel is None:
        kernel = ReportKernel(kernel_name)
    try:
        executed = _execute(nb, notebook, report, injected, out_dir, kernel, timeout, result)
    finally:
        if own_kernel:
            kernel.close()
    if result.error is not None:
        for stale in (html_path, html_path.with_suffix(".pdf")):
            stale.unlink(missing_ok=True)  # no stale report of the same name
        output_path(out_dir, report, SLIDES_SUFFIX).unlink(missing_ok=True)
        result.seconds = time.perf_counter() - started
        raise NotebookExecutionError(
            f"{notebook.name} ({report}): {result.error}; see {ipynb_path}", result
        )

    import nbformat

    _write_atomic(ipynb_path, nbformat.writes(executed))
    result.ipynb = result.outputs["ipynb"] = ipynb_path
    info = info or page_info(executed, report, values, data_dir)
    result.title = info.title
    if "html" in formats or "pdf" in formats:
        _write_atomic(html_path, notebook_to_html(executed, report, info))
        result.html = result.outputs["html"] = html_path
    if "slides" in formats:
        from analysis.render.slides import notebook_to_slides

        slides_path = output_path(out_dir, report, SLIDES_SUFFIX)
        _write_atomic(slides_path, notebook_to_slides(executed, info.title, info))
        result.outputs["slides"] = slides_path
    if "pdf" in formats:
        _write_pdf(result, html_path)
    result.seconds = time.perf_counter() - started
    if result.error is not None:
        raise RenderError(f"{notebook.name} ({report}): {result.error}", result)
    return result


def _write_pdf(result: RenderResult, html_path: Path, query: str = "") -> None:
    """Print ``html_path`` to PDF into ``result``; no Chromium is a warning, not a failure."""
    from analysis.render.browser import BrowserError, BrowserMissing, print_pdf

    pdf_path = html_path.with_suffix(".pdf")
    try:
        result.outputs["pdf"] = print_pdf(html_path, pdf_path, query=query)
    except BrowserMissing as exc:
        pdf_path.unlink(missing_ok=True)  # no stale PDF of an older version
        result.warnings.append(str(exc))
    except BrowserError as exc:
        pdf_path.unlink(missing_ok=True)
        result.error = f"PDF: {exc}"


def _notebook_title(nb: Any) -> str | None:
    """The text of the notebook's first Markdown heading, if any."""
    import re

    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        m = re.search(r"^\s*#{1,2}\s+(.+?)\s*#*\s*$", cell.source, re.MULTILINE)
        if m:
            return m.group(1)
    return None


def page_info(nb: Any, report: str, values: dict[str, Any], data_dir: Path | None) -> PageInfo:
    """The title block for a report: its heading, the report name and parameters, data version."""
    from analysis.render.versions import data_version, short

    details: list[tuple[str, str]] = []
    title = _notebook_title(nb) or report
    if title != report:
        details.append(("レポート", report))
    if values:
        details.append(("条件", ", ".join(f"{k}={v}" for k, v in values.items())))
    version = None
    if data_dir is not None:
        try:
            version = short(data_version(Path(data_dir)))
        except (OSError, ValueError):
            version = None
    return PageInfo(title, details, version)


def _execute(
    nb: Any,
    notebook: Path,
    report: str,
    injected: dict[str, Any],
    out_dir: Path,
    kernel: ReportKernel,
    timeout: float | None,
    result: RenderResult,
) -> Any:
    """Run ``nb`` in ``kernel``; the executed notebook, or None with ``result.error`` set.

    A failing cell writes the executed notebook (with the traceback) to ``<report>.ipynb``.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    nb.metadata["kernelspec"]["name"] = kernel.kernel_name
    nb.cells.insert(0, _reset_cell(notebook.parent))
    fd, partial = tempfile.mkstemp(dir=out_dir, prefix=f".{report}.", suffix=".ipynb")
    os.close(fd)
    try:
        executed = pm.execute_notebook(
            nb,
            partial,
            parameters=injected,
            kernel_name=kernel.kernel_name,
            language="python",
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=str(notebook.parent),
            execution_timeout=timeout,
            start_timeout=kernel.startup_timeout,
            engine_name=_ENGINE,
            km=kernel.manager(),
            report_kernel=kernel,
        )
    except PapermillExecutionError as exc:
        kernel.discard()  # the next report gets a fresh kernel
        failed = _clean(nbformat.read(partial, as_version=4))
        ipynb_path = output_path(out_dir, report, ".ipynb")
        _write_atomic(ipynb_path, nbformat.writes(failed))
        result.ipynb = result.outputs["ipynb"] = ipynb_path
        result.error = _error_summary(exc)
        return None
    except Exception as exc:
        kernel.discard()
        result.error = _error_summary(exc)
        raise RenderError(f"{notebook.name} ({report}): {result.error}", result) from exc
    finally:
        Path(partial).unlink(missing_ok=True)
    kernel.reports += 1
    return _clean(executed)
