"""The synthetic benchmark corpus: parseable, consistent, deterministic, never in data/raw."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from analysis import jpdate, paths
from analysis.bench import corpus
from analysis.bench.corpus import (
    LABELS,
    MARKER,
    MARKER_FILE,
    CorpusError,
    Meeting,
    era_date,
    fiscal_year_text,
    generate,
    plan,
    render,
)

N = 20
RE_DATE_LINE = re.compile(
    r"日\s*時\s*(?P<date>(?P<era>令和|平成)(?P<y>元|[0-9]+)年[^（]+)（(?P<wd>.)）"
)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> corpus.Corpus:
    return generate(N, tmp_path_factory.mktemp("bench") / "corpus", seed=0)


@pytest.fixture(scope="module")
def small_tables(small_corpus, tmp_path_factory):
    from analysis import load
    from analysis.build import build

    out = tmp_path_factory.mktemp("bench_out") / "processed"
    build(small_corpus.raw, out, progress=False, workers=1)
    return load(out)


# ------------------------------------------------------------------------------- eras and dates
@pytest.mark.parametrize(
    "day, text",
    [
        (dt.date(2019, 4, 30), "平成31年4月30日（火）"),
        (dt.date(2019, 5, 1), "令和元年5月1日（水）"),
        (dt.date(2020, 1, 10), "令和2年1月10日（金）"),
        (dt.date(2020, 12, 15), "令和2年12月15日（火）"),
        (dt.date(1989, 4, 3), "平成元年4月3日（月）"),
        (dt.date(1990, 3, 30), "平成2年3月30日（金）"),
    ],
)
def test_era_date(day, text):
    assert era_date(day) == text
    assert jpdate.parse_date(text) == day


def test_fiscal_year_text():
    assert fiscal_year_text(1989) == "平成元年度"
    assert fiscal_year_text(2019) == "平成31年度"
    assert fiscal_year_text(2019, reiwa=True) == "令和元年度"
    assert fiscal_year_text(2020) == "令和2年度"
    for fy in (1989, 2019, 2020, 2025):
        assert jpdate.parse_fiscal_year(fiscal_year_text(fy)) == fy
    assert jpdate.parse_fiscal_year(fiscal_year_text(2019, reiwa=True)) == 2019


# ------------------------------------------------------------------------------- the template
def test_seed_round_trip():
    """The seed's own deliberations, date and numbers reproduce the seed byte for byte."""
    seed = (paths.raw_dir() / corpus.SEED_NAME).read_text(encoding="utf-8")
    n_blocks = len(corpus._template(paths.raw_dir() / corpus.SEED_NAME).blocks)
    m = Meeting(
        0, 2020, 9, dt.date(2020, 12, 15), "令和2年度", "令和2年度第6回", tuple(range(n_blocks))
    )
    first, rest = render(m).split("\n", 1)
    assert first.startswith(MARKER)
    assert rest == seed


# ------------------------------------------------------------------------------- the plan
def test_plan_is_deterministic_and_seeded():
    a, b = plan(50, seed=3), plan(50, seed=3)
    assert a == b
    assert [render(m, 50, 3) for m in a[:5]] == [render(m, 50, 3) for m in b[:5]]
    assert [m.blocks for m in plan(50, seed=4)] != [m.blocks for m in a]


def test_plan_at_scale_has_unique_ids_and_dates_in_their_fiscal_year():
    ms = plan(10_000)
    assert len({m.meeting_id for m in ms}) == 10_000
    assert len({m.file for m in ms}) == 10_000
    for m in ms:
        assert dt.date(m.fiscal_year, 4, 1) <= m.date <= dt.date(m.fiscal_year + 1, 3, 31)
        assert m.date.weekday() < 5
        assert jpdate.parse_fiscal_year(m.fy_text) == m.fiscal_year
        labels = sum(len(corpus._template(corpus._seed_path()).blocks[b].labels) for b in m.blocks)
        assert 1 <= labels <= len(LABELS)
    # both eras, both first years (元年) and both ways of writing fiscal 2019
    dates = [era_date(m.date) for m in ms]
    assert any(d.startswith("平成元年") for d in dates)
    assert any(d.startswith("令和元年") for d in dates)
    assert any(d.startswith("平成31年4月") for d in dates)
    assert {m.fy_text for m in ms if m.fiscal_year == 2019} == {"平成31年度", "令和元年度"}


