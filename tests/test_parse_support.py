"""Helpers shared by the parser tests, and the line-ledger invariant checked on every fixture.

The other ``test_parse_*`` modules import from here. Fixtures are small hand-written minutes in
this council's format (``tests/fixtures/minutes/``); fragments are written inline in the tests and
wrapped in a standard head and closing by :func:`fragment`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.normalise import clean_line
from analysis.parse.minutes import ParseResult, parse_minutes
from analysis.reading.document import document_from_bytes, read_document
from analysis.reference import load_reference
from analysis.schema import LINE_ROLES

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "raw" / "tama_2020-12-15_r02-09_minutes.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "minutes"
FIXTURE_FILES = sorted(FIXTURES.glob("*.txt"))

HEAD = """令和3年度第4回情報公開・個人情報保護運営審議会議事録（要点記録）

1 日時 令和3年9月9日（木）午前10時00分から午前11時00分まで
2 場所 多摩市役所本庁舎3階 301会議室
3 出席委員 藤崎会長、吉田副会長、牛島委員、川合委員
4 出席職員
【事務局】
（文書法制課）岩田文書法制課長
【実施機関】
諮問ア（市民経済部課税課）\t赤松課税課長
諮問イ（市民経済部市民課）\t片岡市民課長
5 傍聴人 なし
6 内容及び要点
(1) 開会
(2) 議題
"""
CLOSING = """(3) 閉会
多摩市情報公開・個人情報保護運営審議会の運営に関する申合せ事項により、ここに署名する。
多摩市情報公開・個人情報保護運営審議会 会長
藤崎太郎
委員
川合次郎
"""
QA_ROLES = ("question", "answer", "remark", "procedural")


def parse_text(text: str, name: str = "fragment.txt") -> ParseResult:
    """Parse minutes given as a string (UTF-8 bytes, as a text file would be read)."""
    return parse_minutes(document_from_bytes(text.encode("utf-8"), name), load_reference())


def fragment(body: str, *, head: str = HEAD, closing: str = CLOSING) -> ParseResult:
    """Parse ``body`` (agenda items and their deliberation) inside a standard head and closing."""
    return parse_text(head + body.strip("\n") + "\n" + closing)


def parse_file(path: Path) -> ParseResult:
    return parse_minutes(read_document(path), load_reference(), path.name)


def rows(res: ParseResult, table: str, **where) -> list[dict]:
    return [r for r in res.tables[table] if all(r.get(k) == v for k, v in where.items())]


def one(res: ParseResult, table: str, **where) -> dict:
    found = rows(res, table, **where)
    assert len(found) == 1, f"{table} {where}: {len(found)} rows"
    return found[0]


def codes(res: ParseResult) -> list[str]:
    return [d["code"] for d in res.tables["diagnostics"]]


def diag_lines(res: ParseResult, code: str) -> list[int | None]:
    return [d["source_line"] for d in res.tables["diagnostics"] if d["code"] == code]


def line_of(res: ParseResult, needle: str, nth: int = 0) -> int:
    """Source line of the ``nth`` raw line containing ``needle``."""
    found = [r["source_line"] for r in res.tables["source_lines"] if needle in r["text"]]
    assert len(found) > nth, f"{needle!r} found {len(found)} times"
    return found[nth]


def role(res: ParseResult, line: int) -> str:
    return res.tables["source_lines"][line - 1]["role"]


def ledger(res: ParseResult) -> dict[int, tuple[str, str | None]]:
    return {r["source_line"]: (r["role"], r["ref"]) for r in res.tables["source_lines"]}


def assert_ledger(res: ParseResult) -> None:
    """The data contract's promise: nothing in a raw file is silently dropped.

    Every line is in the ledger once, in order; a line is ``blank`` exactly when it is empty after
    repair; every other line has a known role; every ``unplaced``, ``repeated`` and
    ``page_artifact`` line has its diagnostics row; and the rows that came from lines point back
    at lines whose role says so.
    """
    lines = res.tables["source_lines"]
    (meeting,) = res.tables["meetings"]
    assert [r["source_line"] for r in lines] == list(range(1, len(lines) + 1))
    assert meeting["source_lines"] == len(lines)
    diag = {(d["code"], d["source_line"]) for d in res.tables["diagnostics"]}
    for r in lines:
        blank = not clean_line(r["text"]).text
        assert (r["role"] == "blank") == blank, r
        assert r["role"] in LINE_ROLES, r
        for line_role, code in (
            ("unplaced", "unplaced_line"),
            ("repeated", "repeated_line"),
            ("page_artifact", "page_artifact"),
        ):
            if r["role"] == line_role:
                assert (code, r["source_line"]) in diag, r
    counts: dict[str, int] = {}
    for r in lines:
        counts[r["role"]] = counts.get(r["role"], 0) + 1
    assert sum(counts.values()) == len(lines)
    for d in res.tables["diagnostics"]:
        assert d["source_line"] is None or 1 <= d["source_line"] <= len(lines), d

    # every turn's lines carry its kind (page numbers, repeats and blanks may sit inside)
    turns = {f"{u['deliberation_group']}#{u['seq']}": u for u in res.tables["utterances"]}
    for key, u in turns.items():
        assert lines[u["source_line"] - 1]["role"] == u["kind"], u
        for no in range(u["source_line"], u["source_line_end"] + 1):
            r = lines[no - 1]
            assert r["role"] in (u["kind"], "blank", "page_artifact", "repeated"), (key, r)
            if r["role"] == u["kind"]:
                assert r["ref"] == key, (key, r)
    qa_lines = [r for r in lines if r["role"] in QA_ROLES]
    assert {r["ref"] for r in qa_lines} == set(turns)
    assert sum(u["source_line_end"] - u["source_line"] + 1 for u in turns.values()) >= len(qa_lines)

    for c in res.tables["consultations"]:
        header = lines[c["source_line_start"] - 1]
        assert (header["role"], header["ref"]) == ("consultation_header", c["consultation_id"])
        assert c["source_line_start"] <= c["source_line_end"]
        if c["decision_line"] is not None:
            assert lines[c["decision_line"] - 1]["role"] == "decision", c
            assert c["decision_line"] <= c["source_line_end"]
        assert (c["decision"] == "not_applicable") == (c["agenda_kind"] == "report")
    assert meeting["consultations"] + meeting["reports"] == len(res.tables["consultations"])
    header_lines = sum(1 for r in lines if r["role"] == "consultation_header")
    assert header_lines >= len(res.tables["consultations"])
    for table, line_role in (("personal_data_items", "personal_data"), ("safeguards", "safeguard")):
        for row in res.tables[table]:
            assert lines[row["source_line"] - 1]["role"] == line_role, row
    for f in res.tables["follow_ups"]:
        u = turns[f"{f['deliberation_group']}#{f['seq']}"]
        assert u["source_line"] <= f["source_line"] <= u["source_line_end"], f
    if meeting["title"]:
        assert any(r["role"] == "title" for r in lines)


@pytest.mark.parametrize("path", [SEED, *FIXTURE_FILES], ids=lambda p: p.name)
def test_ledger_invariant_holds_for_every_fixture(path):
    assert_ledger(parse_file(path))


@pytest.mark.parametrize("path", [SEED, *FIXTURE_FILES], ids=lambda p: p.name)
def test_every_fixture_gives_schema_valid_tables(path):
    from analysis.tables import frames
    from analysis.validate import validate_all

    res = parse_file(path)
    validate_all(frames(res.tables))


def test_fixtures_are_small_and_present():
    assert len(FIXTURE_FILES) >= 5
    for path in FIXTURE_FILES:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 120, path.name


def test_parse_is_deterministic():
    a = parse_file(SEED).tables
    b = parse_file(SEED).tables
    assert a == b
