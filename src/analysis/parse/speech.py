"""Speaker turns: who spoke (role and 課), what kind of turn it was, and what was promised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from analysis.parse.lines import sentences_with_offsets
from analysis.reference import Reference, UtteranceCue

MEMBER_LABELS = (
    ("副会長", "vice_chair"),
    ("会長", "chair"),
    ("委員長", "chair"),
    ("委員", "member"),
)
SECRETARIAT_LABELS = ("事務局",)
# Labels that name "the department presenting this item" without naming it.
GENERIC_DEPARTMENT_LABELS = ("担当課", "所管課", "実施機関", "説明員", "担当", "説明者")
# A label in the ○…： / …： dress ends in one of these (or names a known department).
SPEAKER_SUFFIX = re.compile(
    r"(?:副会長|会長|委員長|委員|事務局|課長|課|係長|係|部長|室長|所長|館長|担当|主査|主任|主事"
    r"|参事|次長|主幹|説明員|説明者|実施機関|担当課|局長|センター長)$"
)
RE_SPACES = re.compile(r"[\s\u3000]+")


def compact(label: str) -> str:
    return RE_SPACES.sub("", label)


def speaker_vocabulary(ref: Reference) -> frozenset[str]:
    """Department names, their short names and bureaus: words a speaker label may be."""
    words: set[str] = set()
    for org in ref.organizations:
        words.add(org.department)
        words.update(org.short_names)
        if org.bureau:
            words.add(org.bureau)
    return frozenset(words)


def is_speaker_label(label: str, vocabulary: frozenset[str]) -> bool:
    """Tell whether ``label`` (from ``委員：`` or ``○会長``) names a speaker."""
    lab = compact(label)
    if not lab or len(lab) > 14:
        return False
    return bool(SPEAKER_SUFFIX.search(lab)) or lab in vocabulary


# Labels repeat within and across meetings (会長, 委員, 事務局, the 課): read each one once.
@lru_cache(maxsize=4096)
def label_role(label: str) -> str | None:
    """chair, vice_chair, member or secretariat when the label says so; None for a department."""
    lab = compact(label)
    for suffix, role in MEMBER_LABELS:
        if lab == suffix or (
            lab.endswith(suffix) and len(lab) - len(suffix) <= 4 and suffix != "委員長"
        ):
            return role
    if lab in SECRETARIAT_LABELS or lab.startswith("事務局"):
        return "secretariat"
    return None


@lru_cache(maxsize=4096)
def label_name(label: str) -> str | None:
    """The person a member label names: ``山田委員`` -> 山田; ``会 長``, ``A委員`` -> None."""
    lab = compact(label)
    for suffix, _ in MEMBER_LABELS:
        if lab.endswith(suffix) and len(lab) > len(suffix):
            name = lab[: -len(suffix)]
            # names are written in kanji/kana; A委員, Ｂ委員 are anonymised labels
            return name if len(name) >= 2 and not name.isascii() else None
    return None


@dataclass(frozen=True)
class Speaker:
    role: str  # chair, vice_chair, member, secretariat, department, unknown
    org: str | None
    resolved: bool
    via: str = "label"  # label, presenting, present, reference, none


# A Speaker is frozen: the one of each role a label names is made once, not once a turn.
_ROLE_SPEAKERS = {
    role: Speaker(role, None, True)
    for role in {role for _, role in MEMBER_LABELS} | {"secretariat"}
}


def resolve_speaker(
    label: str, presenting: list[str], present_departments: list[str], ref: Reference
) -> Speaker:
    """Resolve a label such as ``会 長``, ``〔課税〕`` or ``事務局`` to a role and a 課.

    Abbreviated department labels resolve to the department presenting in this deliberation
    first, then to any department whose staff are present, then to the organisation reference
    (``via`` says which). ``担当課`` and the like stand for the one department presenting.
    """
    role = label_role(label)
    if role is not None:
        return _ROLE_SPEAKERS[role]
    lab = compact(label)
    if lab in GENERIC_DEPARTMENT_LABELS and len(presenting) == 1:
        return Speaker("department", presenting[0], True, "presenting")
    for via, pool in (
        ("presenting", presenting),
        ("present", present_departments),
        ("reference", list(ref.departments)),
    ):
        org = _match_department(lab, pool, ref)
        if org:
            return Speaker("department", org, True, via)
    return Speaker("unknown", None, False, "none")


def _match_department(label: str, pool: list[str], ref: Reference) -> str | None:
    for dept in pool:
        if label == dept or dept.startswith(label) or label.startswith(dept.rstrip("課")):
            return dept
    for org in ref.organizations:
        if org.department in pool and label in org.short_names:
            return org.department
    return None


def utterance_kind(text: str, role: str, next_role: str | None, ref: Reference) -> str:
    """question, answer, remark or procedural (answers are decided by the caller).

    A speaker that could not be resolved is read by what the turn says: a turn that asks
    something is a question, any other an answer.
    """
    if role in ("department", "secretariat"):
        return "answer"
    cues = _cues_in(text, ref)
    if role == "unknown":
        return "question" if _asks(text, cues) else "answer"
    for cue in cues:
        if cue.kind == "procedural":
            return "procedural"
    if _asks(text, cues):
        return "question"
    # A turn the department answers straight away was taken as a question by the room.
    if next_role in ("department", "secretariat"):
        return "question"
    return "remark"


# id of a cues tuple -> (the tuple, (pattern, cue) of each): the patterns without an attribute
# lookup per cue and turn
_CUE_PATTERNS: dict[int, tuple[object, tuple[tuple[str, UtteranceCue], ...]]] = {}


def _cue_patterns(cues) -> tuple[tuple[str, UtteranceCue], ...]:
    known = _CUE_PATTERNS.get(id(cues))
    if known is None or known[0] is not cues:
        known = _CUE_PATTERNS[id(cues)] = (cues, tuple((cue.pattern, cue) for cue in cues))
    return known[1]


def _cues_in(text: str, ref: Reference) -> list[UtteranceCue]:
    """The utterance cues whose pattern occurs in ``text``."""
    return [cue for pattern, cue in _cue_patterns(ref.utterance_cues) if pattern in text]


def asks_something(text: str, ref: Reference) -> bool:
    return _asks(text, _cues_in(text, ref))


def _asks(text: str, cues: list[UtteranceCue]) -> bool:
    """:func:`asks_something` given the cues that occur in ``text`` (the others cannot match)."""
    questions = [cue for cue in cues if cue.kind == "question"]
    if not questions:
        return False
    sentences = [s for _, s in sentences_with_offsets(text)] or [text]
    for cue in questions:
        if cue.position == "any":
            return True
        if cue.position == "end" and any(
            s.rstrip("。．.").endswith(cue.pattern) for s in sentences
        ):
            return True
    return False


@dataclass(frozen=True)
class FollowUp:
    kind: str
    text: str
    matched: str
    offset: int


def follow_ups(text: str, role: str, ref: Reference) -> list[FollowUp]:
    """Promises and corrections in a department's turn, requests in a member's turn."""
    speaker = "department" if role in ("department", "secretariat") else "member"
    # a cue that is not in the text is in none of its sentences (and most turns hold none)
    search = ref.follow_up_cue_search.get(speaker)
    if search is None or search.search(text) is None:
        return []
    cues = [cue for cue in ref.follow_up_cues if cue.speaker == speaker and cue.pattern in text]
    out = []
    for offset, sentence in sentences_with_offsets(text):
        seen = set()
        for cue in cues:
            if cue.kind in seen:
                continue
            if cue.pattern in sentence:
                seen.add(cue.kind)
                out.append(FollowUp(cue.kind, sentence, cue.pattern, offset))
    return out
