"""Words in the utterances: tokens, content words, term frequencies and keyword in context.

Tokenisation uses SudachiPy with the packaged ``sudachidict_core`` dictionary (no network).
The dictionary is loaded on first use and kept for the life of the process; one tokenizer
per split mode is created from it (``Dictionary.tokenizer``, the current API).

* :func:`tokens` -- every morpheme of a text as a :class:`Token`.
* :func:`content_words` / :func:`tokenize_many` -- normalized forms of content words (nouns,
  verbs and adjectives by default), without numbers, symbols, single kana and the stopwords
  of the editable ``data/reference/stopwords.txt``.
* :func:`term_frequencies` -- counts of content words over utterances, optionally by group.
* :func:`kwic` / :func:`kwic_default` -- keyword in context, matched on NFKC text but shown
  as written, with speaker, 諮問 and source line of every hit.

Performance: each distinct text is tokenised once per process, and its analysis kept as
vocabulary ids in polars frames (at most :data:`MAX_CACHED_TEXTS` texts; beyond that new texts
are analysed without being remembered), so that counting -- term frequencies by role, then by
deliberation group -- is a join and a group-by. :func:`term_frequencies` can also keep the
analyses on disk (``cache_dir``), so that a new process need not tokenise again.
:func:`clear_cache` empties the memory. The functions are safe to call from several threads
(tokenisation is serialised per mode).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import unicodedata
import warnings
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from analysis.paths import processed_dir, reference_dir

if TYPE_CHECKING:
    import polars as pl
    from sudachipy import Dictionary, Tokenizer

__all__ = [
    "CACHE_NAME",
    "DEFAULT_KINDS",
    "DEFAULT_MODE",
    "DEFAULT_POS",
    "KWIC_COLUMNS",
    "MAX_CACHED_TEXTS",
    "STOPWORDS_NAME",
    "Token",
    "clear_cache",
    "content_words",
    "dictionary",
    "kwic",
    "kwic_count",
    "kwic_default",
    "load_stopwords",
    "stopwords_path",
    "term_frequencies",
    "token_cache_dir",
    "tokenize_many",
    "tokenizer",
    "tokens",
]

SplitModeName = Literal["A", "B", "C", "a", "b", "c"]
PosSpec = str | tuple[str | None, ...]

DEFAULT_MODE: Final = "C"
DEFAULT_POS: Final[tuple[str, ...]] = ("名詞", "動詞", "形容詞")
DEFAULT_KINDS: Final[tuple[str, ...]] = ("question", "remark")
STOPWORDS_NAME: Final = "stopwords.txt"
MAX_CACHED_TEXTS: int = 1_000_000
"""Most texts whose analysis is remembered per split mode (the text and about 40 bytes per
content word)."""
CACHE_NAME: Final = "tokens-{mode}.parquet"
"""The token cache file in ``cache_dir`` (see :func:`term_frequencies`)."""
_CACHE_FORMAT: Final = 1  # bump when what is stored per text changes
_CACHE_KEY: Final = "analysis.words"
_CACHE_VOCAB: Final = "analysis.words.vocabulary"

# Fields Sudachi loads for each morpheme (fewer fields, faster analysis).
_FIELDS: Final = frozenset({"surface", "pos", "normalized_form", "dictionary_form"})
_SYMBOL_POS: Final = frozenset({"補助記号", "記号", "空白"})
_NUMBER: Final = re.compile(r"[0-9０-９.,．，]+")
_SINGLE_KANA: Final = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9f]")

KWIC_COLUMNS: Final[tuple[str, ...]] = (
    "meeting_id",
    "deliberation_group",
    "seq",
    "speaker_label",
    "speaker_role",
    "kind",
    "left",
    "keyword",
    "right",
    "source_line",
    "source_line_end",
)
_KWIC_FROM_UTTERANCES: Final = tuple(
    c for c in KWIC_COLUMNS if c not in {"left", "keyword", "right"}
)


# SudachiPy refuses input over 49,149 bytes: longer texts are tokenised in pieces of at most
# this many characters (4 bytes each at most in UTF-8).
SUDACHI_PIECE = 8000


@dataclass(frozen=True, slots=True)
class Token:
    """One morpheme: the text as written, Sudachi's normalized and dictionary forms, and
    the six-level part of speech (e.g. ``('名詞', '普通名詞', 'サ変可能', '*', '*', '*')``)."""

    surface: str
    normalized_form: str
    dictionary_form: str
    part_of_speech: tuple[str, ...]

    @property
    def pos(self) -> str:
        """The top-level part of speech (``'名詞'``, ``'動詞'``, ...)."""
        return self.part_of_speech[0]


# --------------------------------------------------------------------------- tokenizer

_lock = threading.Lock()
_dictionary: Dictionary | None = None
_analysers: dict[str, _Analyser] = {}


def _mode_name(mode: str | None) -> str:
    name = (mode or DEFAULT_MODE).upper()
    if name not in ("A", "B", "C"):
        raise ValueError(f"split mode must be 'A', 'B' or 'C', not {mode!r}")
    return name


def dictionary() -> Dictionary:
    """The Sudachi dictionary (``sudachidict_core``), loaded once per process."""
    global _dictionary
    with _lock:
        if _dictionary is None:
            from sudachipy import Dictionary

            _dictionary = Dictionary(dict="core")
        return _dictionary


def _analyser(mode: str | None) -> _Analyser:
    name = _mode_name(mode)
    an = _analysers.get(name)
    if an is None:
        dic = dictionary()
        with _lock:
            an = _analysers.get(name)
            if an is None:
                an = _analysers[name] = _Analyser(dic, name)
    return an


def tokenizer(mode: SplitModeName = DEFAULT_MODE) -> Tokenizer:
    """The process's Sudachi tokenizer for ``mode`` (``'A'`` short, ``'B'``, ``'C'`` long).

    It is shared: do not use it from several threads at once (the functions of this module
    take care of that themselves).
    """
    return _analyser(mode).tokenizer


def clear_cache() -> None:
    """Forget every remembered analysis (the dictionary and tokenizers are kept)."""
    for an in list(_analysers.values()):
        an.clear()
    _tokens_cached.cache_clear()
    _stopword_cache.clear()


def _reset_locks_in_child() -> None:  # pragma: no cover - runs in forked children
    global _lock
    _lock = threading.Lock()
    for an in _analysers.values():
        an.lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_in_child)


class _Analyser:
    """A tokenizer for one split mode, with its vocabulary and its store of analyses.

    The vocabulary maps ``(normalized form, part-of-speech id)`` to a small int; a text's
    analysis is the list of those ids, leaving out morphemes that are never content words
    (symbols, numbers and the counter right after a number, single kana). Analyses are kept
    in two polars frames: ``texts`` (``text``, ``tid``) and ``ids`` (``tid``, ``vid``, one
    row per morpheme, in text order), so that counting over many texts is a join and a
    group-by. Filters for a part-of-speech selection and stopword set are bytearrays over the
    vocabulary, extended as it grows.
    """

    def __init__(self, dic: Dictionary, mode: str) -> None:
        self.dictionary = dic
        self.mode = mode
        self.tokenizer = dic.tokenizer(mode, fields=set(_FIELDS))
        self.lock = threading.Lock()
        self._out = self.tokenizer.tokenize("")
        self.pos_table: dict[int, tuple[str, ...]] = {}
        self.vocab: dict[tuple[str, int], int] = {}
        self.forms: list[str] = []  # vocabulary id -> normalized form
        self.pos_ids: list[int] = []  # vocabulary id -> part-of-speech id
        self.dropped: bytearray = bytearray()  # vocabulary id -> never a content word
        self.numbers: bytearray = bytearray()  # vocabulary id -> a number (数詞, digits)
        self.counters: bytearray = bytearray()  # vocabulary id -> may be a counter (助数詞可能)
        self.filters: dict[tuple[Any, ...], bytearray] = {}
        self.texts, self.ids = _no_analyses()
        self.files: dict[Path, tuple[tuple[int, int], pl.Series]] = {}  # cache files: their texts

    def clear(self) -> None:
        with self.lock:
            self.texts, self.ids = _no_analyses()
            self.filters.clear()
            self.files.clear()

    # -- parts of speech
    def pos_of(self, pos_id: int) -> tuple[str, ...]:
        pos = self.pos_table.get(pos_id)
        if pos is None:
            pos = self.pos_table[pos_id] = tuple(self.dictionary.pos_of(pos_id) or ("*",) * 6)
        return pos

    # -- analysis
    def _vocab_id(self, form: str, pos_id: int) -> int:
        key = (form, pos_id)
        vid = self.vocab.get(key)
        if vid is None:
            vid = self.vocab[key] = len(self.forms)
            self.forms.append(form)
            self.pos_ids.append(pos_id)
            pos = self.pos_of(pos_id)
            self.dropped.append(_never_content(form, pos))
            self.numbers.append(pos[1] == "数詞" or bool(_NUMBER.fullmatch(form)))
            self.counters.append(pos[2] == "助数詞可能")
        return vid

    def analyse(self, text: str, ids: array) -> None:
        """Append to ``ids`` the vocabulary ids of the morphemes of ``text`` that may be
        content words (call with the lock held).

        Numbers are left out, and so is a counter noun (助数詞可能) right after a number:
        ``50名`` and ``3月`` give nothing, ``名簿`` and ``月額`` are kept.
        """
        vocab_get = self.vocab.get
        dropped, numbers, counters = self.dropped, self.numbers, self.counters
        after_number = False
        for m in self._morphemes(text):
            form = m.normalized_form()
            pos_id = m.part_of_speech_id()
            vid = vocab_get((form, pos_id))
            if vid is None:
                vid = self._vocab_id(form, pos_id)
            if numbers[vid]:
                after_number = True
                continue
            if after_number and counters[vid]:  # the 名 of 50名, the 月 of 3月
                after_number = False
                continue
            after_number = False
            if not dropped[vid]:
                ids.append(vid)

    def analyses(self, texts: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame, int]:
        """The analyses of the distinct non-empty ``texts``: frames ``text``/``tid`` and
        ``tid``/``vid`` (which may cover more texts), and how many texts were tokenised now.

        Texts not seen before are tokenised and remembered, up to :data:`MAX_CACHED_TEXTS`
        texts; beyond that they are analysed for this call only.
        """
        import polars as pl

        wanted = texts.cast(pl.String).drop_nulls().unique()
        wanted = wanted.filter(wanted.str.len_bytes() > 0)
        with self.lock:
            missing = wanted.filter(~wanted.is_in(self.texts["text"].implode()))
            if not missing.len():
                return self.texts, self.ids, 0
            first = self.texts.height
            tids, vids = array("I"), array("I")
            for tid, text in enumerate(missing.to_list(), start=first):
                before = len(vids)
                self.analyse(text, vids)
                tids.extend([tid] * (len(vids) - before))
            new_texts = pl.DataFrame(
                {"text": missing, "tid": range(first, first + missing.len())},
                schema={"text": pl.String, "tid": pl.UInt32},
            )
            new_ids = pl.DataFrame(
                {"tid": tids, "vid": vids}, schema={"tid": pl.UInt32, "vid": pl.UInt32}
            )
            all_texts = pl.concat([self.texts, new_texts])
            all_ids = pl.concat([self.ids, new_ids])
            room = first + max(0, MAX_CACHED_TEXTS - first)
            self.texts = all_texts.head(room)
            self.ids = all_ids if room >= all_texts.height else all_ids.filter(pl.col("tid") < room)
            return all_texts, all_ids, missing.len()

    def _morphemes(self, text: str):
        """Morphemes of ``text``; a text longer than SudachiPy accepts goes in pieces."""
        if len(text) <= SUDACHI_PIECE:
            self._out = self.tokenizer.tokenize(text, out=self._out)
            yield from self._out
            return
        for start in range(0, len(text), SUDACHI_PIECE):
            yield from self.tokenizer.tokenize(text[start : start + SUDACHI_PIECE])

    def tokens(self, text: str) -> tuple[Token, ...]:
        with self.lock:
            morphemes = list(self._morphemes(text))
            return tuple(
                Token(
                    m.surface(),
                    m.normalized_form(),
                    m.dictionary_form(),
                    self.pos_of(m.part_of_speech_id()),
                )
                for m in morphemes
            )

    # -- content-word filters
    def keep_flags(self, pos: tuple[PosSpec, ...], stopwords: frozenset[str]) -> bytearray:
        """``flags[vid]`` is 1 when vocabulary entry ``vid`` is a wanted content word."""
        key = (pos, stopwords)
        with self.lock:
            flags = self.filters.get(key)
            if flags is None:
                flags = self.filters[key] = bytearray()
            for vid in range(len(flags), len(self.forms)):
                flags.append(
                    not self.dropped[vid]
                    and self.forms[vid] not in stopwords
                    and _pos_matches(self.pos_of(self.pos_ids[vid]), pos)
                )
            return flags

    # -- token cache files
    def read_cache(self, path: Path) -> None:
        """Take in the analyses stored in ``path`` (see :func:`term_frequencies`), unless the
        file is missing, unreadable, already read, or made with another dictionary, SudachiPy
        or format."""
        import polars as pl

        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if path in self.files and self.files[path][0] == stamp:
                return
            meta = pl.read_parquet_metadata(path)
            if json.loads(meta.get(_CACHE_KEY, "{}")) != self._cache_identity():
                return
            vocab = json.loads(meta[_CACHE_VOCAB])
            stored = pl.read_parquet(path)
        except (OSError, ValueError, KeyError, pl.exceptions.PolarsError):
            return
        if stored.schema != pl.Schema({"text": pl.String, "ids": pl.List(pl.UInt32)}):
            return
        with self.lock:
            self.files[path] = (stamp, stored["text"])
            stored = stored.filter(~pl.col("text").is_in(self.texts["text"].implode()))
            first = self.texts.height
            if not stored.height or first + stored.height > MAX_CACHED_TEXTS:
                return
            stored = stored.with_columns(
                pl.int_range(first, first + stored.height, dtype=pl.UInt32).alias("tid")
            )
            ids = stored.select("tid", pl.col("ids").alias("vid")).explode("vid").drop_nulls()
            # the file's vocabulary ids -> this process's (the same unless words came first)
            remap = {vid: self._vocab_id(form, pos_id) for vid, form, pos_id in vocab}
            if any(old != new for old, new in remap.items()):
                ids = ids.with_columns(
                    pl.col("vid").replace_strict(
                        list(remap), list(remap.values()), return_dtype=pl.UInt32
                    )
                )
            self.texts = pl.concat([self.texts, stored.select("text", "tid")])
            self.ids = pl.concat([self.ids, ids])

    def write_cache(self, path: Path, texts: pl.Series) -> None:
        """Store in ``path`` the analyses of ``texts`` and of those the file held, atomically
        (a temporary file renamed over it). Only remembered analyses are stored."""
        import polars as pl

        old = self.files.get(path)
        wanted = texts if old is None else pl.concat([old[1], texts])
        with self.lock:
            known = self.texts.filter(pl.col("text").is_in(wanted.implode()))
            ids = self.ids.join(known, on="tid", how="semi")
            used = ids["vid"].unique().sort()
            # numbered 0, 1, … in the file: a process that starts by reading it keeps the ids
            vocab = [(i, self.forms[v], self.pos_ids[v]) for i, v in enumerate(used)]
        ids = ids.with_columns(
            pl.col("vid").replace_strict(used, range(len(used)), return_dtype=pl.UInt32)
        )
        lists = ids.group_by("tid", maintain_order=True).agg(pl.col("vid").alias("ids"))
        rows = (
            known.join(lists, on="tid", how="left")
            .select("text", pl.col("ids").fill_null(pl.lit([], dtype=pl.List(pl.UInt32))))
            .sort("text")
        )
        meta = {_CACHE_KEY: json.dumps(self._cache_identity()), _CACHE_VOCAB: json.dumps(vocab)}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            rows.write_parquet(tmp, metadata=meta)
            os.replace(tmp, path)
            st = path.stat()
        except OSError as exc:  # a read-only datasets folder: the counts are right without it
            warnings.warn(f"{path}: token cache not written ({exc.strerror or exc})", stacklevel=3)
            return
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self.files[path] = ((st.st_mtime_ns, st.st_size), rows["text"])

    def _cache_identity(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            "format": _CACHE_FORMAT,
            "mode": self.mode,
            "sudachipy": version("sudachipy"),
            "dictionary": version("sudachidict_core"),
        }


def _no_analyses() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Empty ``text``/``tid`` and ``tid``/``vid`` frames."""
    import polars as pl

    return (
        pl.DataFrame(schema={"text": pl.String, "tid": pl.UInt32}),
        pl.DataFrame(schema={"tid": pl.UInt32, "vid": pl.UInt32}),
    )


