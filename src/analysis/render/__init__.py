"""Rendering report notebooks into self-contained HTML reports that need no network.

- :func:`run_notebook` runs one jupytext py:percent notebook with checked parameters and writes
  ``<out>/<name>.ipynb`` and ``<out>/<name>.html``;
- :class:`ReportKernel` keeps one kernel for many reports (namespace wiped between them);
- :func:`render_schedule` renders what ``reports/schedule.yml`` lists, one failure not stopping
  the others; :func:`summarize` words the outcome;
- :mod:`analysis.render.runs` (``council reports``): a folder per run, ``latest``, an index, only
  the reports whose inputs changed, and the exit-code contract (docs/scheduling.md);
- :mod:`analysis.render.slides` (``council slides``): offline reveal.js decks;
- :mod:`analysis.render.page`, :mod:`~analysis.render.fonts`, :mod:`~analysis.render.browser`:
  the embedded Japanese font, the A4 print sheet and title block, PDFs with headless Chromium.

Importing this package is cheap; papermill and nbconvert are imported when a report runs.
"""

from __future__ import annotations

from analysis.render.naming import ReportNameError, report_name, safe_component
from analysis.render.notebook import (
    NotebookExecutionError,
    RenderError,
    RenderResult,
    ReportKernel,
    notebook_parameters,
    run_notebook,
)
from analysis.render.parameters import Parameter, ParameterError
from analysis.render.schedule import (
    FOR_EACH,
    Schedule,
    ScheduleError,
    check_schedule,
    load_schedule,
    render_schedule,
    summarize,
)

__all__ = [
    "FOR_EACH",
    "NotebookExecutionError",
    "Parameter",
    "ParameterError",
    "RenderError",
    "RenderResult",
    "ReportKernel",
    "ReportNameError",
    "Schedule",
    "ScheduleError",
    "check_schedule",
    "load_schedule",
    "notebook_parameters",
    "render_schedule",
    "report_name",
    "run_notebook",
    "safe_component",
    "summarize",
]
