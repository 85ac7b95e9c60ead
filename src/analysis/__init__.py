"""Analysis workbench for the minutes of Tama City's 情報公開・個人情報保護運営審議会.

Importing this package is cheap: heavy libraries (polars, pandera, duckdb, altair)
are imported inside the functions that use them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "kwic", "load"]


def load(data_dir=None, *, backend: str = "polars", build_if_missing: bool = True):
    """Return the cleaned tables as a mapping of table name to data frame.

    See :func:`analysis.datasets.load` for the details.
    """
    from analysis.datasets import load as _load

    return _load(data_dir, backend=backend, build_if_missing=build_if_missing)


def kwic(keyword: str, data_dir=None, **kwargs):
    """Keyword in context over the utterances: each hit with its speaker, 諮問 and source line.

    See :func:`analysis.words.kwic` for the options (``width``, ``kinds``, ``regex``).
    """
    from analysis.words import kwic_default

    return kwic_default(keyword, data_dir, **kwargs)
