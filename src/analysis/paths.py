"""The one module that knows where the project's folders are.

Every other module asks here; nothing else builds paths from ``__file__``.
The root can be moved with the ``COUNCIL_HOME`` environment variable (tests and
scheduled jobs use it to point at a scratch copy).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The folder that holds ``data/``, ``notebooks/`` and ``reports/``."""
    env = os.environ.get("COUNCIL_HOME")
    if env:
        return Path(env).resolve()
    # src/analysis/paths.py -> project root is two levels above the package.
    return PACKAGE_DIR.parent.parent


def data_dir() -> Path:
    return project_root() / "data"


def raw_dir() -> Path:
    return data_dir() / "raw"


def processed_dir() -> Path:
    return data_dir() / "processed"


def reference_dir() -> Path:
    """Editable reference files (organisations, taxonomies, coding rules)."""
    env = os.environ.get("COUNCIL_REFERENCE")
    if env:
        return Path(env).resolve()
    return data_dir() / "reference"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def reports_dir() -> Path:
    return project_root() / "reports"


def sources_csv(raw: Path | None = None) -> Path:
    return (raw or raw_dir()) / "sources.csv"
