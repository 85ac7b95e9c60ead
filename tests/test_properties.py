"""Property-based robustness tests: damaged copies of the shipped minutes.

Every mutant (lines deleted, doubled, swapped or cut off; junk characters, NUL bytes, 100k-char
lines, stray speaker labels; mixed line ends; re-encoded) must either build or be refused with
a one-line :class:`~analysis.reading.errors.InputError` naming the file -- never another
exception. When it builds, every line has a role in ``source_lines``, every ``unplaced`` line
has its diagnostics row, every cited line exists and all tables validate
(:func:`regressions.mutants.check_in_process`). Most examples run in-process; a few go through
the real ``council build`` in a subprocess.

Example counts are fixed and the search is derandomised (profile ``council-ci``), so CI runs are
reproducible and take well under a minute on two cores. For a longer random search::

    COUNCIL_FUZZ=deep .venv/bin/pytest tests/test_properties.py -q   # 20x the examples

A falsifying example is printed as a recipe (JSON); keep it as a file in
``tests/regressions/cases/`` (see RELIABILITY.md) so ``tests/regressions/test_replay.py``
replays it on every run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from analysis import paths, store
from regressions.mutants import (
    ENCODINGS,
    LINE_ENDS,
    SEED_NAME,
    check_in_process,
    check_tables,
    is_one_line,
    mutant_bytes,
    recipe_json,
    seed_lines,
)

settings.register_profile(
    "council-ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "council-deep",
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DEEP = os.environ.get("COUNCIL_FUZZ") == "deep"
settings.load_profile("council-deep" if DEEP else "council-ci")
SCALE = 20 if DEEP else 1


def examples(n: int) -> int:
    return n * SCALE


# ---------------------------------------------------------------------------- strategies
#: Characters and fragments that have broken parsers of this kind: speaker-label brackets,
#: control characters and other line separators, BOM/zero-width/private-use characters, list
#: markers, and words the parser keys on.
FRAGMENTS = (
    "〔〕",
    "〔",
    "〕",
    "〔 〕",
    "〔〕〔〕",
    "〔会長〕",
    "〔委員〕",
    "〔課税課〕",
    "〔事務局〕",
    "〔会 長〕",
    "\x00",
    "\t",
    "\x0b",
    "\x0c",
    "\x1a",
    "\x1b",
    "\x1c",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\u200b",
    "\ue000",
    "\ufffd",
    "\u3000",
    "**",
    "- ",
    "・",
    "※",
    "第",
    "回",
    "年度",
    "諮問",
    "報告",
    "議事録",
    "：",
    "（",
    "）",
    "ア",
    "１",
    "令和",
    "平成",
    "決定された。",
    "- 3 -",
    "　　",
)
JUNK = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6),
    st.lists(st.sampled_from(FRAGMENTS), min_size=2, max_size=4).map("".join),
)
LABELS = st.sampled_from(
    ["〔〕", "〔", "〕", "〔 〕", "〔〕〔〕", "〔会長〕", "〔　〕", "〔〔〕〕"]
)
# Indices are taken modulo the current length (see mutants.py): the seed has 329 lines.
IDX = st.integers(0, 400)
POS = st.integers(0, 120)
LINE_OP = st.one_of(
    st.tuples(st.just("delete"), IDX, st.integers(1, 25)),
    st.tuples(st.just("duplicate"), IDX, st.integers(1, 12)),
    st.tuples(st.just("swap"), IDX, IDX),
    st.tuples(st.just("truncate"), IDX),
    st.tuples(st.just("cut"), IDX, POS),
    st.tuples(st.just("insert"), IDX, POS, JUNK),
    st.tuples(st.just("insert"), IDX, st.just(0), LABELS),
    st.tuples(st.just("insert_line"), IDX, JUNK | LABELS),
    st.tuples(st.just("replace"), IDX, JUNK | LABELS),
).map(list)
LABEL_OP = st.one_of(
    st.tuples(st.just("insert"), IDX, st.just(0), LABELS),
    st.tuples(st.just("insert"), IDX, POS, LABELS),
    st.tuples(st.just("replace"), IDX, LABELS),
    st.tuples(st.just("insert_line"), IDX, LABELS),
    st.tuples(st.just("insert_line"), IDX, LABELS.map(lambda s: s + "ご説明します。")),
).map(list)
LONG_OP = st.tuples(
    st.just("long"),
    IDX,
    st.just(100_000),
    st.sampled_from(["", "あ", "〔会長〕", "〔", "、", "1", "諮問ア（", "**", " ", "・", "※ "]),
).map(list)
BYTE_OP = st.one_of(
    st.tuples(st.just("nul"), st.integers(0, 30_000)),
    st.tuples(st.just("chop"), st.integers(0, 30_000)),
    st.tuples(
        st.just("bytes"), st.integers(0, 30_000), st.binary(min_size=1, max_size=4).map(bytes.hex)
    ),
).map(list)
TEXT_ENCODINGS = [e for e in ENCODINGS if e != "utf-16-le"]


@st.composite
def recipes(draw, ops=LINE_OP, max_ops=6, long_line=False, byte_ops=False):
    recipe = {"ops": draw(st.lists(ops, min_size=1, max_size=max_ops))}
    if long_line:
        at = draw(st.integers(0, len(recipe["ops"])))
        recipe["ops"].insert(at, draw(LONG_OP))
    recipe["line_ends"] = draw(st.lists(st.sampled_from(LINE_ENDS), min_size=1, max_size=3))
    recipe["final_newline"] = draw(st.booleans())
    recipe["encoding"] = draw(st.sampled_from(list(ENCODINGS) if byte_ops else TEXT_ENCODINGS))
    if byte_ops:
        recipe["byte_ops"] = draw(st.lists(BYTE_OP, min_size=1, max_size=2))
    return recipe


def _run(recipe: dict) -> tuple[str, object]:
    note(recipe_json(recipe))
    outcome, result = check_in_process(mutant_bytes(recipe))
    event(outcome if outcome == "ok" else f"refused: {_reason(result)}")
    return outcome, result


def _reason(message: str) -> str:
    """The kind of refusal, for --hypothesis-show-statistics."""
    reason = message.split(": ", 1)[-1]
    return reason.split("(")[0].split(";")[0].strip()[:40]


# ---------------------------------------------------------------------------- in-process
@settings(max_examples=examples(250))
@given(recipes())
def test_line_mutants_build_or_fail_cleanly(recipe):
    """Lines deleted, doubled, swapped, cut, replaced; junk inserted; mixed ends; re-encoded."""
    _run(recipe)


@settings(max_examples=examples(80))
@given(recipes(ops=LABEL_OP, max_ops=8))
def test_stray_speaker_labels_build_or_fail_cleanly(recipe):
    """Empty, unclosed and unopened speaker labels (〔〕 〔 〕) anywhere in the minutes."""
    _run(recipe)


@settings(max_examples=examples(200))
@given(recipes(max_ops=3, byte_ops=True))
def test_byte_damage_builds_or_fails_cleanly(recipe):
    """NUL and stray bytes, files cut mid-character, UTF-16 without a byte-order mark."""
    _run(recipe)


@settings(max_examples=examples(20))
@given(recipes(max_ops=2, long_line=True))
def test_100k_character_lines_build_or_fail_cleanly(recipe):
    """One line of 100,000 characters (a line of the file itself, or a fragment repeated)."""
    _run(recipe)


PDF_BYTE_OP = st.one_of(
    st.tuples(st.just("chop"), st.integers(0, 40_000)),
    st.tuples(
        st.just("set"), st.integers(0, 40_000), st.binary(min_size=1, max_size=6).map(bytes.hex)
    ),
    st.tuples(
        st.just("bytes"), st.integers(0, 40_000), st.binary(min_size=1, max_size=6).map(bytes.hex)
    ),
    st.tuples(st.just("nul"), st.integers(0, 40_000)),
).map(list)


@settings(max_examples=examples(30))
@given(st.lists(PDF_BYTE_OP, min_size=1, max_size=3))
def test_damaged_pdfs_build_or_fail_cleanly(byte_ops):
    """The seed printed as a PDF, then damaged: refused in one line, or read; nothing printed."""
    recipe = {"base": "seed-pdf", "byte_ops": byte_ops}
    note(recipe_json(recipe))
    outcome, result = check_in_process(mutant_bytes(recipe), "mutant.pdf")
    event(outcome if outcome == "ok" else f"refused: {_reason(result)}")


def _comparable(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    out = dict(tables)
    out["meetings"] = out["meetings"].drop("source_sha256", "source_encoding")
    return out


@pytest.fixture(scope="module")
def seed_result():
    outcome, tables = check_in_process((paths.raw_dir() / SEED_NAME).read_bytes(), SEED_NAME)
    assert outcome == "ok"
    return _comparable(tables)


@pytest.mark.parametrize("encoding", TEXT_ENCODINGS)
@pytest.mark.parametrize("ending", LINE_ENDS, ids=["LF", "CRLF", "CR"])
def test_encoding_and_line_ends_do_not_change_the_tables(seed_result, encoding, ending):
    """The seed saved with other line ends or in another encoding gives the same tables."""
    recipe = {"ops": [], "line_ends": [ending], "encoding": encoding, "final_newline": False}
    data = mutant_bytes(recipe)
    outcome, tables = check_in_process(data, SEED_NAME)
    assert outcome == "ok", tables
    got = _comparable(tables)
    for name, df in seed_result.items():
        assert got[name].equals(df), name


@settings(max_examples=examples(40))
@given(
    st.lists(st.sampled_from(LINE_ENDS), min_size=2, max_size=5), st.sampled_from(TEXT_ENCODINGS)
)
def test_mixed_line_ends_keep_every_line(ends, encoding):
    """CR, LF and CRLF mixed in one file: the ledger has exactly the lines a reader sees."""
    recipe = {"ops": [], "line_ends": ends, "encoding": encoding}
    outcome, tables = _run(recipe)
    assert outcome == "ok", tables
    # A lone CR right before an empty line that ends in LF reads as one CRLF: fewer lines, the
    # same text. Everything else keeps its line number.
    n = tables["source_lines"].height
    assert n <= len(seed_lines())
    texts = [t for t in tables["source_lines"]["text"].to_list() if t]
    assert texts == [t for t in seed_lines() if t]


# ---------------------------------------------------------------------------- real CLI
def _council(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _published(out: Path) -> dict[str, bytes]:
    return {rel: (out / rel).read_bytes() for rel in store._iter_files(out)}


@pytest.mark.slow
@settings(max_examples=examples(5))
@given(recipes(max_ops=4))
def test_cli_builds_line_mutants_or_fails_with_one_line(tmp_path_factory, seed_build, recipe):
    """Through `council build` in a subprocess, over the seed's datasets (the last good set)."""
    _cli(tmp_path_factory, seed_build, recipe)