def test_previous_minutes_refer_to_the_meeting_before():
    ms = plan(200)
    by_key = {(m.fiscal_year, m.session): m for m in ms}
    for m in ms:
        if m.session > 1:
            prev = by_key[(m.fiscal_year, m.session - 1)]
            assert m.previous == prev.title_prefix


# ------------------------------------------------------------------------------- the files
def test_files_are_marked_synthetic(small_corpus):
    assert (small_corpus.root / MARKER_FILE).is_file()
    assert len(small_corpus.files) == N
    for f in small_corpus.files:
        first = f.read_text(encoding="utf-8").split("\n", 1)[0]
        assert first.startswith(MARKER)
    with (small_corpus.raw / "sources.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == sorted(f.name for f in small_corpus.files)
    assert all("SYNTHETIC" in r["note"] for r in rows)


def test_dates_are_written_in_their_era(small_corpus):
    seen_gannen = set()
    for m in small_corpus.meetings:
        text = (small_corpus.raw / m.file).read_text(encoding="utf-8")
        found = RE_DATE_LINE.search(text)
        assert found, m.file
        assert jpdate.parse_date(found.group("date")) == m.date
        era = "令和" if m.date >= dt.date(2019, 5, 1) else "平成"
        assert found.group("era") == era, m.file
        if found.group("y") == "元":
            seen_gannen.add((era, m.date.year))
            assert m.date.year == (2019 if era == "令和" else 1989)
        assert found.group("wd") == "月火水木金土日"[m.date.weekday()]
        assert f"{m.fy_text}第{m.session}回" in text
        assert f"前回議事録（{m.previous}）" in text
    assert ("令和", 2019) in seen_gannen
    assert ("平成", 1989) in seen_gannen


def test_generating_again_is_identical(small_corpus, tmp_path):
    again = generate(N, tmp_path / "again", seed=0)
    for a, b in zip(small_corpus.files, again.files, strict=True):
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes()


# ------------------------------------------------------------------------------- the build
def test_corpus_builds(small_corpus, small_tables):
    meetings = small_tables["meetings"]
    assert meetings.height == N
    assert meetings["meeting_id"].n_unique() == N
    assert sorted(meetings["meeting_id"]) == sorted(m.meeting_id for m in small_corpus.meetings)
    expected = {m.meeting_id: m for m in small_corpus.meetings}
    for row in meetings.iter_rows(named=True):
        m = expected[row["meeting_id"]]
        assert row["date"] == m.date
        assert row["fiscal_year"] == m.fiscal_year
        assert row["session_no"] == m.session
        assert row["previous_minutes"] == m.previous


def test_consultations_are_relabelled_consistently(small_tables):
    diag = small_tables["diagnostics"]
    assert diag.filter(pl.col("severity") == "error").height == 0
    assert diag.filter(pl.col("code") == "no_decision").height == 0
    assert diag.filter(pl.col("code") == "decision_unread").height == 0
    cons = small_tables["consultations"]
    assert (cons["decision"] == "approved").all()
    attendees = small_tables["attendees"]
    for mid, group in cons.group_by("meeting_id"):
        labels = group.sort("seq")["label"].to_list()
        assert labels == list(LABELS[: len(labels)]), mid
        staff = attendees.filter(pl.col("meeting_id") == mid[0])["consultation_labels"]
        assert sorted({lab for ls in staff.to_list() for lab in ls}) == sorted(labels), mid


def test_build_marks_meetings_synthetic(small_tables):
    assert small_tables["meetings"]["is_synthetic"].all()
    lines = small_tables["source_lines"].filter(pl.col("source_line") == 1)
    assert (lines["role"] != "unplaced").all()


# ------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "target",
    [
        lambda: paths.raw_dir(),
        lambda: paths.raw_dir() / "bench",
        lambda: paths.raw_dir() / "a" / "b",
        lambda: paths.data_dir(),  # its raw/ would be data/raw
        lambda: paths.data_dir().parent,  # over the project: data/raw would be inside
    ],
)
def test_refuses_to_write_into_data_raw(target):
    raw = paths.raw_dir()
    before = sorted(p.name for p in raw.rglob("*"))
    with pytest.raises(CorpusError, match="refusing"):
        generate(2, target())
    assert sorted(p.name for p in raw.rglob("*")) == before


