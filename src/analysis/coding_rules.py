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
:meth:`RuleSet.match_frame` (and :meth:`RuleSet.match_many`, built on it) matches many texts
column-wise with polars: one Aho-Corasick pass finds every occurrence of every word of every
rule (words and rules are numbered: the joins and groupings are on integers); each rule is
evaluated once per distinct set of its words found, not once per text;
``near``/``seq`` of two arguments are decided by pairing occurrences in polars. Only texts where
a ``near``/``seq`` of three or more arguments could hold are matched one by one in Python.
:meth:`RuleSet.match` and :meth:`Rule.match` are the one-text reference the batch path is
tested against.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from analysis.normalise import to_norm
from analysis.reference import ReferenceError

if TYPE_CHECKING:
    import polars as pl

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

    def near(self, node: Near) -> frozenset[str] | None:
        return _evaluate_near(node, self)


_EMPTY: frozenset[str] = frozenset()


def _evaluate(node: Node, t: _Text | _Words) -> frozenset[str] | None:
    """The words that make ``node`` true in ``t`` (possibly none, for ``!A``), or None if false.

    ``t`` is a text (:class:`_Text`) or only the words known to occur in one (:class:`_Words`):
    either tells whether a word occurs (``has``, ``present``) and evaluates a ``near``/``seq``.
    """
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
    return t.near(node)


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
_LANE_BITS = 64  # words of a rule per 64-bit lane of its mask
_ASCII_ALNUM_BYTES = [
    bytes([b]) for b in b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
]


