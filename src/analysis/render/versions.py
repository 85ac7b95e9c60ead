"""What a rendered page depends on, as short hashes: the data version and the inputs' versions.

- :func:`data_version`: the datasets' version, a sha256 over MANIFEST.json's record of the table
  files (name, sha256) and its format. Rebuilding identical data gives the same version (the
  manifest's other fields, the DuckDB file's random id, the build time, do not count).
- :func:`reference_version`: the editable reference files (``data/reference``) that reports may
  read directly (labels, taxonomies, topic rules).
- :func:`file_version`: one file's bytes (a notebook).
- :func:`code_version`: the package version plus a hash of the package's code and the
  renderer's assets, so a fix in an analysis or in how pages are made re-renders the reports.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

SHORT = 8


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.hexdigest()


def data_version(data_dir: Path) -> str:
    """The datasets' version (hex sha256); raises OSError/ValueError if there is no manifest."""
    from analysis.store import read_manifest

    manifest = read_manifest(Path(data_dir))
    files = manifest.get("files") or {}
    entries = sorted(
        (name, str(entry.get("sha256")))
        for name, entry in files.items()
        if isinstance(entry, dict) and entry.get("kind", "parquet") == "parquet"
    )
    if not entries:  # an unusual manifest: fall back to its bytes
        return hashlib.sha256((Path(data_dir) / "MANIFEST.json").read_bytes()).hexdigest()
    record = {"format": manifest.get("format"), "files": entries}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def short(version: str | None) -> str:
    return (version or "unknown")[:SHORT]


def file_version(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def folder_version(folder: Path, patterns: tuple[str, ...] = ("*",)) -> str:
    """A hash of every file under ``folder`` (relative names and bytes); "" when it is absent."""
    folder = Path(folder)
    if not folder.is_dir():
        return ""
    files = sorted({p for pat in patterns for p in folder.rglob(pat) if p.is_file()})
    parts: list[bytes] = []
    for p in files:
        if any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts
        ):
            continue
        parts += [p.relative_to(folder).as_posix().encode(), p.read_bytes()]
    return _digest(parts)


def reference_version() -> str:
    from analysis import paths

    return folder_version(paths.reference_dir())


@lru_cache(maxsize=1)
def code_version() -> str:
    """``analysis.__version__`` plus a hash of the package's code and the renderer's assets.

    Reports import the analysis package, so a change to any of its modules (or to how pages
    are made) counts as a change of every report's inputs.
    """
    import analysis

    package = Path(analysis.__file__).resolve().parent
    code = folder_version(package, ("*.py", "*.js", "*.css"))
    return f"{analysis.__version__}+{code[:12]}"
