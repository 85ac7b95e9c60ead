"""The seed as a published PDF would look: wrapped lines, page numbers, running headers."""

from __future__ import annotations

import polars as pl
import pytest

from analysis import store
from analysis.build import build
from conftest import SEED_NAME
from fixtures_reading import make_pdf, seed_text

WRAP = 42  # characters per printed line
PER_PAGE = 40
HEADER = "令和2年度第9回 情報公開・個人情報保護運営審議会 議事録"


def seed_as_pdf() -> bytes:
    printed: list[str] = []
    for line in seed_text().splitlines():
        if not line.strip():
            continue  # a PDF's text layer has no blank lines
        line = line.replace("\t", " ")
        while len(line) > WRAP:
            printed.append(line[:WRAP])
            line = line[WRAP:]
        printed.append(line)
    pages = []
    for i in range(0, len(printed), PER_PAGE):
        n = len(pages) + 1
        pages.append([HEADER, *printed[i : i + PER_PAGE], f"- {n} -"])
    return make_pdf(pages)


@pytest.fixture(scope="module")
def pdf_build(tmp_path_factory):
    raw = tmp_path_factory.mktemp("pdfraw")
    (raw / "minutes.pdf").write_bytes(seed_as_pdf())
    out = tmp_path_factory.mktemp("pdfout")
    build(raw, out, progress=False, workers=1)
    return {t: store.read_table(out, t) for t in store.list_tables(out)}


def test_pdf_minutes_give_the_same_records_as_the_text(pdf_build, seed_tables):
    for name in ("consultations", "utterances", "follow_ups"):
        assert pdf_build[name].height == seed_tables[name].height, name
    cols = ["label", "category", "bureau", "decision", "vote", "deliberation_group"]
    assert pdf_build["consultations"].select(cols).equals(seed_tables["consultations"].select(cols))
    kinds_pdf = pdf_build["utterances"]["kind"].to_list()
    assert kinds_pdf == seed_tables["utterances"]["kind"].to_list()
    # pdfplumber gives 〜 (WAVE DASH) for the text file's ～ (FULLWIDTH TILDE): the *_norm
    # columns fold both to one character, the as-written text keeps what each file says.
    texts_pdf = pdf_build["utterances"]["text_norm"].to_list()
    assert texts_pdf == seed_tables["utterances"]["text_norm"].to_list()


def test_pdf_lines_carry_pages_and_artifacts_are_set_aside(pdf_build):
    lines = pdf_build["source_lines"]
    assert lines["source_page"].null_count() == 0
    assert lines["source_page"].max() >= 5
    artifacts = lines.filter(pl.col("role") == "page_artifact")
    pages = lines["source_page"].n_unique()
    # every page's running header and page number
    assert artifacts.height == 2 * pages
    assert lines.filter(pl.col("role") == "unplaced").height == 0
    m = pdf_build["meetings"].row(0, named=True)
    assert m["source_format"] == "pdf" and m["source_encoding"] is None


def test_pdf_and_text_of_the_same_meeting_are_not_counted_twice(raw_copy, tmp_path):
    (raw_copy / "minutes.pdf").write_bytes(seed_as_pdf())
    out = tmp_path / "out"
    build(raw_copy, out, progress=False, workers=1)
    assert store.read_table(out, "meetings").height == 1
    diag = store.read_table(out, "diagnostics")
    dup = diag.filter(pl.col("code") == "duplicate_meeting")["message"].to_list()
    assert len(dup) == 1 and SEED_NAME in dup[0] and "minutes.pdf" in dup[0]
