"""Which legal regime governed a meeting: the city's ordinance, or the revised national Act.

From 2023-04-01 the revised Act on the Protection of Personal Information (個人情報保護法,
令和3年改正) governs local governments directly, and the council is no longer consulted case by
case as it was under 多摩市個人情報保護条例. Comparisons across that date compare two legal
settings; the periods live in the editable ``data/reference/legal_regimes.csv``.
"""

from __future__ import annotations

import polars as pl


def legal_regime(meetings: pl.DataFrame, regimes: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per meeting with the regime in force on its date.

    ``regimes`` (regime, label_ja, start, end; null start/end = open) defaults to
    ``data/reference/legal_regimes.csv``; both ends are inclusive. A meeting without a date,
    or dated outside every period, gets a null regime.

    Columns: meeting_id, date, fiscal_year, regime, regime_label_ja, regime_start, regime_end.
    """
    if regimes is None:
        from analysis.analyses.reference_data import load_legal_regimes

        regimes = load_legal_regimes()
    periods = regimes.select(
        "regime",
        regime_label_ja="label_ja",
        regime_start=pl.col("start").cast(pl.Date),
        regime_end=pl.col("end").cast(pl.Date),
    ).with_row_index("_order")
    base = meetings.select("meeting_id", "date", "fiscal_year").with_row_index("_row")
    matched = (
        base.drop_nulls("date")
        .join(periods, how="cross")
        .filter(
            (pl.col("regime_start").is_null() | (pl.col("date") >= pl.col("regime_start")))
            & (pl.col("regime_end").is_null() | (pl.col("date") <= pl.col("regime_end")))
        )
        .sort("_row", "_order")
        .unique("_row", keep="first")
        .select("_row", "regime", "regime_label_ja", "regime_start", "regime_end")
    )
    return (
        base.join(matched, on="_row", how="left")
        .sort("_row")
        .select(
            "meeting_id",
            "date",
            "fiscal_year",
            "regime",
            "regime_label_ja",
            "regime_start",
            "regime_end",
        )
    )
