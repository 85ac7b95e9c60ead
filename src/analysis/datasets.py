"""Reading the cleaned datasets: :func:`load` for notebooks and analyses."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from analysis import paths
from analysis.schema import TABLE_NAMES


class DatasetsMissing(Exception):
    """No datasets in the folder, and building them was not asked for."""


def load(
    data_dir: str | Path | None = None,
    *,
    backend: Literal["polars", "pandas"] = "polars",
    build_if_missing: bool = True,
    tables: tuple[str, ...] | None = None,
):
    """Return ``{table name: DataFrame}`` for the cleaned datasets.

    ``data_dir`` defaults to ``data/processed``. When it holds no datasets and ``build_if_missing``
    is true, they are built first from ``data/raw`` (the default folders only). ``backend`` is
    ``"polars"`` (default) or ``"pandas"``. Tables are read through the folder's manifest, so a
    build running at the same time is never seen half-written.
    """
    from analysis import store

    if backend not in ("polars", "pandas"):
        raise ValueError(f"backend must be 'polars' or 'pandas', not {backend!r}")
    out = Path(data_dir) if data_dir else paths.processed_dir()
    if not (out / store.MANIFEST_NAME).is_file():
        if not build_if_missing:
            raise DatasetsMissing(f"{out}: no datasets here; run `council build` first")
        if data_dir is not None:  # only the default folders are built on demand
            raise DatasetsMissing(f"{out}: no datasets here; run `council build --out {out}` first")
        from analysis.build import build

        build(paths.raw_dir(), out, progress=False)
    names = tables or tuple(n for n in TABLE_NAMES if n in store.list_tables(out))
    frames = {n: store.read_table(out, n) for n in names}
    if backend == "pandas":
        return {n: df.to_pandas() for n, df in frames.items()}
    return frames
