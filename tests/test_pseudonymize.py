"""--pseudonymize: names of members and staff become their roles everywhere."""

from __future__ import annotations

import polars as pl

from analysis.pseudonymize import Pseudonyms, pseudonymize_tables, pseudonymized_datasets

NAMES = ("藤崎", "牛島", "川合", "櫻井", "赤松", "岩田", "榎中", "河井")


def _all_text(tables) -> str:
    parts = []
    for df in tables.values():
        for col, dtype in df.schema.items():
            if dtype == pl.String:
                parts += [v for v in df[col].to_list() if v]
            elif dtype == pl.List(pl.String):
                parts += [x for v in df[col].to_list() if v for x in v]
    return "\n".join(parts)


def test_no_name_survives_in_any_text_column(seed_tables):
    before = _all_text(seed_tables)
    assert all(n in before for n in NAMES)
    after = _all_text(pseudonymize_tables(seed_tables))
    for name in NAMES:
        assert name not in after, name


def test_stand_ins_say_the_role(seed_tables):
    t = pseudonymize_tables(seed_tables)
    a = t["attendees"]
    chair = a.filter(pl.col("role") == "chair")["name"].to_list()
    assert chair == ["会長"]
    members = a.filter(pl.col("role") == "member")["name"].to_list()
    assert members == [f"委員{c}" for c in "ABCDEF"]
    assert set(a.filter(pl.col("role") == "secretariat")["name"]) == {
        "事務局A",
        "事務局B",
        "事務局C",
        "事務局D",
    }
    m = t["meetings"].row(0, named=True)
    # 藤崎太郎 signed as chair; 榎中和子 is not in the attendance list
    assert m["signatories"] == ["会長", "署名者A"]
    row = seed_tables["attendees"]["name"].to_list().index("櫻井")
    assert m["designated_signer"] == t["attendees"]["name"][row]
    # the line ledger too
    line = t["source_lines"].filter(pl.col("source_line") == 38)["text"].item()
    assert line.startswith("委員") and "櫻井" not in line


def test_the_same_name_gets_the_same_stand_in_across_tables(seed_tables):
    p = Pseudonyms.from_attendees(seed_tables["attendees"])
    assert p("櫻井委員が指名された。") == f"{p.mapping['櫻井']}委員が指名された。"
    assert p(None) is None
    assert Pseudonyms.from_attendees(seed_tables["attendees"], enabled=False)("櫻井") == "櫻井"


def test_pseudonymized_copy_is_cached_by_data_version(seed_build, tmp_path):
    first = pseudonymized_datasets(seed_build, tmp_path)
    again = pseudonymized_datasets(seed_build, tmp_path)
    assert first == again
    from analysis import load

    t = load(first)
    assert "藤崎" not in _all_text(t)


def test_report_cli_pseudonymize_shows_no_names(seed_build, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "report",
            "report_meeting_brief",
            "-p",
            "meeting_id=tama-2020-09",
            "--data",
            str(seed_build),
            "--out",
            str(out),
            "--pseudonymize",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "委員A" in html and "会長" in html
    for name in NAMES:
        assert name not in html, name
