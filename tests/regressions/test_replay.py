"""Replay every kept failing example in ``cases/`` (see RELIABILITY.md).

Each case is a JSON file: a mutant recipe (see :mod:`regressions.mutants`) plus

* ``"expect"``: ``"ok"`` (the mutant must build) or ``"error"`` (it must be refused), and
* optionally ``"message"``: text the one-line error must contain,
* ``"found_by"`` / ``"fixed"``: where it came from and what was changed (for people).

Every case must also keep the general promises of :func:`regressions.mutants.check_in_process`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regressions.mutants import CASES_DIR, check_in_process, mutant_bytes

CASES = sorted(CASES_DIR.glob("*.json"))


def test_there_are_kept_cases():
    assert CASES, f"no regression cases in {CASES_DIR}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_kept_case(path: Path):
    case = json.loads(path.read_text(encoding="utf-8"))
    outcome, result = check_in_process(mutant_bytes(case), case.get("file", "mutant.txt"))
    assert outcome == case["expect"], result
    if "message" in case:
        assert case["message"] in result
