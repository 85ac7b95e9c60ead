"""analysis.load(): the notebooks' way in."""

from __future__ import annotations

import shutil

import pandas as pd
import polars as pl
import pytest

from analysis import load, paths
from analysis.datasets import DatasetsMissing
from analysis.schema import TABLE_NAMES


def test_load_returns_every_table_as_polars(seed_build):
    t = load(seed_build)
    assert set(t) == set(TABLE_NAMES)
    assert all(isinstance(df, pl.DataFrame) for df in t.values())


def test_load_pandas(seed_build):
    t = load(seed_build, backend="pandas")
    assert isinstance(t["consultations"], pd.DataFrame)
    assert len(t["consultations"]) == 10


def test_load_rejects_unknown_backend(seed_build):
    with pytest.raises(ValueError, match="backend must be"):
        load(seed_build, backend="spark")


def test_load_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(DatasetsMissing, match="council build"):
        load(tmp_path / "nothing", build_if_missing=False)


def test_load_builds_default_folders_when_missing(tmp_path, monkeypatch, raw_copy):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    raw_copy.rename(home / "data" / "raw")
    shutil.copytree(paths.reference_dir(), home / "data" / "reference")
    monkeypatch.setenv("COUNCIL_HOME", str(home))
    t = load()
    assert t["meetings"]["meeting_id"].to_list() == ["tama-2020-09"]
    assert (home / "data" / "processed" / "MANIFEST.json").is_file()