def _never_content(form: str, pos: tuple[str, ...]) -> bool:
    """Numbers, symbols, whitespace and single kana are never content words."""
    if not form or pos[0] in _SYMBOL_POS or pos[1] == "数詞":
        return True
    if _NUMBER.fullmatch(form) or _SINGLE_KANA.fullmatch(form):
        return True
    return all(unicodedata.category(ch)[0] in "PSZC" for ch in form)


def _pos_spec(pos: PosSpec | Iterable[PosSpec]) -> tuple[PosSpec, ...]:
    if isinstance(pos, str):
        return (pos,)
    spec = tuple(p if isinstance(p, str) else tuple(p) for p in pos)
    if not spec:
        raise ValueError("pos must name at least one part of speech")
    return spec


def _pos_matches(pos: tuple[str, ...], spec: tuple[PosSpec, ...]) -> bool:
    for want in spec:
        if isinstance(want, str):
            if pos[0] == want:
                return True
        elif all(w is None or w == p for w, p in zip(want, pos, strict=False)):
            return True
    return False


@lru_cache(maxsize=8192)
def _tokens_cached(text: str, mode: str) -> tuple[Token, ...]:
    return _analyser(mode).tokens(text)


def tokens(text: str, *, mode: SplitModeName = DEFAULT_MODE) -> list[Token]:
    """Every morpheme of ``text`` (particles and punctuation included), in order."""
    if not text:
        return []
    return list(_tokens_cached(text, _mode_name(mode)))


