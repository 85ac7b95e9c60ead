"""Tests for analysis.jpdate: numerals, era dates, fiscal years and clock times."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.jpdate import (
    ERAS,
    parse_date,
    parse_fiscal_year,
    parse_time,
    parse_time_range,
    to_int,
)

# --------------------------------------------------------------------------- to_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("１２", 12),  # full-width
        (" 7 ", 7),
        ("1,000", 1000),
        ("十二", 12),
        ("二十三", 23),
        ("百五", 105),
        ("二〇二〇", 2020),  # digit-by-digit form
        ("二○二○", 2020),  # WHITE CIRCLE typed for zero
        ("元", 1),
        ("〇", 0),
        ("十", 10),
        ("百", 100),
        ("三十一", 31),
        ("千二百三十四", 1234),
        ("二千二十", 2020),
        ("一万二千", 12000),
    ],
)
def test_to_int(text: str, expected: int) -> None:
    assert to_int(text) == expected


@pytest.mark.parametrize(
    "junk", ["", " ", "abc", "十十", "二二十", "〇十", "百十百", "1.5", "-3", "元年", "万"]
)
def test_to_int_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError):
        to_int(junk)


# --------------------------------------------------------------------------- eras


def test_eras() -> None:
    assert ERAS == {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明治元年1月1日", datetime.date(1868, 1, 1)),
        ("大正2年1月1日", datetime.date(1913, 1, 1)),
        ("昭和64年1月7日", datetime.date(1989, 1, 7)),
        ("平成元年1月8日", datetime.date(1989, 1, 8)),
        ("平成31年4月30日", datetime.date(2019, 4, 30)),
        ("令和元年5月1日", datetime.date(2019, 5, 1)),
    ],
)
def test_era_year_arithmetic(text: str, expected: datetime.date) -> None:
    assert parse_date(text) == expected


# --------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和2年12月15日（火）", datetime.date(2020, 12, 15)),
        ("令和元年５月７日", datetime.date(2019, 5, 7)),
        ("平成三十一年四月二十五日", datetime.date(2019, 4, 25)),
        ("2020年12月15日", datetime.date(2020, 12, 15)),
        ("２０２０年１２月１５日", datetime.date(2020, 12, 15)),
        ("二〇二〇年十二月十五日", datetime.date(2020, 12, 15)),
        ("令和 2 年 12 月 15 日", datetime.date(2020, 12, 15)),
        ("令和\u30002年\u300012月\u300015日", datetime.date(2020, 12, 15)),
        ("1 日時 令和2年12月15日（火）", datetime.date(2020, 12, 15)),
        # the first date wins
        ("令和2年12月15日及び令和3年1月19日", datetime.date(2020, 12, 15)),
    ],
)
def test_parse_date(text: str, expected: datetime.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "議事録", "12月15日", "令和2年度第9回", "令和2年12月", "第12345年1月1日"]
)
def test_parse_date_none(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text", ["令和2年2月30日", "令和2年13月1日", "令和0年1月1日", "2021年2月29日"]
)
def test_parse_date_invalid_raises_with_text(text: str) -> None:
    with pytest.raises(ValueError, match=text[:4]):
        parse_date(f"開催日 {text}")


# --------------------------------------------------------------------------- fiscal year


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和2年度", 2020),
        ("平成31年度", 2019),
        ("令和元年度", 2019),
        ("令和２年度第９回情報公開・個人情報保護運営審議会", 2020),
        ("平成三十年度", 2018),
        ("2020年度", 2020),
        ("令和 2 年度", 2020),
    ],
)
def test_parse_fiscal_year(text: str, expected: int) -> None:
    assert parse_fiscal_year(text) == expected


@pytest.mark.parametrize("text", ["", "令和2年12月15日", "年度末"])
def test_parse_fiscal_year_none(text: str) -> None:
    assert parse_fiscal_year(text) is None


# --------------------------------------------------------------------------- parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("午前10時00分", "10:00"),
        ("午後2時", "14:00"),
        ("午後1時30分", "13:30"),
        ("14時30分", "14:30"),
        ("午前12時00分", "12:00"),  # the council writes noon as 午前12時
        ("午後12時", "12:00"),  # documented choice: noon, not midnight
        ("午後0時", "12:00"),
        ("午前0時", "00:00"),
        ("午前9時5分", "09:05"),
        ("午後３時半", "15:30"),
        ("午後２時１５分", "14:15"),  # full-width
        ("午後二時三十分", "14:30"),  # kanji
        ("午前十時", "10:00"),
        ("午前 10 時 00 分", "10:00"),
        ("正午", "12:00"),
        ("14:30", "14:30"),
        ("１４：３０", "14:30"),
        ("開会 午前10時00分から", "10:00"),
    ],
)
def test_parse_time(text: str, expected: str) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "議事", "午後13時", "25時", "10時60分", "2、3時間ほど", "「一時預かり事業」", "一時的に"],
)
def test_parse_time_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


# --------------------------------------------------------------------------- parse_time_range


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("午前10時00分から午前12時00分まで", ("10:00", "12:00")),
        ("午後２時から午後４時１５分まで", ("14:00", "16:15")),
        ("14:00～16:00", ("14:00", "16:00")),
        ("14:00〜16:00", ("14:00", "16:00")),
        ("午前10時～正午", ("10:00", "12:00")),
        ("午後1時30分 から 午後3時", ("13:30", "15:00")),
        # an end without 午前/午後 takes the start's half of the day, else the afternoon
        ("午後2時から4時まで", ("14:00", "16:00")),
        ("午前10時から12時まで", ("10:00", "12:00")),
        ("午前11時から1時まで", ("11:00", "13:00")),
        ("午前10時から14時", ("10:00", "14:00")),
        # incomplete ranges
        ("午後2時から", ("14:00", None)),
        ("午後4時まで", (None, "16:00")),
        ("午前10時 開会", ("10:00", None)),
        ("時間未定", (None, None)),
        ("「地域型保育」並びに「一時預かり事業」の研修", (None, None)),
        ("十時から十二時まで", (None, None)),  # bare kanji hours are not times
        ("午前十時から十二時まで", ("10:00", "12:00")),
        ("", (None, None)),
    ],
)
def test_parse_time_range(text: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_time_range(text) == expected


def test_parse_time_range_seed_header() -> None:
    assert parse_time_range("午前10時00分から午前12時00分まで") == ("10:00", "12:00")


# --------------------------------------------------------------------------- properties

_KANJI = "〇一二三四五六七八九"


def _kanji(n: int) -> str:
    """Positional kanji numeral for 0 <= n < 100_000_000 (一 omitted before 十/百/千)."""
    if n == 0:
        return "〇"

    def below_10000(m: int) -> str:
        out = ""
        for unit, char in ((1000, "千"), (100, "百"), (10, "十")):
            d, m = divmod(m, unit)
            if d:
                out += ("" if d == 1 else _KANJI[d]) + char
        return out + (_KANJI[m] if m else "")

    high, low = divmod(n, 10_000)
    return (below_10000(high) + "万" if high else "") + below_10000(low)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=99_999_999))
def test_to_int_reads_positional_kanji(n: int) -> None:
    assert to_int(_kanji(n)) == n
    assert to_int(str(n)) == n
    assert to_int(str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == n


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=datetime.date(1989, 1, 8), max_value=datetime.date(2040, 12, 31)),
    st.booleans(),
)
def test_parse_date_round_trip(day: datetime.date, kanji: bool) -> None:
    era = "令和" if day >= datetime.date(2019, 5, 1) else "平成"
    year = day.year - ERAS[era] + 1

    def num(n: int) -> str:
        return _kanji(n) if kanji else str(n)

    year_text = "元" if year == 1 else num(year)
    assert parse_date(f"{era}{year_text}年{num(day.month)}月{num(day.day)}日") == day
    assert parse_date(f"{day.year}年{day.month}月{day.day}日") == day


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_parse_time_round_trip(hour: int, minute: int) -> None:
    expected = f"{hour:02d}:{minute:02d}"
    assert parse_time(f"{hour}時{minute}分") == expected
    assert parse_time(f"{_kanji(hour)}時{_kanji(minute)}分") == expected
    assert parse_time(expected) == expected
    if hour != 12:
        meridiem = "午前" if hour < 12 else "午後"
        assert parse_time(f"{meridiem}{hour % 12}時{minute}分") == expected
