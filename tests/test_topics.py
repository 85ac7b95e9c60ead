"""Topic coding: the rule file, the golden examples, code_topics and its diagnostics."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
import yaml

from analysis import paths
from analysis.coding_rules import RuleError
from analysis.normalise import to_norm
from analysis.schema import UTTERANCE_KINDS, table
from analysis.tables import polars_schema, to_frame
from analysis.topics import (
    TopicRule,
    apply_topic_rules,
    code_topics,
    load_topic_rules,
    match_topics,
    topic_diagnostics,
    unmatched_rules,
    with_topic_diagnostics,
)
from analysis.validate import validate_table

RULES_PATH = paths.reference_dir() / "topic_rules.yml"
GOLDEN_PATH = Path(__file__).parent / "golden" / "topic_examples.yml"
GOLDEN = yaml.safe_load(GOLDEN_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rules() -> list[TopicRule]:
    return load_topic_rules(RULES_PATH)


# ---------------------------------------------------------------------------- the rule file
def test_rule_file_loads_with_twelve_to_twenty_topics(rules):
    assert 12 <= len(rules) <= 20
    codes = [r.code for r in rules]
    assert len(set(codes)) == len(codes)
    for r in rules:
        assert r.label_ja and r.description, r.code
        assert r.applies_to and set(r.applies_to) <= set(UTTERANCE_KINDS), r.code
        assert r.source_path == "data/reference/topic_rules.yml"
        lines = RULES_PATH.read_text(encoding="utf-8").splitlines()
        assert lines[r.line - 1] == f"- code: {r.code}", r.code


def test_topic_safeguard_map_uses_only_known_topics(rules):
    """The analyses' topic → safeguard map must name topics of this rule file."""
    path = paths.reference_dir() / "topic_safeguard_map.csv"
    if not path.is_file():
        pytest.skip("no topic_safeguard_map.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        used = {row["topic"] for row in csv.DictReader(fh)}
    assert used <= {r.code for r in rules}


# ---------------------------------------------------------------------------- golden examples
def test_golden_examples_are_well_formed(rules):
    codes = {r.code for r in rules}
    ids = [ex["id"] for ex in GOLDEN]
    assert len(set(ids)) == len(ids), "duplicate example ids"
    for ex in GOLDEN:
        assert set(ex) <= {"id", "text", "kind", "topics", "not_topics", "source"}, ex["id"]
        named = set(ex.get("topics", [])) | set(ex.get("not_topics", []))
        assert named <= codes, f"{ex['id']}: unknown topic(s) {sorted(named - codes)}"
        assert not set(ex.get("topics", [])) & set(ex.get("not_topics", [])), ex["id"]


def test_every_topic_has_at_least_two_golden_examples(rules):
    counts = {r.code: 0 for r in rules}
    for ex in GOLDEN:
        for topic in ex.get("topics", []):
            counts[topic] += 1
    thin = {code: n for code, n in counts.items() if n < 2}
    assert not thin, f"topics with fewer than two golden examples: {thin}"


@pytest.mark.parametrize("example", GOLDEN, ids=[ex["id"] for ex in GOLDEN])
def test_golden_example(example, rules):
    got = match_topics(to_norm(example["text"]), rules, example.get("kind", "question"))
    problems = [
        f"should get topic '{t}' (rule: {_rule(rules, t)})"
        for t in example.get("topics", [])
        if t not in got
    ] + [
        f"should not get topic '{t}' but matched {got[t]} (rule: {_rule(rules, t)})"
        for t in example.get("not_topics", [])
        if t in got
    ]
    assert not problems, f"golden example '{example['id']}' 「{example['text']}」: " + "; ".join(
        problems
    )


def _rule(rules, code: str) -> str:
    return next(" ".join(r.expression.split()) for r in rules if r.code == code)


# ---------------------------------------------------------------------------- on the seed
def test_every_seed_question_and_remark_gets_a_topic(seed_tables):
    u = seed_tables["utterances"].filter(pl.col("kind").is_in(["question", "remark"]))
    qt = seed_tables["question_topics"]
    untagged = u.join(qt, on=["meeting_id", "deliberation_group", "seq"], how="anti")
    assert u.height == 38  # 36 questions and 2 remarks
    assert untagged.height == 0, untagged.select("deliberation_group", "seq", "text").rows()


def test_built_question_topics_table(seed_tables):
    qt = seed_tables["question_topics"]
    assert dict(qt.schema) == polars_schema(table("question_topics"))
    u = seed_tables["utterances"]
    joined = qt.join(u, on=["meeting_id", "deliberation_group", "seq"], how="left")
    assert joined["kind"].is_in(["question", "remark"]).all()  # answers are not coded
    for row in joined.iter_rows(named=True):
        words = row["matched"].split("、")
        assert words and all(w and w in row["text_norm"] for w in words), row
    # a known row, with its words in order of appearance
    row = qt.filter((pl.col("deliberation_group") == "オ") & (pl.col("seq") == 15))
    assert dict(zip(row["topic"], row["matched"], strict=True)) == {
        "consent_notice": "掲示",
        "recording_camera": "録画",
    }


def test_matched_words_ordered_by_first_appearance(rules):
    got = match_topics("外部記録媒体やUSBメモリはオンラインで", rules)
    assert got["network_media"] == ["媒体", "USB", "オンライン"]


# ---------------------------------------------------------------------------- code_topics
def _utterances(rows: list[tuple], *, sort: bool = True) -> pl.DataFrame:
    """Utterances from (deliberation_group, seq, kind, text) with the other columns filled
    (``sort=False``: in the order given)."""
    return to_frame(
        "utterances",
        [
            dict(
                meeting_id="tama-2021-01",
                deliberation_group=g,
                seq=seq,
                speaker_label="委 員",
                speaker_role="member",
                kind=kind,
                text=text,
                text_norm=to_norm(text),
                source_line=10 + i,
            )
            for i, (g, seq, kind, text) in enumerate(rows)
        ],
        sort=sort,
    )


def _write_rules(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "topic_rules.yml"
    path.write_text(text, encoding="utf-8")
    return path


SMALL_RULES = """\
- code: camera
  label_ja: カメラ
  rule: 録画 | カメラ & !監視カメラ
- code: answers_too
  label_ja: 委託
  rule: 委託
  applies_to: [question, answer]
- code: never
  label_ja: 使われない
  rule: 存在しない言葉
"""


def test_code_topics_applies_rules_by_kind(tmp_path):
    _write_rules(tmp_path, SMALL_RULES)
    u = _utterances(
        [
            ("ア", 1, "question", "防犯カメラで録画するのか。委託するのか。"),
            ("ア", 2, "answer", "委託する。録画もする。"),
            ("ア", 3, "remark", "監視カメラには気を付けてほしい。"),
            ("ア", 4, "procedural", "録画について挙手を。"),
            ("イ", 1, "remark", "録画は不要。"),
        ]
    )
    qt = code_topics(u, tmp_path)
    assert dict(qt.schema) == polars_schema(table("question_topics"))
    assert qt.rows() == [
        ("tama-2021-01", "ア", 1, "answers_too", "委託"),
        ("tama-2021-01", "ア", 1, "camera", "カメラ、録画"),
        ("tama-2021-01", "ア", 2, "answers_too", "委託"),
        ("tama-2021-01", "イ", 1, "camera", "録画"),
    ]
    validate_table("question_topics", qt)


def test_code_topics_gives_every_utterance_its_topics_in_table_order(tmp_path):
    """Texts repeated within and across kinds (matched once per rule set), a repeated
    utterance key, an empty text and rows out of the table's order: the rows are those of
    matching each utterance alone, sorted by the table's keys, ties in utterance order."""
    _write_rules(tmp_path, SMALL_RULES)
    rows = [
        ("イ", 2, "remark", "録画は不要。"),
        ("ア", 3, "question", "委託先が録画するのか。"),
        ("ア", 1, "answer", "委託先が録画するのか。"),
        ("イ", 1, "question", "録画は不要。"),
        ("ア", 2, "question", ""),
        ("ア", 3, "answer", "委託する。"),
        ("イ", 2, "question", "カメラを委託する。"),
        ("ア", 1, "procedural", "録画は不要。"),
    ]
    u = _utterances(rows, sort=False)
    rules = load_topic_rules(tmp_path / "topic_rules.yml")
    kinds = sorted({k for r in rules for k in r.applies_to})
    expected = sorted(
        (
            ((g, seq), topic, kinds.index(kind), i, "、".join(words))
            for i, (g, seq, kind, text) in enumerate(rows)
            if kind in kinds
            for topic, words in match_topics(to_norm(text), rules, kind).items()
        ),
    )
    qt = code_topics(u, tmp_path)
    assert qt.rows() == [
        ("tama-2021-01", g, seq, topic, matched) for (g, seq), topic, _, _, matched in expected
    ]
    assert qt.filter(pl.col("deliberation_group") == "イ", pl.col("seq") == 2).rows() == [
        ("tama-2021-01", "イ", 2, "answers_too", "委託"),
        ("tama-2021-01", "イ", 2, "camera", "カメラ"),
        ("tama-2021-01", "イ", 2, "camera", "録画"),
    ]


def test_code_topics_without_rule_file_is_empty(tmp_path):
    u = _utterances([("ア", 1, "question", "録画するのか。")])
    qt = code_topics(u, tmp_path)
    assert qt.height == 0
    assert dict(qt.schema) == polars_schema(table("question_topics"))


def test_code_topics_on_no_utterances(tmp_path):
    _write_rules(tmp_path, SMALL_RULES)
    qt = code_topics(_utterances([]), tmp_path)
    assert qt.height == 0 and qt.columns == table("question_topics").column_names


def test_unmatched_rules_and_diagnostics(tmp_path):
    path = _write_rules(tmp_path, SMALL_RULES)
    rules = load_topic_rules(path)
    u = _utterances([("ア", 1, "question", "録画するのか。")])
    assert unmatched_rules(u, rules) == ["answers_too", "never"]
    qt = apply_topic_rules(u, rules)
    diags = topic_diagnostics(qt, rules)
    assert [(d["meeting_id"], d["code"], d["severity"], d["source_line"]) for d in diags] == [
        ("*", "topic_rule_unused", "info", 4),
        ("*", "topic_rule_unused", "info", 8),
    ]
    assert diags[1]["source_path"] == str(path)
    assert "'never'" in diags[1]["message"] and "使われない" in diags[1]["message"]
    validate_table("diagnostics", to_frame("diagnostics", diags))


def test_topic_diagnostics_reads_the_rule_file_when_not_given(tmp_path):
    _write_rules(tmp_path, SMALL_RULES)
    empty_qt = code_topics(_utterances([]), tmp_path)
    assert len(topic_diagnostics(empty_qt, reference_dir=tmp_path)) == 3
    assert topic_diagnostics(empty_qt, reference_dir=tmp_path / "none") == []


def test_with_topic_diagnostics_appends_in_table_order(tmp_path):
    _write_rules(tmp_path, SMALL_RULES)
    before = to_frame(
        "diagnostics",
        [
            dict(
                meeting_id="tama-2020-09",
                source_path="x.txt",
                source_line=3,
                severity="warning",
                code="unplaced_line",
                message="m",
            )
        ],
    )
    u = _utterances([("ア", 1, "question", "委託するのか。")])
    after = with_topic_diagnostics(before, code_topics(u, tmp_path), tmp_path)
    assert after["meeting_id"].to_list() == ["*", "*", "tama-2020-09"]
    assert after["source_line"].to_list() == [1, 8, 3]
    validate_table("diagnostics", after)
    assert with_topic_diagnostics(before, code_topics(u, tmp_path), tmp_path / "none") is before


# ---------------------------------------------------------------------------- file errors
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- code: camera\n  label_ja: カメラ\n  rule: 録画 カメラ\n",
            "topic_rules.yml:3: topic 'camera': column 4: expected an operator",
        ),
        (
            "- code: camera\n  label_ja: カメラ\n  rule: >-\n    録画 |\n    (カメラ\n",
            "topic_rules.yml:3: topic 'camera': column 6: this '(' is never closed",
        ),
        (
            "- code: a\n  label_ja: x\n  rule: y\n- code: a\n  label_ja: x\n  rule: z\n",
            "topic_rules.yml:4: topic 'a': duplicate code (first at line 1)",
        ),
        (
            "- code: a\n  label_ja: x\n  rule: y\n  colour: red\n",
            "topic 'a': unknown key(s) colour",
        ),
        (
            "- code: a\n  label_ja: x\n  rule: y\n  applies_to: [questions]\n",
            "topic 'a': applies_to must list utterance kinds",
        ),
        (
            "- code: Camera\n  label_ja: x\n  rule: y\n",
            "topic_rules.yml:1: code must be snake_case",
        ),
        ("- code: a\n  rule: y\n", "topic 'a': label_ja is missing"),
        ("- code: a\n  label_ja: x\n", "topic 'a': rule is missing"),
        ("code: a\n", "expected a list of topics"),
        ("- code: a\n  rule: [unclosed\n", "topic_rules.yml:3: not valid YAML"),
    ],
)
def test_rule_file_errors_name_file_line_topic_and_column(tmp_path, text, expected):
    path = _write_rules(tmp_path, text)
    with pytest.raises(RuleError) as info:
        load_topic_rules(path)
    assert str(info.value).startswith(str(path)) or "topic_rules.yml" in str(info.value)
    assert expected in str(info.value)


def test_code_topics_raises_on_a_broken_rule_file(tmp_path):
    _write_rules(tmp_path, "- code: a\n  label_ja: x\n  rule: (y\n")
    with pytest.raises(RuleError, match="never closed"):
        code_topics(_utterances([("ア", 1, "question", "y")]), tmp_path)


def test_an_empty_rule_file_has_no_topics(tmp_path):
    assert load_topic_rules(_write_rules(tmp_path, "# nothing yet\n")) == []
    assert code_topics(_utterances([("ア", 1, "question", "録画")]), tmp_path).height == 0