# --------------------------------------------------------------------------- stopwords

_stopword_cache: dict[Path, tuple[tuple[int, int], frozenset[str]]] = {}


def stopwords_path() -> Path:
    """``stopwords.txt`` in :func:`analysis.paths.reference_dir`."""
    return reference_dir() / STOPWORDS_NAME


def load_stopwords(path: str | Path | None = None) -> frozenset[str]:
    """The stopwords of ``path`` (default :func:`stopwords_path`), NFKC-normalised.

    One word a line; ``#`` starts a comment; blank lines are ignored. The file is re-read
    when it changes. A missing file gives a warning and no stopwords.
    """
    path = Path(path) if path is not None else stopwords_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        warnings.warn(f"{path} not found: no stopwords are removed", RuntimeWarning, stacklevel=2)
        return frozenset()
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _stopword_cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = unicodedata.normalize("NFKC", line.split("#", 1)[0]).strip()
        if word:
            words.add(word)
    result = frozenset(words)
    _stopword_cache[path] = (stamp, result)
    return result


def _stopword_set(stopwords: Iterable[str] | None) -> frozenset[str]:
    if stopwords is None:
        return load_stopwords()
    if isinstance(stopwords, str):
        stopwords = (stopwords,)
    return frozenset(unicodedata.normalize("NFKC", w).strip() for w in stopwords)


