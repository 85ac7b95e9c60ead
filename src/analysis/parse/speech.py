"""Speaker turns: who spoke (role and 課), what kind of turn it was, and what was promised."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.parse.lines import sentences_with_offsets
from analysis.reference import Reference

MEMBER_LABELS = (
    ("副会長", "vice_chair"),
    ("会長", "chair"),
    ("委員長", "chair"),
    ("委員", "member"),
)
SECRETARIAT_LABELS = ("事務局",)


def compact(label: str) -> str:
    return re.sub(r"[\s　]+", "", label)


@dataclass(frozen=True)
class Speaker:
    role: str  # chair, vice_chair, member, secretariat, department, unknown
    org: str | None
    resolved: bool


def resolve_speaker(
    label: str, presenting: list[str], present_departments: list[str], ref: Reference
) -> Speaker:
    """Resolve a label such as ``会 長``, ``〔課税〕`` or ``事務局`` to a role and a 課.

    Abbreviated department labels resolve to the department presenting in this deliberation
    first, then to any department whose staff are present, then to the organisation reference.
    """
    lab = compact(label)
    for suffix, role in MEMBER_LABELS:
        if lab == suffix or (
            lab.endswith(suffix) and len(lab) - len(suffix) <= 4 and suffix != "委員長"
        ):
            return Speaker(role, None, True)
    if lab in SECRETARIAT_LABELS or lab.startswith("事務局"):
        return Speaker("secretariat", None, True)
    for pool in (presenting, present_departments, list(ref.departments)):
        org = _match_department(lab, pool, ref)
        if org:
            return Speaker("department", org, True)
    return Speaker("unknown", None, False)


def _match_department(label: str, pool: list[str], ref: Reference) -> str | None:
    for dept in pool:
        if label == dept or dept.startswith(label) or label.startswith(dept.rstrip("課")):
            return dept
    for org in ref.organizations:
        if org.department in pool and label in org.short_names:
            return org.department
    return None


def utterance_kind(text: str, role: str, next_role: str | None, ref: Reference) -> str:
    """question, answer, remark or procedural (answers are decided by the caller)."""
    if role in ("department", "secretariat", "unknown"):
        return "answer"
    for cue in ref.utterance_cues:
        if cue.kind == "procedural" and cue.pattern in text:
            return "procedural"
    if asks_something(text, ref):
        return "question"
    # A turn the department answers straight away was taken as a question by the room.
    if next_role in ("department", "secretariat"):
        return "question"
    return "remark"


def asks_something(text: str, ref: Reference) -> bool:
    sentences = [s for _, s in sentences_with_offsets(text)] or [text]
    for cue in ref.utterance_cues:
        if cue.kind != "question":
            continue
        if cue.position == "any" and cue.pattern in text:
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
    out = []
    for offset, sentence in sentences_with_offsets(text):
        seen = set()
        for cue in ref.follow_up_cues:
            if cue.speaker != speaker or cue.kind in seen:
                continue
            if cue.pattern in sentence:
                seen.add(cue.kind)
                out.append(FollowUp(cue.kind, sentence, cue.pattern, offset))
    return out
