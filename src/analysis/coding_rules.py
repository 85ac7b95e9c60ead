"""Coding rules: a small expression language for tagging texts, in the spirit of KH Coder.

An analyst writes one expression per code (see ``data/reference/topic_rules.yml``); this module
parses it once and evaluates it on many texts.

Syntax
------
============================  =================================================================
``録画``                      a word: matches where the text contains it
``"個人 情報"`` ``'a b'``     a quoted phrase (may hold spaces or operator characters)
``A | B``  ``A or B``         either
``A & B``  ``A and B``        both, anywhere in the text
``!A``  ``not A``             A does not occur
``( … )``                     grouping
``near(A, B, …, N)``          every argument occurs within N characters: the text between the
                              first and the last of the (non-overlapping) occurrences is at most
                              N characters long, in any order; N defaults to 20
``seq(A, B, …, N)``           as ``near`` but in the order given
============================  =================================================================

Precedence, from tightest: ``!``, ``&``, ``|``; so ``録画 | カメラ & !監視カメラ`` reads
``録画 | (カメラ & (!監視カメラ))``. An argument of ``near``/``seq`` is a word, a phrase or a
parenthesised list of alternatives ``(委託 | 受託)``; the last argument, when it is a bare number,
is N. ``and``/``or``/``not`` are keywords in any letter case (quote them to match the word itself);
``near``/``seq`` are functions only when ``(`` follows. Full-width operators (``｜＆！（），＂＇``)
work like their ASCII forms; whitespace (including U+3000) separates tokens and is otherwise
ignored; two words in a row without an operator are an error.

Matching
--------
Rules are matched against the ``*_norm`` form of a text (NFKC plus the folds of
:func:`analysis.normalise.to_norm`); words are normalised the same way when the rule is compiled,
so ``ＵＳＢ`` in a rule matches ``USB`` in the text. Latin letters A–Z match in either case. A word
that begins (ends) with a Latin letter or digit matches only where the text does not continue with
another Latin letter or digit on that side: ``PC`` matches ``PC室`` but not ``PCR``.

A rule must not match a text that contains none of its words (``!A`` alone, or ``A | !B``, is
refused): every match is then triggered by words that were found, and those words are reported
(:meth:`Rule.match`), in order of first appearance. Words under ``!`` are never reported.

Speed
-----
:meth:`RuleSet.match_many` finds every word of every rule in one pass over all texts (polars'
Aho-Corasick ``extract_many``), evaluates each distinct text once and only the rules one of whose
words it contains.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from analysis.normalise import to_norm
from analysis.reference import ReferenceError

__all__ = [
    "DEFAULT_DISTANCE",
    "And",
    "Near",
    "Not",
    "Or",
    "Rule",
    "RuleError",
    "RuleSet",
    "Term",
    "compile_rule",
    "fold_case",
    "parse",
    "tokenize",
]

DEFAULT_DISTANCE = 20
MATCHED_SEPARATOR = "、"

# Full-width operator characters and their ASCII forms (one character each: columns stay true).
_FULLWIDTH = str.maketrans("｜＆！（），＂＇", "|&!(),\"'")
_SPACES = frozenset(" \t\r\n\u3000")
_SPECIAL = frozenset("|&!(),\"'")
_KEYWORDS = {"or": "OR", "and": "AND", "not": "NOT"}
_FUNCTIONS = ("near", "seq")
_ASCII_UPPER = re.compile("[A-Z]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class RuleError(ReferenceError):
    """A coding rule cannot be parsed or a rule file is malformed.

    ``str()`` is one line: ``<file>:<line>: topic '<code>': column <n>: <reason>`` (the parts that
    are known). The parts are also attributes.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        line: int | None = None,
        topic: str | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.topic = topic
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source:
            where = f"{self.source}:{self.line}: " if self.line else f"{self.source}: "
        parts = [where.rstrip()] if where else []
        if self.topic:
            parts.append(f"topic '{self.topic}':")
        if self.column:
            parts.append(f"column {self.column}:")
        parts.append(self.reason)
        return " ".join(parts)

    def located(
        self,
        *,
        source: str | None = None,
        line: int | None = None,
        topic: str | None = None,
    ) -> RuleError:
        """The same error with the file, line and topic filled in (those not already known)."""
        return RuleError(
            self.reason,
            source=self.source or source,
            line=self.line or line,
            topic=self.topic or topic,
            column=self.column,
        )


