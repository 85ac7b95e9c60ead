"""What a decision sentence records: the outcome, the 諮問 it names, the conditions attached."""

from __future__ import annotations

import re

RE_LABEL_IN_DECISION = re.compile(r"(?<![ァ-ヶー])(?P<label>[ア-ヶ])\s*「(?P<title>[^」]+)」")
RE_QUOTED = re.compile(r"「(?P<title>[^」]+)」")
# 「…」との意見を付して, …よう意見を付して, 次の意見を付して, 附帯意見, 条件付き, …を条件としてで
RE_COND_PHRASE = re.compile(
    r"(?:次の|以下の|下記の)?(?:とおり)?(?:附帯)?(?:意見|条件)を付(?:し|け)|附帯意見|条件付き"
    r"|を条件(?:として|に)"
)
RE_COND_FOLLOWS = re.compile(r"(?:次の|以下の|下記の)(?:とおり)?(?:附帯)?(?:意見|条件)")
RE_COND_HEADING = re.compile(r"^[（(【〔<＜]?\s*(?:附帯)?(?:意見|条件)\s*[）)】〕>＞]?[:：]?$")
RE_COND_LEAD = re.compile(r"^.*(?:については|について)[、,]")
RE_SUBJECT = re.compile(r"諮問|本件")
RE_COND_TRAIL = re.compile(r"(?:との|という|とする|旨の|ように|よう|の)$")


def decision_code(text: str, phrases) -> str | None:
    """The outcome code of the first phrase of ``phrases`` (decision_phrases.csv) in ``text``."""
    return next((p.code for p in phrases if p.phrase in text), None)


def conditions_follow(text: str) -> bool:
    """``…次の意見を付して同意…`` : the opinion is written after the sentence."""
    return bool(RE_COND_FOLLOWS.search(text))


def conditions_in(text: str) -> str | None:
    """The opinion or condition a decision sentence attaches, as written.

    ``…について、「…に留意すること」との意見を付して同意…`` -> ``…に留意すること``;
    ``…について、取扱いに留意するよう意見を付して同意…`` -> ``取扱いに留意する``; when the
    sentence says 次の意見 the opinion is the quotation after it, if any (else None: the caller
    takes the lines that follow).
    """
    m = RE_COND_PHRASE.search(text)
    if m is None:
        return None
    if conditions_follow(text):
        after = [q.group("title") for q in RE_QUOTED.finditer(text, m.end())]
        return "\n".join(after) or None
    before = RE_COND_TRAIL.sub("", text[: m.start()]).rstrip("、, ")
    quotes = list(RE_QUOTED.finditer(before))
    if quotes and quotes[-1].end() == len(before):
        return quotes[-1].group("title")
    # the opinion is the clause between the subject (…について、) and the phrase
    lead = RE_COND_LEAD.match(before + "、")
    clause = before[lead.end() :] if lead else before.rsplit("、", 1)[-1]
    clause = RE_COND_TRAIL.sub("", clause.strip())
    if not clause or RE_SUBJECT.search(clause):
        return None  # 条件付きで同意: the sentence names no condition
    return clause


def labels_named(text: str) -> list[str]:
    """Labels written in front of a quoted title: ``ク「…」ケ「…」`` -> [ク, ケ]."""
    out: list[str] = []
    for m in RE_LABEL_IN_DECISION.finditer(text):
        if m.group("label") not in out:
            out.append(m.group("label"))
    return out


def titles_without_label(text: str, labels: set[str]) -> list[str]:
    """Quoted titles with no label in front of them (``…から諮問のあった「…」``)."""
    out = []
    for m in RE_QUOTED.finditer(text):
        pre = text[max(0, m.start() - 1) : m.start()]
        if pre and pre in labels:
            continue
        out.append(m.group("title"))
    return out