# --------------------------------------------------------------------------- content words


def _content_ids(
    texts: Sequence[str | None],
    pos: PosSpec | Iterable[PosSpec],
    stopwords: Iterable[str] | None,
    mode: str | None,
) -> tuple[_Analyser, list[list[int]]]:
    """Vocabulary ids of the content words of each text (each distinct text analysed once)."""
    import polars as pl

    an = _analyser(mode)
    spec = _pos_spec(pos)
    words = _stopword_set(stopwords)
    series = pl.Series("text", texts, dtype=pl.String)
    known, ids, _ = an.analyses(series)
    keep = an.keep_flags(spec, words)  # after analysis, so it covers every new entry
    known = known.join(series.to_frame().unique(), on="text", how="semi")
    lists = ids.join(known, on="tid", how="semi").group_by("tid", maintain_order=True).agg("vid")
    by_tid = dict(lists.rows())
    by_text = {text: [v for v in by_tid.get(tid, ()) if keep[v]] for text, tid in known.rows()}
    return an, [list(by_text[t]) if t else [] for t in series.to_list()]


def content_words(
    text: str | None,
    pos: PosSpec | Iterable[PosSpec] = DEFAULT_POS,
    stopwords: Iterable[str] | None = None,
    *,
    mode: SplitModeName = DEFAULT_MODE,
) -> list[str]:
    """Normalized forms of the content words of ``text``, in order of appearance.

    ``pos`` selects parts of speech: a top-level name (``'名詞'``) or a partial six-level
    tuple with ``None`` as wildcard (``('名詞', '固有名詞')``). Dropped: numbers (with the
    counter right after them: the 名 of 50名), symbols, single kana and ``stopwords``;
    ``stopwords=None`` uses ``data/reference/stopwords.txt`` (pass ``()`` to keep every
    word). Stopwords are compared with the normalized form.
    """
    return tokenize_many([text], pos=pos, stopwords=stopwords, mode=mode)[0]


