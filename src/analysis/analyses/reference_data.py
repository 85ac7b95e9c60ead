"""Reference tables the analyses use, read from the editable files in ``data/reference/``.

Each loader returns a small polars frame and checks the file: required columns present, every
code known. Analyses take these frames as parameters (so tests pass handmade ones); when a
parameter is left as ``None`` the analysis calls the loader here.

Files:
- ``safeguard_taxonomy.csv`` and ``categories.csv``: read through :mod:`analysis.reference`.
- ``sensitive_items.csv`` (pattern, label_ja, kind, note): personal-data items to flag.
- ``legal_regimes.csv`` (regime, label_ja, start, end, note): which law governed a meeting date.
- ``topic_safeguard_map.csv`` (topic, measure, note): which stated measures answer a topic.
"""

from __future__ import annotations

import itertools
import unicodedata
from datetime import date
from pathlib import Path

import polars as pl

from analysis.paths import reference_dir
from analysis.reference import ReferenceError, check_code, load_reference, read_csv

# Kinds of sensitive personal data (column ``kind`` of sensitive_items.csv).
SENSITIVE_KINDS = (
    "special_care",  # 要配慮個人情報 (APPI Art. 2(3)): 信条, 病歴, 障害, 犯罪の経歴 …
    "my_number",  # 個人番号 / 特定個人情報 (番号法)
    "tax_financial",  # 課税情報, 所得, 口座 …
    "family_register",  # 戸籍, 本籍
    "welfare",  # 生活保護, 手当の受給 …
    "image",  # camera footage, face images
)


def _dir(directory: str | Path | None) -> Path:
    return Path(directory) if directory else reference_dir()


def load_taxonomy(directory: str | Path | None = None) -> pl.DataFrame:
    """Safeguard taxonomy: measure, control_category, label_ja (one row per measure)."""
    ref = load_reference(Path(directory) if directory else None)
    return pl.DataFrame(
        {
            "measure": [m.measure for m in ref.measures],
            "control_category": [m.control_category for m in ref.measures],
            "label_ja": [m.label_ja for m in ref.measures],
        },
        schema={"measure": pl.String, "control_category": pl.String, "label_ja": pl.String},
    )


def load_category_labels(directory: str | Path | None = None) -> pl.DataFrame:
    """Category labels: category, label_ja (one row per category code)."""
    ref = load_reference(Path(directory) if directory else None)
    seen: dict[str, str] = {}
    for rule in ref.category_rules:
        seen.setdefault(rule.category, rule.label_ja)
    return pl.DataFrame(
        {"category": list(seen), "label_ja": list(seen.values())},
        schema={"category": pl.String, "label_ja": pl.String},
    )


def load_sensitive_items(directory: str | Path | None = None) -> pl.DataFrame:
    """Sensitive-item patterns: pattern (NFKC-normalised), label_ja, kind, note."""
    path = _dir(directory) / "sensitive_items.csv"
    rows = read_csv(path, ("pattern", "label_ja", "kind"))
    seen: set[str] = set()
    out = []
    for r in rows:
        pattern = unicodedata.normalize("NFKC", r["pattern"])
        if not pattern:
            raise ReferenceError(f"{path}:{r['_line']}: empty pattern")
        if pattern in seen:
            raise ReferenceError(f"{path}:{r['_line']}: duplicate pattern {pattern!r}")
        seen.add(pattern)
        check_code(path, r, "kind", SENSITIVE_KINDS)
        out.append((pattern, r["label_ja"] or pattern, r["kind"], r.get("note") or None))
    return pl.DataFrame(
        out,
        schema={"pattern": pl.String, "label_ja": pl.String, "kind": pl.String, "note": pl.String},
        orient="row",
    )


def _date(path: Path, row: dict, column: str) -> date | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReferenceError(
            f"{path}:{row['_line']}: {column} {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def load_legal_regimes(directory: str | Path | None = None) -> pl.DataFrame:
    """Legal regimes: regime, label_ja, start, end (dates, null = open), note.

    Checked: start ≤ end, and no two regimes overlap, so every date has at most one regime.
    """
    path = _dir(directory) / "legal_regimes.csv"
    rows = read_csv(path, ("regime", "label_ja", "start", "end"))
    out = []
    for r in rows:
        if not r["regime"]:
            raise ReferenceError(f"{path}:{r['_line']}: empty regime")
        start, end = _date(path, r, "start"), _date(path, r, "end")
        if start and end and start > end:
            raise ReferenceError(f"{path}:{r['_line']}: start {start} is after end {end}")
        out.append((r["regime"], r["label_ja"], start, end, r.get("note") or None))
    spans = sorted(out, key=lambda x: x[2] or date.min)
    for prev, nxt in itertools.pairwise(spans):
        if (prev[3] or date.max) >= (nxt[2] or date.min):
            raise ReferenceError(f"{path}: regimes {prev[0]!r} and {nxt[0]!r} overlap")
    return pl.DataFrame(
        out,
        schema={
            "regime": pl.String,
            "label_ja": pl.String,
            "start": pl.Date,
            "end": pl.Date,
            "note": pl.String,
        },
        orient="row",
    )


def known_topic_codes(directory: str | Path | None = None) -> tuple[str, ...]:
    """The topic codes defined in ``topic_rules.yml`` (the one source of topic codes).

    Raises :class:`~analysis.coding_rules.RuleError` when the rule file is missing or broken.
    """
    from analysis.topics import load_topic_rules, rules_path

    return tuple(r.code for r in load_topic_rules(rules_path(_dir(directory))))


def load_topic_safeguard_map(
    directory: str | Path | None = None, *, taxonomy: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Topic → measure map: topic, measure (one row per pair).

    Every topic must be known (:func:`known_topic_codes`), every measure one of the taxonomy's.
    """
    path = _dir(directory) / "topic_safeguard_map.csv"
    rows = read_csv(path, ("topic", "measure"))
    measures = tuple((taxonomy if taxonomy is not None else load_taxonomy(directory))["measure"])
    topics = known_topic_codes(directory)
    pairs = []
    for r in rows:
        check_code(path, r, "topic", topics)
        check_code(path, r, "measure", measures)
        pairs.append((r["topic"], r["measure"]))
    return pl.DataFrame(
        pairs, schema={"topic": pl.String, "measure": pl.String}, orient="row"
    ).unique(maintain_order=True)
