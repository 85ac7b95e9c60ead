"""The project's own promises: environment.yml in step, dictionary current, reference data sound."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from analysis import paths
from analysis.dictionary import render
from analysis.reference import ReferenceError, load_reference
from analysis.schema import TABLES

ROOT = paths.project_root()


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    name = _name(req)
    rest = re.sub(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?", "", req).strip()
    return f"{name}{rest}"


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = py["dependencies"] + py["optional-dependencies"]["dev"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += [d for d in dep.get("pip", []) if not d.startswith("-e")]
        elif not dep.startswith(("python", "pip")) or dep.startswith("pip-"):
            conda.append(dep)
    got = {_spec(d).replace("pandera-polars", "pandera") for d in conda + pip}
    want = {_spec(d) for d in wanted}
    assert got == want


def test_data_dictionary_is_generated_from_the_schema():
    text = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert text == render(), "docs/data-dictionary.md is stale: run `council dictionary`"
    for t in TABLES:
        assert f"## {t.name}" in text


def test_reference_files_load_and_use_known_codes():
    ref = load_reference()
    assert ref.organizations and ref.measures and ref.category_rules
    assert {m.control_category for m in ref.measures} == {
        "organizational",
        "human",
        "physical",
        "technical",
    }
    assert ref.default_municipality()["slug"] == "tama"
    assert ref.bureau_of("課税課") == "市民経済部"


def test_reference_error_names_file_and_line(tmp_path: Path):
    import shutil

    for p in paths.reference_dir().glob("*.csv"):
        shutil.copy2(p, tmp_path / p.name)
    bad = tmp_path / "safeguard_taxonomy.csv"
    bad.write_text(
        bad.read_text(encoding="utf-8") + "bogus,psychic,超能力,テレパシー,\n", encoding="utf-8"
    )
    with pytest.raises(
        ReferenceError, match=r"safeguard_taxonomy.csv:\d+: unknown control_category"
    ):
        load_reference(tmp_path)


def test_sources_csv_records_every_raw_file_with_its_hash():
    from analysis import sources

    files = sources.raw_files(paths.raw_dir())
    assert files, "no raw minutes shipped"
    assert sources.verify(paths.raw_dir(), files) == []


def test_import_is_light():
    """`import analysis` must not pull heavy libraries (they load where used)."""
    import subprocess
    import sys

    heavy = "('polars', 'pandas', 'pandera', 'duckdb', 'altair')"
    code = f"import sys, analysis; print(','.join(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_split_person_handles_a_token_of_any_length():
    from analysis.names import split_person

    assert split_person("赤松課税課長") == ("赤松", "課税課長")
    name, title = split_person("赤松" + "あ" * 100_000)
    assert name == "赤松" and len(title) == 100_000


def test_sources_check_names_a_csv_that_is_not_utf8(tmp_path):
    import subprocess
    import sys

    (tmp_path / "sources.csv").write_bytes(b"file,sha256\n\xff\xfe,x\n")
    res = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "sources", "check", "--raw", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1
    assert "sources.csv: not a UTF-8 CSV file" in res.stderr and "Traceback" not in res.stderr
