"""legal_regime: which law governed each meeting's date."""

from __future__ import annotations

from datetime import date

import polars as pl

from analysis.analyses import legal_regime
from analysis.tables import empty, to_frame

REGIMES = pl.DataFrame(
    {
        "regime": ["municipal_ordinance", "appi_2023"],
        "label_ja": ["多摩市個人情報保護条例", "改正個人情報保護法"],
        "start": [None, date(2023, 4, 1)],
        "end": [date(2023, 3, 31), None],
    },
    schema={"regime": pl.String, "label_ja": pl.String, "start": pl.Date, "end": pl.Date},
)


def meetings() -> pl.DataFrame:
    return to_frame(
        "meetings",
        [
            {"meeting_id": "a", "fiscal_year": 2020, "date": date(2020, 12, 15)},
            {"meeting_id": "b", "fiscal_year": 2022, "date": date(2023, 3, 31)},
            {"meeting_id": "c", "fiscal_year": 2023, "date": date(2023, 4, 1)},
            {"meeting_id": "d", "fiscal_year": 2024, "date": None},
        ],
    )


def test_before_and_after_the_revised_act():
    r = legal_regime(meetings(), REGIMES)
    assert r.columns == [
        "meeting_id",
        "date",
        "fiscal_year",
        "regime",
        "regime_label_ja",
        "regime_start",
        "regime_end",
    ]
    assert r.select("meeting_id", "regime").rows() == [
        ("a", "municipal_ordinance"),
        ("b", "municipal_ordinance"),  # the last day of the ordinance
        ("c", "appi_2023"),  # the first day of the Act
        ("d", None),  # no date, no regime
    ]
    assert r["regime_label_ja"][2] == "改正個人情報保護法"
    assert r["regime_end"][0] == date(2023, 3, 31)


def test_date_in_a_gap_between_regimes_is_null():
    regimes = pl.DataFrame(
        {
            "regime": ["old", "new"],
            "label_ja": ["旧", "新"],
            "start": [date(2000, 1, 1), date(2022, 1, 1)],
            "end": [date(2019, 12, 31), None],
        }
    )
    r = legal_regime(meetings(), regimes)
    assert r["regime"].to_list() == [None, "new", "new", None]


def test_empty_meetings_and_regimes():
    assert legal_regime(empty("meetings"), REGIMES).height == 0
    r = legal_regime(meetings(), REGIMES.head(0))
    assert r.height == 4 and r["regime"].is_null().all()
