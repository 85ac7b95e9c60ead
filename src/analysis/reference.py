"""Editable reference data from ``data/reference/``, loaded into one picklable object.

Analysts edit the CSV/YAML files; the parser and analyses read them only through here.
Each loader checks that every code a file uses is known (see tests/test_reference.py).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from analysis.paths import reference_dir
from analysis.schema import CATEGORIES, CONTROL_CATEGORIES, DECISIONS, FOLLOW_UP_KINDS, VOTES


class ReferenceError(Exception):
    """A reference file is missing, malformed or uses an unknown code. One line, names the file."""


@dataclass(frozen=True)
class Organization:
    department: str
    bureau: str
    short_names: tuple[str, ...]


@dataclass(frozen=True)
class CategoryRule:
    category: str
    label_ja: str
    all_of: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    measure: str
    control_category: str
    label_ja: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Phrase:
    code: str
    phrase: str


@dataclass(frozen=True)
class FollowUpCue:
    kind: str
    speaker: str  # 'department' or 'member'
    pattern: str


@dataclass(frozen=True)
class UtteranceCue:
    kind: str  # 'procedural' or 'question'
    position: str  # 'any' (anywhere in the turn) or 'end' (at the end of a sentence)
    pattern: str


@dataclass(frozen=True)
class Reference:
    organizations: tuple[Organization, ...]
    municipalities: tuple[dict, ...]
    category_rules: tuple[CategoryRule, ...]
    measures: tuple[Measure, ...]
    decision_phrases: tuple[Phrase, ...]
    vote_phrases: tuple[Phrase, ...]
    follow_up_cues: tuple[FollowUpCue, ...]
    utterance_cues: tuple[UtteranceCue, ...]

    # -- lookups -------------------------------------------------------------------------
    def bureau_of(self, department: str) -> str | None:
        for org in self.organizations:
            if org.department == department:
                return org.bureau
        return None

    @cached_property
    def bureaus(self) -> tuple[str, ...]:
        return tuple(sorted({o.bureau for o in self.organizations}, key=len, reverse=True))

    @cached_property
    def departments(self) -> tuple[str, ...]:
        return tuple(o.department for o in self.organizations)

    @cached_property
    def measure_keywords_by_first_char(self) -> dict[str, tuple[tuple[str, int, int], ...]]:
        """The keywords of :attr:`measures` in NFKC form, by their first character.

        Each entry is (keyword in NFKC form, index of its measure, index among its keywords).
        """
        index: dict[str, list[tuple[str, int, int]]] = {}
        for i, m in enumerate(self.measures):
            for j, kw in enumerate(m.keywords):
                nfkc = unicodedata.normalize("NFKC", kw)
                index.setdefault(nfkc[0], []).append((nfkc, i, j))
        return {ch: tuple(entries) for ch, entries in index.items()}

    @cached_property
    def follow_up_cue_search(self) -> dict[str, re.Pattern[str]]:
        """Per speaker (``department``, ``member``), a pattern that finds any of its cues."""
        patterns: dict[str, list[str]] = {}
        for cue in self.follow_up_cues:
            patterns.setdefault(cue.speaker, []).append(re.escape(cue.pattern))
        return {speaker: re.compile("|".join(p)) for speaker, p in patterns.items()}

    def default_municipality(self) -> dict:
        for m in self.municipalities:
            if m.get("default", "").lower() == "true":
                return m
        return self.municipalities[0]

    def category_label(self, category: str) -> str:
        for rule in self.category_rules:
            if rule.category == category:
                return rule.label_ja
        return category

    def measure_label(self, measure: str) -> str:
        for m in self.measures:
            if m.measure == measure:
                return m.label_ja
        return measure


def read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a reference CSV (UTF-8, BOM allowed), values stripped, blank rows skipped.

    Each row carries ``_line``, its line in the file, for error messages.
    """
    if not path.is_file():
        raise ReferenceError(f"{path}: reference file is missing")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for lineno, row in enumerate(reader, start=2):
            clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if not any(clean.values()):
                continue
            clean["_line"] = str(lineno)
            rows.append(clean)
    return rows