@pytest.mark.slow
@settings(max_examples=examples(3))
@given(recipes(max_ops=2, byte_ops=True))
def test_cli_refuses_byte_mutants_in_one_line(tmp_path_factory, seed_build, recipe):
    """Damaged bytes through `council build`: mostly refused, in one line naming the file."""
    _cli(tmp_path_factory, seed_build, recipe)


def _cli(tmp_path_factory, seed_build: Path, recipe: dict) -> None:
    note(recipe_json(recipe))
    work = tmp_path_factory.mktemp("cli")
    raw = work / "raw"
    raw.mkdir()
    name = "mutant_minutes.txt"
    (raw / name).write_bytes(mutant_bytes(recipe))
    out = work / "out"
    shutil.copytree(seed_build, out)
    before = _published(out)
    res = _council("build", "--raw", str(raw), "--out", str(out), "--workers", "1", "-q")
    event("ok" if res.returncode == 0 else "refused")
    assert "Traceback" not in res.stderr
    assert store.verify(out) == []
    if res.returncode != 0:
        err = res.stderr.strip()
        assert is_one_line(err) and err.startswith("error: ") and name in err, res.stderr
        assert _published(out) == before, "a refused build changed the last good datasets"
        return
    assert res.stderr.strip() == ""
    tables = {t: store.read_table(out, t) for t in store.list_tables(out)}
    (meeting_id,) = tables["meetings"]["meeting_id"].to_list()
    lines = tuple(tables["source_lines"]["text"].to_list())
    check_tables(lines, meeting_id, tables)
