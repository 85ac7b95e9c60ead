"""Cut prepared lines into blocks: the structural pieces of this council's minutes.

A block is one structural element (an info item, a heading, an agenda header, a speaker turn, a
decision, a paragraph) with every source line it spans. Sentences wrapped over lines or page
breaks are joined here: a line that starts no new element continues the open one.

The minutes come in several dresses over the years; the rules below are written for the format,
not for one file:

* info items numbered ``1``, ``１``, ``1.``, ``１．``, ``(1)``, ``（１）``, ``①``, ``一`` or
  not at all, with keys letter-spaced or not (``日　時``), the value on the same line or wrapped;
* headings ``(1) 開会``, ``① 諮問に関する審議`` or ``1 開会`` (a numbered short line whose words
  are a heading's words);
* agenda headers ``ア 個人情報の外部提供（健康福祉部健康推進課）``, ``（ア）…``, ``ア．…``;
* speaker turns ``〔会長〕 …``, ``〔会長〕`` alone with the text on the next line, ``○会長：…``,
  ``○草川会長 …``, ``委員：…`` (a label ending in a role word or naming a department), ``（委員）``
  alone on a line;
* vote lines ``・・・挙手全員・・・``, ``．．．挙手多数（賛成5名、反対2名）．．．``;
* decision sentences starting with ``※`` or naming ``…から諮問のあった…``, or recording an outcome
  of ``本件``/``本諮問`` (``…ことに決定した。``, ``…継続審議とすることとなった。``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from analysis.parse.decisions import RE_SUBJECT
from analysis.parse.lines import Line
from analysis.parse.speech import is_speaker_label, speaker_vocabulary
from analysis.reference import Reference

INFO_KEYS = {
    "日時": "datetime",
    "開催日時": "datetime",
    "場所": "venue",
    "開催場所": "venue",
    "会場": "venue",
    "出席委員": "members",
    "出席者": "staff",
    "欠席委員": "absent",
    "欠席者": "absent",
    "出席職員": "staff",
    "事務局": "secretariat",
    "傍聴人": "observers",
    "傍聴者": "observers",
    "内容及び要点": "content",
    "審議内容": "content",
    "議事の要点": "content",
    "会議の要点": "content",
}


def _spaced(word: str) -> str:
    """A key that may be letter-spaced: ``日時`` also matches ``日 時``."""
    return r"\s?".join(re.escape(ch) for ch in word)


_KEY_ALT = "|".join(_spaced(k) for k in sorted(INFO_KEYS, key=len, reverse=True))
_KANJI_NUM = "[一二三四五六七八九十]{1,3}"
# Matched on NFKC text: （１） -> (1), １． -> 1., ① -> 1.
_INFO_NUM = rf"(?:\(\s*(?:[0-9]{{1,2}}|{_KANJI_NUM})\s*\)|(?:[0-9]{{1,2}}|{_KANJI_NUM})\s*[\.、:]?)"
RE_INFO = re.compile(
    rf"^(?:(?P<num>{_INFO_NUM})\s*)?(?P<key>{_KEY_ALT})(?![\u3040-\u309f])\s*:?\s*(?P<rest>.*)$"
)
RE_WS = re.compile(r"[\s\u3000]+")
RE_BRACKET = re.compile(r"^【(?P<name>[^】]+)】$")
RE_SECTION = re.compile(r"^[\(（](?P<num>[0-9]+)[\)）]\s*(?P<title>.*)$")
RE_CIRCLED = re.compile(r"^(?P<mark>[①-⑳])\s*(?P<title>.*)$")
# `1 開会`, `２．議題`: a numbered short line is a heading only when it speaks a heading's words.
_NUM_HEADING_START = "0123456789一二三四五六七八九十"
RE_NUM_HEADING = re.compile(
    rf"^(?:[0-9]{{1,2}}|{_KANJI_NUM})\s*[\.、]?\s*(?P<title>[^。]{{1,30}})$"
)
HEADING_WORDS = re.compile(r"開会|閉会|前回|議事録|署名|議題|議事|諮問|報告|審議|その他|答申")
RE_CONS_HEADER = re.compile(
    r"^(?:(?P<kind>諮問|報告)(?:事項)?\s*)?"
    r"(?:[（(](?P<l1>[ア-ヶ])[）)]\s*|(?P<l2>[ア-ヶ])(?:[\s\u3000]+|[\.．、]\s*))"
    r"(?P<title>.+?)\s*(?:[（(](?P<org>[^（）()]+)[）)])?\s*$"
)
RE_STAFF_DEPT = re.compile(
    r"^諮問\s*(?P<labels>[ア-ヶ](?:\s*[・、,]\s*[ア-ヶ])*)\s*[（(](?P<org>[^）)]+)[）)]\s*(?P<people>.*)$"
)
RE_LABEL_SPLIT = re.compile(r"\s*[・、,]\s*")
RE_STAFF_PLAIN = re.compile(r"^[（(](?P<org>[^）)]+)[）)]\s*(?P<people>.+)$")
RE_PRESENTER = re.compile(r"^〔(?P<label>[^〕]+)〕$")
RE_UTTERANCE = re.compile(r"^〔(?P<label>[^〕]{1,24})〕\s*[：:]?\s*(?P<text>.+)$")
# ○会長：…, ○会 長：… (a colon lets the label carry spaces), ○草川会長 …
RE_CIRCLE_COLON = re.compile(r"^[○◯〇]\s*(?P<label>[^：:、。「」]{1,16}?)\s*[：:]\s*(?P<text>.*)$")
RE_CIRCLE_SPACE = re.compile(r"^[○◯〇]\s*(?P<label>[^\s：:、。「」]{1,14})(?:\s+(?P<text>.*))?$")
RE_COLON = re.compile(r"^(?P<label>[^\s：:、。「」（）()]{1,14})\s*[：:]\s*(?P<text>.*)$")
RE_PAREN_LABEL = re.compile(r"^[（(](?P<label>[^（）()\s]{1,14})[）)]$")
RE_AGENDA_TITLE = re.compile(r"^(?:議題|議事(?!録)|審議|諮問|報告)")
RE_QA_MARKER = re.compile(
    r"^※\s*以下[、,]?\s*質疑"
    r"|^※?\s*[【〈《<＜(（［\[]?\s*(?:主な)?質疑(?:応答)?(?:等|・意見)?(?:の要旨|要旨)?"
    r"\s*[】〉》>＞)）］\]]?$"
)
RE_DECISION = re.compile(
    r"諮問のあった|ことが決定|ことに決定|決定された|継続審議と|取り下げ|取下げ|同意しない|不同意"
)
# An outcome recorded without ※ or 諮問のあった: 本件は…ことに決定した。
RE_DECISION_RECORD = re.compile(
    r"(?:決定(?:され|し)た|こととなった|こととした|こととされた|取り?下げ(?:られ)?た"
    r"|取り?下げとなった|取り?下げがあった)。?$"
)
RE_SIGNING = re.compile(r"ここに署名|署名する。?$|署名します。?$")
RE_VOTE_STRIP = re.compile(r"[\s．.・…‥。、※〈〉《》【】「」]+")
RE_VOTE_COUNT_PAREN = re.compile(r"[（(][^（）()]*[0-9０-９][^（）()]*[）)]")
RE_VOTE_PARENS = re.compile(r"[（()）]")
RE_VOTES_FOR = re.compile(r"賛成\s*([0-9]+)")
RE_VOTES_AGAINST = re.compile(r"反対\s*([0-9]+)")
RE_VOTES_ABSTAIN = re.compile(r"棄権\s*([0-9]+)")
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
SPEECH_SECTIONS = ("agenda", "content")


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
        return sep.join(filter(None, parts))

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


def read_vote(text: str, vote_phrases) -> dict | None:
    """``・・・挙手多数（賛成5名、反対2名）・・・`` -> {vote: majority, for: 5, against: 2}.

    A vote line is short: once dots, brackets and a parenthesised head count are taken away, at
    most 16 characters may remain, and one of them must be a phrase of ``vote_phrases``.
    """
    return read_vote_norm(unicodedata.normalize("NFKC", text), vote_phrases)


def read_vote_norm(norm: str, vote_phrases) -> dict | None:
    """:func:`read_vote` for a line already in its NFKC form (``Line.norm``)."""
    if _phrase_letters(vote_phrases).search(norm) is None:
        return None  # stripping only removes characters: a phrase's are all there, in order
    return _read_stripped_vote(norm, vote_phrases)


def _read_stripped_vote(norm: str, vote_phrases) -> dict | None:
    """:func:`read_vote_norm` without the quick test for a phrase's characters."""
    counts = RE_VOTE_COUNT_PAREN.findall(norm)
    stripped = RE_VOTE_PARENS.sub("", RE_VOTE_STRIP.sub("", RE_VOTE_COUNT_PAREN.sub("", norm)))
    if not stripped or len(stripped) > 16:
        return None
    code = next((p.code for p in vote_phrases if p.phrase in stripped), None)
    if code is None:
        return None
    out: dict = {"vote": code}
    joined = "".join(counts)
    for key, rx in (("for", RE_VOTES_FOR), ("against", RE_VOTES_AGAINST)):
        if m := rx.search(joined):
            out[key] = int(m.group(1))
    if m := RE_VOTES_ABSTAIN.search(joined):
        out["abstain"] = int(m.group(1))
    return out


