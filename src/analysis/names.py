"""Split a person token from an attendance list into surname and job title.

Lists in the minutes run the name and the title together: ``赤松課税課長`` is 赤松 + 課税課長,
``有賀手当・医療・相談担当`` is 有賀 + 手当・医療・相談担当. SudachiPy (offline, with its packaged
core dictionary) tags surnames as 名詞-固有名詞-人名-姓; when the dictionary does not know the
surname, the first proper-noun token, or else the first two characters, is taken.
"""

from __future__ import annotations

import re
from functools import lru_cache

MEMBER_ROLE_SUFFIXES = (("副会長", "vice_chair"), ("会長", "chair"), ("委員", "member"))

PERSON_HEAD = 200  # characters of a token that are analysed
_SEPARATORS = re.compile(r"[、，,\s　]+")


_ROLE_WORDS = frozenset(("会長", "副会長", "委員", "委員長"))


def split_list(text: str) -> list[str]:
    """Split an attendance list on 、 , and white space.

    A role written apart from its name (``藤崎 会長、牛島 委員``) stays with the name.
    """
    out: list[str] = []
    for t in _SEPARATORS.split(text.strip()):
        if not t:
            continue
        if t in _ROLE_WORDS and out and out[-1] not in _ROLE_WORDS:
            out[-1] += t
        else:
            out.append(t)
    return out


def member_role(token: str) -> tuple[str, str | None]:
    """``藤崎会長`` -> (藤崎, chair); ``牛島委員`` -> (牛島, member); else (token, None)."""
    for suffix, role in MEMBER_ROLE_SUFFIXES:
        if token.endswith(suffix) and len(token) > len(suffix):
            return token[: -len(suffix)], role
    return token, None


@lru_cache(maxsize=1)
def _tokenizer():
    from sudachipy import Dictionary, SplitMode

    tok = (
        Dictionary().create() if not hasattr(Dictionary, "tokenizer") else Dictionary().tokenizer()
    )
    return tok, SplitMode.C


@lru_cache(maxsize=4096)
def split_person(token: str) -> tuple[str, str | None]:
    """Return (surname, title or None) for a token such as ``赤松課税課長``.

    Only the head of a very long token (a line of junk can be one token) is analysed: SudachiPy
    refuses input over about 49 kB.
    """
    token = token.strip()
    if len(token) <= 2:
        return token, None
    if len(token) > PERSON_HEAD:
        name, _ = split_person(token[:PERSON_HEAD])
        return name, token[len(name) :] or None
    tok, mode = _tokenizer()
    morphemes = list(tok.tokenize(token, mode))
    if not morphemes:
        return token, None
    first = morphemes[0]
    pos = first.part_of_speech()
    surface = first.surface()
    if pos[:3] == ("名詞", "固有名詞", "人名") or (
        pos[:2] == ("名詞", "固有名詞") and len(surface) >= 2
    ):
        name = surface
        # a given name run on after the surname (藤崎太郎) stays part of the name
        rest_tokens = morphemes[1:]
        if rest_tokens and rest_tokens[0].part_of_speech()[:4] == (
            "名詞",
            "固有名詞",
            "人名",
            "名",
        ):
            name += rest_tokens[0].surface()
    else:
        name = token[:2]
    title = token[len(name) :] or None
    return name, title
