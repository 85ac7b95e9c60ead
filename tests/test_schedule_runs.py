"""Scheduled runs (analysis.render.runs): run folders, latest, index, skipping, exit codes.

Kernel starts are slow, so one module fixture makes a sequence of runs and the tests read what
they left. The package's code hash is pinned: another file being edited while the tests run
must not look like a change of every report's inputs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from filelock import FileLock
from typer.testing import CliRunner

from analysis.render import ScheduleError, load_schedule
from analysis.render import browser as render_browser
from analysis.render import versions as render_versions
from analysis.render.cli import report_app
from analysis.render.html import external_references
from analysis.render.runs import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_NO_DATA,
    EXIT_OK,
    EXIT_USAGE,
    LATEST,
    LATEST_FILE,
    latest_run,
    point_latest,
    prune_runs,
    read_run,
    run_reports,
)

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
TINY = FIXTURES / "tiny_report.py"
RUN_NAME = re.compile(r"^\d{8}T\d{6}Z_[0-9a-f]{8}(-\d+)?$")

pytestmark = pytest.mark.slow


def _schedule(path: Path, jobs: list) -> Path:
    path.write_text(yaml.safe_dump({"jobs": jobs}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pinned():
    mp = pytest.MonkeyPatch()
    mp.setattr(render_versions, "code_version", lambda: "test+pinned")
    yield
    mp.undo()


@pytest.fixture(scope="module")
def runs(seed_build, tmp_path_factory, pinned):
    """Four runs: with a failing job; without it; unchanged; with one notebook edited."""
    tmp = tmp_path_factory.mktemp("runs")
    nb = tmp / "copy_report.py"
    shutil.copy(TINY, nb)
    ok_jobs = [
        {"notebook": str(TINY), "parameters": {"top_n": 1}},
        {"notebook": str(nb), "for_each": "meeting", "name": "会議-{meeting_id}"},
        {"slides": "council", "for_each": "meeting", "parameters": {"pseudonymize": True}},
    ]
    failing = {"notebook": str(TINY), "parameters": {"fail": True}}
    with_failure = _schedule(tmp / "a.yml", [ok_jobs[0], failing, *ok_jobs[1:]])
    without = _schedule(tmp / "b.yml", ok_jobs)
    out = tmp / "out"
    logs: list[list[str]] = []

    def run(schedule: Path, **kwargs):
        lines: list[str] = []
        logs.append(lines)
        return run_reports(schedule, seed_build, out, log=lines.append, **kwargs)

    first = run(with_failure)
    second = run(without)
    third = run(without)
    nb.write_text(nb.read_text(encoding="utf-8") + "\n# %%\n1 + 1\n", encoding="utf-8")
    fourth = run(without)
    return {"out": out, "outcomes": [first, second, third, fourth], "logs": logs}


def _statuses(outcome) -> dict[str, str]:
    return {e.name: e.status for e in outcome.entries}


def test_first_run_writes_a_run_folder_latest_and_index(runs):
    out = runs["out"]
    first = runs["outcomes"][0]
    assert first.created and RUN_NAME.match(first.run_dir.name)
    assert first.run_dir.parent == out / "runs"
    assert _statuses(first) == {
        "tiny_report-1": "rendered",
        "tiny_report-fail": "failed",
        "会議-tama-2020-09": "rendered",
        "council_slides-tama-2020-09-pseudonymize": "rendered",
    }
    assert first.exit_code == EXIT_FAILED
    failed = first.failed[0]
    assert "RuntimeError: asked to fail" in failed.error
    summary = first.summary()
    assert "1 failed" in summary and "FAILED job 1 tiny_report-fail: RuntimeError" in summary
    record = read_run(first.run_dir)
    assert record["data_version"] == first.data_version and len(record["reports"]) == 4
    files = {p.name for p in first.run_dir.iterdir()}
    assert {"index.html", "run.json", "tiny_report-1.html", "tiny_report-fail.ipynb"} <= files
    assert "council_slides-tama-2020-09-pseudonymize.html" in files
    assert "tiny_report-fail.html" not in files
    # progress lines: one per report, numbered
    assert any(line.startswith("[1/4] rendering tiny_report-1") for line in runs["logs"][0])
    assert any(line.startswith("[2/4] FAILED job 1") for line in runs["logs"][0])


def test_index_lists_every_report_offline_and_escaped(runs):
    first = runs["outcomes"][0]
    page = (first.run_dir / "index.html").read_text(encoding="utf-8")
    assert external_references(page) == [] and "<script" not in page
    for entry in first.entries:
        assert entry.name in page
    assert first.data_version[:8] in page
    assert "作成失敗" in page and "asked to fail" in page
    assert 'href="tiny_report-1.html"' in page
    assert "@font-face" in page and "@page" in page


def test_second_run_skips_unchanged_reports_and_links_their_files(runs):
    first, second = runs["outcomes"][:2]
    assert second.created and second.run_dir != first.run_dir
    assert _statuses(second) == {
        "tiny_report-1": "skipped",
        "会議-tama-2020-09": "skipped",
        "council_slides-tama-2020-09-pseudonymize": "skipped",
    }
    assert second.exit_code == EXIT_OK
    a = first.run_dir / "tiny_report-1.html"
    b = second.run_dir / "tiny_report-1.html"
    assert b.is_file() and b.read_bytes() == a.read_bytes()
    if os.name == "posix":
        assert os.stat(a).st_ino == os.stat(b).st_ino  # hard link, no copy
    page = (second.run_dir / "index.html").read_text(encoding="utf-8")
    assert page.count("変更なし（前回の版）") == 3
    assert any("up to date, skipped: tiny_report-1" in line for line in runs["logs"][1])


def test_unchanged_third_run_makes_no_new_folder(runs):
    out = runs["out"]
    second, third = runs["outcomes"][1:3]
    assert not third.created and third.exit_code == EXIT_OK
    assert third.run_dir == second.run_dir
    assert set(_statuses(third).values()) == {"skipped"}
    assert "nothing changed" in third.summary()
    assert any("nothing to render" in line for line in runs["logs"][2])
    assert latest_run(out) is not None


def test_editing_a_notebook_renders_only_its_reports(runs):
    out = runs["out"]
    fourth = runs["outcomes"][3]
    assert _statuses(fourth) == {
        "tiny_report-1": "skipped",
        "会議-tama-2020-09": "rendered",
        "council_slides-tama-2020-09-pseudonymize": "skipped",
    }
    link = out / LATEST
    if link.is_symlink():
        assert os.readlink(link) == os.path.join("runs", fourth.run_dir.name)
    assert (out / LATEST_FILE).read_text(encoding="utf-8").strip() == fourth.run_dir.name
    assert (link / "index.html").is_file()
    assert not list((out / "runs").glob(".partial-*"))


def test_force_renders_everything(seed_build, tmp_path, pinned):
    schedule = _schedule(tmp_path / "s.yml", [{"slides": "council", "for_each": "meeting"}])
    out = tmp_path / "out"
    first = run_reports(schedule, seed_build, out)
    again = run_reports(schedule, seed_build, out)
    forced = run_reports(schedule, seed_build, out, force=True)
    assert [e.status for e in first.entries] == ["rendered"]
    assert not again.created
    assert forced.created and [e.status for e in forced.entries] == ["rendered"]


def test_pdf_without_chromium_is_a_warning_and_retried_when_it_appears(
    seed_build, tmp_path, pinned, monkeypatch
):
    schedule = _schedule(
        tmp_path / "s.yml",
        [{"slides": "council", "for_each": "meeting", "formats": ["slides", "pdf"]}],
    )
    out = tmp_path / "out"
    monkeypatch.setattr(render_browser, "find_chromium", lambda: None)
    first = run_reports(schedule, seed_build, out)
    entry = first.entries[0]
    assert first.exit_code == EXIT_OK and entry.status == "rendered"
    assert "pdf" not in entry.outputs and entry.pdf_unavailable
    assert "Chromium not found" in first.summary()
    assert len([w for w in first.summary().splitlines() if w.startswith("warning")]) == 1
    # still no Chromium: nothing to redo
    assert not run_reports(schedule, seed_build, out).created
    monkeypatch.undo()
    if render_browser.find_chromium() is None:
        return
    third = run_reports(schedule, seed_build, out)
    assert third.created and "pdf" in third.entries[0].outputs


def test_point_latest_copies_where_symlinks_fail(tmp_path, monkeypatch):
    runs_dir = tmp_path / "runs"
    one, two = runs_dir / "20260101T000000Z_aaaaaaaa", runs_dir / "20260102T000000Z_bbbbbbbb"
    for folder, text in ((one, "one"), (two, "two")):
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(text, encoding="utf-8")
        (folder / "run.json").write_text("{}", encoding="utf-8")

    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not allowed here")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    point_latest(tmp_path, one)
    latest = tmp_path / LATEST
    assert latest.is_dir() and not latest.is_symlink()
    assert (latest / "index.html").read_text(encoding="utf-8") == "one"
    point_latest(tmp_path, two)
    assert (latest / "index.html").read_text(encoding="utf-8") == "two"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    monkeypatch.undo()
    point_latest(tmp_path, one)  # and back to a symlink over the copied folder
    assert latest.is_symlink() and (latest / "index.html").read_text(encoding="utf-8") == "one"


def test_prune_keeps_the_newest_and_the_latest(tmp_path):
    runs_dir = tmp_path / "runs"
    names = [f"2026010{i}T000000Z_aaaaaaaa" for i in range(1, 6)]
    for name in names:
        (runs_dir / name).mkdir(parents=True)
        (runs_dir / name / "run.json").write_text("{}", encoding="utf-8")
    (runs_dir / ".partial-x").mkdir()
    (tmp_path / LATEST_FILE).write_text(names[0] + "\n", encoding="utf-8")
    removed = prune_runs(tmp_path, keep=2)
    left = sorted(p.name for p in runs_dir.iterdir())
    assert left == [names[0], names[3], names[4]]
    assert len(removed) == 2
    assert prune_runs(tmp_path, keep=0) == []


# -- the schedule file -----------------------------------------------------------------------
def test_schedule_formats_and_slides_jobs_are_checked(tmp_path):
    good = {"notebook": str(TINY), "formats": ["html", "pdf", "slides"]}
    schedule = load_schedule(
        _schedule(tmp_path / "ok.yml", [good, {"slides": "council", "for_each": "meeting"}])
    )
    assert schedule.jobs[0].formats == ("html", "pdf", "slides")
    assert schedule.jobs[1].slides == "council" and schedule.jobs[1].formats == ("slides",)
    assert schedule.jobs[1].source == "slides: council"
    cases = [
        ([{"notebook": str(TINY), "formats": ["docx"]}], r"jobs\[0\]\.formats: unknown format"),
        ([{"notebook": str(TINY), "formats": []}], r"jobs\[0\]\.formats: must be a list"),
        ([{"slides": "council", "for_each": "meeting", "formats": ["html"]}], r"unknown format"),
        ([{"slides": "poster", "for_each": "meeting"}], r"jobs\[0\]\.slides: 'poster'"),
        ([{"slides": "council"}], r"jobs\[0\]: slides need a meeting"),
        ([{"slides": "council", "for_each": "department"}], r"slides are per meeting"),
        (
            [{"slides": "council", "for_each": "meeting", "parameters": {"colour": 1}}],
            r"unknown parameter 'colour' for slides",
        ),
        (
            [{"slides": "council", "parameters": {"meeting_id": 3}}],
            r"'meeting_id' must be str",
        ),
        (
            [{"slides": "council", "notebook": str(TINY), "for_each": "meeting"}],
            r"either 'notebook' or 'slides'",
        ),
    ]
    for jobs, message in cases:
        with pytest.raises(ScheduleError, match=message):
            load_schedule(_schedule(tmp_path / "bad.yml", jobs))


# -- exit codes ------------------------------------------------------------------------------
def test_exit_codes(seed_build, tmp_path, pinned):
    runner = CliRunner()
    out = tmp_path / "out"
    ok = _schedule(tmp_path / "ok.yml", [{"slides": "council", "for_each": "meeting"}])
    bad = _schedule(tmp_path / "bad.yml", [{"notebook": str(TINY), "for_each": "year"}])
    failing = _schedule(
        tmp_path / "fail.yml", [{"slides": "council", "parameters": {"meeting_id": "nope"}}]
    )
    base = ["reports", "--data", str(seed_build), "--out", str(out)]

    res = runner.invoke(report_app, [*base, "--schedule", str(ok)])
    assert res.exit_code == EXIT_OK, res.output
    assert "[1/1] rendering council_slides-tama-2020-09" in res.output
    res = runner.invoke(report_app, [*base, "--schedule", str(ok)])
    assert res.exit_code == EXIT_OK and "nothing to render" in res.output

    res = runner.invoke(report_app, [*base, "--schedule", str(bad)])
    assert res.exit_code == EXIT_USAGE and "jobs[0].for_each" in res.output
    res = runner.invoke(report_app, [*base, "--schedule", str(tmp_path / "missing.yml")])
    assert res.exit_code == EXIT_USAGE

    res = runner.invoke(report_app, [*base, "--schedule", str(failing)])
    assert res.exit_code == EXIT_FAILED
    assert "FAILED job 0 council_slides-nope" in res.output and "not in the data" in res.output

    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(
        report_app, ["reports", "--schedule", str(ok), "--data", str(empty), "--out", str(out)]
    )
    assert res.exit_code == EXIT_NO_DATA and "council build" in res.output

    with FileLock(str(out / ".council-reports.lock")):
        res = runner.invoke(report_app, [*base, "--schedule", str(ok), "--force"])
    assert res.exit_code == EXIT_LOCKED and "another `council reports` is running" in res.output


def test_run_record_is_json_with_every_field(runs):
    record = json.loads((runs["outcomes"][0].run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["format"] == "council-run/1"
    entry = record["reports"][0]
    for key in ("name", "parameters", "fingerprint", "status", "data_version", "outputs"):
        assert key in entry