# id of a vote_phrases tuple -> (the tuple, _phrase_letters of it); keyed by id because hashing
# the tuple's phrases on every line would cost more than the search saves
_PHRASE_LETTERS: dict[int, tuple[object, re.Pattern[str]]] = {}


def _phrase_letters(vote_phrases) -> re.Pattern[str]:
    """The characters of any of ``vote_phrases`` in their order, other text between them."""
    known = _PHRASE_LETTERS.get(id(vote_phrases))
    if known is None or known[0] is not vote_phrases:
        spread = sorted({".*?".join(map(re.escape, p.phrase)) for p in vote_phrases})
        pattern = re.compile("|".join(spread), re.DOTALL)
        known = _PHRASE_LETTERS[id(vote_phrases)] = (vote_phrases, pattern)
    return known[1]


def is_vote(norm: str, vote_phrases) -> str | None:
    """The vote code of a vote line (given in its NFKC form, ``Line.norm``), or None."""
    v = read_vote_norm(norm, vote_phrases)
    return v["vote"] if v else None


def heading_section(title: str) -> str:
    """The section a heading opens: closing, agenda (諮問/報告/議題) or content (proceedings)."""
    if "閉会" in title:
        return "closing"
    if RE_AGENDA_TITLE.match(title) or "諮問" in title or "報告事項" in title:
        return "agenda"
    return "content"