def fold_case(text: str) -> str:
    """Lower-case the Latin letters A–Z only (the length of the text never changes)."""
    if text.isascii():
        return text.lower()
    return text.translate(_ASCII_LOWER) if _ASCII_UPPER.search(text) else text


def _normalise_word(word: str) -> str:
    return fold_case(" ".join(to_norm(word).split()))


def _is_alnum_ascii(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# ---------------------------------------------------------------------------- tokens
@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # WORD, PHRASE, OR, AND, NOT, LPAREN, RPAREN, COMMA, FUNC, END
    value: str
    column: int  # 1-based


def tokenize(rule: str) -> list[Token]:
    """Split a rule into tokens; the last one is ``END``. Raises :class:`RuleError`."""
    text = rule.translate(_FULLWIDTH)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACES:
            i += 1
            continue
        col = i + 1
        if ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                raise RuleError(f"the quote {ch} opened here is never closed", column=col)
            tokens.append(Token("PHRASE", text[i + 1 : end], col))
            i = end + 1
            continue
        simple = {"|": "OR", "&": "AND", "!": "NOT", "(": "LPAREN", ")": "RPAREN", ",": "COMMA"}
        if ch in simple:
            tokens.append(Token(simple[ch], ch, col))
            i += 1
            continue
        j = i
        while j < n and text[j] not in _SPACES and text[j] not in _SPECIAL:
            j += 1
        word = text[i:j]
        low = word.lower()
        if low in _KEYWORDS:
            tokens.append(Token(_KEYWORDS[low], word, col))
        elif low in _FUNCTIONS and j < n and text[j] == "(":
            tokens.append(Token("FUNC", low, col))
        else:
            tokens.append(Token("WORD", word, col))
        i = j
    tokens.append(Token("END", "", len(text) + 1))
    return tokens


# ---------------------------------------------------------------------------- syntax tree
@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase; ``key`` is its normalised, case-folded form."""

    key: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    # The children that are plain words, and the others (filled in by __post_init__): the words
    # are tested as one set against the words known to occur in a text.
    words: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    others: tuple[Node, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "words", frozenset(c.key for c in self.children if isinstance(c, Term))
        )
        object.__setattr__(
            self, "others", tuple(c for c in self.children if not isinstance(c, Term))
        )


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    """``near``/``seq``: each argument is a tuple of alternative terms."""

    args: tuple[tuple[Term, ...], ...]
    distance: int
    ordered: bool


Node = Term | Or | And | Not | Near


def _describe(tok: Token) -> str:
    if tok.kind == "END":
        return "the end of the rule"
    if tok.kind == "PHRASE":
        return f'the phrase "{tok.value}"'
    if tok.kind == "WORD":
        return f"the word '{tok.value}'"
    return f"'{tok.value}'"


class _Parser:
    """Recursive descent over the token list (grammar in the module docstring)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def take(self, kind: str) -> Token | None:
        if self.tok.kind == kind:
            tok = self.tok
            self.pos += 1
            return tok
        return None

    def fail(self, reason: str, tok: Token | None = None) -> RuleError:
        return RuleError(reason, column=(tok or self.tok).column)

    def parse(self) -> Node:
        if self.tok.kind == "END":
            raise RuleError("the rule is empty")
        node = self.or_expr()
        if self.tok.kind != "END":
            tok = self.tok
            if tok.kind == "RPAREN":
                raise self.fail("this ')' closes no '('")
            raise self.fail(f"expected an operator (| or &) before {_describe(tok)}")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.take("OR"):
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.take("AND"):
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.take("NOT"):
            return Not(self.not_expr())
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind in ("WORD", "PHRASE"):
            self.pos += 1
            return self.term(tok)
        if tok.kind == "LPAREN":
            self.pos += 1
            node = self.or_expr()
            self.close(tok)
            return node
        if tok.kind == "FUNC":
            self.pos += 1
            return self.function(tok)
        raise self.fail(f"expected a word, a quoted phrase, '(' or '!' but found {_describe(tok)}")

    def close(self, opening: Token) -> None:
        if not self.take("RPAREN"):
            if self.tok.kind == "END":
                raise self.fail("this '(' is never closed", opening)
            raise self.fail(f"expected ')' or an operator before {_describe(self.tok)}")

    def term(self, tok: Token) -> Term:
        key = _normalise_word(tok.value)
        if not key:
            raise self.fail("empty phrase", tok)
        return Term(key, tok.column)

    def function(self, func: Token) -> Near:
        opening = self.tok
        self.take("LPAREN")
        args: list[tuple[Term, ...]] = []
        distance: int | None = None
        while True:
            tok = self.tok
            if tok.kind == "WORD" and _normalise_word(tok.value).isdigit():
                self.pos += 1
                if self.tok.kind != "RPAREN":
                    raise self.fail(
                        f"a number may only be the last argument of {func.value}() "
                        "(quote it to match the digits as a word)",
                        tok,
                    )
                distance = int(_normalise_word(tok.value))
            elif tok.kind in ("WORD", "PHRASE"):
                self.pos += 1
                args.append((self.term(tok),))
            elif tok.kind == "LPAREN":
                self.pos += 1
                alts = [self.alternative()]
                while self.take("OR"):
                    alts.append(self.alternative())
                if self.tok.kind not in ("RPAREN", "END"):
                    raise self.fail(
                        f"inside {func.value}(), parentheses hold words joined by '|'; "
                        f"found {_describe(self.tok)}"
                    )
                self.close(tok)
                args.append(tuple(alts))
            else:
                raise self.fail(
                    f"an argument of {func.value}() is a word, a quoted phrase or "
                    f"(word | word …); found {_describe(tok)}"
                )
            if self.take("COMMA"):
                continue
            if self.tok.kind == "RPAREN":
                self.pos += 1
                break
            if self.tok.kind == "END":
                raise self.fail(f"this '(' of {func.value}() is never closed", opening)
            raise self.fail(f"expected ',' or ')' in {func.value}() before {_describe(self.tok)}")
        if len(args) < 2:
            raise self.fail(f"{func.value}() needs at least two words", func)
        return Near(
            tuple(args),
            DEFAULT_DISTANCE if distance is None else distance,
            func.value == "seq",
        )

    def alternative(self) -> Term:
        tok = self.tok
        if tok.kind in ("WORD", "PHRASE"):
            self.pos += 1
            return self.term(tok)
        raise self.fail(
            f"inside near()/seq(), parentheses hold words joined by '|'; found {_describe(tok)}"
        )


def parse(rule: str) -> Node:
    """Parse a rule into its syntax tree. Raises :class:`RuleError` (with the column)."""
    if not isinstance(rule, str):
        raise RuleError(f"a rule is a text, not {type(rule).__name__}")
    return _Parser(tokenize(rule)).parse()


# ---------------------------------------------------------------------------- evaluation
class _Text:
    """One text being matched: its case-folded form, and occurrences found so far."""

    __slots__ = ("_occ", "low", "present", "text")

    def __init__(self, text: str, present: frozenset[str] | set[str] | None = None) -> None:
        self.text = text
        self.low = fold_case(text)
        self.present = present  # words known to occur somewhere (None: not known)
        self._occ: dict[str, list[tuple[int, int]]] = {}

    def occurrences(self, key: str) -> list[tuple[int, int]]:
        got = self._occ.get(key)
        if got is None:
            got = []
            if self.present is None or key in self.present:
                low, n, size = self.low, len(self.low), len(key)
                left, right = _is_alnum_ascii(key[0]), _is_alnum_ascii(key[-1])
                i = low.find(key)
                while i >= 0:
                    end = i + size
                    if not (left and i > 0 and _is_alnum_ascii(low[i - 1])) and not (
                        right and end < n and _is_alnum_ascii(low[end])
                    ):
                        got.append((i, end))
                    i = low.find(key, i + 1)
            self._occ[key] = got
        return got

    def has(self, key: str) -> bool:
        if self.present is not None and key not in self.present:
            return False
        if _is_alnum_ascii(key[0]) or _is_alnum_ascii(key[-1]):
            return bool(self.occurrences(key))
        return self.present is not None or key in self.low


_EMPTY: frozenset[str] = frozenset()


def _evaluate(node: Node, t: _Text) -> frozenset[str] | None:
    """The words that make ``node`` true in ``t`` (possibly none, for ``!A``), or None if false."""
    if isinstance(node, Term):
        return frozenset((node.key,)) if t.has(node.key) else None
    if isinstance(node, Or):
        words = node.words if t.present is None else node.words & t.present
        found = {w for w in words if t.has(w)}
        true = bool(found)
        for child in node.others:
            got = _evaluate(child, t)
            if got is not None:
                true = True
                found |= got
        return frozenset(found) if true else None
    if isinstance(node, And):
        found = set()
        for child in node.children:
            got = _evaluate(child, t)
            if got is None:
                return None
            found |= got
        return frozenset(found)
    if isinstance(node, Not):
        return _EMPTY if _evaluate(node.child, t) is None else None
    return _evaluate_near(node, t)


def _evaluate_near(node: Near, t: _Text) -> frozenset[str] | None:
    per_arg: list[list[tuple[int, int, str]]] = []
    for alts in node.args:
        occ = [
            (s, e, term.key) for term in alts if t.has(term.key) for s, e in t.occurrences(term.key)
        ]
        if not occ:
            return None
        per_arg.append(sorted(occ))
    first_starts = [[o[0] for o in occ] for occ in per_arg[1:]]
    # In a qualifying combination any two starts are at most distance + longest word apart:
    # anchor on each occurrence of the first argument and try only the others that near.
    reach = node.distance + max(e - s for occ in per_arg for s, e, _ in occ)
    found: set[str] = set()
    for anchor in per_arg[0]:
        others = [
            occ[bisect_left(starts, anchor[0] - reach) : bisect_right(starts, anchor[0] + reach)]
            for occ, starts in zip(per_arg[1:], first_starts, strict=True)
        ]
        for combo in itertools.product((anchor,), *others):
            spans = combo if node.ordered else sorted(combo)
            if all(spans[k][0] >= spans[k - 1][1] for k in range(1, len(spans))) and (
                spans[-1][0] - spans[0][1] <= node.distance
            ):
                found.update(key for _, _, key in combo)
    return frozenset(found) if found else None


def _terms(node: Node, negated: bool = False) -> Iterable[tuple[str, bool]]:
    """Every (word, under an odd number of ``!``) in the tree."""
    if isinstance(node, Term):
        yield node.key, negated
    elif isinstance(node, Or | And):
        for child in node.children:
            yield from _terms(child, negated)
    elif isinstance(node, Not):
        yield from _terms(node.child, not negated)
    else:
        for alts in node.args:
            for term in alts:
                yield term.key, negated


@dataclass(frozen=True)
class Rule:
    """A compiled rule: the expression as written, its tree and its words."""

    expression: str
    node: Node = field(repr=False)
    words: tuple[str, ...]  # every word, normalised, in order of first mention
    triggers: frozenset[str] = field(repr=False)  # words not only under '!': one must occur

    def match(self, text: str) -> list[str] | None:
        """The words (as written in ``text``) that make the rule match, or None if it does not.

        ``text`` should be the ``*_norm`` form of a text.
        """
        return self._match(_Text(text))

    def _match(self, t: _Text) -> list[str] | None:
        got = _evaluate(self.node, t)
        if got is None:
            return None
        return _in_text_order(got, t)


def _in_text_order(keys: Iterable[str], t: _Text) -> list[str]:
    """The words as written, by first occurrence; an occurrence inside a longer one of the words
    (委託 inside 再委託) does not count, so that a word is not reported twice."""
    occ = {key: t.occurrences(key) for key in keys}
    if len(occ) == 1 or not any(a != b and a in b for a in occ for b in occ):
        firsts = sorted((spans[0][0], spans[0][1]) for spans in occ.values() if spans)
        return list(dict.fromkeys(t.text[s:e] for s, e in firsts))
    spans_all = sorted(span for spans in occ.values() for span in spans)
    starts = [s for s, _ in spans_all]
    longest = max((e - s for s, e in spans_all), default=0)

    def inside_another(s: int, e: int) -> bool:
        # a span that contains (s, e) starts in [e - longest, s]
        lo, hi = bisect_left(starts, e - longest), bisect_right(starts, s)
        return any(e <= e2 and e2 - s2 > e - s for s2, e2 in spans_all[lo:hi])

    firsts = []
    for spans in occ.values():
        free = next(((s, e) for s, e in spans if not inside_another(s, e)), None)
        if free:
            firsts.append((free[0], t.text[free[0] : free[1]]))
    out: list[str] = []
    for _, word in sorted(firsts):
        if word not in out:
            out.append(word)
    return out


def compile_rule(expression: str) -> Rule:
    """Parse and check a rule once, for matching many texts. Raises :class:`RuleError`."""
    node = parse(expression)
    words: list[str] = []
    triggers: set[str] = set()
    for key, negated in _terms(node):
        if key not in words:
            words.append(key)
        if not negated:
            triggers.add(key)
    if _evaluate(node, _Text("", frozenset())) is not None:
        raise RuleError(
            "the rule matches a text that contains none of its words "
            "(a rule needs a word outside '!' that must occur)"
        )
    return Rule(expression, node, tuple(words), frozenset(triggers))


# ---------------------------------------------------------------------------- many rules
class RuleSet:
    """Named rules matched together. ``rules`` maps a code to a :class:`Rule` (or an expression)."""

    def __init__(self, rules: Mapping[str, Rule | str]) -> None:
        self.rules: dict[str, Rule] = {
            code: r if isinstance(r, Rule) else compile_rule(r) for code, r in rules.items()
        }
        self.words: tuple[str, ...] = tuple(
            sorted({w for r in self.rules.values() for w in r.words})
        )
        index: dict[str, list[str]] = {}
        for code, rule in self.rules.items():
            for w in rule.triggers:
                index.setdefault(w, []).append(code)
        self._by_trigger = index
        self._order = {code: i for i, code in enumerate(self.rules)}

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, text: str) -> dict[str, list[str]]:
        """``{code: matched words}`` for every rule that matches ``text`` (rule order)."""
        return self._match_text(_Text(text))

    def _match_text(self, t: _Text) -> dict[str, list[str]]:
        if t.present is None:
            codes: Iterable[str] = self.rules
        else:
            codes = sorted(
                {c for w in t.present for c in self._by_trigger.get(w, ())},
                key=self._order.__getitem__,
            )
        out = {}
        for code in codes:
            got = self.rules[code]._match(t)
            if got is not None:
                out[code] = got
        return out

    def match_many(self, texts: Sequence[str | None]) -> list[dict[str, list[str]]]:
        """:meth:`match` for each text (None → no match), with one word search over all texts.

        Equal texts are matched once and share one result dict: do not modify the results.
        """
        import polars as pl

        if not self.rules or not len(texts):
            return [{} for _ in range(len(texts))]
        series = pl.Series("text", texts, dtype=pl.String)
        distinct = series.unique(maintain_order=True).drop_nulls()
        found = distinct.str.extract_many(
            list(self.words), overlapping=True, ascii_case_insensitive=True
        )
        memo: dict[str, dict[str, list[str]]] = {}
        for text, words in zip(distinct.to_list(), found.to_list(), strict=True):
            if words:
                memo[text] = self._match_text(_Text(text, {fold_case(w) for w in words}))
        return [memo.get(text, {}) if text is not None else {} for text in series.to_list()]
