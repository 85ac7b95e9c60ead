"""What a shared report kernel puts back before each report (see :mod:`analysis.render.notebook`).

The reset cell wipes the namespace with IPython's ``reset`` and then calls :func:`restore`,
which leaves no name behind: the working folder, the Altair renderer, data transformer and
theme, the offline chart state and polars' display settings go back to their defaults.
"""

from __future__ import annotations

import gc
import os
import sys


def restore(cwd: str) -> None:
    """Put the kernel's shared state back for the next report, which runs in ``cwd``."""
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