def test_refuses_to_overwrite_a_folder_that_is_not_a_corpus(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CorpusError, match="refusing"):
        generate(2, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_regenerates_over_its_own_corpus(tmp_path: Path):
    a = generate(3, tmp_path / "c")
    b = generate(2, tmp_path / "c")
    assert len(list(b.raw.glob("*_synthetic.txt"))) == 2
    assert a.root == b.root


def test_rejects_empty_corpus(tmp_path: Path):
    with pytest.raises(ValueError):
        generate(0, tmp_path / "c")


# ------------------------------------------------------------------------------- the runner
@pytest.mark.slow
def test_benchmark_runner_smoke(tmp_path: Path):
    """`python -m analysis.bench` end to end on tiny corpora: figures, targets, table."""
    from analysis.bench import run

    result = run.run([1, 3, 6], work=tmp_path, workers=[1], rendering=False, log=lambda _m: None)
    assert [s["meetings"] for s in result["sizes"]] == [1, 3, 6]
    b = result["sizes"][-1]["builds"]["1"]
    assert b["meetings"] == 6
    assert b["rss_main_mb"] > 0 and b["mb_s"] > 0 and b["over_floor"] > 1
    assert result["import"]["best_s"] < 5
    names = {r["name"] for r in result["analyses"]["analyses"]}
    assert "analyses.consultation_register" in names
    targets = {t["target"]: t for t in result["targets"]}
    assert targets["import analysis"]["met"] is True
    assert targets["peak memory at 6 meetings"]["met"] is None  # stated for 10,000
    text = run.table(result)
    assert "targets:" in text and "import analysis" in text


def test_tree_memory_counts_a_child_process_at_the_same_moment():
    import os
    import subprocess
    import sys
    import time

    from analysis.bench.run import TreeMemory

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; x = bytearray(96 << 20); print(1); time.sleep(5)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout.readline().strip() == b"1"  # the child holds its 96 MB now
        alone = TreeMemory(child.pid).sample()
        with_parent = TreeMemory(os.getpid()).sample()
    finally:
        child.kill()
        child.wait()
    assert alone is not None and alone >= 96
    assert with_parent >= alone + 10  # this process's own memory is added
    tree = TreeMemory(os.getpid(), interval=0.01)
    tree.start()
    time.sleep(0.05)
    tree.stop()
    assert tree.peak_mb is not None and tree.peak_mb < with_parent
    # without the file pages (the interpreter's and libraries' code): less, and more than none
    total, files = TreeMemory(os.getpid()).sample_parts()
    assert 0 < files < total
    assert tree.peak_anon_mb is not None and 0 < tree.peak_anon_mb < tree.peak_mb


# ------------------------------------------------------------------- rendering figures
def _rendering(times: dict[str, list[float]]) -> dict:
    """A rendering result as bench_rendering makes it: a first report, then rounds of the
    further ones (report name -> its seconds in each round)."""
    from analysis.bench.run import further_reports

    batch = [{"notebook": "brief.py", "parameters": {"meeting_id": "m1"}, "round": 0, "s": 4.0}]
    for r in range(max(len(v) for v in times.values())):
        for name, seconds in times.items():
            batch.append({"notebook": name, "parameters": {}, "round": r + 1, "s": seconds[r]})
    return {
        "plan_from": "reports/schedule.yml",
        "data_dir": "/d",
        "rounds": 3,
        "batch": batch,
        "first_s": 4.0,
        "further_s": [b["s"] for b in batch[1:]],
        "further": further_reports(batch[1:]),
        "naive_s": [6.0],
    }


def _result_with(rendering: dict) -> dict:
    build = {"seconds": 1.0, "mb_s": 6.0, "mb_per_cpu_s": 6.0, "meetings_s": 400.0}
    build |= {"over_floor": 80.0, "cpu_s": 1.0, "rss_total_mb": 900.0}
    build |= {"load_before": 0.0, "load_after": 0.0}
    return {
        "sizes": [{"meetings": 10_000, "mb": 6.0, "floor_s": 0.01, "builds": {"1": build}}],
        "workers": [1],
        "machine": {"cores": 2},
        "marginal_w1": [],
        "import": {"best_s": 0.001},
        "rendering": rendering,
    }


def test_further_reports_are_summarised_per_report_in_first_render_order():
    from analysis.bench.run import further_reports

    renders = [
        {"notebook": "b.py", "parameters": {"x": 1}, "s": 0.5},
        {"notebook": "a.py", "parameters": {}, "s": 0.9},
        {"notebook": "b.py", "parameters": {"x": 2}, "s": 0.1},  # other parameters: own row
        {"notebook": "b.py", "parameters": {"x": 1}, "s": 0.7},
        {"notebook": "a.py", "parameters": {}, "s": 0.2},
        {"notebook": "b.py", "parameters": {"x": 1}, "s": 0.6},
    ]
    rows = further_reports(renders)
    assert [(r["notebook"], r["parameters"]) for r in rows] == [
        ("b.py", {"x": 1}),
        ("a.py", {}),
        ("b.py", {"x": 2}),
    ]
    assert rows[0]["s"] == [0.5, 0.7, 0.6]
    assert rows[0]["median_s"] == 0.6 and rows[0]["max_s"] == 0.7
    assert rows[1]["median_s"] == pytest.approx(0.55)  # an even count: the mean of the middle two
    assert rows[2]["median_s"] == rows[2]["max_s"] == 0.1


def test_further_report_target_holds_each_report_median_and_names_the_slowest_render():
    from analysis.bench.run import evaluate, table

    # one pause of the machine (1.4 s) in an otherwise 0.8 s report: met, and said
    result = _result_with(_rendering({"q.py": [0.8, 1.4, 0.82], "s.py": [0.7, 0.75, 0.72]}))
    (row,) = [t for t in evaluate(result) if t["target"] == "further report in a batch"]
    assert row["met"] is True and row["value"] == 0.82
    assert "median of 3 renders, slowest q.py" in row["note"]
    assert "single renders 0.70-1.40 s" in row["note"]
    # a report slow in most rounds misses
    result = _result_with(_rendering({"q.py": [1.1, 0.9, 1.2], "s.py": [0.7, 0.75, 0.72]}))
    (row,) = [t for t in evaluate(result) if t["target"] == "further report in a batch"]
    assert row["met"] is False and row["value"] == 1.1
    (memory,) = [t for t in evaluate(result) if t["target"].startswith("peak memory")]
    assert memory["value"] == 900.0 and memory["note"] == ""  # no anonymous peak sampled
    result["sizes"][0]["builds"]["1"]["rss_tree_peak_anon_mb"] = 812.4
    (memory,) = [t for t in evaluate(result) if t["target"].startswith("peak memory")]
    assert memory["value"] == 900.0 and memory["note"] == "812 MB without library file pages"
    result["total_s"] = 1.0
    result["targets"] = evaluate(result)
    text = table(result)
    assert "further    1.10 s  q.py ()  median of 1.10, 0.90, 1.20" in text
    assert "first      4.00 s  brief.py (meeting_id=m1)" in text
