"""Question topics: the coding rules of ``data/reference/topic_rules.yml`` applied to utterances.

The rule file is a YAML list; each entry is one topic::

    - code: recording_camera          # snake_case, unique; the value of question_topics.topic
      label_ja: 録画・カメラ
      description: 防犯カメラ・録画の範囲、設置場所、映像の扱い
      rule: 録画 | カメラ | 映像 | near(設置, 場所, 5)
      applies_to: [question, remark]  # utterance kinds (default: question and remark)

The rule language is documented in :mod:`analysis.coding_rules`. :func:`code_topics` (called by
``council build``) returns the ``question_topics`` table: one row per (utterance, topic), with the
words that triggered the topic. :func:`topic_diagnostics` lists rules that matched nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from analysis.coding_rules import MATCHED_SEPARATOR, Rule, RuleError, RuleSet, compile_rule
from analysis.paths import project_root
from analysis.paths import reference_dir as default_reference_dir
from analysis.schema import UTTERANCE_KINDS
from analysis.tables import SORT_KEYS, empty, to_frame

__all__ = [
    "DEFAULT_APPLIES_TO",
    "RULES_FILE",
    "TopicRule",
    "apply_topic_rules",
    "code_topics",
    "load_topic_rules",
    "match_topics",
    "rules_path",
    "topic_diagnostics",
    "unmatched_rules",
    "with_topic_diagnostics",
]

RULES_FILE = "topic_rules.yml"
DEFAULT_APPLIES_TO = ("question", "remark")
_KEYS = ("code", "label_ja", "description", "rule", "applies_to")
_CODE = re.compile(r"[a-z][a-z0-9_]*")
_UTTERANCE_KEY = ["meeting_id", "deliberation_group", "seq"]


@dataclass(frozen=True)
class TopicRule:
    """One topic of the rule file, its rule compiled."""

    code: str
    label_ja: str
    expression: str
    applies_to: tuple[str, ...] = DEFAULT_APPLIES_TO
    description: str = ""
    source_path: str = RULES_FILE
    line: int | None = None  # line of the entry in the YAML file (1-based)
    rule: Rule = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.rule is None:
            object.__setattr__(self, "rule", compile_rule(self.expression))


def rules_path(reference_dir: Path | None = None) -> Path:
    return Path(reference_dir or default_reference_dir()) / RULES_FILE


def _shown_path(path: Path) -> str:
    """The file as a project-relative path when it lies in the project (for messages, rows)."""
    try:
        return path.resolve().relative_to(project_root()).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------- the rule file
def load_topic_rules(path: Path | str | None = None) -> list[TopicRule]:
    """Read and compile the rule file (default ``data/reference/topic_rules.yml``).

    Raises :class:`~analysis.coding_rules.RuleError` naming the file, the line, the topic and (for
    a syntax error) the column within the rule. The compiled rules of the last few file
    contents are remembered (the build codes topics chunk by chunk).
    """
    path = Path(path) if path is not None else rules_path()
    shown = _shown_path(path)
    if not path.is_file():
        raise RuleError("the topic rule file is missing", source=shown)
    return list(_compiled_rules(path.read_text(encoding="utf-8-sig"), shown))


@lru_cache(maxsize=8)
def _compiled_rules(text: str, shown: str) -> tuple[TopicRule, ...]:
    import yaml

    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise RuleError(f"not valid YAML: {reason}", source=shown, line=line) from None
    if data is None:
        return ()
    if not isinstance(data, list):
        raise RuleError("expected a list of topics (lines starting with '- code:')", source=shown)
    rules: list[TopicRule] = []
    seen: dict[str, int | None] = {}
    for i, item in enumerate(data):
        node = root.value[i] if root is not None else None
        line = node.start_mark.line + 1 if node is not None else None
        rules.append(_topic(item, node, line, shown, seen))
    return tuple(rules)


def _topic(item, node, line: int | None, shown: str, seen: dict) -> TopicRule:
    def fail(reason: str, topic: str | None = None, at: int | None = None) -> RuleError:
        return RuleError(reason, source=shown, line=at or line, topic=topic)

    if not isinstance(item, dict):
        raise fail("each topic is a mapping with code, label_ja, rule (and applies_to)")
    code = item.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise fail(f"code must be snake_case letters, digits and _ (got {code!r})")
    unknown = sorted(set(map(str, item)) - set(_KEYS))
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(_KEYS)})", code)
    if code in seen:
        raise fail(f"duplicate code (first at line {seen[code]})", code)
    seen[code] = line
    label = item.get("label_ja")
    if not isinstance(label, str) or not label.strip():
        raise fail("label_ja is missing", code)
    expression = item.get("rule")
    if not isinstance(expression, str) or not expression.strip():
        raise fail("rule is missing or not a text", code)
    applies_to = item.get("applies_to", list(DEFAULT_APPLIES_TO))
    if isinstance(applies_to, str):
        applies_to = [applies_to]
    if (
        not isinstance(applies_to, list)
        or not applies_to
        or any(k not in UTTERANCE_KINDS for k in applies_to)
    ):
        raise fail(
            f"applies_to must list utterance kinds from {', '.join(UTTERANCE_KINDS)} "
            f"(got {applies_to!r})",
            code,
        )
    rule_line = _value_line(node, "rule") or line
    try:
        rule = compile_rule(expression)
    except RuleError as exc:
        raise exc.located(source=shown, line=rule_line, topic=code) from None
    return TopicRule(
        code=code,
        label_ja=label.strip(),
        expression=expression,
        applies_to=tuple(dict.fromkeys(applies_to)),
        description=str(item.get("description") or "").strip(),
        source_path=shown,
        line=line,
        rule=rule,
    )


def _value_line(node, key: str) -> int | None:
    for k, v in getattr(node, "value", None) or ():
        if getattr(k, "value", None) == key:
            return v.start_mark.line + 1
    return None


# ---------------------------------------------------------------------------- applying them
def match_topics(text_norm: str, rules: Sequence[TopicRule], kind: str = "question") -> dict:
    """``{topic: matched words}`` for one text (its ``*_norm`` form) of the given kind."""
    ruleset = RuleSet({r.code: r.rule for r in rules if kind in r.applies_to})
    return ruleset.match(text_norm)


def apply_topic_rules(utterances: pl.DataFrame, rules: Sequence[TopicRule]) -> pl.DataFrame:
    """The ``question_topics`` table for ``utterances`` under ``rules``."""
    if not rules or utterances.height == 0:
        return empty("question_topics")
    kinds = sorted({k for r in rules for k in r.applies_to})
    picked = utterances.select(*_UTTERANCE_KEY, "kind", "text_norm").filter(
        pl.col("kind").is_in(kinds)
    )
    # the table's order of the utterances (ties: kind, then input order); rows are referred to
    # by their place ``_pos`` in it, and equal utterance keys share a ``_key`` number
    order = picked.select(
        pl.arg_sort_by(
            *_UTTERANCE_KEY,
            pl.col("kind").replace_strict(kinds, range(len(kinds))),
            nulls_last=False,
            maintain_order=True,
        )
    ).to_series()
    ordered = picked.select(_UTTERANCE_KEY).gather(order)
    ordered = ordered.with_columns(pl.struct(_UTTERANCE_KEY).rle_id().alias("_key"))
    picked = picked.select("kind", "text_norm", order.arg_sort().alias("_pos"))
    # kinds with the same rules are matched together, each distinct text once (at its first
    # utterance, ``_first``); the topics found go to every utterance of those kinds with that text
    rule_sets: dict[tuple[str, ...], list[str]] = {}
    for kind in kinds:
        rule_sets.setdefault(tuple(r.code for r in rules if kind in r.applies_to), []).append(kind)
    by_code = {r.code: r.rule for r in rules}
    topic_rank = {code: i for i, code in enumerate(sorted(by_code))}  # the table's topic order
    parts: list[pl.DataFrame] = []
    for codes, same in rule_sets.items():
        if not codes:
            continue
        part = picked.filter(pl.col("kind").is_in(same)).with_columns(
            pl.col("_pos").min().over("text_norm").alias("_first")
        )
        texts = part.filter(pl.col("_pos") == pl.col("_first"))
        rule_set = _rule_set(tuple((code, by_code[code].expression) for code in codes))
        matches = rule_set.match_frame(texts["text_norm"])
        ranks = pl.Series([topic_rank[code] for code in rule_set.rules], dtype=pl.UInt32)
        coded = matches.select(
            texts["_pos"].gather(matches["row"]),
            pl.col("code").alias("topic"),
            pl.lit(ranks).gather(pl.col("rule")).alias("_topic"),
            pl.col("words").list.join(MATCHED_SEPARATOR).alias("matched"),
        )
        parts.append(coded)
        copies = part.filter(pl.col("_pos") != pl.col("_first")).select("_first", "_pos")
        if copies.height:
            parts.append(
                coded.rename({"_pos": "_first"}).join(copies, on="_first").select(coded.columns)
            )
    found = pl.concat(parts, how="vertical") if parts else pl.DataFrame()
    if not found.height:
        return empty("question_topics")
    schema = empty("question_topics").schema
    # the table's sort keys (SORT_KEYS: the utterance key, then topic), ties in utterance order;
    # when no two utterances share a key (the usual case) ``_pos`` orders as ``_key`` does, and
    # one integer key is quicker to sort on
    if ordered["_key"].max() == ordered.height - 1:
        found = found.sort(pl.col("_pos").cast(pl.UInt64) * len(topic_rank) + pl.col("_topic"))
    else:
        found = found.with_columns(ordered["_key"].gather(found["_pos"]))
        found = found.sort("_key", "_topic", "_pos")
    return (
        ordered.select(_UTTERANCE_KEY)
        .gather(found["_pos"])
        .with_columns(found["topic"], found["matched"])
        .select(list(schema))
        .cast(dict(schema))
    )


@lru_cache(maxsize=8)
def _rule_set(rules: tuple[tuple[str, str], ...]) -> RuleSet:
    """The rules (code, expression) as a :class:`RuleSet`, kept for the next call (the build
    codes topics chunk by chunk)."""
    return RuleSet(dict(rules))


def code_topics(utterances: pl.DataFrame, reference_dir: Path | None = None) -> pl.DataFrame:
    """Apply ``topic_rules.yml`` from ``reference_dir`` to ``utterances`` (build step).

    Without a rule file the table is empty (with its schema).
    """
    path = rules_path(reference_dir)
    if not path.is_file():
        return empty("question_topics")
    return apply_topic_rules(utterances, load_topic_rules(path))


def unmatched_rules(utterances: pl.DataFrame, rules: Sequence[TopicRule]) -> list[str]:
    """Codes of the rules that match no utterance they apply to, in rule-file order."""
    used = set(apply_topic_rules(utterances, rules)["topic"].to_list())
    return [r.code for r in rules if r.code not in used]


# ---------------------------------------------------------------------------- diagnostics
def topic_diagnostics(
    question_topics: pl.DataFrame,
    rules: Sequence[TopicRule] | None = None,
    *,
    reference_dir: Path | None = None,
) -> list[dict]:
    """Diagnostics rows (severity info, code ``topic_rule_unused``) for rules that matched nothing.

    ``rules`` default to the rule file in ``reference_dir``; no rule file means no rows.
    """
    if rules is None:
        path = rules_path(reference_dir)
        rules = load_topic_rules(path) if path.is_file() else []
    used = set(question_topics["topic"].to_list()) if question_topics.height else set()
    return [
        dict(
            meeting_id="*",
            source_path=r.source_path,
            source_line=r.line,
            severity="info",
            code="topic_rule_unused",
            message=(
                f"topic rule '{r.code}' ({r.label_ja}) matched no "
                f"{' or '.join(r.applies_to)} in these minutes"
            ),
        )
        for r in rules
        if r.code not in used
    ]


def with_topic_diagnostics(
    diagnostics: pl.DataFrame, question_topics: pl.DataFrame, reference_dir: Path | None = None
) -> pl.DataFrame:
    """``diagnostics`` plus the rows of :func:`topic_diagnostics`, in the table's row order."""
    extra = topic_diagnostics(question_topics, reference_dir=reference_dir)
    if not extra:
        return diagnostics
    both = pl.concat([diagnostics, to_frame("diagnostics", extra)], how="vertical")
    return both.sort(SORT_KEYS["diagnostics"], maintain_order=True, nulls_last=False)