def tokenize_many(
    texts: Iterable[str | None],
    *,
    pos: PosSpec | Iterable[PosSpec] = DEFAULT_POS,
    stopwords: Iterable[str] | None = None,
    mode: SplitModeName = DEFAULT_MODE,
) -> list[list[str]]:
    """:func:`content_words` of many texts at once (``None`` or ``''`` gives ``[]``).

    Each distinct text is analysed once, and the stopword and part-of-speech filters are
    resolved once per vocabulary entry rather than once per token.
    """
    texts = list(texts)
    an, ids = _content_ids(texts, pos, stopwords, mode)
    forms = an.forms
    return [[forms[v] for v in row] for row in ids]


# --------------------------------------------------------------------------- term frequencies


def term_frequencies(
    utterances: pl.DataFrame,
    *,
    by: str | None = None,
    kinds: Iterable[str] | None = DEFAULT_KINDS,
    top: int | None = 50,
    pos: PosSpec | Iterable[PosSpec] = DEFAULT_POS,
    stopwords: Iterable[str] | None = None,
    mode: SplitModeName = DEFAULT_MODE,
    column: str = "text",
    cache_dir: str | Path | None = None,
) -> pl.DataFrame:
    """Content-word counts over utterances.

    Columns: ``by`` (when given, e.g. ``'speaker_role'`` or ``'deliberation_group'``), then
    ``term`` (normalized form), ``pos`` (top-level part of speech), ``count`` (occurrences)
    and ``documents`` (distinct utterances, i.e. rows, that use the term). Only utterances
    whose ``kind`` is in ``kinds`` are counted (``None``: all). ``top`` keeps the first rows
    of each group (``None``: all). Sorted by group, ``count`` descending, ``term``, ``pos``.

    Speed: tokenising is the cost (SudachiPy, about 30 µs a text: some 12 s for the 380,000
    questions and remarks of 10,000 meetings when every text is new); counting the analyses
    is a polars join and group-by (well under a second). Each distinct text is tokenised once
    per process. With ``cache_dir`` (:func:`token_cache_dir` of the datasets folder) the
    analyses are also kept on disk, in ``tokens-<mode>.parquet`` keyed by the text: a later
    call, in any process, tokenises only the texts the file does not hold, and adds them to
    it. The file is written atomically, records the SudachiPy, dictionary and format versions
    and is ignored (then rewritten) when they differ; deleting it is always safe.
    """
    import polars as pl

    if top is not None and top < 0:
        raise ValueError(f"top must be None or >= 0, not {top}")
    required = [column] + ([by] if by else []) + (["kind"] if kinds is not None else [])
    _require(utterances, required, "utterances")
    frame = utterances
    if kinds is not None:
        frame = frame.filter(pl.col("kind").is_in(list(kinds)))
    group_cols = [by] if by else []
    schema: dict[str, Any] = {c: utterances.schema[c] for c in group_cols}
    schema |= {"term": pl.String, "pos": pl.String, "count": pl.Int64, "documents": pl.Int64}

    an = _analyser(mode)
    spec = _pos_spec(pos)
    words = _stopword_set(stopwords)
    rows = frame.select(pl.col(column).cast(pl.String).alias("_text"), *group_cols)
    path = Path(cache_dir) / CACHE_NAME.format(mode=an.mode) if cache_dir is not None else None
    if path is not None:
        an.read_cache(path)
    known, ids, tokenised = an.analyses(rows["_text"])
    if path is not None and (tokenised or path not in an.files):
        an.write_cache(path, rows["_text"].drop_nulls().unique())
    vocabulary = _vocabulary(an, an.keep_flags(spec, words))  # covers every new entry

    hits = (
        rows.with_row_index("_doc")
        .join(known, left_on="_text", right_on="text")
        .join(ids, on="tid")
        .join(vocabulary.select("vid", "_term"), on="vid")
    )
    if not hits.height:
        return pl.DataFrame(schema=schema)
    counts = hits.group_by([*group_cols, "_term"]).agg(
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("_doc").n_unique().cast(pl.Int64).alias("documents"),
    )
    out = (
        counts.join(vocabulary.select("_term", "term", "pos").unique("_term"), on="_term")
        .select(*group_cols, "term", "pos", "count", "documents")
        .sort(
            [*group_cols, "count", "term", "pos"],
            descending=[False] * len(group_cols) + [True, False, False],
            nulls_last=True,
        )
    )
    if top is not None:
        if group_cols:
            out = out.filter(pl.int_range(pl.len()).over(group_cols) < top)
        else:
            out = out.head(top)
    return out.cast(schema)


