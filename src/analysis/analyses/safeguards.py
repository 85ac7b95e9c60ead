"""Safeguards (個人情報保護措置): which measures recur, which control categories are covered,
and which topics members raised that no stated safeguard answers.

A statement made once for a group deliberated together (イ・ウ) is stored once per 諮問 of the
group; ``count_groups_once`` decides whether such a statement counts once (per deliberation) or
once per 諮問.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from analysis.analyses._common import (
    GROUP_KEY,
    Tables,
    consultations_view,
    count,
    every_ref,
    first_refs,
    get_table,
    said_by_council,
    validate_choices,
)
from analysis.analyses._keys import (
    Turns,
    enum_codes,
    group_codes,
    key_codes,
    pair_key,
    statement_codes,
    turns_where,
)
from analysis.schema import CONTROL_CATEGORIES, UTTERANCE_KINDS

UNCLASSIFIED = "unclassified"


def _taxonomy(taxonomy: pl.DataFrame | None) -> pl.DataFrame:
    if taxonomy is None:
        from analysis.analyses.reference_data import load_taxonomy

        taxonomy = load_taxonomy()
    return taxonomy.select("measure", "control_category", "label_ja").unique(
        "measure", keep="first", maintain_order=True
    )


def measure_recurrence(
    safeguards: pl.DataFrame,
    *,
    taxonomy: pl.DataFrame | None = None,
    count_groups_once: bool = True,
    include_unused: bool = False,
    refs_limit: int | None = None,
) -> pl.DataFrame:
    """How often each safeguard measure is stated.

    Columns: measure, label_ja, control_category, count (deliberations when
    ``count_groups_once``, else 諮問), consultations, deliberations, meetings, statements
    (distinct texts with their line), consultation_ids, source_refs (``meeting_id:line``).
    With ``refs_limit``, source_refs holds only the first ``refs_limit`` references in meeting
    and line order, and a last column n_refs counts them all (see
    :func:`analysis.analyses._common.first_refs`).

    ``taxonomy`` (measure, control_category, label_ja) defaults to
    ``data/reference/safeguard_taxonomy.csv``; ``unclassified`` statements appear with a null
    label. ``include_unused`` adds the taxonomy's measures nobody stated, with zero counts.
    Sorted by count (descending), then measure.
    """
    tax = _taxonomy(taxonomy)
    # distinct 諮問, deliberations, meetings and statements counted as integer codes
    coded = safeguards.select(
        "measure", "consultation_id", "control_category", "meeting_id", "source_line"
    ).with_columns(
        _c=group_codes(safeguards, ["consultation_id"]),
        _g=group_codes(safeguards, GROUP_KEY),
        _mt=group_codes(safeguards, ["meeting_id"]),
        _s=statement_codes(safeguards),
    )
    agg = coded.group_by("measure").agg(
        consultations=count(pl.col("_c").n_unique()),
        deliberations=count(pl.col("_g").n_unique()),
        meetings=count(pl.col("_mt").n_unique()),
        statements=count(pl.struct("_mt", "_s").n_unique()),
        sg_category=pl.col("control_category").first(),
        consultation_ids=pl.col("consultation_id").unique(maintain_order=True),
        **every_ref(refs_limit),
    )
    if refs_limit is not None:
        agg = agg.join(
            first_refs(safeguards, "measure", refs_limit), on="measure", nulls_equal=True
        )
    how = "full" if include_unused else "left"
    out = agg.join(tax, on="measure", how=how, coalesce=True)
    zero = ("consultations", "deliberations", "meetings", "statements")
    return (
        out.with_columns(
            pl.col(list(zero)).fill_null(0),
            *([pl.col("n_refs").fill_null(0)] if refs_limit is not None else []),
            pl.col("consultation_ids", "source_refs").fill_null(pl.lit([], pl.List(pl.String))),
            control_category=pl.coalesce("control_category", "sg_category"),
        )
        .with_columns(
            count=pl.col("deliberations") if count_groups_once else pl.col("consultations")
        )
        .select(
            "measure",
            "label_ja",
            "control_category",
            "count",
            "consultations",
            "deliberations",
            "meetings",
            "statements",
            "consultation_ids",
            "source_refs",
            *(["n_refs"] if refs_limit is not None else []),
        )
        .sort(["count", "measure"], descending=[True, False])
    )


def coverage_matrix(tables: Tables) -> pl.DataFrame:
    """諮問 × control category: how many distinct measures of each category a 諮問 states.

    One row per 諮問 (those stating nothing included). Columns: consultation_id, meeting_id,
    label, deliberation_group, category, then per control category (organizational, human,
    physical, technical) the count of distinct measures and a boolean ``has_<category>``;
    categories_covered (0–4), unclassified (statements no taxonomy rule matched), statements
    (distinct statements, classified or not), measures (list), states_none (no statement at
    all), source_line_start, source_line_end.
    """
    cons = consultations_view(tables).select(
        "consultation_id",
        "meeting_id",
        "label",
        "deliberation_group",
        "category",
        "source_line_start",
        "source_line_end",
        "seq",
        "date",
    )
    sg = get_table(tables, "safeguards")
    classified = pl.col("measure") != UNCLASSIFIED
    # grouped and counted on integer codes of the 諮問 and of the statements (text, line)
    coded = sg.select("consultation_id", "measure", "control_category").with_columns(
        _c=group_codes(sg, ["consultation_id"]), _s=statement_codes(sg)
    )
    per = (
        coded.group_by("_c")
        .agg(
            pl.col("consultation_id").first(),
            *[
                count(pl.col("measure").filter(pl.col("control_category") == c).n_unique()).alias(c)
                for c in CONTROL_CATEGORIES
            ],
            unclassified=count(pl.col("_s").filter(~classified).n_unique()),
            statements=count(pl.col("_s").n_unique()),
            measures=pl.col("measure").filter(classified).unique(maintain_order=True),
        )
        .drop("_c")
    )
    return (
        cons.join(per, on="consultation_id", how="left")
        .with_columns(
            pl.col(*CONTROL_CATEGORIES, "unclassified", "statements").fill_null(0),
            pl.col("measures").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .with_columns(
            *[(pl.col(c) > 0).alias(f"has_{c}") for c in CONTROL_CATEGORIES],
        )
        .with_columns(
            categories_covered=count(
                pl.sum_horizontal(*[pl.col(f"has_{c}").cast(pl.Int64) for c in CONTROL_CATEGORIES])
            ),
            states_none=pl.col("statements") == 0,
        )
        .sort("date", "meeting_id", "seq", nulls_last=True)
        .select(
            "consultation_id",
            "meeting_id",
            "label",
            "deliberation_group",
            "category",
            *CONTROL_CATEGORIES,
            *[f"has_{c}" for c in CONTROL_CATEGORIES],
            "categories_covered",
            "unclassified",
            "statements",
            "measures",
            "states_none",
            "source_line_start",
            "source_line_end",
        )
    )


def safeguard_gaps(tables: Tables, *, coverage: pl.DataFrame | None = None) -> pl.DataFrame:
    """諮問 whose stated safeguards miss a control category, or that state none at all.

    One row per such 諮問, from :func:`coverage_matrix` (``coverage``, when the caller already
    has it). Columns: consultation_id, meeting_id, label, deliberation_group, category,
    states_none, categories_covered, missing_categories (list, in the order organizational,
    human, physical, technical), measures, source_line_start, source_line_end. Sorted with the
    諮問 that state nothing first.
    """
    cov = coverage_matrix(tables) if coverage is None else coverage
    # which categories are stated, as bits; the list of missing ones looked up per pattern
    # (16 of them) instead of built per row
    bits = pl.sum_horizontal(
        [pl.col(f"has_{c}").cast(pl.Int64) * (1 << i) for i, c in enumerate(CONTROL_CATEGORIES)]
    )
    patterns = pl.DataFrame(
        {
            "_bits": range(1 << len(CONTROL_CATEGORIES)),
            "missing_categories": [
                [c for i, c in enumerate(CONTROL_CATEGORIES) if not b >> i & 1]
                for b in range(1 << len(CONTROL_CATEGORIES))
            ],
        },
        schema={"_bits": pl.Int64, "missing_categories": pl.List(pl.String)},
    )
    return (
        cov.with_columns(_bits=bits)
        .join(patterns, on="_bits", how="left", maintain_order="left")
        .filter(pl.col("missing_categories").list.len() > 0)
        .select(
            "consultation_id",
            "meeting_id",
            "label",
            "deliberation_group",
            "category",
            "states_none",
            "categories_covered",
            "missing_categories",
            "measures",
            "source_line_start",
            "source_line_end",
        )
        .with_row_index("_order")
        .sort(["states_none", "_order"], descending=[True, False])
        .drop("_order")
    )


def topic_safeguard_coverage(
    question_topics: pl.DataFrame,
    utterances: pl.DataFrame,
    safeguards: pl.DataFrame,
    topic_measure_map: pl.DataFrame,
    *,
    kinds: str | Iterable[str] = ("question", "remark"),
    include_unmapped: bool = False,
) -> pl.DataFrame:
    """Each topic the council raised in a deliberation, and whether a stated safeguard covers it.

    A topic counts as raised when a member or the chair (``speaker_role`` member, chair,
    vice_chair) said an utterance of ``kinds`` coded with it. It is covered when the
    deliberation states at least one measure that ``topic_measure_map`` (topic, measure) lists for
    the topic. Topics the map does not list are left out unless ``include_unmapped`` (then
    ``mapped`` is false and they are never covered).

    One row per (meeting_id, deliberation_group, topic). Columns: meeting_id,
    deliberation_group, topic, utterances, seqs, source_lines, matched (trigger words), mapped,
    expected_measures, stated_measures, covering_measures, covered.
    """
    kinds = validate_choices("kinds", kinds, UTTERANCE_KINDS)
    said = utterances.select(*GROUP_KEY, "seq", "speaker_role", "kind", "source_line").filter(
        said_by_council(kinds)
    )
    expected = topic_measure_map.group_by("topic").agg(
        expected_measures=pl.col("measure").unique(maintain_order=True)
    )
    topics = question_topics.select(*GROUP_KEY, "seq", "topic", "matched")
    if not include_unmapped:
        topics = topics.filter(pl.col("topic").is_in(expected["topic"].to_list()))
    raised = (
        topics.join(said, on=[*GROUP_KEY, "seq"], how="inner")
        .sort(*GROUP_KEY, "seq")
        .group_by(*GROUP_KEY, "topic", maintain_order=True)
        .agg(
            utterances=count(pl.col("seq").n_unique()),
            seqs=pl.col("seq").unique(maintain_order=True),
            source_lines=pl.col("source_line").unique(maintain_order=True),
            matched=pl.col("matched").drop_nulls().unique(maintain_order=True),
            _first_line=pl.col("source_line").min(),
        )
    )
    # every deliberation's measures (the left join below keeps those raising a topic): cheaper
    # than first restricting the statements to those deliberations
    stated = safeguards.group_by(*GROUP_KEY).agg(
        stated_measures=pl.col("measure")
        .filter(pl.col("measure") != UNCLASSIFIED)
        .unique(maintain_order=True)
    )
    empty_list = pl.lit([], pl.List(pl.String))
    out = (
        raised.join(expected, on="topic", how="left")
        .join(stated, on=list(GROUP_KEY), how="left")
        .with_columns(
            mapped=pl.col("expected_measures").is_not_null(),
            expected_measures=pl.col("expected_measures").fill_null(empty_list),
            stated_measures=pl.col("stated_measures").fill_null(empty_list),
        )
        .with_columns(
            covering_measures=pl.col("stated_measures").list.set_intersection(
                pl.col("expected_measures")
            )
        )
        .with_columns(covered=pl.col("covering_measures").list.len() > 0)
    )
    return out.sort("meeting_id", "_first_line", "topic").select(
        *GROUP_KEY,
        "topic",
        "utterances",
        "seqs",
        "source_lines",
        "matched",
        "mapped",
        "expected_measures",
        "stated_measures",
        "covering_measures",
        "covered",
    )


def uncovered_topics(
    question_topics: pl.DataFrame,
    utterances: pl.DataFrame,
    safeguards: pl.DataFrame,
    topic_measure_map: pl.DataFrame | None = None,
    *,
    kinds: str | Iterable[str] = ("question", "remark"),
    include_unmapped: bool = False,
    detail_rows: int | None = None,
) -> pl.DataFrame:
    """Topics members raised in a deliberation that no stated safeguard of it covers.

    The rows of :func:`topic_safeguard_coverage` with ``covered`` false (same columns).
    ``topic_measure_map`` defaults to ``data/reference/topic_safeguard_map.csv``.

    ``detail_rows``: the list columns (seqs, source_lines, matched, expected_measures,
    stated_measures, covering_measures) are made only for the first ``detail_rows`` rows — those
    a report shows — and are null in the others; which rows are uncovered is decided by joins,
    without lists. Every other column, and the rows and their order, are as without it.
    """
    if topic_measure_map is None:
        from analysis.analyses.reference_data import load_topic_safeguard_map

        topic_measure_map = load_topic_safeguard_map()
    if detail_rows is not None:
        return _uncovered_first_details(
            question_topics,
            utterances,
            safeguards,
            topic_measure_map,
            kinds=kinds,
            include_unmapped=include_unmapped,
            detail_rows=detail_rows,
        )
    return topic_safeguard_coverage(
        question_topics,
        utterances,
        safeguards,
        topic_measure_map,
        kinds=kinds,
        include_unmapped=include_unmapped,
    ).filter(~pl.col("covered"))


_LISTS = {
    "seqs": pl.List(pl.Int64),
    "source_lines": pl.List(pl.Int64),
    "matched": pl.List(pl.String),
    "expected_measures": pl.List(pl.String),
    "stated_measures": pl.List(pl.String),
    "covering_measures": pl.List(pl.String),
}


def _uncovered_first_details(
    question_topics: pl.DataFrame,
    utterances: pl.DataFrame,
    safeguards: pl.DataFrame,
    topic_measure_map: pl.DataFrame,
    *,
    kinds: str | Iterable[str],
    include_unmapped: bool,
    detail_rows: int,
) -> pl.DataFrame:
    """:func:`uncovered_topics` with ``detail_rows``: a (deliberation, topic) is covered when
    one of its stated measures is one the map lists for the topic (a join of the pairs, as
    :func:`topic_safeguard_coverage`'s list intersection); lists only for the first rows."""
    kinds = validate_choices("kinds", kinds, UTTERANCE_KINDS)
    mapped_topics = topic_measure_map["topic"].unique().to_list()
    topics = question_topics.select(*GROUP_KEY, "seq", "topic", "matched")
    if not include_unmapped:
        topics = topics.filter(pl.col("topic").is_in(mapped_topics))
    joined, code_joined, code_sg = _raised_turns(topics, utterances, safeguards, kinds)
    # (deliberation, topic) as one integer: deliberations coded alike in the statements, topics
    # and measures by their place in a list (a null topic gets its own code)
    names = {t for t in mapped_topics if t is not None}
    names = sorted(names | set(joined["topic"].drop_nulls().unique().to_list()))
    topic_code = enum_codes(pl.col("topic"), names, null_code=len(names))
    joined = joined.with_columns(_g=code_joined).with_columns(
        _key=pair_key(pl.col("_g"), topic_code)
    )
    raised = joined.group_by("_key", maintain_order=True).agg(
        pl.col(*GROUP_KEY, "topic", "_g").first(),
        utterances=count(pl.col("seq").n_unique()),
        _first_line=pl.col("source_line").min(),
    )
    pairs = (
        topic_measure_map.select("topic", "measure")
        .filter(pl.col("measure") != UNCLASSIFIED)
        .unique()
        .drop_nulls()
    )
    measures = sorted(set(pairs["measure"].to_list()))
    measure_code = enum_codes(pl.col("measure"), measures)
    pairs = pairs.filter(pl.col("topic").is_in(names)).select(
        _m=measure_code, _t=enum_codes(pl.col("topic"), names)
    )
    # a (deliberation, topic) pair may be covered several times: the anti join below does not
    # mind, and is cheaper than first keeping each (deliberation, measure) once
    covered = (
        safeguards.select(_g=code_sg, _m=measure_code)
        .drop_nulls("_m")  # measures no topic is mapped to
        .join(pairs, on="_m", how="inner")
        .select(_key=pair_key(pl.col("_g"), pl.col("_t")))
    )
    out = (
        raised.join(covered, on="_key", how="anti", maintain_order="left")
        .sort("meeting_id", "_first_line", "topic", maintain_order=True)
        .with_columns(mapped=pl.col("topic").is_in(mapped_topics), covered=pl.lit(False))
    )
    keys = ["_g", "_key", "topic"]
    head = out.head(max(detail_rows, 0)).select(*GROUP_KEY, *keys)
    lists = (
        joined.join(head.select("_key"), on="_key", how="semi", maintain_order="left")
        .group_by("_key", maintain_order=True)
        .agg(
            seqs=pl.col("seq").unique(maintain_order=True),
            source_lines=pl.col("source_line").unique(maintain_order=True),
            matched=pl.col("matched").drop_nulls().unique(maintain_order=True),
        )
    )
    expected = topic_measure_map.group_by("topic").agg(
        expected_measures=pl.col("measure").unique(maintain_order=True)
    )
    stated = (
        safeguards.with_columns(_g=code_sg)
        .filter(pl.col("_g").is_in(head["_g"].implode()))
        .group_by("_g")
        .agg(
            stated_measures=pl.col("measure")
            .filter(pl.col("measure") != UNCLASSIFIED)
            .unique(maintain_order=True)
        )
    )
    empty_list = pl.lit([], pl.List(pl.String))
    detailed = (
        head.join(lists, on="_key", how="left", maintain_order="left")
        .join(expected, on="topic", how="left", maintain_order="left")
        .join(stated, on="_g", how="left", maintain_order="left")
        .with_columns(
            pl.col("expected_measures").fill_null(empty_list),
            pl.col("stated_measures").fill_null(empty_list),
        )
        .with_columns(
            covering_measures=pl.col("stated_measures").list.set_intersection(
                pl.col("expected_measures")
            )
        )
        .with_row_index("_i")
    )
    return (
        out.with_row_index("_i")
        .join(detailed.drop(*GROUP_KEY, *keys), on="_i", how="left", maintain_order="left")
        .select(
            *GROUP_KEY,
            "topic",
            "utterances",
            *[pl.col(c).cast(_LISTS[c]) for c in ("seqs", "source_lines", "matched")],
            "mapped",
            *[
                pl.col(c).cast(_LISTS[c])
                for c in ("expected_measures", "stated_measures", "covering_measures")
            ],
            "covered",
        )
    )


def _raised_turns(
    topics: pl.DataFrame, utterances: pl.DataFrame, safeguards: pl.DataFrame, kinds: list[str]
) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """``topics`` (meeting_id, deliberation_group, seq, topic, matched) on the turns of
    ``kinds`` by members or the chair, with the turn's source_line, in turn order (deliberation,
    then seq); and a code of the deliberation of each of those rows and of each statement in
    ``safeguards`` (equal for the same deliberation). The turns are looked up by merging sorted
    turn numbers (:class:`analysis.analyses._keys.Turns`), or joined on the keys when the
    utterances are not in turn order."""
    said = said_by_council(kinds)
    turns = Turns(utterances)
    if not turns.usable:
        joined = topics.join(
            utterances.filter(said).select(*GROUP_KEY, "seq", "source_line"),
            on=[*GROUP_KEY, "seq"],
            how="inner",
        ).sort(*GROUP_KEY, "seq")
        return joined, *key_codes([joined, safeguards], GROUP_KEY)
    found = turns_where(topics, turns.rows(topics), utterances, said)
    found = found.with_columns(source_line=utterances["source_line"].gather(found["_turn"])).sort(
        "_turn", maintain_order=True
    )
    code = turns.deliberation.gather(found["_turn"])
    return found.drop("_turn"), code, turns.deliberations(safeguards)
