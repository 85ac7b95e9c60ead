"""A preparation checklist for a department bringing a new 諮問 to the council.

What did members ask about in past 諮問 of the same category, how often, and how did
departments answer? Everything links back to the minutes (meeting_id, source lines).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from analysis.analyses._common import (
    GROUP_KEY,
    Tables,
    consultations_view,
    count,
    get_table,
    group_info,
    said_by_council,
    validate_choice,
    validate_choices,
)
from analysis.schema import CATEGORIES, UTTERANCE_KINDS

CHECKLIST_COLUMNS = (
    "topic",
    "deliberations",
    "share",
    "utterances",
    "example",
    "meeting_id",
    "date",
    "deliberation_group",
    "labels",
    "seq",
    "kind",
    "question",
    "question_line",
    "matched",
    "answer",
    "answer_orgs",
    "answer_lines",
)


def preparation_checklist(
    tables: Tables,
    category: str,
    *,
    examples: int = 3,
    kinds: str | Iterable[str] = ("question", "remark"),
    before: date | None = None,
) -> pl.DataFrame:
    """Topics members raised in past 諮問 of ``category``, each with example questions and answers.

    Past deliberations are those with at least one 諮問 of ``category`` (one of
    :data:`analysis.schema.CATEGORIES`), held before ``before`` when given. A topic is raised
    when a member or the chair said an utterance of ``kinds`` that ``question_topics`` codes
    with it.

    One row per (topic, example); topics are sorted by how many deliberations raised them.
    Columns: topic, deliberations (raising it), share (of the category's deliberations),
    utterances (turns coded with it), example (1…``examples``; the most recent first), meeting_id,
    date, deliberation_group, labels, seq, kind, question (the member's words), question_line,
    matched (trigger words), answer (the department's replies, i.e. utterances whose
    ``reply_to`` is this seq in the same deliberation, joined by newlines; null if none),
    answer_orgs, answer_lines.
    """
    validate_choice("category", category, CATEGORIES)
    kinds = validate_choices("kinds", kinds, UTTERANCE_KINDS)
    if examples < 1:
        raise ValueError(f"examples must be at least 1; got {examples}")

    cons = consultations_view(tables)
    if before is not None:
        cons = cons.filter(pl.col("date") < before)
    groups = group_info(cons).filter(pl.col("categories").list.contains(category))
    total = groups.height

    raised = _raised(tables, groups, kinds)
    stats = raised.group_by("topic").agg(
        deliberations=count(pl.struct(*GROUP_KEY).n_unique()),
        utterances=count(pl.len()),
    )
    stats = stats.with_columns(
        share=pl.col("deliberations") / total if total else pl.lit(None, pl.Float64)
    )
    picked = _examples(tables, raised, groups, examples)
    return (
        stats.join(picked, on="topic", how="inner")
        .sort(["deliberations", "topic", "example"], descending=[True, False, False])
        .select(CHECKLIST_COLUMNS)
    )


def latest_examples(
    tables: Tables,
    *,
    categories: Iterable[str],
    examples: int = 3,
    kinds: str | Iterable[str] = ("question", "remark"),
    tagged: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The most recent ``examples`` questions per topic in deliberations of any of
    ``categories``, with the departments' answers — the example rows of
    :func:`preparation_checklist` for several categories at once, each utterance once per topic.

    Columns: topic, example, meeting_id, date, deliberation_group, labels, seq, kind, question,
    question_line, matched, answer, answer_orgs, answer_lines; sorted by topic, then example.

    ``tagged``: the topics on the members' and chair's utterances of ``kinds`` when the caller
    already has them (:func:`analysis.report_helpers.council_topics`): one row per (utterance,
    topic) with meeting_id, deliberation_group, seq, topic, matched (the first row's), kind and
    source_line.
    """
    kinds = validate_choices("kinds", kinds, UTTERANCE_KINDS)
    if examples < 1:
        raise ValueError(f"examples must be at least 1; got {examples}")
    wanted = list(categories)
    groups = group_info(consultations_view(tables)).filter(
        pl.col("categories").list.eval(pl.element().is_in(wanted)).list.any()
    )
    per_topic = ("deliberations", "share", "utterances")
    return (
        _examples(tables, _raised(tables, groups, kinds, tagged), groups, examples)
        .sort("topic", "example")
        .select([c for c in CHECKLIST_COLUMNS if c not in per_topic])
    )


def _raised(
    tables: Tables, groups: pl.DataFrame, kinds: list[str], tagged: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Topics raised by members or the chair in ``groups``: one row per (deliberation, seq,
    topic) with its date, the utterance's kind and line and the trigger words (from
    ``tagged`` when given, see :func:`latest_examples`)."""
    if tagged is not None:
        return tagged.select(
            *GROUP_KEY, "seq", "topic", "matched", "kind", question_line="source_line"
        ).join(groups.select(*GROUP_KEY, "date"), on=list(GROUP_KEY), how="inner")
    said = (
        get_table(tables, "utterances")
        .filter(said_by_council(kinds))
        .select(*GROUP_KEY, "seq", "kind", question_line="source_line")
    )
    return (
        get_table(tables, "question_topics")
        .select(*GROUP_KEY, "seq", "topic", "matched")
        .unique([*GROUP_KEY, "seq", "topic"], keep="first")
        .join(groups.select(*GROUP_KEY, "date"), on=list(GROUP_KEY), how="inner")
        .join(said, on=[*GROUP_KEY, "seq"], how="inner")
    )


def _examples(
    tables: Tables, raised: pl.DataFrame, groups: pl.DataFrame, examples: int
) -> pl.DataFrame:
    """The ``examples`` most recent rows of ``raised`` per topic, with the question's text,
    the group's labels and the answers (texts and answers looked up for those rows only)."""
    utt = get_table(tables, "utterances")
    # Only rows among the ``examples`` latest dates of their topic can be picked: sort those.
    later = pl.col("date").rank("min", descending=True).over("topic")
    picked = (
        raised.filter((later <= examples) | pl.col("date").is_null())
        .sort(
            ["topic", "date", "meeting_id", "deliberation_group", "seq"],
            descending=[False, True, True, False, False],
            nulls_last=True,
        )
        .with_columns(example=count(pl.int_range(1, pl.len() + 1).over("topic")))
        .filter(pl.col("example") <= examples)
    )
    keys = picked.select(*GROUP_KEY, "seq").unique()
    questions = utt.join(keys, on=[*GROUP_KEY, "seq"], how="semi").select(
        *GROUP_KEY, "seq", question="text"
    )
    answers = (
        utt.filter((pl.col("kind") == "answer") & pl.col("reply_to").is_not_null())
        .join(keys.rename({"seq": "reply_to"}), on=[*GROUP_KEY, "reply_to"], how="semi")
        .sort(*GROUP_KEY, "seq")
        .group_by(*GROUP_KEY, "reply_to", maintain_order=True)
        .agg(
            answer=pl.col("text").str.join("\n"),
            answer_orgs=pl.col("speaker_org").drop_nulls().unique(maintain_order=True),
            answer_lines=pl.col("source_line"),
        )
        .rename({"reply_to": "seq"})
    )
    return (
        picked.join(groups.select(*GROUP_KEY, "labels"), on=list(GROUP_KEY), how="left")
        .join(questions, on=[*GROUP_KEY, "seq"], how="left")
        .join(answers, on=[*GROUP_KEY, "seq"], how="left")
    )
