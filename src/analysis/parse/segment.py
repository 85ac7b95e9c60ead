"""Cut prepared lines into blocks: the structural pieces of this council's minutes.

A block is one structural element (an info item, a heading, an agenda header, a speaker turn, a
decision, a paragraph) with every source line it spans. Sentences wrapped over lines or page
breaks are joined here: a line that starts no new element continues the open one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analysis.parse.lines import Line

INFO_KEYS = {
    "日時": "datetime",
    "開催日時": "datetime",
    "場所": "venue",
    "開催場所": "venue",
    "会場": "venue",
    "出席委員": "members",
    "出席者": "staff",
    "欠席委員": "absent",
    "出席職員": "staff",
    "事務局": "staff",
    "傍聴人": "observers",
    "傍聴者": "observers",
    "内容及び要点": "content",
    "審議内容": "content",
    "議事の要点": "content",
    "会議の要点": "content",
}
_KEY_ALT = "|".join(sorted(INFO_KEYS, key=len, reverse=True))
RE_INFO = re.compile(
    rf"^(?:(?P<num>[0-9]+|[一二三四五六七八九十]+)\s*[\.、．:：]?\s*)?(?P<key>{_KEY_ALT})(?![\u3040-\u309f])\s*[:：]?\s*(?P<rest>.*)$"
)
RE_BRACKET = re.compile(r"^【(?P<name>[^】]+)】$")
RE_SECTION = re.compile(r"^[\(（](?P<num>[0-9]+)[\)）]\s*(?P<title>.*)$")
RE_CIRCLED = re.compile(r"^(?P<mark>[①-⑳])\s*(?P<title>.*)$")
RE_CONS_HEADER = re.compile(
    r"^(?:(?P<kind>諮問|報告)\s*)?[（(]?(?P<label>[ア-ヶ])[）)]?[\s　]+(?P<title>.+?)\s*"
    r"(?:[（(](?P<org>[^（）()]+)[）)])?\s*$"
)
RE_STAFF_DEPT = re.compile(
    r"^諮問\s*(?P<labels>[ア-ヶ](?:\s*[・、,]\s*[ア-ヶ])*)\s*[（(](?P<org>[^）)]+)[）)]\s*(?P<people>.*)$"
)
RE_STAFF_PLAIN = re.compile(r"^[（(](?P<org>[^）)]+)[）)]\s*(?P<people>.+)$")
RE_PRESENTER = re.compile(r"^〔(?P<label>[^〕]+)〕$")
RE_UTTERANCE = re.compile(r"^〔(?P<label>[^〕]{1,24})〕\s*(?P<text>.+)$")
RE_UTTERANCE_COLON = re.compile(
    r"^[○◯]?\s*(?P<label>(?:[^\s：:]{0,8}?)(?:副会長|会長|委員|事務局))\s*[：:]\s*(?P<text>.+)$"
)
RE_AGENDA_TITLE = re.compile(r"^(?:議題|議事(?!録)|審議|諮問|報告)")
RE_QA_MARKER = re.compile(r"^※\s*以下[、,]?\s*質疑")
RE_DECISION = re.compile(
    r"諮問のあった|ことが決定|ことに決定|決定された|継続審議とな|取り下げ|取下げ"
)
RE_VOTE_STRIP = re.compile(r"[\s．.・…‥。、]+")
TITLE_WORDS = (
    "個人情報",
    "諮問",
    "報告",
    "について",
    "システム",
    "委託",
    "収集",
    "利用",
    "提供",
    "結合",
)
CONS_TITLE_HINT = re.compile("|".join(TITLE_WORDS))


@dataclass
class Block:
    kind: str
    lines: list[Line]
    data: dict = field(default_factory=dict)
    section: str = "head"

    @property
    def first(self) -> int:
        return self.lines[0].no

    @property
    def last(self) -> int:
        return self.lines[-1].no

    def text(self, sep: str = "") -> str:
        """The block's text with wrapped lines joined; the first line's own text as data says."""
        head = self.data.get("text")
        parts = [head if head is not None else self.lines[0].text]
        parts += [ln.text for ln in self.lines[1:]]
        return sep.join(p for p in parts if p)

    def line_starts(self) -> list[tuple[int, int]]:
        """(offset in :meth:`text`, source line) for each line of the block."""
        out = []
        pos = 0
        head = self.data.get("text")
        for i, ln in enumerate(self.lines):
            t = head if (i == 0 and head is not None) else ln.text
            out.append((pos, ln.no))
            pos += len(t)
        return out


def is_vote(text: str, vote_phrases) -> str | None:
    stripped = RE_VOTE_STRIP.sub("", text)
    if len(stripped) > 16:
        return None
    for p in vote_phrases:
        if p.phrase in stripped:
            return p.code
    return None


def classify(ln: Line, section: str, vote_phrases) -> tuple[str, dict]:
    t = ln.text
    n = ln.norm
    if section in ("head", "staff") or (section == "content" and RE_INFO.match(n)):
        m = RE_INFO.match(n)
        if m and (m.group("num") or section == "head") and _info_ok(m):
            return "info", {
                "key": INFO_KEYS[m.group("key")],
                "rest": m.group("rest").strip(),
                "label": m.group("key"),
            }
    if m := RE_BRACKET.match(t):
        return "bracket", {"name": m.group("name").strip()}
    if section == "staff":
        if m := RE_STAFF_DEPT.match(t):
            return "staff", {
                "labels": re.split(r"\s*[・、,]\s*", m.group("labels")),
                "org": m.group("org"),
                "text": m.group("people"),
            }
        if m := RE_STAFF_PLAIN.match(t):
            return "staff", {"labels": [], "org": m.group("org"), "text": m.group("people")}
    if m := RE_SECTION.match(n):
        return "section", {"num": int(m.group("num")), "title": m.group("title").strip()}
    if m := RE_CIRCLED.match(t):
        return "circled", {"title": m.group("title").strip()}
    if RE_QA_MARKER.match(t):
        return "qa_marker", {}
    if m := RE_PRESENTER.match(t):
        return "presenter", {"label": m.group("label")}
    if m := RE_UTTERANCE.match(t):
        return "utterance", {"label": m.group("label"), "text": m.group("text").strip()}
    if m := RE_UTTERANCE_COLON.match(t):
        return "utterance", {"label": m.group("label"), "text": m.group("text").strip()}
    vote = is_vote(t, vote_phrases)
    if vote:
        return "vote", {"vote": vote}
    if section in ("agenda", "content"):
        m = RE_CONS_HEADER.match(t)
        if m and CONS_TITLE_HINT.search(m.group("title")) and not t.endswith("。"):
            return "cons_header", {
                "label": m.group("label"),
                "title": m.group("title").strip(),
                "org": (m.group("org") or "").strip() or None,
                "kind": m.group("kind"),
            }
    if (t.startswith("※") and RE_DECISION.search(t)) or (
        "諮問のあった" in t and RE_DECISION.search(t)
    ):
        return "decision", {"text": t.lstrip("※").strip()}
    return "text", {}


def _info_ok(m: re.Match) -> bool:
    # `場所` inside a sentence (場所は…) is not an item; an item's rest is short or a list.
    return not m.group("rest").startswith(("は", "が", "を", "に", "の"))


def decision_finished(text: str) -> bool:
    return text.endswith("。") or "決定された" in text or "決定した" in text


def segment(lines: list[Line], vote_phrases) -> list[Block]:
    """Group the lines that still need a role into blocks, tracking the section of the minutes."""
    blocks: list[Block] = []
    section = "head"
    for ln in lines:
        if ln.role is not None or ln.blank:
            continue
        prev = blocks[-1] if blocks else None
        # An unfinished decision sentence takes every following line that starts nothing new.
        if (
            prev is not None
            and prev.kind == "decision"
            and not decision_finished(prev.text())
            and not ln.text.startswith(("※", "〔", "【"))
            and not RE_SECTION.match(ln.norm)
        ):
            prev.lines.append(ln)
            continue
        kind, data = classify(ln, section, vote_phrases)
        if kind == "info":
            section = {"staff": "staff", "content": "content"}.get(data["key"], "head")
        elif kind == "section":
            title = data["title"]
            if "閉会" in title:
                section = "closing"
            elif RE_AGENDA_TITLE.match(title):
                section = "agenda"
            else:
                section = "content"
        elif kind == "circled":
            section = "agenda"
        if kind == "text" and prev is not None and _continues(prev, ln):
            prev.lines.append(ln)
            continue
        blocks.append(Block(kind if kind != "text" else "paragraph", [ln], data, section))
    return blocks


def _continues(prev: Block, ln: Line) -> bool:
    last = prev.lines[-1]
    if prev.section == "closing" and prev.kind != "decision":
        return False
    if prev.kind in ("info", "staff"):
        return True
    if prev.kind == "utterance":
        return True
    if prev.kind == "paragraph":
        return not last.ends_sentence
    if prev.kind == "decision":
        return not decision_finished(prev.text())
    return False
