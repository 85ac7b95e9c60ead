"""Turn the raw bytes of a minutes file into text, recording how the encoding was chosen.

Candidates, in order: UTF-8, CP932 (Windows Shift_JIS) and EUC-JP. A byte-order mark decides at
once (UTF-8 with BOM, UTF-16 LE/BE). Otherwise every candidate is tried strictly; when exactly
one decodes it is taken (``confidence='strict'``); when several decode, each reading is scored by
how much of its non-ASCII text looks like ordinary Japanese, and the best is taken only when it
clearly wins (``confidence='scored'``). Anything else raises :class:`InputError`: the reader never
guesses silently.

EUC-JP is read with the Windows flavour of the code (CP51932 / eucJP-ms): the JIS X 0208 cells get
the same Unicode code points as in CP932, and the NEC special characters (row 13: ①, Ⅰ, ㍉ ...)
and the NEC-selected IBM extensions (rows 89-92: 髙, 﨑 ...) are accepted. So the same text saved
as CP932 and as EUC-JP reads back identically (for example 〜 is U+FF5E in both). Three-byte JIS X
0212 sequences (0x8F ...) use Python's ``euc_jp`` mapping.

Line ends are left alone here; :mod:`analysis.reading.document` splits lines.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from analysis.normalise import char_class
from analysis.reading.errors import InputError

__all__ = ["CANDIDATES", "Decoded", "decode_bytes", "score_japanese"]

CANDIDATES: tuple[str, ...] = ("utf-8", "cp932", "euc-jp")

# A scored reading must reach MIN_SCORE and beat the runner-up by MARGIN to be accepted.
MIN_SCORE = 0.8
MARGIN = 0.15
# The only reading that decodes must still look like Japanese this much (catches e.g. Latin-1).
MIN_STRICT_SCORE = 0.5
# Share of control bytes above which a file is treated as binary.
MAX_CONTROL_SHARE = 0.02

_BINARY = "binary data, not text minutes"
# Bytes that are not expected in text: C0 controls except TAB LF VT FF CR, SUB (0x1A, the old
# DOS end-of-file mark) and ESC (0x1B, checked separately for ISO-2022-JP); plus DEL.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_ISO2022_ESCAPE = re.compile(rb"\x1b(?:\$[@B]|\$\([ADOPQ]|\([BIJ])")


@dataclass(frozen=True)
class Decoded:
    """Decoded text with the encoding used and how it was chosen."""

    text: str
    encoding: str  # 'utf-8', 'utf-8-sig', 'utf-16', 'cp932' or 'euc-jp'
    confidence: str  # 'bom', 'strict' or 'scored'


def decode_bytes(data: bytes, path: str) -> Decoded:
    """Decode the bytes of a minutes file, or raise :class:`InputError` naming ``path``."""
    if not data.strip():
        raise InputError(path, "empty file")

    decoded = _decode_with_bom(data, path)
    if decoded is None:
        _check_not_binary(data, path)
        if _ISO2022_ESCAPE.search(data):
            raise InputError(
                path, "ISO-2022-JP (JIS) encoded text is not supported; convert the file to UTF-8"
            )
        decoded = _decode_without_bom(data, path)

    if not decoded.text.strip():
        raise InputError(path, "empty file")
    return decoded


def score_japanese(text: str) -> float:
    """Share (weighted, 0..1; negative for noise) of non-ASCII characters that look Japanese.

    Hiragana, katakana, JIS level-1 kanji, Japanese punctuation and full-width forms count 1;
    other kanji 0.5; half-width katakana and unknown symbols 0; private-use characters, C1
    controls and U+FFFD count -1. Text without non-ASCII characters scores 1.
    """
    total = len(text) - len(text.encode("ascii", "ignore"))
    if total == 0:
        return 1.0
    # Most characters of Japanese text weigh 1: remove them in one pass of the regex engine and
    # weigh the few left one by one. Weights are multiples of 0.5, so the sum is exact.
    rest = _full_weight_run().sub("", text)
    full = len(text) - len(rest)
    counts = Counter(ch for ch in rest if ch >= "\x80")
    return (full + sum(_char_weight(ch) * n for ch, n in counts.items())) / total


# --- BOMs and binary data ---------------------------------------------------------------------


def _decode_with_bom(data: bytes, path: str) -> Decoded | None:
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError(path, "UTF-32 text is not supported; convert the file to UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                path, f"starts with a UTF-8 byte-order mark but is not valid UTF-8 ({_where(exc)})"
            ) from None
        _check_text_not_binary(text, path)
        return Decoded(text, "utf-8-sig", "bom")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")  # reads and drops the BOM
        except UnicodeDecodeError as exc:
            raise InputError(
                path,
                f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({_where(exc)})",
            ) from None
        _check_text_not_binary(text, path)
        return Decoded(text, "utf-16", "bom")
    return None


def _check_not_binary(data: bytes, path: str) -> None:
    if b"\x00" in data:
        raise InputError(path, _BINARY + _utf16_hint(data))
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > MAX_CONTROL_SHARE * len(data):
        raise InputError(path, f"{_BINARY} ({controls} control bytes)")


def _check_text_not_binary(text: str, path: str) -> None:
    if "\x00" in text:
        raise InputError(path, _BINARY)
    controls = sum(1 for ch in text if ord(ch) < 0x20 and ch not in "\t\n\v\f\r\x1a\x1b")
    if controls > MAX_CONTROL_SHARE * len(text):
        raise InputError(path, f"{_BINARY} ({controls} control characters)")


def _utf16_hint(data: bytes) -> str:
    """Recognise UTF-16 saved without a BOM: NULs in every other byte of mostly-ASCII text."""
    sample = data[:4096]
    if len(sample) < 4:
        return ""
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    if max(even_nuls, odd_nuls) > 0.3 and min(even_nuls, odd_nuls) < 0.05:
        return " (looks like UTF-16 without a byte-order mark; save it as UTF-8)"
    return ""


# --- candidates -------------------------------------------------------------------------------


def _decode_without_bom(data: bytes, path: str) -> Decoded:
    if data.isascii():
        # Every candidate reads ASCII the same way; nothing is being guessed.
        return Decoded(data.decode("ascii"), "utf-8", "strict")

    readings: dict[str, str] = {}
    failures: dict[str, UnicodeDecodeError] = {}
    for name in CANDIDATES:
        try:
            readings[name] = _DECODERS[name](data)
        except UnicodeDecodeError as exc:
            failures[name] = exc

    if not readings:
        details = "; ".join(f"{name}: {_where(exc)}" for name, exc in failures.items())
        raise InputError(path, f"cannot decode as {_tried()} ({details})")

    scores = {name: score_japanese(text) for name, text in readings.items()}
    if len(readings) == 1:
        name, text = next(iter(readings.items()))
        score = scores[name]
        if score < MIN_STRICT_SCORE:
            raise InputError(
                path,
                f"decodes only as {name} but does not look like Japanese text "
                f"(score {score:.2f}; tried {_tried()})",
            )
        return Decoded(text, name, "strict")

    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score >= MIN_SCORE and best_score - second_score >= MARGIN:
        return Decoded(readings[best], best, "scored")
    shown = ", ".join(f"{name} (score {score:.2f})" for name, score in ranked)
    failed = "".join(f"; {name} does not decode" for name in failures)
    raise InputError(
        path,
        f"ambiguous encoding: decodes as {shown}{failed}; "
        "no reading clearly wins, convert the file to UTF-8",
    )


def _tried() -> str:
    return ", ".join(CANDIDATES[:-1]) + " or " + CANDIDATES[-1]


def _where(exc: UnicodeDecodeError) -> str:
    bad = exc.object[exc.start : exc.start + 4].hex(" ")
    return f"{exc.reason} at byte {exc.start} ({bad})"


# --- EUC-JP (Windows flavour) -----------------------------------------------------------------

_EUC_RUN = re.compile(
    rb"(?P<ascii>[\x00-\x7f]+)"
    rb"|(?P<jis>(?:[\xa1-\xfe][\xa1-\xfe])+)"
    rb"|(?P<kana>(?:\x8e[\xa1-\xdf])+)"
    rb"|(?P<x0212>\x8f[\xa1-\xfe][\xa1-\xfe])"
)


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    """Map a JIS X 0208 cell (0x21..0x7E each) to its Shift_JIS bytes."""
    s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 % 2 == 0:
        return bytes((s1, j2 + 0x7E))
    return bytes((s1, j2 + (0x1F if j2 <= 0x5F else 0x20)))


@cache
def _euc_table() -> dict[bytes, str]:
    """Two-byte EUC-JP sequence -> character, with CP932's mapping of each JIS cell."""
    table: dict[bytes, str] = {}
    for j1 in range(0x21, 0x7F):
        for j2 in range(0x21, 0x7F):
            try:
                table[bytes((j1 | 0x80, j2 | 0x80))] = _jis_to_sjis(j1, j2).decode("cp932")
            except UnicodeDecodeError:
                continue
    return table


