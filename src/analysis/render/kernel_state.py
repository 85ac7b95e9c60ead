"""What a shared report kernel puts back before each report (see :mod:`analysis.render.notebook`).

The reset cell wipes the namespace with IPython's ``reset`` and then calls :func:`restore`,
which leaves no name behind: the working folder, the Altair renderer, data transformer and
theme, the offline chart state and polars' display settings go back to their defaults. The
first time, it also imports the modules report notebooks use (:data:`PRELOAD`) and opens the
Sudachi dictionary (memory-mapped, about 0.1 s), so that the first report of a batch pays for
every import and load, as it pays for the kernel's start, and a further report only for its own
work.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

PRELOAD = (
    "polars",
    "altair",
    "analysis.analyses",
    "analysis.charts",
    "analysis.crosstab",
    "analysis.report_helpers",
    "analysis.topics",
    "analysis.words",
)
"""Modules the report notebooks import, imported once per kernel by :func:`restore`."""

_preloaded = False


def restore(cwd: str) -> None:
    """Put the kernel's shared state back for the next report, which runs in ``cwd``."""
    global _preloaded
    if not _preloaded:  # the first report of this kernel
        for name in PRELOAD:
            importlib.import_module(name)
        sys.modules["analysis.words"].dictionary()
        _preloaded = True
    os.chdir(cwd)
    alt = sys.modules.get("altair")
    if alt is not None:
        charts = sys.modules.get("analysis.charts")
        alt.renderers.enable("default")
        alt.data_transformers.enable("default")
        alt.theme.enable(charts.THEME if charts is not None else "default")
        if charts is not None:
            charts.reset_offline()
    pl = sys.modules.get("polars")
    if pl is not None:
        pl.Config.restore_defaults()
    # What is alive now (modules, the tables read once per kernel) outlives the next reports:
    # leave it out of their garbage collections, which IPython runs at every reset.
    gc.freeze()