def is_decision(t: str) -> bool:
    """A sentence that records an outcome (the start of one, when it wraps)."""
    if "諮問のあった" in t:
        return True
    if t.startswith("※"):
        return bool(RE_DECISION.search(t)) or ("諮問" in t and "「" in t)
    # every outcome RE_DECISION_RECORD knows ends in た (and an optional 。)
    return t.endswith(("た", "た。")) and bool(
        RE_DECISION_RECORD.search(t) and RE_SUBJECT.search(t)
    )


def decision_finished(text: str) -> bool:
    return (
        text.endswith("。")
        or "決定された" in text
        or "決定した" in text
        or "こととなった" in text
        or "こととした" in text
    )


def info_key(raw_key: str) -> str:
    return INFO_KEYS[RE_WS.sub("", raw_key)]


class _Classifier:
    def __init__(self, ref: Reference):
        self.vote_phrases = ref.vote_phrases
        self.speaker_names = speaker_vocabulary(ref)

    def speaker(self, label: str) -> bool:
        return is_speaker_label(label, self.speaker_names)

    def classify(self, ln: Line, section: str) -> tuple[str, dict]:
        t = ln.text
        n = ln.norm
        head = section in ("head", "staff")
        if head or (section == "content" and n[:1].isdigit()):
            m = RE_INFO.match(n)
            if m and (head or m.group("num")) and _info_ok(m):
                return "info", {
                    "key": info_key(m.group("key")),
                    "rest": m.group("rest").strip(),
                    "label": RE_WS.sub("", m.group("key")),
                }
        first = t[:1]
        if head and first == "【" and (m := RE_BRACKET.match(t)):
            return "bracket", {"name": m.group("name").strip()}
        if section == "staff":
            if m := RE_STAFF_DEPT.match(t):
                return "staff", {
                    "labels": RE_LABEL_SPLIT.split(m.group("labels")),
                    "org": m.group("org"),
                    "text": m.group("people"),
                }
            if m := RE_STAFF_PLAIN.match(t):
                return "staff", {"labels": [], "org": m.group("org"), "text": m.group("people")}
        # each pattern is tried only on lines that start as it must (or hold what it needs)
        if n[:1] in "(（" and (m := RE_SECTION.match(n)):
            return "section", {"num": int(m.group("num")), "title": m.group("title").strip()}
        if "①" <= first <= "⑳" and (m := RE_CIRCLED.match(t)):
            return "circled", {"title": m.group("title").strip()}
        if (
            section in (*SPEECH_SECTIONS, "closing")
            and n[:1] in _NUM_HEADING_START
            and (m := RE_NUM_HEADING.match(n))
            and HEADING_WORDS.search(m.group("title"))
        ):
            return "section", {"num": None, "title": m.group("title").strip()}
        if "質疑" in t and RE_QA_MARKER.match(t):
            return "qa_marker", {}
        if first == "〔":
            if m := RE_PRESENTER.match(t):
                return "presenter", {"label": m.group("label")}
            if m := RE_UTTERANCE.match(t):
                return "utterance", {"label": m.group("label"), "text": m.group("text").strip()}
        if section in SPEECH_SECTIONS:
            turn = self._turn(t)
            if turn is not None:
                return turn
        vote = read_vote_norm(n, self.vote_phrases)
        if vote:
            return "vote", vote
        if section in SPEECH_SECTIONS and (first in "諮報（(" or "ア" <= first <= "ヶ"):
            m = RE_CONS_HEADER.match(t)
            if (
                m
                and (CONS_TITLE_HINT.search(m.group("title")) or m.group("org"))
                and not t.endswith("。")
            ):
                return "cons_header", {
                    "label": m.group("l1") or m.group("l2"),
                    "title": m.group("title").strip(),
                    "org": (m.group("org") or "").strip() or None,
                    "kind": m.group("kind"),
                }
        if is_decision(t):
            return "decision", {"text": t.lstrip("※").strip()}
        return "text", {}

    def _turn(self, t: str) -> tuple[str, dict] | None:
        """A turn in one of the other dresses: ○会長：…, ○草川会長 …, 委員：…, （委員）."""
        if t[:1] in "○◯〇":
            for rx in (RE_CIRCLE_COLON, RE_CIRCLE_SPACE):
                m = rx.match(t)
                if m and self.speaker(m.group("label")):
                    return "utterance", {
                        "label": m.group("label").strip(),
                        "text": (m.group("text") or "").strip(),
                    }
            return None
        if ("：" in t or ":" in t) and (m := RE_COLON.match(t)) and self.speaker(m.group("label")):
            return "utterance", {"label": m.group("label"), "text": m.group("text").strip()}
        if t[:1] in "（(" and (m := RE_PAREN_LABEL.match(t)) and self.speaker(m.group("label")):
            return "presenter", {"label": m.group("label")}
        return None