def _decode_euc_jp(data: bytes) -> str:
    table = _euc_table()
    out: list[str] = []
    pos = 0
    while pos < len(data):
        match = _EUC_RUN.match(data, pos)
        if match is None:
            raise UnicodeDecodeError("euc-jp", data, pos, pos + 1, "invalid byte")
        run = match.group()
        kind = match.lastgroup
        if kind == "ascii":
            out.append(run.decode("ascii"))
        elif kind == "jis":
            for i in range(0, len(run), 2):
                ch = table.get(run[i : i + 2])
                if ch is None:
                    raise UnicodeDecodeError(
                        "euc-jp", data, pos + i, pos + i + 2, "unassigned JIS X 0208 code"
                    )
                out.append(ch)
        elif kind == "kana":
            out.append(run[1::2].decode("cp932"))  # half-width katakana
        else:
            try:
                out.append(run.decode("euc_jp"))
            except UnicodeDecodeError:
                raise UnicodeDecodeError(
                    "euc-jp", data, pos, pos + 3, "unassigned JIS X 0212 code"
                ) from None
        pos = match.end()
    return "".join(out)


_DECODERS = {
    "utf-8": lambda data: data.decode("utf-8"),
    "cp932": lambda data: data.decode("cp932"),
    "euc-jp": _decode_euc_jp,
}


