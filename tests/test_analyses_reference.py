"""The analyses' reference files load, and every code they use is known."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analysis.analyses import (
    SENSITIVE_KINDS,
    known_topic_codes,
    load_category_labels,
    load_legal_regimes,
    load_sensitive_items,
    load_taxonomy,
    load_topic_safeguard_map,
)
from analysis.reference import ReferenceError
from analysis.schema import CATEGORIES, CONTROL_CATEGORIES


def test_taxonomy_and_category_labels():
    tax = load_taxonomy()
    assert tax.columns == ["measure", "control_category", "label_ja"]
    assert tax["measure"].is_unique().all()
    assert set(tax["control_category"]) <= set(CONTROL_CATEGORIES)
    labels = load_category_labels()
    assert set(labels["category"]) == set(CATEGORIES)


def test_sensitive_items_file():
    s = load_sensitive_items()
    assert s.columns == ["pattern", "label_ja", "kind", "note"]
    assert s.height > 0
    assert set(s["kind"]) <= set(SENSITIVE_KINDS)
    assert s["pattern"].is_unique().all()
    for word in ("課税", "所得", "口座", "戸籍", "要配慮", "病歴", "障害", "犯罪", "生活保護"):
        assert word in s["pattern"].to_list()
    assert {"マイナンバー", "個人番号", "健康", "信条"} <= set(s["pattern"])


def test_legal_regimes_file():
    r = load_legal_regimes()
    got = {row["regime"]: row for row in r.iter_rows(named=True)}
    assert got["municipal_ordinance"]["end"] == date(2023, 3, 31)
    assert got["municipal_ordinance"]["label_ja"] == "多摩市個人情報保護条例"
    assert got["appi_2023"]["start"] == date(2023, 4, 1)
    assert got["appi_2023"]["label_ja"] == "改正個人情報保護法"


def test_topic_safeguard_map_file():
    m = load_topic_safeguard_map()
    assert m.columns == ["topic", "measure"]
    assert set(m["topic"]) <= set(known_topic_codes())
    assert set(m["measure"]) <= set(load_taxonomy()["measure"])
    assert m.height == m.unique().height


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_sensitive_items_checks(tmp_path):
    d = _write(tmp_path / "a", "sensitive_items.csv", "pattern,label_ja,kind\n健康,健康,health\n")
    with pytest.raises(ReferenceError, match=r"sensitive_items.csv:2: unknown kind 'health'"):
        load_sensitive_items(d)
    d = _write(
        tmp_path / "b",
        "sensitive_items.csv",
        "pattern,label_ja,kind\nＤＶ,DV,special_care\nDV,DV,special_care\n",
    )
    with pytest.raises(ReferenceError, match="duplicate pattern 'DV'"):
        load_sensitive_items(d)  # full-width and half-width are the same pattern
    d = _write(tmp_path / "c", "sensitive_items.csv", "pattern,kind\n健康,special_care\n")
    with pytest.raises(ReferenceError, match="missing column"):
        load_sensitive_items(d)
    with pytest.raises(ReferenceError, match="missing"):
        load_sensitive_items(tmp_path / "nowhere")
    d = _write(
        tmp_path / "d", "sensitive_items.csv", "\ufeffpattern,label_ja,kind\n健康,,special_care\n"
    )
    s = load_sensitive_items(d)  # BOM tolerated; empty label falls back to the pattern
    assert s.row(0) == ("健康", "健康", "special_care", None)


def test_legal_regimes_checks(tmp_path):
    head = "regime,label_ja,start,end\n"
    d = _write(tmp_path / "a", "legal_regimes.csv", head + "a,A,,2023-03-31\nb,B,2023-03-31,\n")
    with pytest.raises(ReferenceError, match="overlap"):
        load_legal_regimes(d)
    d = _write(tmp_path / "b", "legal_regimes.csv", head + "a,A,2023-04-01,2023-03-01\n")
    with pytest.raises(ReferenceError, match="after end"):
        load_legal_regimes(d)
    d = _write(tmp_path / "c", "legal_regimes.csv", head + "a,A,令和5年,\n")
    with pytest.raises(ReferenceError, match="not a date"):
        load_legal_regimes(d)
    d = _write(tmp_path / "d", "legal_regimes.csv", head + "b,B,2023-04-01,\na,A,,2023-03-31\n")
    r = load_legal_regimes(d)  # order in the file does not matter
    assert r["regime"].to_list() == ["b", "a"]
    assert r.schema["start"] == pl.Date


RULES = "- code: network_media\n  label_ja: 回線\n  rule: 回線\n"


def test_topic_map_checks(tmp_path):
    tax = pl.DataFrame(
        {"measure": ["encryption"], "control_category": ["technical"], "label_ja": ["暗号化"]}
    )
    d = _write(tmp_path / "a", "topic_safeguard_map.csv", "topic,measure\nnetwork,encryption\n")
    _write(d, "topic_rules.yml", RULES)
    with pytest.raises(ReferenceError, match="unknown topic 'network'"):
        load_topic_safeguard_map(d, taxonomy=tax)
    d = _write(tmp_path / "b", "topic_safeguard_map.csv", "topic,measure\nnetwork_media,vpn\n")
    _write(d, "topic_rules.yml", RULES)
    with pytest.raises(ReferenceError, match="unknown measure 'vpn'"):
        load_topic_safeguard_map(d, taxonomy=tax)
    d = _write(
        tmp_path / "c",
        "topic_safeguard_map.csv",
        "topic,measure,note\nnetwork_media,encryption,x\nnetwork_media,encryption,y\n",
    )
    _write(d, "topic_rules.yml", RULES)
    assert load_topic_safeguard_map(d, taxonomy=tax).rows() == [("network_media", "encryption")]


def test_known_topic_codes_read_the_rule_file(tmp_path):
    from analysis.coding_rules import RuleError

    with pytest.raises(RuleError, match="missing"):
        known_topic_codes(tmp_path / "nowhere")
    d = _write(
        tmp_path / "a",
        "topic_rules.yml",
        "- code: staffing\n  label_ja: 職員\n  rule: 職員\n"
        "- code: my_number\n  label_ja: 番号\n  rule: マイナンバー\n",
    )
    assert known_topic_codes(d) == ("staffing", "my_number")
    assert "recording_camera" in known_topic_codes()


def test_topic_map_codes_must_be_known(tmp_path):
    tax = pl.DataFrame(
        {"measure": ["encryption"], "control_category": ["technical"], "label_ja": ["暗号化"]}
    )
    d = _write(tmp_path / "a", "topic_safeguard_map.csv", "topic,measure\nmy_number,encryption\n")
    _write(d, "topic_rules.yml", RULES)
    with pytest.raises(ReferenceError, match="unknown topic 'my_number'"):
        load_topic_safeguard_map(d, taxonomy=tax)
    _write(d, "topic_rules.yml", RULES + "- code: my_number\n  label_ja: 番号\n  rule: 番号\n")
    assert load_topic_safeguard_map(d, taxonomy=tax).height == 1


def test_map_topics_exist_in_rule_file_when_present():
    """The shipped map only names topics the coding rules define (when the rules exist)."""
    from analysis.paths import reference_dir

    if not (reference_dir() / "topic_rules.yml").is_file():
        pytest.skip("topic_rules.yml not written yet")
    assert set(load_topic_safeguard_map()["topic"]) <= _rule_file_codes()


def _rule_file_codes() -> set[str]:
    import yaml

    from analysis.paths import reference_dir

    data = yaml.safe_load((reference_dir() / "topic_rules.yml").read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("topics", data)
    if isinstance(data, dict):
        return {str(k) for k in data}
    return {str(e.get("code")) for e in data or [] if isinstance(e, dict)}
