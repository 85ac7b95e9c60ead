"""Japanese numerals, era dates, fiscal years and clock times (pure functions).

Everything here works on plain strings and has no state:

* :func:`to_int` reads ASCII, full-width (``１２``) and kanji numerals (``二十三``,
  ``百五``, the digit-by-digit form ``二〇二〇``, and ``元`` = 1 for the first year of an era).
* :data:`ERAS` maps the modern era names to the western year of their first year.
* :func:`parse_date` finds the first date (``令和2年12月15日（火）``, ``平成三十一年四月二十五日``,
  ``2020年12月15日``) in a text.
* :func:`parse_fiscal_year` finds ``令和2年度`` and friends.
* :func:`parse_time` and :func:`parse_time_range` read the clock times of the minutes' header.

Conventions chosen for the 12-hour clock (the council writes noon as ``午前12時``):

* ``午前12時`` is 12:00 (noon), ``午前0時`` is 00:00.
* ``午後0時`` is 12:00, and ``午後12時`` is also read as 12:00.  In strict usage
  ``午後12時`` is midnight, but that form does not occur in these minutes and a meeting
  ending at noon is by far the likelier reading, so both 12 o'clocks mean noon here.
* ``正午`` is 12:00.

Era boundaries are not enforced: ``平成31年5月1日`` (written after the era changed, as
documents prepared in advance sometimes do) gives 2019-05-01.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

__all__ = [
    "ERAS",
    "parse_date",
    "parse_fiscal_year",
    "parse_time",
    "parse_time_range",
    "to_int",
]

#: Era name -> western year of the era's first year (year N = start + N - 1).
ERAS: Final[dict[str, int]] = {
    "明治": 1868,
    "大正": 1912,
    "昭和": 1926,
    "平成": 1989,
    "令和": 2019,
}

_KANJI_DIGITS: Final[dict[str, int]] = {
    "〇": 0,
    "○": 0,  # U+25CB WHITE CIRCLE, often typed for zero in 二○二○
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL_UNITS: Final[dict[str, int]] = {"十": 10, "百": 100, "千": 1000}
_LARGE_UNITS: Final[dict[str, int]] = {"万": 10_000}

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９，", "0123456789,")
_ASCII_NUMBER = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")

_SP = r"[ \u3000\t]*"
_NUM = r"[0-9０-９〇○零一二三四五六七八九十百千]+"
_ERA = "|".join(ERAS)
_WESTERN_YEAR = r"(?<![0-9０-９])(?:[0-9０-９]{4}|[〇○零一二三四五六七八九]{4})"

_DATE_RE = re.compile(
    rf"(?:(?P<era>{_ERA}){_SP}(?P<era_year>元|{_NUM})|(?P<western>{_WESTERN_YEAR}))"
    rf"{_SP}年{_SP}(?P<month>{_NUM}){_SP}月{_SP}(?P<day>{_NUM}){_SP}日"
)
_FISCAL_RE = re.compile(
    rf"(?:(?P<era>{_ERA}){_SP}(?P<era_year>元|{_NUM})|(?P<western>{_WESTERN_YEAR}))"
    rf"{_SP}年{_SP}度"
)

_HOUR = r"[0-9０-９〇零一二三四五六七八九十]+"
_TIME_RE = re.compile(
    rf"(?P<noon>正午)"
    rf"|(?:(?P<mer>午前|午後){_SP})?(?<![0-9０-９])(?P<h>{_HOUR}){_SP}時(?![間限])"
    rf"(?:{_SP}(?P<half>半)|{_SP}(?P<mi>{_HOUR}){_SP}分)?"
    rf"|(?:(?P<mer2>午前|午後){_SP})?(?<![0-9０-９])(?P<h2>[0-9０-９]{{1,2}})"
    rf"[:：](?P<mi2>[0-9０-９]{{2}})(?![0-9０-９])"
)
_ASCII_OR_FULLWIDTH_DIGITS = re.compile(r"[0-9０-９]")
_RANGE_SEP = re.compile(rf"{_SP}(?:から|より|[～〜~\-－‐―–—]){_SP}")
_UNTIL = re.compile(rf"{_SP}まで")


def to_int(s: str) -> int:
    """Read a non-negative integer written in ASCII, full-width or kanji numerals.

    >>> to_int("１２"), to_int("二十三"), to_int("百五"), to_int("二〇二〇"), to_int("元")
    (12, 23, 105, 2020, 1)

    Kanji numerals are read positionally when they contain 十, 百, 千 or 万 and digit by
    digit otherwise (``二〇二〇`` -> 2020).  ASCII digits may carry thousands separators
    (``1,000``).  Anything else raises :class:`ValueError`.
    """
    if not isinstance(s, str):
        raise TypeError(f"to_int expects a str, got {type(s).__name__}")
    t = s.strip().translate(_FULLWIDTH_DIGITS)
    if not t:
        raise ValueError(f"not a number: {s!r}")
    if _ASCII_NUMBER.fullmatch(t):
        return int(t.replace(",", ""))
    if t == "元":
        return 1
    if all(ch in _KANJI_DIGITS for ch in t):
        value = 0
        for ch in t:
            value = value * 10 + _KANJI_DIGITS[ch]
        return value
    return _positional_kanji(t, s)


def _positional_kanji(t: str, original: str) -> int:
    """Read a kanji numeral with unit characters (十, 百, 千, 万)."""
    total = 0  # completed 万-groups
    section = 0  # value below 万 being built
    digit: int | None = None
    last_small = 10**9  # the units inside a section must descend (千 > 百 > 十)
    last_large = 10**9
    for ch in t:
        if ch in _KANJI_DIGITS:
            d = _KANJI_DIGITS[ch]
            if digit is not None or d == 0:
                raise ValueError(f"not a number: {original!r}")
            digit = d
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_small:
                raise ValueError(f"not a number: {original!r}")
            section += (digit if digit is not None else 1) * unit
            digit = None
            last_small = unit
        elif ch in _LARGE_UNITS:
            unit = _LARGE_UNITS[ch]
            group = section + (digit or 0)
            if unit >= last_large or group == 0:
                raise ValueError(f"not a number: {original!r}")
            total += group * unit
            section, digit, last_small, last_large = 0, None, 10**9, unit
        else:
            raise ValueError(f"not a number: {original!r}")
    return total + section + (digit or 0)


def _year_from(m: re.Match[str]) -> int:
    if m.group("era"):
        n = to_int(m.group("era_year"))
        if n < 1:
            raise ValueError(f"invalid era year {m.group(0)!r}")
        return ERAS[m.group("era")] + n - 1
    return to_int(m.group("western"))


def parse_date(s: str) -> datetime.date | None:
    """Return the first date written in ``s``, or None when there is none.

    Understands era dates (``令和2年12月15日（火）``, ``令和元年５月７日``,
    ``平成三十一年四月二十五日``) and western ones (``2020年12月15日``), with ASCII,
    full-width or kanji numerals and spaces (also U+3000) between the parts.  A date that
    does not exist (``2月30日``) raises :class:`ValueError` naming the text.
    """
    m = _DATE_RE.search(s)
    if m is None:
        return None
    try:
        return datetime.date(_year_from(m), to_int(m.group("month")), to_int(m.group("day")))
    except ValueError as exc:
        raise ValueError(f"invalid date {m.group(0)!r} in {s!r}: {exc}") from None


def parse_fiscal_year(s: str) -> int | None:
    """Return the western year of the first fiscal year (年度) in ``s``, or None.

    >>> parse_fiscal_year("令和2年度第9回"), parse_fiscal_year("令和元年度")
    (2020, 2019)
    """
    m = _FISCAL_RE.search(s)
    if m is None:
        return None
    try:
        return _year_from(m)
    except ValueError as exc:
        raise ValueError(f"invalid fiscal year {m.group(0)!r} in {s!r}: {exc}") from None


def _clock(hour: int, minute: int, meridiem: str | None, text: str) -> str:
    if not 0 <= minute <= 59:
        raise ValueError(f"invalid minute in {text!r}")
    if meridiem is None:
        if not 0 <= hour <= 23:
            raise ValueError(f"invalid hour in {text!r}")
    elif not 0 <= hour <= 12:
        raise ValueError(f"invalid hour for {meridiem} in {text!r}")
    elif meridiem == "午後" and hour != 12:
        hour += 12  # 午後0時 -> 12:00; 午後12時 stays 12:00 (see the module docstring)
    # 午前12時 is noon (12:00) as this council writes it; 午前0時 is 00:00.
    return f"{hour:02d}:{minute:02d}"


def _match_parts(m: re.Match[str]) -> tuple[int, int, str | None]:
    """(hour, minute, meridiem) as written, before the 12-hour clock is applied."""
    if m.group("noon"):
        return 12, 0, None
    if m.group("h") is not None:
        hour = to_int(m.group("h"))
        if m.group("half"):
            minute = 30
        elif m.group("mi") is not None:
            minute = to_int(m.group("mi"))
        else:
            minute = 0
        return hour, minute, m.group("mer")
    return to_int(m.group("h2")), to_int(m.group("mi2")), m.group("mer2")


def _time_of(m: re.Match[str]) -> str:
    hour, minute, meridiem = _match_parts(m)
    return _clock(hour, minute, meridiem, m.group(0))


def _times(s: str) -> list[re.Match[str]]:
    """The time expressions in ``s``, in order.

    A kanji hour with neither 午前/午後 nor minutes is not a time: ``一時預かり`` and
    ``一時的`` mean "temporary".
    """
    return [
        m
        for m in _TIME_RE.finditer(s)
        if not (
            m.group("h") is not None
            and m.group("mer") is None
            and m.group("mi") is None
            and m.group("half") is None
            and not _ASCII_OR_FULLWIDTH_DIGITS.search(m.group("h"))
        )
    ]


def parse_time(s: str) -> str:
    """Return the first clock time in ``s`` as ``'HH:MM'``.

    Understands ``午前10時00分``, ``午後2時``, ``午後1時30分``, ``午後３時半``, ``14時30分``,
    ``14:30``, ``正午`` with ASCII, full-width or kanji numerals (see the module
    docstring for the 12 o'clock conventions).  ``時間`` (a duration) is not a time, nor
    is a kanji hour with neither 午前/午後 nor minutes (``一時預かり`` = "temporary").
    Raises :class:`ValueError` when there is no time in ``s`` or it is out of range.
    """
    matches = _times(s)
    if not matches:
        raise ValueError(f"no time in {s!r}")
    return _time_of(matches[0])


def parse_time_range(s: str) -> tuple[str | None, str | None]:
    """Return ``(start, end)`` as ``'HH:MM'`` strings for the first time range in ``s``.

    Understands ``午前10時00分から午前12時00分まで``, ``午後２時から午後４時１５分まで``,
    ``14:00～16:00`` and ``午前10時～正午``.  An end written without 午前/午後 takes the
    start's half of the day when that keeps it at or after the start (``午後2時から4時``
    -> 16:00), else the afternoon.  A lone time is the start, unless it is followed by
    ``まで`` (then it is the end); missing parts are None.
    """
    matches = _times(s)
    if not matches:
        return None, None
    first = matches[0]
    start = _time_of(first)
    sep = _RANGE_SEP.match(s, first.end())
    if sep is not None:
        # After a separator any time expression is the end, a bare kanji hour included.
        second = _TIME_RE.match(s, sep.end())
        if second is not None:
            return start, _end_time(first, second)
    if _UNTIL.match(s, first.end()):
        return None, start
    return start, None


def _end_time(first: re.Match[str], second: re.Match[str]) -> str:
    end = _time_of(second)
    hour, minute, meridiem = _match_parts(second)
    start_hour, start_minute, start_meridiem = _match_parts(first)
    if meridiem is not None or second.group("noon") or start_meridiem is None or hour > 12:
        return end
    start = _clock(start_hour, start_minute, start_meridiem, first.group(0))
    for guess in (start_meridiem, "午後"):
        candidate = _clock(hour, minute, guess, second.group(0))
        if candidate >= start:
            return candidate
    return end