# --- scoring ----------------------------------------------------------------------------------

_JIS_SYMBOL_LEADS = frozenset((0x81, 0x82, 0x83, 0x84, 0x87))  # JIS rows 1-8 and NEC row 13


@cache
def _full_weight_run() -> re.Pattern[str]:
    """A run of non-ASCII characters of weight 1 (all of them are in the BMP)."""
    full = (cp for cp in range(0x80, 0x10000) if _weight(chr(cp)) == 1.0)
    return re.compile(char_class(full) + "+")


def _weight(ch: str) -> float:
    cp = ord(ch)
    if cp < 0x80:
        return 1.0
    if cp < 0xA0 or cp == 0xFFFD or 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000:
        return -1.0  # C1 controls, replacement character, private use
    if 0x3000 <= cp <= 0x30FF or 0xFF01 <= cp <= 0xFF5E:
        return 1.0  # Japanese punctuation, hiragana, katakana, full-width forms
    if 0xFF61 <= cp <= 0xFF9F:
        return 0.0  # half-width katakana: typical noise of a wrong Shift_JIS reading
    try:
        sjis = ch.encode("cp932")
    except UnicodeEncodeError:
        sjis = b""
    if 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF:
        # JIS level-1 kanji (rows 16-47) are the common ones.
        return 1.0 if len(sjis) == 2 and 0x889F <= int.from_bytes(sjis) <= 0x9872 else 0.5
    if len(sjis) == 2 and sjis[0] in _JIS_SYMBOL_LEADS:
        return 1.0  # symbols of JIS X 0208 (※ ○ ■ → ①...)
    return 0.0


_char_weight = cache(_weight)
