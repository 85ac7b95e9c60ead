"""Rendering reports needs no network: `council reports` in an empty network namespace."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TINY = Path(__file__).parent / "fixtures" / "notebooks" / "tiny_report.py"


def _empty_netns_allowed() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return (
            subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.slow
def test_reports_render_with_no_network(seed_build, tmp_path):
    if not _empty_netns_allowed():
        pytest.skip("unshare -rn (user + network namespace) is not permitted here")
    schedule = tmp_path / "schedule.yml"
    jobs = [
        {"notebook": str(TINY), "parameters": {"top_n": 3}},
        {"slides": "council", "for_each": "meeting"},
    ]
    schedule.write_text(yaml.safe_dump({"jobs": jobs}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    res = subprocess.run(
        [
            *("unshare", "-rn", sys.executable, "-m", "analysis.cli", "reports"),
            *("--schedule", str(schedule), "--data", str(seed_build), "--out", str(out), "-q"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    latest = out / "latest"
    assert (latest / "index.html").is_file()
    htmls = sorted(p.name for p in latest.glob("*.html"))
    assert any(n.startswith("tiny_report") for n in htmls)
    assert any("slides" in n for n in htmls)
