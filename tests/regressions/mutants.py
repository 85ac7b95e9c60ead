"""Mutants of the shipped minutes, and the promises the build keeps on every one of them.

A *recipe* is a small JSON-able dict that says how to damage the seed minutes::

    {
      "ops": [["delete", 12, 3], ["insert", 40, 0, "〔〕"]],   # line edits, in order
      "line_ends": ["\\n", "\\r\\n"],   # line k ends with line_ends[k % len]; default ["\\n"]
      "final_newline": true,             # default true
      "encoding": "cp932",               # see ENCODINGS; default utf-8
      "byte_ops": [["nul", 300]]         # byte edits after encoding, in order
    }

or, instead of editing the seed, ``"lines": [...]`` gives the lines outright, or
``"base": "seed-pdf"`` starts from the seed printed as a PDF (line operations and encoding do not
apply then; byte operations do). Every index is
taken modulo the current length, so any integer is valid and a recipe never "misses"; this keeps
shrunk examples valid and makes the recipes in ``cases/`` replayable exactly.

Line operations (``i``, ``j``, ``k``, ``pos``, ``n``: integers; ``s``: text)::

    ["delete", i, n]          drop n lines from line i
    ["duplicate", i, n]       repeat lines i..i+n-1 right after themselves
    ["swap", i, j]            exchange two lines
    ["truncate", k]           keep the first k lines (k modulo len + 1)
    ["cut", i, pos]           keep the first pos characters of line i
    ["insert", i, pos, s]     insert s into line i at character pos
    ["insert_line", i, s]     insert s as a new line before line i
    ["replace", i, s]         replace line i by s
    ["long", i, n, s]         replace line i by n characters: s repeated (the line itself if "")

Byte operations::

    ["nul", pos]              insert a NUL byte at pos
    ["bytes", pos, hex]       insert raw bytes (hex) at pos
    ["chop", pos]             keep the first pos bytes
    ["set", pos, hex]         overwrite bytes at pos
    ["sub", old, new]         replace the first occurrence of old by new (Latin-1 text)

:func:`check_in_process` runs a mutant through the same steps as ``council build`` (read,
parse, frames, topic coding, validation) and asserts the promises: bad input is an
:class:`~analysis.reading.errors.InputError` with a one-line message that names the file; good
input gives tables that validate and a line ledger in which every line has a role and every
unplaced line has its diagnostics row.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from analysis import paths
from analysis.reading.document import document_from_bytes, split_lines
from analysis.reading.errors import InputError
from analysis.schema import LINE_ROLES

SEED_NAME = "tama_2020-12-15_r02-09_minutes.txt"
CASES_DIR = Path(__file__).parent / "cases"

#: Recipe encoding -> Python codec. "euc-jp" is the Windows flavour (CP51932 / eucJP-ms: each
#: character in the JIS X 0208 cell CP932 gives it, NEC row 13 included), which is what Japanese
#: Windows tools write and the reader expects; Python has no codec for it (its euc_jp and
#: euc_jis_2004 put ～ U+FF5E elsewhere). "utf-16-le" has no byte-order mark (the reader must
#: refuse it with a hint, not guess).
ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "cp932": "cp932",
    "euc-jp": "cp51932",
    "utf-16": "utf-16",
    "utf-16-le": "utf-16-le",
}
LINE_ENDS = ("\n", "\r\n", "\r")

# Columns that cite a source line; every non-null value must be a line of the file.
LINE_COLUMNS = ("source_line", "source_line_start", "source_line_end", "decision_line")


@cache
def seed_lines() -> tuple[str, ...]:
    data = (paths.raw_dir() / SEED_NAME).read_bytes()
    return split_lines(data.decode("utf-8"))


# ---------------------------------------------------------------------------- recipes → bytes
def _line_op(lines: list[str], op: list[Any]) -> None:
    name, args = op[0], op[1:]
    n = len(lines)
    if name == "insert_line":
        lines.insert(args[0] % (n + 1), str(args[1]))
        return
    if name == "truncate":
        del lines[args[0] % (n + 1) :]
        return
    if n == 0:
        return
    i = args[0] % n
    if name == "delete":
        del lines[i : i + max(1, args[1])]
    elif name == "duplicate":
        block = lines[i : i + max(1, args[1])]
        lines[i + len(block) : i + len(block)] = block
    elif name == "swap":
        j = args[1] % n
        lines[i], lines[j] = lines[j], lines[i]
    elif name == "cut":
        lines[i] = lines[i][: args[1] % (len(lines[i]) + 1)]
    elif name == "insert":
        line = lines[i]
        pos = args[1] % (len(line) + 1)
        lines[i] = line[:pos] + str(args[2]) + line[pos:]
    elif name == "replace":
        lines[i] = str(args[1])
    elif name == "long":
        unit = str(args[2]) or lines[i] or "あ"
        size = max(1, args[1])
        lines[i] = (unit * math.ceil(size / len(unit)))[:size]
    else:
        raise ValueError(f"unknown line operation {name!r}")


def _byte_op(data: bytes, op: list[Any]) -> bytes:
    name, args = op[0], op[1:]
    pos = args[0] % (len(data) + 1) if isinstance(args[0], int) else 0
    if name == "nul":
        return data[:pos] + b"\x00" + data[pos:]
    if name == "bytes":
        return data[:pos] + bytes.fromhex(args[1]) + data[pos:]
    if name == "chop":
        return data[:pos]
    if name == "set":
        new = bytes.fromhex(args[1])
        return data[:pos] + new + data[pos + len(new) :]
    if name == "sub":
        return data.replace(args[0].encode("latin-1"), args[1].encode("latin-1"), 1)
    raise ValueError(f"unknown byte operation {name!r}")


def mutant_text(recipe: dict[str, Any]) -> str:
    lines = list(recipe["lines"]) if "lines" in recipe else list(seed_lines())
    for op in recipe.get("ops", []):
        _line_op(lines, op)
    ends = recipe.get("line_ends") or ["\n"]
    out = []
    for k, line in enumerate(lines):
        out.append(line)
        if k < len(lines) - 1 or recipe.get("final_newline", True):
            out.append(ends[k % len(ends)])
    return "".join(out)


@cache
def _cp51932_cells() -> dict[str, bytes]:
    from analysis.reading.decode import _euc_table

    cells: dict[str, bytes] = {}
    for cell, ch in _euc_table().items():
        cells.setdefault(ch, cell)  # NEC and IBM duplicates: the first (NEC) cell
    return cells


def _encode_cp51932(text: str) -> bytes:
    cells = _cp51932_cells()
    out = bytearray()
    for i, ch in enumerate(text):
        if ch.isascii():
            out += ch.encode("ascii")
        elif ch in cells:
            out += cells[ch]
        elif "\uff61" <= ch <= "\uff9f":  # half-width katakana
            out += b"\x8e" + ch.encode("cp932")
        else:
            raise UnicodeEncodeError("cp51932", text, i, i + 1, "not in JIS X 0208 / NEC row 13")
    return bytes(out)


def encode(text: str, encoding: str) -> tuple[bytes, str]:
    """The text in ``encoding``; falls back to UTF-8 when a character is not representable."""
    codec = ENCODINGS[encoding]
    try:
        data = _encode_cp51932(text) if codec == "cp51932" else text.encode(codec)
    except UnicodeEncodeError:
        return text.encode("utf-8"), "utf-8"
    return data, encoding


@cache
def seed_pdf() -> bytes:
    """The seed as a published PDF would print it (as tests/test_build_pdf.py does)."""
    from fixtures_reading import make_pdf

    printed: list[str] = []
    for line in seed_lines():
        line = line.replace("\t", " ")
        while len(line) > 42:
            printed.append(line[:42])
            line = line[42:]
        if line.strip():
            printed.append(line)
    pages = [[*printed[i : i + 40], f"- {i // 40 + 1} -"] for i in range(0, len(printed), 40)]
    return make_pdf(pages)


def mutant_bytes(recipe: dict[str, Any]) -> bytes:
    if recipe.get("base") == "seed-pdf":
        data = seed_pdf()
    else:
        data, _ = encode(mutant_text(recipe), recipe.get("encoding", "utf-8"))
    for op in recipe.get("byte_ops", []):
        data = _byte_op(data, op)
    return data


def _visible(value: Any) -> str:
    """JSON text with Japanese kept readable and every invisible character escaped."""
    out = []
    for ch in json.dumps(value, ensure_ascii=False):
        if ch.isprintable() and ch != "\ufeff":
            out.append(ch)
        elif ord(ch) > 0xFFFF:
            out.append(_surrogates(ord(ch)))
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def _surrogates(cp: int) -> str:
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def recipe_json(recipe: dict[str, Any]) -> str:
    """A recipe as kept in ``cases/``: one key (and one operation) a line."""
    parts = []
    for key, value in recipe.items():
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            inner = ",\n".join("  " + _visible(v) for v in value)
            parts.append(f"{json.dumps(key)}: [\n{inner}\n ]")
        else:
            parts.append(f"{json.dumps(key)}: {_visible(value)}")
    return "{\n " + ",\n ".join(parts) + "\n}\n"


# ---------------------------------------------------------------------------- the promises
def is_one_line(message: str) -> bool:
    return bool(message.strip()) and len(message.splitlines()) == 1


@cache
def reference():
    from analysis.reference import load_reference

    return load_reference(None)


def build_tables(result) -> dict[str, pl.DataFrame]:
    """What ``council build`` does with one parsed document before it writes anything."""
    from analysis.tables import frames
    from analysis.topics import code_topics, with_topic_diagnostics
    from analysis.validate import validate_all

    tables = frames(result.tables)
    tables["question_topics"] = code_topics(tables["utterances"], None)
    tables["diagnostics"] = with_topic_diagnostics(
        tables["diagnostics"], tables["question_topics"], None
    )
    return validate_all(tables)  # a ValidationError here is a parser bug: let it propagate


def check_in_process(data: bytes, name: str = "mutant.txt") -> tuple[str, Any]:
    """``("error", message)`` for input refused as it should be, else ``("ok", tables)``.

    Any other exception, a message that is not one line or does not name the file, and any
    broken table promise fails the calling test.
    """
    from analysis.parse.minutes import parse_minutes

    try:
        with quiet():
            doc = document_from_bytes(data, name)
            result = parse_minutes(doc, reference(), name)
    except InputError as exc:
        message = str(exc)
        assert is_one_line(message), f"error message is not one line: {message!r}"
        assert message.startswith(f"{name}:"), f"error message does not name the file: {message!r}"
        return "error", message
    tables = build_tables(result)
    check_tables(doc.lines, result.meeting_id, tables)
    return "ok", tables


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Assert that reading and parsing print nothing: no warnings, no log lines (a command
    that fails must print exactly one line)."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:  # also when the input is refused: that is when a stray line would hurt
            root.removeHandler(handler)
            logged = [f"{r.name}: {r.getMessage()}" for r in handler.records]
            assert not logged, f"log lines would reach stderr: {logged}"
            printed = [str(w.message) for w in caught]
            assert not printed, f"warnings would reach stderr: {printed}"


def check_tables(lines: tuple[str, ...], meeting_id: str, tables: dict[str, pl.DataFrame]) -> None:
    """The line ledger and line citations of one successfully parsed document."""
    n = len(lines)
    ledger = tables["source_lines"].filter(pl.col("meeting_id") == meeting_id)
    assert ledger["source_line"].to_list() == list(range(1, n + 1)), "ledger misses lines"
    assert ledger["text"].to_list() == list(lines), "ledger text differs from the file"
    assert ledger["role"].null_count() == 0, "a line has no role"
    unknown = set(ledger["role"].to_list()) - set(LINE_ROLES)
    assert not unknown, f"roles not in the data contract: {sorted(unknown)}"
    for text, role in zip(lines, ledger["role"].to_list(), strict=True):
        if role == "blank":
            assert not any(ch.isalnum() for ch in text), f"a line with text is 'blank': {text!r}"
    unplaced = ledger.filter(pl.col("role") == "unplaced")["source_line"].to_list()
    diag = tables["diagnostics"].filter(pl.col("meeting_id") == meeting_id)
    flagged = diag.filter(pl.col("code") == "unplaced_line")["source_line"].to_list()
    assert sorted(set(unplaced)) == sorted(set(flagged)), "unplaced lines and diagnostics differ"
    assert tables["meetings"].filter(pl.col("meeting_id") == meeting_id).height == 1
    for name, df in tables.items():
        if "meeting_id" in df.columns:
            # rows about other files (e.g. topic rules that matched nothing cite a line of
            # topic_rules.yml, with meeting_id '*') cite lines of those files
            df = df.filter(pl.col("meeting_id") == meeting_id)
        for col in LINE_COLUMNS:
            if col in df.columns:
                values = df[col].drop_nulls()
                if values.len():
                    assert values.min() >= 1 and values.max() <= n, f"{name}.{col} out of range"
