"""The meeting's head: title parts, observers, previous minutes and the designated signer."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from analysis import jpdate

RE_TITLE = re.compile(r"議事録|会議録|要点記録")
_NUM = r"[0-9]+|[〇一二三四五六七八九十百]+"
RE_SESSION = re.compile(rf"第\s*(?P<n>{_NUM})\s*回")
RE_FISCAL = re.compile(rf"(?:令和|平成|昭和)\s*(?:元|{_NUM})\s*年度|[0-9]{{4}}\s*年度")
RE_TITLE_TAIL = re.compile(r"(?:議事録|会議録|要点記録).*$")
RE_EMPTY_PARENS = re.compile(r"[（(]\s*[）)]")
RE_SPACES = re.compile(r"[\s\u3000]+")

_NAME = r"[\u4e00-\u9fff\u3005ァ-ヶー]{1,6}?"
_ROLE = r"(?:副会長|会長|委員)"
RE_PREVIOUS = re.compile(
    r"前回(?:の)?(?:議事録|会議録)?[（(](?P<prev>[^）)]+)[）)](?:の)?(?:議事録|会議録)?"
)
RE_SIGNED_BY = re.compile(rf"(?P<name>{_NAME}){_ROLE}が署名")
RE_DESIGNATED = (
    re.compile(rf"(?P<name>{_NAME}){_ROLE}(?:が|を)(?:指名|署名委員)"),
    re.compile(rf"署名委員(?:は|に|として)[、,]?(?P<name>{_NAME}){_ROLE}"),
)
RE_OBSERVERS = re.compile(r"(?P<n>[0-9]+|[一二三四五六七八九十]+)\s*(?:名|人)")
NONE_WORDS = ("なし", "無し", "いない", "-", "ー", "―")


@dataclass(frozen=True)
class TitleParts:
    fiscal_year: int | None
    session: int | None
    council: str | None  # the council's name with the municipality still in front, if written


def title_parts(title: str) -> TitleParts:
    """``令和３年度第１回多摩市…審議会議事録（要点記録）`` -> (2021, 1, 多摩市…審議会).

    Full-width and kanji numerals, ``元年度`` and spaces anywhere are read; the era and session
    may stand before the council's name or in parentheses after it.
    """
    norm = RE_SPACES.sub("", unicodedata.normalize("NFKC", title))
    fiscal_year = None
    if m := RE_FISCAL.search(norm):
        fiscal_year = jpdate.parse_fiscal_year(m.group(0))
    session = None
    if m := RE_SESSION.search(norm):
        session = jpdate.to_int(m.group("n"))
    council = RE_TITLE_TAIL.sub("", norm)
    council = RE_SESSION.sub("", RE_FISCAL.sub("", council))
    council = RE_EMPTY_PARENS.sub("", council).strip("・ 　")
    return TitleParts(fiscal_year, session, council or None)


def observers(text: str) -> int | None:
    """``なし`` -> 0, ``2名`` / ``3人`` / ``三名`` -> the number; None when unreadable."""
    t = unicodedata.normalize("NFKC", text).strip()
    if t.startswith(NONE_WORDS) or t in ("0", "0名", "0人"):
        return 0
    if m := RE_OBSERVERS.search(t):
        return jpdate.to_int(m.group("n"))
    return None


def previous_minutes(text: str) -> tuple[str | None, str | None]:
    """(earlier minutes confirmed, member who signed them) from the 前回議事録 paragraph."""
    prev = m.group("prev") if (m := RE_PREVIOUS.search(text)) else None
    signed = m.group("name") if (m := RE_SIGNED_BY.search(text)) else None
    return prev, signed


def designated_signer(text: str) -> str | None:
    for rx in RE_DESIGNATED:
        if m := rx.search(text):
            return m.group("name")
    return None
