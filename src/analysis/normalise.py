"""Repair the scars that PDF extraction leaves on the lines of the minutes (pure functions).

:func:`clean_line` repairs one line and returns a :class:`CleanLine`; it is used on every
line of large corpora, so the character work is a single ``str.translate`` with a table
built once (skipped when a search finds none of its characters, as in most lines), every
regular expression is compiled once, and a step that rarely applies is tried only after a
quick test shows that it may.  The steps:

1. Strip trailing whitespace and ``\\f``; delete zero-width characters (U+200B..U+200D,
   U+2060, U+FEFF), the soft hyphen and control characters; tabs and exotic spaces (NBSP,
   U+2000..U+200A, U+202F, U+205F, line/paragraph separators) become an ASCII space.
2. Map compatibility characters to unified ideographs: the Kangxi Radicals block
   (U+2F00..U+2FD5) and the CJK Compatibility Ideographs (U+F900..U+FAFF, plus the
   supplement U+2F800..U+2FA1F) through their NFKC mapping (only those code points: the
   rest of the line is left as written, full-width ASCII included), and the CJK Radicals
   Supplement (U+2E80..U+2EF3), which NFKC leaves alone, through the editable file
   ``data/reference/compat_characters.csv`` (columns ``char,replacement,note``).  The
   CSV holds the 113 mappings of Unicode 14.0's EquivalentUnifiedIdeograph.txt for
   U+2E81..U+2EF3 (the version of Python 3.11's ``unicodedata``), less U+2E95, whose
   equivalent changed in later Unicode versions; U+2E80 has none.
3. Remove markdown bold pairs ``**…**`` / ``__…__`` anywhere (``bold=True``), then one list
   marker at the line start: ``- ``, ``* ``, ``• ``, ``● ``, ``> ``, a heading ``#``..``######``
   followed by a space, or ``・`` directly followed by text (``・・・挙手全員・・・`` is not a
   bullet).  ``○`` is never a marker.  Exactly one level is stripped; when what is left
   would itself start with a marker (``- - x``, ``> - x``) nothing is stripped, so that
   cleaning is idempotent.  A page-number line such as ``- 3 -`` keeps its dashes.
4. Join letter-spaced words (see :func:`join_letter_spacing` for the rule).
5. Collapse runs of two or more spaces (ASCII or U+3000) to one ASCII space and strip the
   ends.  (The collapse is done before step 4 so that a second pass sees the same gaps;
   a lone U+3000 inside the line is kept.)

``CleanLine.norm`` is ``text`` after NFKC (width normalisation), for the ``*_norm`` columns.

Sequence helpers: :func:`is_page_artifact`, :func:`find_running_headers` and
:func:`find_repeated_lines`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Final

from analysis.paths import reference_dir

__all__ = [
    "COMPAT_CSV_NAME",
    "CleanLine",
    "char_class",
    "clean_line",
    "compat_table",
    "find_repeated_lines",
    "find_running_headers",
    "is_page_artifact",
    "is_page_number",
    "join_letter_spacing",
    "load_compat_characters",
    "reload_compat_table",
    "repair",
    "to_norm",
]

COMPAT_CSV_NAME: Final = "compat_characters.csv"


@dataclass(frozen=True, slots=True)
class CleanLine:
    """One repaired line.

    ``text`` is the repaired line as written (full-width characters kept), ``norm`` is
    ``text`` after NFKC, ``marker`` the list/heading marker that was removed (``''`` if
    none) and ``bold`` tells whether markdown bold markup was removed.
    """

    text: str
    norm: str
    marker: str = ""
    bold: bool = False


# --------------------------------------------------------------------------- step 1 + 2


_DELETE: Final = (
    [cp for cp in range(0x00, 0x20) if cp != 0x09]
    + list(range(0x7F, 0xA0))
    + [0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
)
_TO_SPACE: Final = [0x09, 0x00A0, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F]
_NFKC_BLOCKS: Final = ((0x2F00, 0x2FD5), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def load_compat_characters(path: Path | None = None) -> dict[str, str]:
    """Read ``compat_characters.csv`` (``char,replacement,note``) into a mapping.

    Blank rows are skipped; a row whose ``char`` or ``replacement`` is not exactly one
    code point raises :class:`ValueError` naming the file and line.
    """
    path = path or reference_dir() / COMPAT_CSV_NAME
    mapping: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"char", "replacement"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        for row in reader:
            char = (row.get("char") or "").strip()
            repl = (row.get("replacement") or "").strip()
            if not char and not repl:
                continue
            if len(char) != 1 or len(repl) != 1:
                raise ValueError(
                    f"{path}:{reader.line_num}: char and replacement must be one character "
                    f"each, got {char!r} -> {repl!r}"
                )
            mapping[char] = repl
    return mapping


def _build_table(overrides: dict[str, str]) -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for lo, hi in _NFKC_BLOCKS:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            mapped = unicodedata.normalize("NFKC", ch)
            if mapped != ch and len(mapped) == 1:
                table[cp] = mapped
    for char, repl in overrides.items():
        table[ord(char)] = repl
    for cp in _DELETE:
        table[cp] = None
    for cp in _TO_SPACE:
        table[cp] = " "
    return table


def char_class(codepoints: Iterable[int]) -> str:
    """A regular-expression character class of ``codepoints``, written as ranges."""
    ranges: list[list[int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    members = (
        re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in ranges
    )
    return "[" + "".join(members) + "]"


_table: dict[int, str | None] | None = None
# A character the table changes: most lines hold none, and a search is cheaper than translate.
_table_hit: re.Pattern[str] | None = None


def compat_table() -> dict[int, str | None]:
    """The ``str.translate`` table of steps 1 and 2, built on first use.

    The CSV is read from :func:`analysis.paths.reference_dir`; when it is missing a
    warning is issued and only the NFKC-derived blocks are mapped.
    """
    global _table, _table_hit
    if _table is None:
        path = reference_dir() / COMPAT_CSV_NAME
        if path.exists():
            overrides = load_compat_characters(path)
        else:
            warnings.warn(
                f"{path} not found: CJK radicals-supplement characters will not be mapped",
                RuntimeWarning,
                stacklevel=2,
            )
            overrides = {}
        _table = _build_table(overrides)
        _table_hit = re.compile(char_class(_table))
    return _table


def reload_compat_table() -> dict[int, str | None]:
    """Forget the cached table (e.g. after editing the CSV) and build it again."""
    global _table
    _table = None
    return compat_table()


def _translate(raw: str) -> str:
    """Steps 1 and 2 (``str.translate`` with :func:`compat_table`)."""
    table = compat_table()
    return raw.translate(table) if _table_hit.search(raw) else raw


# --------------------------------------------------------------------------- step 3

_BOLD: Final = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_OPEN: Final = "〔（「『【［｛〈《(["
_CLOSE: Final = "〕）」』】］｝〉》)]"
_OPEN_CLASS: Final = re.escape(_OPEN)
_MARKER: Final = re.compile(
    r"(?:(?P<sym>[-*•●>]|#{1,6})[ \u3000]+(?=\S)"
    rf"|(?P<dot>・)[ \u3000]*(?=[^\W_]|[{_OPEN_CLASS}]))"
)
_DASH: Final = "-－‐‑‒–—―−"
_DASH_PAGE: Final = re.compile(rf"[{_DASH}][ \u3000]*[0-9０-９]+[ \u3000]*[{_DASH}]")
_SPACES: Final = re.compile(r"[ \u3000]{2,}")


def _unbold(s: str) -> str:
    while True:
        new = _BOLD.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), s)
        if new == s:
            return s
        s = new


def _strip_marker(s: str) -> tuple[str, str]:
    """Remove one leading marker; return ``(marker, rest)``."""
    m = _MARKER.match(s)
    if m is None or _DASH_PAGE.fullmatch(s):
        return "", s
    rest = s[m.end() :].lstrip()
    if _MARKER.match(rest):
        return "", s  # nested markers: stripping one would not be idempotent
    return m.group("sym") or m.group("dot"), rest


# --------------------------------------------------------------------------- step 4

_SEP_SPLIT: Final = re.compile(r"([ \u3000])")
_LATIN_UPPER: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
)
_LATIN: Final = _LATIN_UPPER | frozenset(
    "abcdefghijklmnopqrstuvwxyzａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
)
_LATIN_OR_DIGIT: Final = _LATIN | frozenset("0123456789０１２３４５６７８９")

# What a token offers to its neighbour on one side (see join_letter_spacing).
_NO: Final = 0
_CJK: Final = 1  # a single non-Latin letter (kanji, kana, …)
_LOWER: Final = 2  # a single Latin letter, not a capital
_UPPER: Final = 3  # a single Latin capital
_ATTACHED: Final = 4  # a Latin capital glued to non-Latin text: ``、L`` / ``N又は``


def _ends(tok: str) -> tuple[int, int]:
    """(left, right) linkability of a token, one of the constants above."""
    n = len(tok)
    if n == 0:
        return _NO, _NO
    if n == 1:
        c = tok
        left = right = True
    else:
        i = 0
        while i < n and tok[i] in _OPEN:
            i += 1
        j = n
        while j > i and tok[j - 1] in _CLOSE:
            j -= 1
        if j - i != 1:
            # Not a single letter: only a Latin capital glued to other text can link.
            left = _ATTACHED if tok[0] in _LATIN_UPPER and tok[1] not in _LATIN_OR_DIGIT else _NO
            right = _ATTACHED if tok[-1] in _LATIN_UPPER and tok[-2] not in _LATIN_OR_DIGIT else _NO
            return left, right
        c = tok[i]
        left, right = i == 0, j == n
    if not c.isalpha():
        return _NO, _NO
    kind = (_UPPER if c in _LATIN_UPPER else _LOWER) if c in _LATIN else _CJK
    return (kind if left else _NO), (kind if right else _NO)


# Where two tokens may link: a separator with, before it, a single letter (after nothing or an
# opening bracket) or a Latin capital, and after it the same (before nothing or a closing
# bracket). A necessary condition, as ``[^\W\d_]`` takes in every letter (and a few more); the
# pattern starts with the separator so that the search skips along to the few there are.
_UPPER_CLASS: Final = "A-ZＡ-Ｚ"
_CLOSE_CLASS: Final = re.escape(_CLOSE)
_MAY_LINK: Final = re.compile(
    rf"[ \u3000](?:(?<=[{_UPPER_CLASS}][ \u3000])"
    rf"|(?<=[^\W\d_][ \u3000])(?<![^ \u3000{_OPEN_CLASS}][^\W\d_][ \u3000]))"
    rf"(?=[{_UPPER_CLASS}]|[^\W\d_](?:$|[ \u3000{_CLOSE_CLASS}]))"
)


def _links(right: int, left: int) -> bool:
    if right == _NO or left == _NO:
        return False
    if right == _CJK or left == _CJK:
        return right == left
    if right == _ATTACHED or left == _ATTACHED:
        return right in (_UPPER, _ATTACHED) and left in (_UPPER, _ATTACHED)
    return True  # two single Latin letters


def join_letter_spacing(s: str) -> str:
    """Join the letter-spaced words that PDF extraction produces.

    Tokens are the maximal runs of non-space characters (the separators are single ASCII
    or U+3000 spaces).  A token is a *single* when it is exactly one letter
    (``str.isalpha``: kanji, kana, Latin; not a digit or symbol), optionally preceded by
    opening brackets (``〔（「【(`` …) and followed by closing ones.  Two neighbouring
    tokens are *linked* when

    * both are singles of the same script class (Latin letters vs. everything else), the
      left one has no closing bracket and the right one no opening bracket:
      ``日 時``, ``〔会 長〕``, ``a b``; or
    * the Latin capital at the right end of the left token and the one at the left end of
      the right token are both "lone": each is a single capital, or a capital glued to
      non-Latin, non-digit text (``…ため、L`` on the left, ``N又は…`` on the right).  This
      is the PDF losing the spaces around a letter-spaced acronym:
      ``、L G W A N又は`` -> ``、LGWAN又は``, ``。D V被害者`` -> ``。DV被害者``.

    Every maximal chain of linked tokens is joined without its spaces.  So a lone single
    next to a longer word stays as it is (``ア 個人情報``, ``A 案``, ``教職員 1 人 1 台``,
    ``4 出席職員``) and item numbers stay apart (``1 日 時`` -> ``1 日時``).  A joined
    chain never links again, so the function is idempotent.
    """
    if _MAY_LINK.search(s) is None:
        return s
    return _join_linked(s)


def _join_linked(s: str) -> str:
    """:func:`join_letter_spacing` without the quick test for a possible link."""
    parts = _SEP_SPLIT.split(s)
    n = (len(parts) + 1) // 2
    if n < 2:
        return s
    ends = [_ends(parts[k]) for k in range(0, len(parts), 2)]
    out: list[str] = [parts[0]]
    for k in range(1, n):
        if not _links(ends[k - 1][1], ends[k][0]):
            out.append(parts[2 * k - 1])
        out.append(parts[2 * k])
    return "".join(out)


# --------------------------------------------------------------------------- clean_line


def clean_line(raw: str) -> CleanLine:
    """Repair one extracted line (see the module docstring for the steps)."""
    text, marker, bold = repair(raw)
    return CleanLine(text, to_norm(text), marker, bold)


def repair(raw: str) -> tuple[str, str, bool]:
    """``(text, marker, bold)`` of :func:`clean_line`, for callers that need no ``norm``."""
    # _translate inlined: this runs once a line, and the two calls cost more than the search
    table = _table if _table is not None else compat_table()
    s = raw.translate(table) if _table_hit.search(raw) else raw
    bold = False
    if "**" in s or "__" in s:
        unbolded = _unbold(s)
        bold = unbolded != s
        s = unbolded
    if "  " in s or "\u3000" in s:
        s = _SPACES.sub(" ", s)
    s = s.strip()
    marker = ""
    if s and s[0] in "-*•●>#・":
        marker, s = _strip_marker(s)
    if " " in s or "\u3000" in s:
        s = join_letter_spacing(s)
    return s, marker, bold


# Characters that NFKC leaves apart although publishing tools swap them for one another: PDF
# text layers give 〜 (WAVE DASH) and − (MINUS SIGN) where text files have ～ and －.
_NORM_FOLD = str.maketrans({"\u301c": "~", "\u2212": "-"})


def to_norm(text: str) -> str:
    """The ``*_norm`` form of a text: NFKC width normalisation, plus the folds above."""
    if text.isascii():
        return text
    if not unicodedata.is_normalized("NFKC", text):
        text = _nfkc(text)
    # the test is much cheaper than translate, and few lines hold either character
    if "\u301c" in text or "\u2212" in text:
        text = text.translate(_NORM_FOLD)
    return text


def _nfkc(text: str) -> str:
    """NFKC of ``text``, replacing only the runs of characters that NFKC changes.

    ``unicodedata.normalize`` costs about 0.1 µs a character; most of a line is left alone by
    NFKC. Each run is replaced by its NFKC form, which keeps the text equivalent; when the
    result is in NFKC form it is the NFKC form of the text (normal forms are unique), otherwise
    (e.g. a combining mark after a run) the whole text is normalised.
    """
    mapped = _nfkc_changes().sub(_nfkc_match, text)
    if unicodedata.is_normalized("NFKC", mapped):
        return mapped
    return unicodedata.normalize("NFKC", text)


@cache
def _nfkc_changes() -> re.Pattern[str]:
    """A run of characters of the BMP that NFKC changes (when they stand alone)."""
    changed = (
        cp for cp in range(0x80, 0x10000) if unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    )
    return re.compile(char_class(changed) + "+")


@lru_cache(maxsize=4096)  # runs are short and repeat: （, ）, １２, ＬＧＷＡＮ ...
def _nfkc_run(run: str) -> str:
    return unicodedata.normalize("NFKC", run)


def _nfkc_match(match: re.Match[str]) -> str:
    return _nfkc_run(match.group())


# --------------------------------------------------------------------------- sequences

_PAGE_FORMS: Final = re.compile(
    r"[-‐‑‒–—―−]\s*\d{1,4}\s*[-‐‑‒–—―−]"  # - 3 -, －３－ (after NFKC)
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 3/12
    r"|\d{1,4}\s*ページ"  # 3 ページ
    r"|(?i:page|p\.)\s*\d{1,4}(?:\s*(?i:of|/)\s*\d{1,4})?",  # Page 3, Page 3 of 12
    re.ASCII,
)
_BARE_NUMBER: Final = re.compile(r"\d{1,4}", re.ASCII)


def is_page_artifact(text: str, *, at_page_edge: bool = False) -> bool:
    """Tell whether a line is only a page number.

    Recognised forms (ASCII or full-width): ``- 3 -``, ``－３－``, ``3/12``, ``3 ページ``,
    ``Page 3`` (``Page 3 of 12``).  A bare number (``3``) counts only with
    ``at_page_edge=True``, i.e. when the caller knows the line is the first or last line of
    a page; ``(3)`` never counts (it is a list number).
    """
    return is_page_number(unicodedata.normalize("NFKC", text), at_page_edge=at_page_edge)


# The first character of every page number is_page_number knows (after its strip): a dash, an
# ASCII digit or the p of page/p. (callers may skip the call for a text starting otherwise)
PAGE_NUMBER_STARTS: Final = frozenset("-‐‑‒–—―−0123456789pP")


def is_page_number(norm: str, *, at_page_edge: bool = False) -> bool:
    """:func:`is_page_artifact` of a text given in its NFKC form (:func:`to_norm` will do)."""
    t = norm.strip()
    if not t:
        return False
    if _PAGE_FORMS.fullmatch(t):
        return True
    return at_page_edge and _BARE_NUMBER.fullmatch(t) is not None


_DIGIT_RUN: Final = re.compile(r"\d+")


def find_running_headers(lines: Sequence[str], pages: Sequence[int] | None) -> set[int]:
    """Return the 0-based indices of running headers/footers and page-number lines.

    ``pages`` gives the page of each line (same length as ``lines``), or None for a text
    file.  For a text file only the page-number lines (:func:`is_page_artifact` without
    bare numbers) are returned.  For a PDF, among the first and last non-blank lines of
    each page (compared after :func:`clean_line`, NFKC, with digit runs masked so that
    ``議事録 3`` and ``議事録 4`` count as the same header), a text is a running header when
    it sits at a page edge on at least 3 pages, or, when there are only 2 or 3 pages, on
    more than half of them; a page edge line that is a page number (bare numbers
    included) is returned too.
    """
    if pages is not None and len(pages) != len(lines):
        raise ValueError(f"{len(lines)} lines but {len(pages)} page numbers")
    cleaned = [clean_line(line) for line in lines]
    if pages is None:
        return {i for i, c in enumerate(cleaned) if c.text and is_page_artifact(c.text)}

    by_page: dict[int, list[int]] = defaultdict(list)
    for i, page in enumerate(pages):
        by_page[page].append(i)
    n_pages = len(by_page)

    result: set[int] = set()
    edges_by_key: dict[str, list[tuple[int, int]]] = defaultdict(list)  # key -> (page, index)
    for page, indices in by_page.items():
        non_blank = [i for i in indices if cleaned[i].text]
        if not non_blank:
            continue
        for i in {non_blank[0], non_blank[-1]}:
            if is_page_artifact(cleaned[i].text, at_page_edge=True):
                result.add(i)
                continue
            key = _DIGIT_RUN.sub("0", cleaned[i].norm)
            edges_by_key[key].append((page, i))

    needed = 3 if n_pages > 3 else n_pages // 2 + 1
    if n_pages >= 2:
        for occurrences in edges_by_key.values():
            if len({page for page, _ in occurrences}) >= needed:
                result.update(i for _, i in occurrences)
    return result


def find_repeated_lines(texts: Sequence[str], *, cleaned: bool = False) -> list[tuple[int, int]]:
    """Return ``(index, index_of_earlier_copy)`` for lines doubled by the extraction.

    A non-blank line is a repeat when its cleaned text equals that of the immediately
    preceding non-blank line (blank lines in between are allowed, other lines are not).
    In a chain ``A A A`` every repeat points at the first copy, the one to keep:
    ``[(1, 0), (2, 0)]``. Pass ``cleaned=True`` when ``texts`` already went through
    :func:`clean_line` (the parser does), to skip cleaning them again.
    """
    repeats: list[tuple[int, int]] = []
    prev_text: str | None = None
    first_copy = -1
    for i, raw in enumerate(texts):
        text = raw if cleaned else clean_line(raw).text
        if not text:
            continue
        if text == prev_text:
            repeats.append((i, first_copy))
        else:
            prev_text = text
            first_copy = i
    return repeats