def check_code(path: Path, row: dict, column: str, allowed) -> str:
    """The row's value in ``column``; a ReferenceError naming file and line if not allowed."""
    value = row[column]
    if value not in allowed:
        raise ReferenceError(
            f"{path}:{row['_line']}: unknown {column} {value!r} (allowed: {', '.join(allowed)})"
        )
    return value


def _split(value: str, sep: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(sep) if p.strip())


def load_reference(directory: Path | None = None) -> Reference:
    """Load every reference file from ``directory`` (default: ``data/reference``)."""
    d = Path(directory) if directory else reference_dir()
    return _load_cached(str(d.resolve()))


@lru_cache(maxsize=4)
def _load_cached(directory: str) -> Reference:
    d = Path(directory)
    orgs = []
    p = d / "organizations.csv"
    for row in read_csv(p, ("department", "bureau", "short_names")):
        if not row["department"]:
            raise ReferenceError(f"{p}:{row['_line']}: empty department")
        orgs.append(Organization(row["department"], row["bureau"], _split(row["short_names"], "|")))

    p = d / "municipalities.csv"
    munis = tuple(
        {k: v for k, v in r.items() if not k.startswith("_")}
        for r in read_csv(p, ("municipality", "slug", "council"))
    )
    if not munis:
        raise ReferenceError(f"{p}: no municipality listed")

    p = d / "categories.csv"
    cats = [
        CategoryRule(
            check_code(p, r, "category", CATEGORIES), r["label_ja"], _split(r["all_of"], " ")
        )
        for r in read_csv(p, ("category", "label_ja", "all_of"))
    ]

    p = d / "safeguard_taxonomy.csv"
    measures = []
    seen: set[str] = set()
    for r in read_csv(p, ("measure", "control_category", "label_ja", "keywords")):
        check_code(p, r, "control_category", CONTROL_CATEGORIES)
        if r["measure"] in seen:
            raise ReferenceError(f"{p}:{r['_line']}: duplicate measure {r['measure']!r}")
        seen.add(r["measure"])
        kws = _split(r["keywords"], "|")
        if not kws:
            raise ReferenceError(f"{p}:{r['_line']}: measure {r['measure']!r} has no keywords")
        measures.append(Measure(r["measure"], r["control_category"], r["label_ja"], kws))

    p = d / "decision_phrases.csv"
    decisions = [
        Phrase(check_code(p, r, "decision", DECISIONS), r["phrase"])
        for r in read_csv(p, ("decision", "phrase"))
    ]
    p = d / "vote_phrases.csv"
    votes = [
        Phrase(check_code(p, r, "vote", VOTES), r["phrase"])
        for r in read_csv(p, ("vote", "phrase"))
    ]
    p = d / "follow_up_cues.csv"
    cues = []
    for r in read_csv(p, ("kind", "speaker", "pattern")):
        check_code(p, r, "kind", FOLLOW_UP_KINDS)
        check_code(p, r, "speaker", ("department", "member"))
        cues.append(FollowUpCue(r["kind"], r["speaker"], r["pattern"]))

    p = d / "utterance_cues.csv"
    ucues = []
    for r in read_csv(p, ("kind", "position", "pattern")):
        check_code(p, r, "kind", ("procedural", "question"))
        check_code(p, r, "position", ("any", "end"))
        ucues.append(UtteranceCue(r["kind"], r["position"], r["pattern"]))

    return Reference(
        organizations=tuple(orgs),
        municipalities=munis,
        category_rules=tuple(cats),
        measures=tuple(measures),
        decision_phrases=tuple(decisions),
        vote_phrases=tuple(votes),
        follow_up_cues=tuple(cues),
        utterance_cues=tuple(ucues),
    )