def _in_chunks(series: pl.Series, parts: int) -> pl.Series:
    """``series`` in at least ``parts`` chunks (without copying): polars runs a string
    operation on the chunks of a column in parallel."""
    import polars as pl

    if series.n_chunks() >= parts or series.len() < parts:
        return series
    size = -(-series.len() // parts)
    return pl.concat([series.slice(i, size) for i in range(0, series.len(), size)], rechunk=False)


def _pair_key() -> tuple[pl.Expr, tuple[pl.Expr, pl.Expr]]:
    """The expression of ``pair``, one UInt64 for (``row``, ``rule``), and those of ``row`` and
    ``rule`` from it (``pair`` orders as (row, rule) does)."""
    import polars as pl

    pair = (pl.col("row").cast(pl.UInt64) * 2**32 + pl.col("rule")).alias("pair")
    row = (pl.col("pair") // 2**32).cast(pl.UInt32).alias("row")
    rule = (pl.col("pair") % 2**32).cast(pl.UInt32).alias("rule")
    return pair, (row, rule)


class _NeedsPositions(Exception):
    """A ``near``/``seq`` whose every argument occurs: only the text itself can tell."""


class _Words:
    """What :func:`_evaluate` may know of a text without the text: the words that occur in it
    (their boundaries already checked) and, in ``nears``, what some ``near``/``seq`` nodes gave.

    A ``near``/``seq`` not in ``nears`` with an occurring word for every argument raises
    :class:`_NeedsPositions`: only the text can tell.
    """

    __slots__ = ("nears", "present")

    def __init__(
        self, present: frozenset[str], nears: Mapping[Near, frozenset[str] | None] | None
    ) -> None:
        self.present = present
        self.nears = nears

    def has(self, key: str) -> bool:
        return key in self.present

    def near(self, node: Near) -> frozenset[str] | None:
        if self.nears is not None and node in self.nears:
            return self.nears[node]
        if all(any(term.key in self.present for term in alts) for alts in node.args):
            raise _NeedsPositions
        return None


def _evaluate_words(
    node: Node,
    present: frozenset[str],
    nears: Mapping[Near, frozenset[str] | None] | None = None,
) -> frozenset[str] | None:
    """:func:`_evaluate` knowing only which words occur and some ``near``/``seq`` results
    (see :class:`_Words`)."""
    return _evaluate(node, _Words(present, nears))


def _near_nodes(node: Node) -> Iterable[Near]:
    """Every ``near``/``seq`` node of the tree."""
    if isinstance(node, Near):
        yield node
    elif isinstance(node, Or | And):
        for child in node.children:
            yield from _near_nodes(child)
    elif isinstance(node, Not):
        yield from _near_nodes(node.child)


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
        self._kid = {key: i for i, key in enumerate(self.words)}
        self._order = {code: i for i, code in enumerate(self.rules)}
        # by rule number, for the column-wise matching of match_frame
        self._rules = list(self.rules.values())
        self._word_index = [{key: i for i, key in enumerate(r.words)} for r in self._rules]
        self._nears = [tuple(dict.fromkeys(_near_nodes(r.node))) for r in self._rules]
        # rules whose near/seq all have two arguments: those are evaluated column-wise
        self._pairwise = [
            i for i, nears in enumerate(self._nears) if all(len(n.args) == 2 for n in nears)
        ]

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
        """:meth:`match` for each text (None → no match), through :meth:`match_frame`.

        Equal texts are matched once and share one result dict: do not modify the results.
        """
        import polars as pl

        series = pl.Series("text", texts, dtype=pl.String)
        distinct = series.unique(maintain_order=True).drop_nulls()
        results: list[dict[str, list[str]]] = [{} for _ in range(distinct.len())]
        matches = self.match_frame(distinct).sort("row", "rule")
        for row, code, words in matches.select("row", "code", "words").rows():
            results[row][code] = words
        memo = dict(zip(distinct.to_list(), results, strict=True))
        return [memo[text] if text is not None else {} for text in series.to_list()]

    def match_frame(self, texts: Sequence[str | None] | pl.Series) -> pl.DataFrame:
        """Every (text, rule) that matches, as :meth:`match` would report it, in one frame.

        Columns ``row`` (position in ``texts``), ``rule`` (position in :attr:`rules`), ``code``
        and ``words`` (the matched words, as :meth:`match` gives them), in no particular order.
        Null texts match nothing.

        Column-wise: one Aho-Corasick search finds every occurrence of every word with its byte
        span; occurrences of words beginning or ending with a Latin letter or digit are kept only
        at a word boundary. The words of a rule found in a text make a bit mask, and the rule is
        evaluated once per distinct mask (there are few). Only where a ``near``/``seq`` could
        hold is the rule evaluated per text, in Python (the ``near``/``seq`` on the text, the rest
        from the mask). The words reported are the first occurrences that lie inside no longer
        occurrence of another reported word, in text order.
        """
        import polars as pl

        schema = {
            "row": pl.UInt32,
            "rule": pl.UInt32,
            "code": pl.String,
            "words": pl.List(pl.String),
        }
        series = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
        series = series.rename("text").cast(pl.String)
        if not self.rules or series.len() == 0:
            return pl.DataFrame(schema=schema)
        forms, occ = self._occurrences(series)
        if not occ.height:
            return pl.DataFrame(schema=schema)
        bits = self._word_bits
        masks = [f"mask{lane}" for lane in range(bits["lane"].max() + 1)]
        # (lazy queries: polars' eager group-by of bitwise_or is several times slower; one
        # integer key, ``pair``, for each (row, rule): grouping and joining on it is quicker)
        pair, row_rule = _pair_key()
        occ = occ.lazy().join(bits.lazy(), on="kid").with_columns(pair).collect()
        found = (
            occ.lazy()
            .group_by("pair")
            .agg(
                *(
                    pl.col("bit").bitwise_or().alias(mask)
                    if len(masks) == 1
                    else pl.col("bit")
                    .filter(pl.col("lane") == lane)
                    .bitwise_or()
                    .fill_null(0)
                    .alias(mask)
                    for lane, mask in enumerate(masks)
                ),
                pl.len().alias("hits"),
                pl.col("wid").first(),
            )
            .with_columns(*row_rule)
            .collect()
        )
        found = found.join(
            self._verdicts(found.select("rule", *masks).unique(), len(masks)),
            on=["rule", *masks],
        )
        exact = found.filter("exact")
        reported = found.filter(~pl.col("exact")).drop("exact", *masks)
        if exact.height:
            pairs = exact.select("row", "rule", *masks)
            columnwise = pl.col("rule").is_in(self._pairwise)
            near = pl.concat(
                [
                    self._pairwise_verdicts(series, forms, occ, pairs.filter(columnwise)),
                    self._near_verdicts(series, pairs.filter(~columnwise)),
                ]
            )
            near = near.join(exact.select("row", "rule", "pair", "hits", "wid"), on=["row", "rule"])
            reported = pl.concat([reported, near], how="diagonal")
        codes = pl.Series(list(self.rules), dtype=pl.String)
        return self._reported_words(forms["word"], occ, reported, len(masks)).select(
            "row", "rule", pl.lit(codes).gather(pl.col("rule")).alias("code"), "words"
        )

    @cached_property
    def _word_bits(self) -> pl.DataFrame:
        """``kid`` (the word's place in :attr:`words`), ``rule``, ``lane``, ``bit``: the word's
        place among the rule's words, as a bit of one of the 64-bit ``lane``s of a mask."""
        import polars as pl

        return pl.DataFrame(
            [
                (self._kid[key], rule, i // _LANE_BITS, 1 << (i % _LANE_BITS))
                for rule, r in enumerate(self.rules.values())
                for i, key in enumerate(r.words)
            ],
            schema={"kid": pl.UInt32, "rule": pl.UInt32, "lane": pl.UInt32, "bit": pl.UInt64},
            orient="row",
        )

    def _words_of(self, rule: int, masks: Sequence[int]) -> frozenset[str]:
        """The words of rule number ``rule`` whose bits are set in ``masks``."""
        words = self._rules[rule].words
        return frozenset(
            key for i, key in enumerate(words) if masks[i // _LANE_BITS] >> (i % _LANE_BITS) & 1
        )

    def _masks_of(self, rule: int, keys: Iterable[str], lanes: int) -> list[int]:
        """The masks (one per lane) of words ``keys`` of rule number ``rule``."""
        masks = [0] * lanes
        index = self._word_index[rule]
        for key in keys:
            i = index[key]
            masks[i // _LANE_BITS] |= 1 << (i % _LANE_BITS)
        return masks

    def _occurrences(self, texts: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The word forms found and their occurrences, boundaries checked.

        ``forms``: ``word`` (as written in the texts), ``kid`` (the word of the rules, by its
        place in :attr:`words`) and ``chars``, one row per form, the row number being its
        ``wid``. ``occ``: ``row``, ``wid``, ``kid``, ``start`` and ``end`` (bytes) of every
        occurrence.
        """
        import polars as pl

        words = list(self.words)
        occ = (
            _in_chunks(texts, pl.thread_pool_size())
            .to_frame()
            .with_row_index("row")
            .select(
                "row",
                pl.col("text")
                .str.extract_many(words, overlapping=True, ascii_case_insensitive=True)
                .alias("word"),
                pl.col("text")
                .str.find_many(words, overlapping=True, ascii_case_insensitive=True)
                .alias("start"),
            )
            .filter(pl.col("word").list.len() > 0)
            .explode("word", "start")
        )
        found = occ["word"].unique().sort().to_list()
        forms = pl.DataFrame(
            {
                "word": found,
                "kid": [self._kid[fold_case(w)] for w in found],
                "chars": [len(w) for w in found],
                "bytes": [len(w.encode()) for w in found],
            },
            schema={"word": pl.String, "kid": pl.UInt32, "chars": pl.Int64, "bytes": pl.Int64},
        )
        wid = occ["word"].cast(pl.Enum(found)).to_physical().cast(pl.UInt32)
        occ = pl.DataFrame(
            [
                occ["row"],
                wid.alias("wid"),
                forms["kid"].gather(wid),
                occ["start"].cast(pl.Int64),
                (occ["start"].cast(pl.Int64) + forms["bytes"].gather(wid)).alias("end"),
            ]
        )
        forms = forms.drop("bytes")
        left = [self._kid[w] for w in self.words if _is_alnum_ascii(w[0])]
        right = [self._kid[w] for w in self.words if _is_alnum_ascii(w[-1])]
        edged = pl.col("kid").is_in(left + right)
        checked = occ.filter(edged)
        if not checked.height:
            return forms, occ
        checked = checked.with_columns(texts.gather(checked["row"]).cast(pl.Binary).alias("bytes"))
        alnum = pl.Series(_ASCII_ALNUM_BYTES, dtype=pl.Binary).implode()
        before = pl.col("bytes").bin.slice(pl.col("start") - 1, 1)
        after = pl.col("bytes").bin.slice(pl.col("end"), 1)
        joined = (pl.col("kid").is_in(left) & (pl.col("start") > 0) & before.is_in(alnum)) | (
            pl.col("kid").is_in(right) & after.is_in(alnum)
        )
        return forms, pl.concat([occ.filter(~edged), checked.filter(~joined).drop("bytes")])

    def _verdict_frame(self, rows: list[tuple], lanes: int, leading: dict) -> pl.DataFrame:
        """A frame of verdict ``rows``: the ``leading`` columns, then ``report…`` (masks of the
        words to report), ``nested`` (one of them lies inside another), ``exact``."""
        import polars as pl

        schema = dict(leading)
        schema |= {f"report{lane}": pl.UInt64 for lane in range(lanes)}
        schema |= {"nested": pl.Boolean, "exact": pl.Boolean}
        return pl.DataFrame(rows, schema=schema, orient="row")

    def _verdict(self, rule: int, got: frozenset[str], lanes: int) -> tuple:
        """``report…`` masks and ``nested`` for the words ``got`` of rule number ``rule``."""
        nested = any(a != b and a in b for a in got for b in got)
        return (*self._masks_of(rule, got, lanes), nested)

    def _verdicts(self, found: pl.DataFrame, lanes: int) -> pl.DataFrame:
        """For each distinct (``rule``, ``mask…``) that matches, its verdict (see
        :meth:`_verdict_frame`), or ``exact`` when only the text can tell."""
        import polars as pl

        rows = []
        for rule, *masks in found.rows():
            try:
                got = _evaluate_words(self._rules[rule].node, self._words_of(rule, masks))
            except _NeedsPositions:
                rows.append((rule, *masks, *[0] * lanes, False, True))
                continue
            if got:
                rows.append((rule, *masks, *self._verdict(rule, got, lanes), False))
        leading = {"rule": pl.UInt32} | {f"mask{lane}": pl.UInt64 for lane in range(lanes)}
        return self._verdict_frame(rows, lanes, leading)

    @cached_property
    def _near_args(self) -> pl.DataFrame:
        """For the ``near``/``seq`` of the rules evaluated column-wise: ``rule``, ``node`` (its
        place among the rule's ``near``/``seq``), ``arg``, ``kid`` (an alternative word of that
        argument), ``index`` (the word's place among the rule's words), ``distance``,
        ``ordered``."""
        import polars as pl

        return pl.DataFrame(
            [
                (
                    rule,
                    node,
                    arg,
                    self._kid[term.key],
                    self._word_index[rule][term.key],
                    n.distance,
                    n.ordered,
                )
                for rule in self._pairwise
                for node, n in enumerate(self._nears[rule])
                for arg, alts in enumerate(n.args)
                for term in alts
            ],
            schema={
                "rule": pl.UInt32,
                "node": pl.UInt64,
                "arg": pl.UInt8,
                "kid": pl.UInt32,
                "index": pl.UInt64,
                "distance": pl.Int64,
                "ordered": pl.Boolean,
            },
            orient="row",
        )

    def _pairwise_verdicts(
        self, texts: pl.Series, forms: pl.DataFrame, occ: pl.DataFrame, pairs: pl.DataFrame
    ) -> pl.DataFrame:
        """:meth:`_near_verdicts` for rules whose ``near``/``seq`` have two arguments each,
        column-wise: every occurrence of a first argument is paired with every occurrence of
        the second in the same text, and the pairs in reach (in characters) make the words a
        ``near``/``seq`` gives; the rule is then evaluated once per distinct outcome."""
        import polars as pl

        lanes = pairs.width - 2
        spans = occ.join(pairs.select("row", "rule"), on=["row", "rule"]).join(
            self._near_args, on=["rule", "kid"]
        )
        first = (  # the distance counts characters: character offsets from the byte offsets
            texts.gather(spans["row"])
            .cast(pl.Binary)
            .to_frame("bytes")
            .select(pl.col("bytes").bin.slice(0, spans["start"]).cast(pl.String).str.len_chars())
            .to_series()
            .cast(pl.Int64)
        )
        spans = spans.select(
            "row",
            "rule",
            "node",
            "arg",
            "index",
            "distance",
            "ordered",
            first.alias("first"),
            (first + forms["chars"].gather(spans["wid"])).alias("last"),
        )
        both = spans.filter(pl.col("arg") == 0).join(
            spans.filter(pl.col("arg") == 1).select(
                "row", "rule", "node", "index", "first", "last"
            ),
            on=["row", "rule", "node"],
            suffix="_2",
        )
        in_order = (pl.col("first_2") >= pl.col("last")) & (
            pl.col("first_2") - pl.col("last") <= pl.col("distance")
        )
        reversed_ = (pl.col("first") >= pl.col("last_2")) & (
            pl.col("first") - pl.col("last_2") <= pl.col("distance")
        )
        held = both.filter(in_order | (~pl.col("ordered") & reversed_))
        # what each node gave, as (node << 32 | index of the word in the rule), sorted
        outcomes = (
            pl.concat(
                [
                    held.select("row", "rule", code=pl.col("node") * 2**32 + pl.col("index")),
                    held.select("row", "rule", code=pl.col("node") * 2**32 + pl.col("index_2")),
                ]
            )
            .unique()
            .group_by("row", "rule")
            .agg(pl.col("code").sort().cast(pl.String).str.join(",").alias("outcome"))
        )
        pairs = pairs.join(outcomes, on=["row", "rule"], how="left").with_columns(
            pl.col("outcome").fill_null("")
        )
        masks = [f"mask{lane}" for lane in range(lanes)]
        rows = []
        for rule, *found, outcome in pairs.select("rule", *masks, "outcome").unique().rows():
            words = self._rules[rule].words
            given: dict[int, set[str]] = {}
            for code in map(int, filter(None, outcome.split(","))):
                given.setdefault(code >> 32, set()).add(words[code & 0xFFFFFFFF])
            nears = {
                n: frozenset(given[i]) if i in given else None
                for i, n in enumerate(self._nears[rule])
            }
            present = self._words_of(rule, found)
            got = _evaluate_words(self._rules[rule].node, present, nears)
            if got:
                rows.append((rule, *found, outcome, *self._verdict(rule, got, lanes), False))
        leading = {"rule": pl.UInt32} | {m: pl.UInt64 for m in masks} | {"outcome": pl.String}
        verdicts = self._verdict_frame(rows, lanes, leading).drop("exact")
        return pairs.join(verdicts, on=["rule", *masks, "outcome"]).drop(*masks, "outcome")

    def _near_verdicts(self, texts: pl.Series, pairs: pl.DataFrame) -> pl.DataFrame:
        """The verdicts of the ``pairs`` (``row``, ``rule``, ``mask…``) that match, their
        ``near``/``seq`` evaluated on the text itself."""
        import polars as pl

        lanes = pairs.width - 2
        rows = []
        words_of: dict[tuple[int, ...], frozenset[str]] = {}  # few distinct masks and verdicts
        verdicts: dict[tuple[int, frozenset[str]], tuple] = {}
        for row, rule, *masks, text in pairs.with_columns(texts.gather(pairs["row"])).rows():
            present = words_of.get((rule, *masks))
            if present is None:
                present = words_of[(rule, *masks)] = self._words_of(rule, masks)
            t = _Text(text, present)
            nears = {node: _evaluate_near(node, t) for node in self._nears[rule]}
            got = _evaluate_words(self._rules[rule].node, present, nears)
            if got:
                verdict = verdicts.get((rule, got))
                if verdict is None:
                    verdict = verdicts[(rule, got)] = self._verdict(rule, got, lanes)
                rows.append((row, rule, *verdict, False))
        return self._verdict_frame(rows, lanes, {"row": pl.UInt32, "rule": pl.UInt32}).drop("exact")

    @staticmethod
    def _reported_words(
        forms: pl.Series, occ: pl.DataFrame, found: pl.DataFrame, lanes: int
    ) -> pl.DataFrame:
        """``row``, ``rule``, ``words``: for each matching (row, rule) of ``found`` (with its
        ``pair`` key, ``report…`` masks, ``nested``, and the number of ``hits`` and the first
        word form found, ``wid``: its place in ``forms``), the first occurrence of each
        reported word that lies inside no longer occurrence of another reported word, in text
        order."""
        import polars as pl

        # one occurrence found for the rule: it is the word to report
        single = found.filter(pl.col("hits") == 1).select(
            "row", "rule", pl.concat_list(pl.lit(forms).gather(pl.col("wid"))).alias("words")
        )
        found = found.filter(pl.col("hits") > 1)
        _, row_rule = _pair_key()
        report = pl.lit(0, dtype=pl.UInt64)
        for lane in range(lanes):
            report = pl.when(pl.col("lane") == lane).then(pl.col(f"report{lane}")).otherwise(report)
        hits = (
            occ.lazy()
            .select("pair", "kid", "wid", "start", "end", "lane", "bit")
            .join(found.lazy().drop("row", "rule", "hits", "wid"), on="pair")
            .filter((pl.col("bit") & report) != 0)
            .collect()
            .lazy()
        )
        spans = hits.filter("nested").select("pair", "start", "end")
        inside = (
            spans.join(spans, on="pair", suffix="_outer")
            .filter(
                (pl.col("start_outer") <= pl.col("start"))
                & (pl.col("end") <= pl.col("end_outer"))
                & (pl.col("end_outer") - pl.col("start_outer") > pl.col("end") - pl.col("start"))
            )
            .select("pair", "start", "end")
            .unique()
        )
        # in text order: by row and start (the rule need not be part of the order: each pair's
        # rows keep it below); one integer key when it fits, quicker to sort than two
        length = (occ["end"].max() or 0) + 1
        by_row = occ["pair"].max() // 2**32 + 1
        text_order = (
            [(pl.col("pair") // 2**32) * length + pl.col("start")]
            if by_row * length < 2**63
            else ["pair", "start"]
        )
        several = (
            hits.join(inside, on=["pair", "start", "end"], how="anti")
            .sort(text_order)
            .unique(["pair", "kid"], keep="first", maintain_order=True)
            .select("pair", pl.lit(forms).gather(pl.col("wid")).alias("words"))
            .group_by("pair", maintain_order=True)
            .agg("words")
            .select(*row_rule, "words")
            .collect()
        )
        return pl.concat([single, several])
