"""What a 諮問's explanation states: category, personal data items and safeguard measures."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from analysis.reference import Reference

OPEN = "（("
CLOSE = "）)"
_PAREN = re.compile(f"[{re.escape(OPEN + CLOSE)}]")


def categorise(title: str, ref: Reference) -> str:
    """Category of a 諮問 from its title's wording (first rule in categories.csv that matches)."""
    for rule in ref.category_rules:
        if rule.all_of and all(w in title for w in rule.all_of):
            return rule.category
    return "other"


# ---------------------------------------------------------------------------- personal data
RE_ITEMS_VERB = re.compile(
    r"(?:の個人情報|等の個人情報|の情報)?(?:を|は)?(?:取り扱う|取扱う|扱う|取り扱います|扱います|収集する|利用する|提供する)。?$"
)
RE_ITEMS_PREFIX = re.compile(
    r"^(?:[^（(]*?(?:を対象に|について|に関して|に係る)[、,])|^(?:取り扱う|扱う)?個人情報(?:の項目)?(?:は|として)[、,]?"
)
PERSONAL_DATA_CUE = re.compile(r"(?:取り扱う|取扱う|扱う)。?$")


def is_personal_data_statement(text: str) -> bool:
    return bool(PERSONAL_DATA_CUE.search(text)) and not text.startswith("本諮問は")


def split_top_level(text: str, seps: str = "、・,，") -> list[str]:
    """Split on separators that stand outside any parentheses."""
    if seps and not _PAREN.search(text):  # every separator stands outside
        return [p.strip() for p in re.split(f"[{re.escape(seps)}]", text) if p.strip()]
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(0, depth - 1)
        if ch in seps and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _split_group(item: str) -> tuple[str, str | None]:
    """``課税情報（住所、氏名）`` -> (課税情報, 住所、氏名); no trailing group -> (item, None)."""
    if not item or item[-1] not in CLOSE:
        return item, None
    depth = 0
    for i in range(len(item) - 1, -1, -1):
        ch = item[i]
        if ch in CLOSE:
            depth += 1
        elif ch in OPEN:
            depth -= 1
            if depth == 0:
                return item[:i].strip(), item[i + 1 : -1].strip()
    return item, None


QUALIFIER = re.compile(r"法|条|規定|等のもの|のみ|除く")


@dataclass(frozen=True)
class Item:
    item: str
    group: str | None
    offset: int


def personal_data_items(text: str) -> list[Item]:
    """Items of personal information listed in a statement such as ``氏名、住所を取り扱う。``."""
    body = RE_ITEMS_VERB.sub("", text.strip())
    m = RE_ITEMS_PREFIX.search(body)
    start = m.end() if m else 0
    body = body[start:]
    out: list[Item] = []
    _collect(body, None, start, text, out)
    return out


def _collect(body: str, group: str | None, base: int, full: str, out: list[Item]) -> None:
    for part in split_top_level(body):
        offset = full.find(part, base)
        name, inner = _split_group(part)
        if inner is None:
            out.append(Item(part, group, max(offset, 0)))
            continue
        inner_parts = split_top_level(inner)
        if len(inner_parts) <= 1 or (QUALIFIER.search(inner) and len(inner_parts) <= 2):
            # a qualifier such as 雇用形態（正規／非正規等） or 戸籍情報（戸籍法第13条…）
            out.append(Item(part, group, max(offset, 0)))
            continue
        sub_group = name if group is None else f"{group} > {name}"
        _collect(inner, sub_group, max(offset, 0), full, out)


# ---------------------------------------------------------------------------- safeguards
RE_SAFEGUARD_INTRO = re.compile(
    r"^(?:個人情報(?:の)?保護(?:の)?措置(?:として)?|保護措置として|安全管理措置として)[、,：:]?"
)
SAFEGUARD_CUE = re.compile(r"保護措置として|安全管理措置として|保護措置は")
# Clause boundaries inside a sentence: a comma after a continuative verb form, or a middle dot
# after a finished clause (している・, できない・).
# (The separator comes first and the look-behinds take it in, so that a search skips along to
# the few separators there are.)
RE_CLAUSE = re.compile(
    r"、(?:(?<=[しせ]、)|(?<=させる、)|(?<=とともに、)|(?<=こと、)|(?<=ている、)|(?<=なく、)|(?<=また、))"
    r"|・(?<=[るい]・)(?=\S)"
)
RE_SENTENCE = re.compile(r"(?<=。)")


def is_safeguard_statement(text: str) -> bool:
    return bool(SAFEGUARD_CUE.search(text[:40]))


@dataclass(frozen=True)
class Measure:
    text: str
    offset: int
    measure: str
    control_category: str
    matched: str | None


def classify_measure(text: str, ref: Reference) -> list[tuple[str, str, str]]:
    """Every taxonomy measure whose keywords occur in ``text``: (measure, category, keyword)."""
    norm = unicodedata.normalize("NFKC", text).replace(" ", "")
    index = ref.measure_keywords_by_first_char
    first: dict[int, int] = {}  # measure -> its first keyword (in the taxonomy's order) found
    for ch in index.keys() & set(norm):
        for kw, i, j in index[ch]:
            if j < first.get(i, j + 1) and kw in norm:
                first[i] = j
    hits = []
    for i in sorted(first):
        m = ref.measures[i]
        hits.append((m.measure, m.control_category, m.keywords[first[i]]))
    return hits


def safeguard_measures(text: str, ref: Reference) -> list[Measure]:
    """Split a 個人情報保護措置 statement into single measures, each coded from the taxonomy."""
    m = RE_SAFEGUARD_INTRO.search(text)
    start = m.end() if m else 0
    segments: list[tuple[int, str]] = []
    pos = start
    for sentence in RE_SENTENCE.split(text[start:]):
        spos = pos
        pos += len(sentence)
        clause_pos = spos
        for clause in RE_CLAUSE.split(sentence):
            cpos = clause_pos
            clause_pos += len(clause) + 1
            c = clause.strip().rstrip("。")
            if c:
                segments.append((cpos + (len(clause) - len(clause.lstrip())), c))
    # A clause that names no measure (講じる, 高い安全性を確保している) joins the one before it.
    coded: list[tuple[int, str, list]] = []
    for off, seg in segments:
        hits = classify_measure(seg, ref)
        if not hits and coded:
            o, t, h = coded[-1]
            coded[-1] = (o, t + "、" + seg, h)
            continue
        if coded and not coded[-1][2]:
            o, t, _ = coded[-1]
            coded[-1] = (o, t + "、" + seg, hits)
            continue
        coded.append((off, seg, hits))
    out = []
    for off, seg, hits in coded:
        if not hits:
            out.append(Measure(seg, off, "unclassified", "unclassified", None))
        for measure, category, kw in hits:
            out.append(Measure(seg, off, measure, category, kw))
    return out
