"""The raw folder's provenance record, ``data/raw/sources.csv``.

Raw files are immutable snapshots: each is listed with its title, source url (where known),
retrieved date and sha256. A build checks every listed hash and stops, naming the file, when a raw
file has changed; an update is a new file with a new row, never an edit.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from analysis.paths import sources_csv

COLUMNS = ("file", "title", "source_url", "retrieved", "sha256", "note")
RAW_SUFFIXES = (".txt", ".pdf", ".text", ".csv.txt")
IGNORED = ("sources.csv", "README.md", "README.txt")


class SourcesError(Exception):
    """sources.csv disagrees with the raw folder. One line naming the file."""


@dataclass(frozen=True)
class Source:
    file: str
    title: str
    source_url: str
    retrieved: str
    sha256: str
    note: str = ""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sources(raw_dir: Path) -> dict[str, Source]:
    path = sources_csv(raw_dir)
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("file", "sha256") if c not in (reader.fieldnames or [])]
        if missing:
            raise SourcesError(f"{path}: missing column(s) {', '.join(missing)}")
        out = {}
        for row in reader:
            src = Source(**{c: (row.get(c) or "").strip() for c in COLUMNS})
            out[src.file] = src
    return out


def raw_files(raw_dir: Path) -> list[Path]:
    """Every file of minutes in the raw folder (recursively), in a stable order."""
    files = []
    for p in sorted(raw_dir.rglob("*")):
        if (
            not p.is_file()
            or p.name in IGNORED
            or any(part.startswith(".") for part in p.relative_to(raw_dir).parts)
        ):
            continue
        files.append(p)
    return files


def verify(raw_dir: Path, files: list[Path]) -> list[str]:
    """Check the hashes in sources.csv. Raise on a changed or missing file; return notes on
    files that are not listed (they are built, with an info diagnostic)."""
    recorded, unlisted = check_listed(raw_dir, files)
    for name, sha256 in recorded.items():
        check_hash(raw_dir, name, sha256_of(raw_dir / name), sha256)
    return unlisted


def check_listed(raw_dir: Path, files: list[Path]) -> tuple[dict[str, str], list[str]]:
    """The part of :func:`verify` that reads no file: raise if a listed file is missing.

    Returns (the recorded sha256 of each listed file that has one, the files not listed); the
    build compares each hash with the one it computes anyway as it reads the file
    (:func:`check_hash`), instead of reading every file twice.
    """
    sources = read_sources(raw_dir)
    rel = [p.relative_to(raw_dir).as_posix() for p in files]
    present = set(rel)
    for name in sources:
        if name not in present:
            raise SourcesError(
                f"{raw_dir / name}: listed in sources.csv but missing from the raw folder"
            )
    recorded = {name: src.sha256 for name, src in sources.items() if src.sha256}
    return recorded, [name for name in rel if name not in sources]


def check_hash(raw_dir: Path, name: str, actual: str, recorded: str) -> None:
    """Raise :class:`SourcesError` if the file ``name`` no longer has its recorded sha256."""
    if actual != recorded:
        raise SourcesError(
            f"{raw_dir / name}: changed since it was recorded in sources.csv "
            f"(sha256 {actual[:12]}…, recorded {recorded[:12]}…); raw files are never "
            "edited — add a new version as a new file with its own row"
        )


def add_source(
    raw_dir: Path,
    file: Path,
    title: str = "",
    source_url: str = "",
    retrieved: str = "",
    note: str = "",
) -> Source:
    """Record a new raw file in sources.csv (rows stay sorted by file name)."""
    sources = read_sources(raw_dir)
    name = file.resolve().relative_to(raw_dir.resolve()).as_posix()
    src = Source(name, title, source_url, retrieved, sha256_of(file), note)
    sources[name] = src
    path = sources_csv(raw_dir)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for key in sorted(sources):
            s = sources[key]
            w.writerow([s.file, s.title, s.source_url, s.retrieved, s.sha256, s.note])
    tmp.replace(path)
    return src
