"""Shared fixtures: the seed minutes, a scratch raw folder, a built dataset folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import paths

SEED_NAME = "tama_2020-12-15_r02-09_minutes.txt"
SEED = paths.raw_dir() / SEED_NAME
SEED_SHA256 = "7921c04f338dec28ed3411828114baed12bb6a501018b8df051d3645985d284e"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    return SEED


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A scratch raw folder holding the seed and its sources.csv."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy2(SEED, raw / SEED_NAME)
    shutil.copy2(paths.sources_csv(), raw / "sources.csv")
    return raw


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory) -> Path:
    """The seed built once for the session (read-only for tests)."""
    from analysis.build import build

    out = tmp_path_factory.mktemp("seed_build") / "processed"
    build(paths.raw_dir(), out, progress=False, workers=1)
    return out


@pytest.fixture(scope="session")
def seed_tables(seed_build):
    from analysis import load

    return load(seed_build)