def _info_ok(m: re.Match) -> bool:
    # `場所` inside a sentence (場所は…) is not an item; an item's rest is short or a list.
    return not m.group("rest").startswith(("は", "が", "を", "に", "の"))


def segment(lines: list[Line], ref: Reference) -> list[Block]:
    """Group the lines that still need a role into blocks, tracking the section of the minutes."""
    cls = _Classifier(ref)
    blocks: list[Block] = []
    section = "head"
    for ln in lines:
        if ln.role is not None or not ln.text:  # not ln.blank, without the property's call
            continue
        prev = blocks[-1] if blocks else None
        # An unfinished decision sentence takes every following line that starts nothing new.
        if (
            prev is not None
            and prev.kind == "decision"
            and not decision_finished(prev.text())
            and not ln.text.startswith(("※", "〔", "【", "○"))
            and not RE_SECTION.match(ln.norm)
            and not is_vote(ln.norm, cls.vote_phrases)
        ):
            prev.lines.append(ln)
            continue
        kind, data = cls.classify(ln, section)
        if kind == "info":
            section = {"staff": "staff", "secretariat": "staff", "content": "content"}.get(
                data["key"], "head"
            )
        elif kind in ("section", "circled"):
            section = heading_section(data["title"])
        elif kind == "text" and section in SPEECH_SECTIONS and RE_SIGNING.search(ln.text):
            section = "closing"  # the signing formula opens the signature block
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
    if prev.kind in ("utterance", "paragraph"):
        # a turn or paragraph wrapped mid-sentence (over a blank line or a page break, too)
        return not last.ends_sentence or (prev.kind == "utterance" and not prev.text())
    if prev.kind == "decision":
        return not decision_finished(prev.text())
    return False