def _vocabulary(an: _Analyser, keep: bytearray) -> pl.DataFrame:
    """``vid``, ``term``, ``pos`` (top level) of the vocabulary entries ``keep`` selects,
    with ``_term``: one number per (term, pos)."""
    import polars as pl

    with an.lock:
        kept = [v for v in range(len(keep)) if keep[v]]
        forms = [an.forms[v] for v in kept]
        tops = [an.pos_of(an.pos_ids[v])[0] for v in kept]
    return pl.DataFrame(
        {"vid": kept, "term": forms, "pos": tops},
        schema={"vid": pl.UInt32, "term": pl.String, "pos": pl.String},
    ).with_columns(pl.struct("term", "pos").rank("dense").cast(pl.UInt32).alias("_term"))


def token_cache_dir(data_dir: str | Path | None = None) -> Path:
    """Where :func:`term_frequencies` keeps the token cache of a datasets folder: its
    ``cache/`` subfolder (``data_dir`` defaults to ``data/processed``). The manifest does not
    list it; deleting it is always safe."""
    return Path(data_dir or processed_dir()) / "cache"


# --------------------------------------------------------------------------- kwic


@cache
def _continues(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (a combining or voiced sound mark)."""
    norm = unicodedata.normalize("NFKC", ch)
    return bool(norm) and unicodedata.combining(norm[0]) != 0


@cache
def _special(ch: str) -> bool:
    """Whether NFKC changes ``ch`` on its own, or ``ch`` belongs to the character before it."""
    return unicodedata.normalize("NFKC", ch) != ch or _continues(ch)


def _context(text: str, start: int, end: int, width: int) -> tuple[str, str]:
    """Up to ``width`` characters either side of ``text[start:end]``, never cutting a mark
    from the character it belongs to (the context is shortened instead)."""
    lo = max(0, start - width)
    while lo < start and _continues(text[lo]):
        lo += 1
    hi = min(len(text), end + width)
    while end < hi < len(text) and _continues(text[hi]):
        hi -= 1
    return text[lo:start], text[end:hi]


def _aligned_nfkc(text: str) -> tuple[str, list[int], list[int]]:
    """NFKC of ``text`` with, for each of its characters, the original span it comes from.

    The text is cut into clusters (a character and the combining marks after it, half-width
    voiced sound marks included) and each cluster is normalised on its own, so that every
    normalised character maps back to the cluster it came from. Runs of characters that NFKC
    leaves alone are copied as they are (found with one regular expression search).
    """
    specials = [ch for ch in set(text) if _special(ch)]
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos, n = 0, len(text)
    if specials:
        finder = re.compile("[" + "".join(re.escape(ch) for ch in specials) + "]")
        for m in finder.finditer(text):
            i = m.start()
            if i < pos:
                continue  # a mark already taken into the cluster before it
            j = i - 1 if i > 0 and _continues(text[i]) else i
            k = j + 1
            while k < n and _continues(text[k]):
                k += 1
            if pos < j:
                pieces.append(text[pos:j])
                starts.extend(range(pos, j))
                ends.extend(range(pos + 1, j + 1))
            piece = unicodedata.normalize("NFKC", text[j:k])
            pieces.append(piece)
            starts.extend([j] * len(piece))
            ends.extend([k] * len(piece))
            pos = k
    if pos < n:
        pieces.append(text[pos:])
        starts.extend(range(pos, n))
        ends.extend(range(pos + 1, n + 1))
    return "".join(pieces), starts, ends


def _matcher(keyword: str | re.Pattern[str], regex: bool):
    """A function giving the ``(start, end)`` spans of the keyword in a normalised text,
    and a cheap test of whether a normalised text can contain a hit at all."""
    if regex:
        pattern = (
            keyword
            if isinstance(keyword, re.Pattern)
            else re.compile(unicodedata.normalize("NFKC", keyword))
        )

        def spans(norm: str) -> list[tuple[int, int]]:
            return [m.span() for m in pattern.finditer(norm) if m.end() > m.start()]

        return spans, lambda norm: pattern.search(norm) is not None

    if isinstance(keyword, re.Pattern):
        raise TypeError("a compiled pattern needs regex=True")
    needle = unicodedata.normalize("NFKC", keyword)
    if not needle:
        raise ValueError("keyword is empty")

    def literal(norm: str) -> list[tuple[int, int]]:
        out = []
        i = norm.find(needle)
        while i >= 0:
            out.append((i, i + len(needle)))
            i = norm.find(needle, i + len(needle))
        return out

    return literal, lambda norm: needle in norm


def _group_consultations(consultations: pl.DataFrame) -> pl.DataFrame:
    """One row per (meeting_id, deliberation_group): the ``consultation_labels`` and ``titles``
    of its consultations, in ``seq`` order."""
    import polars as pl

    _require(consultations, ["meeting_id", "deliberation_group", "label", "title"], "consultations")
    frame = (
        consultations.sort("meeting_id", "seq", maintain_order=True)
        if "seq" in consultations.columns
        else consultations
    )
    return (
        frame.select(
            "meeting_id",
            "deliberation_group",
            pl.col("label").cast(pl.String).alias("consultation_labels"),
            pl.col("title").cast(pl.String).alias("titles"),
        )
        .group_by("meeting_id", "deliberation_group", maintain_order=True)
        .agg("consultation_labels", "titles")
    )


def _candidates(
    frame: pl.DataFrame, keyword: str | re.Pattern[str], regex: bool
) -> Iterator[tuple[int, str | None]]:
    """``(row, text)`` of the rows of ``frame`` that may hold a hit (see
    :func:`_candidate_rows`), taken from polars a slice at a time: a caller that stops early
    does not pay for the rest."""
    for part in _candidate_rows(frame, keyword, regex).iter_slices(_CANDIDATE_SLICE):
        yield from zip(part["_row"].to_list(), part["text"].to_list(), strict=True)


_CANDIDATE_SLICE = 2_000


def _candidate_rows(
    frame: pl.DataFrame, keyword: str | re.Pattern[str], regex: bool
) -> pl.DataFrame:
    """``_row``, ``text`` of the rows of ``frame`` that may hold a hit, found without Python
    work per row when possible.

    A literal keyword is looked for in ``text_norm`` (when the frame has it) with polars'
    vectorised search: ``text_norm`` is :func:`analysis.normalise.to_norm` of ``text``, i.e.
    NFKC plus one-character folds, so a text whose NFKC form contains the keyword has a
    ``text_norm`` that contains the folded keyword; the rows found are then checked exactly.
    Regular expressions, and frames without ``text_norm``, go through every row.
    """
    import polars as pl

    if regex or "text_norm" not in frame.columns or frame.schema["text_norm"] != pl.String:
        return frame.select("text").with_row_index("_row")
    from analysis.normalise import to_norm

    needle = unicodedata.normalize("NFKC", keyword)  # type: ignore[arg-type]
    folded = to_norm(needle)
    # a text without text_norm (null) is searched as before
    return (
        frame.select("text", "text_norm")
        .with_row_index("_row")
        .filter(
            pl.col("text").is_not_null()
            & (
                pl.col("text_norm").is_null()
                | pl.col("text_norm").str.contains(folded, literal=True)
            )
        )
        .drop("text_norm")
    )


def kwic(
    utterances: pl.DataFrame,
    keyword: str | re.Pattern[str],
    *,
    width: int = 20,
    consultations: pl.DataFrame | None = None,
    kinds: Iterable[str] | None = None,
    regex: bool = False,
    limit: int | None = None,
) -> pl.DataFrame:
    """Keyword in context: one row per hit of ``keyword`` in the ``text`` of ``utterances``.

    Matching is done on the NFKC form of both text and keyword (``ＩＤ`` finds ``ID``), but
    ``left``, ``keyword`` and ``right`` show the text as written, with up to ``width``
    characters of context on each side, counted as written (context stops at the
    utterance's ends and never cuts a voiced sound mark from its kana). With
    ``regex=True`` the keyword is a regular expression; a string pattern is NFKC-normalised
    first (so full-width brackets become regex syntax: escape them), a compiled pattern is
    used as it is. Empty matches are skipped; literal hits do not overlap.

    Columns: meeting_id, deliberation_group, seq, speaker_label, speaker_role, kind, left,
    keyword, right, source_line, source_line_end; the hit lies on a line between
    ``source_line`` and ``source_line_end`` of the utterance (they are equal for one-line
    utterances; the text does not record where the lines were joined). With
    ``consultations``, two more columns list the ``consultation_labels`` and ``titles`` of
    the utterance's deliberation group (empty lists outside any). Rows keep the order of
    ``utterances`` and, within an utterance, the order of the hits. ``kinds`` restricts the
    utterance kinds searched (``None``: all). ``limit`` keeps only the first ``limit`` hits
    (the others are not formatted; :func:`kwic_count` counts them all).
    """
    import polars as pl

    if width < 0:
        raise ValueError(f"width must be >= 0, not {width}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    spans_of, may_hit = _matcher(keyword, regex)
    _require(utterances, ["text", *_KWIC_FROM_UTTERANCES], "utterances")
    if consultations is not None:
        _require(
            consultations, ["meeting_id", "deliberation_group", "label", "title"], "consultations"
        )
    frame = utterances
    if kinds is not None:
        frame = frame.filter(pl.col("kind").is_in(list(kinds)))

    rows: list[int] = []
    left: list[str] = []
    found: list[str] = []
    right: list[str] = []
    for i, text in _candidates(frame, keyword, regex):
        if limit is not None and len(rows) >= limit:
            break
        for s, e in _hit_spans(text, spans_of, may_hit):
            before, after = _context(text, s, e, width)
            rows.append(i)
            left.append(before)
            found.append(text[s:e])
            right.append(after)
    if limit is not None:
        rows, left, found, right = rows[:limit], left[:limit], found[:limit], right[:limit]

    base = frame.select(_KWIC_FROM_UTTERANCES)
    picked = base[rows] if rows else base.clear()
    out = picked.with_columns(
        pl.Series("left", left, dtype=pl.String),
        pl.Series("keyword", found, dtype=pl.String),
        pl.Series("right", right, dtype=pl.String),
    ).select(KWIC_COLUMNS)
    if consultations is not None:
        key = ["meeting_id", "deliberation_group"]
        # the groups of the hits only
        groups = _group_consultations(
            consultations.join(out.select(key).unique(), on=key, how="semi", nulls_equal=True)
        )
        out = out.join(
            groups, on=key, how="left", nulls_equal=True, maintain_order="left"
        ).with_columns(
            pl.col("consultation_labels").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("titles").fill_null(pl.lit([], pl.List(pl.String))),
        )
    return out


def kwic_count(
    utterances: pl.DataFrame,
    keyword: str | re.Pattern[str],
    *,
    kinds: Iterable[str] | None = None,
    regex: bool = False,
) -> int:
    """The number of rows :func:`kwic` gives for the same arguments, without formatting them
    (each distinct text is searched once)."""
    import polars as pl

    spans_of, may_hit = _matcher(keyword, regex)
    _require(utterances, ["text"], "utterances")
    frame = utterances
    if kinds is not None:
        frame = frame.filter(pl.col("kind").is_in(list(kinds)))
    texts = _candidate_rows(frame, keyword, regex).group_by("text").agg(pl.len())
    return sum(
        n * len(_hit_spans(text, spans_of, may_hit))
        for text, n in zip(texts["text"].to_list(), texts["len"].to_list(), strict=True)
    )


def _hit_spans(text: str | None, spans_of, may_hit) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of the keyword's hits in ``text``, as written."""
    if not text:
        return []
    norm = unicodedata.normalize("NFKC", text)
    if not may_hit(norm):
        return []
    if norm == text:
        return spans_of(norm)
    norm, starts, ends = _aligned_nfkc(text)
    return [(starts[s], ends[e - 1]) for s, e in spans_of(norm)]


def kwic_default(
    keyword: str | re.Pattern[str], data_dir: str | Path | None = None, **kw: Any
) -> pl.DataFrame:
    """:func:`kwic` over the cleaned datasets, with the 諮問 of every hit.

    Loads ``utterances`` and ``consultations`` through :func:`analysis.datasets.load`
    (``data_dir`` defaults to ``data/processed``); ``kw`` goes to :func:`kwic` (``width``,
    ``kinds``, ``regex``).
    """
    from analysis.datasets import load

    tables = load(data_dir, tables=("utterances", "consultations"))
    return kwic(tables["utterances"], keyword, consultations=tables["consultations"], **kw)


def _require(frame: pl.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}")
