"""Tests for analysis.words: tokens, content words, stopwords, term frequencies and KWIC."""

from __future__ import annotations

import os
import re
import time
import warnings

import polars as pl
import pytest

from analysis import words
from analysis.normalise import to_norm
from analysis.words import (
    KWIC_COLUMNS,
    Token,
    content_words,
    kwic,
    kwic_count,
    kwic_default,
    load_stopwords,
    term_frequencies,
    tokenize_many,
    tokens,
)

UTTERANCE_SCHEMA = {
    "meeting_id": pl.String,
    "deliberation_group": pl.String,
    "seq": pl.Int64,
    "speaker_label": pl.String,
    "speaker_role": pl.String,
    "speaker_org": pl.String,
    "kind": pl.String,
    "text": pl.String,
    "text_norm": pl.String,
    "reply_to": pl.Int64,
    "source_line": pl.Int64,
    "source_line_end": pl.Int64,
}

ROLE_OF = {"委員": "member", "会長": "chair", "事務局": "secretariat"}


def utterances(*rows: tuple) -> pl.DataFrame:
    """Rows of (group, speaker_label, kind, text[, source_line[, source_line_end]])."""
    data = []
    for seq, row in enumerate(rows, start=1):
        group, label, kind, text, *lines = row
        first = lines[0] if lines else 100 + seq
        last = lines[1] if len(lines) > 1 else first
        data.append(
            {
                "meeting_id": "m-1",
                "deliberation_group": group,
                "seq": seq,
                "speaker_label": label,
                "speaker_role": ROLE_OF.get(label, "department"),
                "speaker_org": None,
                "kind": kind,
                "text": text,
                "text_norm": None if text is None else to_norm(text),  # as the build writes it
                "reply_to": None,
                "source_line": first,
                "source_line_end": last,
            }
        )
    return pl.DataFrame(data, schema=UTTERANCE_SCHEMA)


SMALL = utterances(
    ("ア", "委員", "question", "録画データを外部に提供するのか。"),
    ("ア", "課", "answer", "録画データは提供しない。"),
    ("ア", "委員", "remark", "録画の保存期間を定めてほしい。録画は重要だ。"),
    ("イ", "会長", "question", "委託先の監査はどうするのか。"),
    ("イ", "課", "answer", "委託先には監査を実施する。"),
    ("イ", "会長", "procedural", "同意の方の挙手をお願いしたい。"),
)


@pytest.fixture
def reference(tmp_path, monkeypatch):
    """A scratch reference folder (COUNCIL_REFERENCE) for editable stopwords."""
    monkeypatch.setenv("COUNCIL_REFERENCE", str(tmp_path))
    return tmp_path


# --------------------------------------------------------------------------- tokenizer


def test_tokenizer_is_created_once_per_process_and_mode():
    assert words.tokenizer("C") is words.tokenizer("c")
    assert words.tokenizer("A") is not words.tokenizer("C")
    assert words.dictionary() is words.dictionary()


def test_tokenizer_uses_current_api_without_deprecation_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyser = words._Analyser(words.dictionary(), "B")
        assert [t.surface for t in analyser.tokens("録画機能")] == ["録画", "機能"]


def test_tokens_fields_and_surfaces_cover_the_text():
    text = "ＩＤ・パスワード認証管理を行う。"
    toks = tokens(text)
    assert all(isinstance(t, Token) for t in toks)
    assert "".join(t.surface for t in toks) == text
    first = toks[0]
    assert (first.surface, first.normalized_form) == ("ＩＤ", "ID")
    assert first.pos == "名詞"
    assert len(first.part_of_speech) == 6
    verb = next(t for t in toks if t.surface == "行う")
    assert verb.dictionary_form == "行う"
    assert verb.part_of_speech[0] == "動詞"
    assert tokens("") == []


def test_split_mode_is_configurable():
    long_units = [t.surface for t in tokens("個人情報保護審議会", mode="C")]
    short_units = [t.surface for t in tokens("個人情報保護審議会", mode="A")]
    assert len(short_units) > len(long_units)
    assert "".join(short_units) == "".join(long_units)
    assert content_words("個人情報保護審議会", mode="A") == ["個人", "情報", "保護", "審議", "会"]
    with pytest.raises(ValueError, match="split mode"):
        tokens("録画", mode="D")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- content words


def test_content_words_drop_particles_auxiliaries_and_stopwords():
    got = content_words("既存の監視カメラに録画機能を付けるということか。")
    assert got == ["既存", "監視", "カメラ", "録画", "機能", "付ける"]
    # する/いる are content verbs for Sudachi; the shipped stopwords drop their normal forms.
    assert content_words("録画している") == ["録画"]
    assert content_words("録画している", stopwords=()) == ["録画", "為る", "居る"]


def test_content_words_drop_numbers_symbols_single_kana_and_counters():
    got = content_words("受付人数が50名と多い。名簿は3月に、１２３件（％）を提出する。")
    assert "50" not in got and "123" not in got
    assert "名" not in got and "月" not in got and "件" not in got
    assert "%" not in got and "(" not in got
    assert {"人数", "多い", "名簿", "提出"} <= set(got)
    assert all(len(w) > 1 or not re.fullmatch(r"[ぁ-んァ-ヶー]", w) for w in got)
    assert content_words("カ") == []


def test_content_words_use_normalized_forms():
    assert content_words("ＩＤとｶﾞｲﾄﾞﾗｲﾝ", stopwords=()) == ["ID", "ガイドライン"]
    assert content_words("改ざん防止", stopwords=()) == ["改竄防止"]


def test_content_words_pos_selection():
    text = "新しい録画機能を付ける。"
    assert content_words(text, pos=("名詞",)) == ["録画", "機能"]
    assert content_words(text, pos="動詞") == ["付ける"]
    assert content_words(text, pos=("形容詞",)) == ["新しい"]
    text = "カメラの録画機能を付ける"
    assert content_words(text, pos=[("名詞", "普通名詞", "サ変可能")]) == ["録画", "機能"]
    assert content_words(text, pos=[("名詞", None, "一般")]) == ["カメラ"]
    assert content_words(text, pos=[("動詞",), "名詞"]) == ["カメラ", "録画", "機能", "付ける"]
    with pytest.raises(ValueError, match="pos"):
        content_words(text, pos=())


def test_content_words_custom_stopwords_are_nfkc_normalised():
    assert content_words("IDを確認する", stopwords=["ＩＤ", "為る"]) == ["確認"]
    assert content_words("IDを確認する", stopwords="確認") == ["ID", "為る"]
    assert content_words("") == [] and content_words(None) == []


# --------------------------------------------------------------------------- stopwords


def test_shipped_stopwords_file_loads():
    sw = load_stopwords()
    assert {"為る", "有る", "居る", "無い", "こと", "物"} <= sw
    assert not any(w.startswith("#") for w in sw)
    assert "録画" not in sw


def test_stopwords_file_comments_nfkc_and_reload(reference):
    path = reference / words.STOPWORDS_NAME
    path.write_text("# comment line\n\n録画  # trailing comment\nＩＤ\n", encoding="utf-8")
    assert load_stopwords() == frozenset({"録画", "ID"})
    assert content_words("録画機能のＩＤ") == ["機能"]
    path.write_text("機能\n", encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))
    assert load_stopwords() == frozenset({"機能"})
    assert content_words("録画機能のＩＤ") == ["録画", "ID"]


def test_missing_stopwords_file_warns_and_removes_nothing(reference):
    with pytest.warns(RuntimeWarning, match="stopwords"):
        assert load_stopwords() == frozenset()
    with pytest.warns(RuntimeWarning):
        assert content_words("録画している") == ["録画", "為る", "居る"]


# --------------------------------------------------------------------------- tokenize_many


def test_tokenize_many_matches_content_words_and_handles_blanks():
    texts = ["録画データを提供する。", None, "", "委託先の監査。", "録画データを提供する。"]
    got = tokenize_many(texts)
    assert got == [content_words(t) for t in texts]
    assert got[1] == [] and got[2] == []
    assert got[0] == got[4] == ["録画", "データ", "提供"]
    assert got[0] is not got[4]  # callers may mutate their lists


def test_each_distinct_text_is_tokenised_once(monkeypatch):
    words.clear_cache()
    an = words._analyser("C")
    seen: list[str] = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def tokenize(self, text, *args, **kwargs):
            seen.append(text)
            return self.inner.tokenize(text, *args, **kwargs)

    monkeypatch.setattr(an, "tokenizer", Counting(an.tokenizer))
    texts = ["同じ文章を数える。"] * 50 + ["別の文章。"] * 10
    tokenize_many(texts)
    assert sorted(seen) == ["別の文章。", "同じ文章を数える。"]
    # A second call (other filters, other function) reuses the cached analyses.
    tokenize_many(texts, pos=("名詞",), stopwords=())
    term_frequencies(utterances(*[("ア", "委員", "question", t) for t in texts]))
    assert len(seen) == 2
    words.clear_cache()
    tokenize_many(texts[:1])
    assert len(seen) == 3


def test_cache_limit_is_respected(monkeypatch):
    words.clear_cache()
    monkeypatch.setattr(words, "MAX_CACHED_TEXTS", 2)
    texts = ["録画の文章。", "監査の文章。", "委託の文章。", "提供の文章。"]
    assert tokenize_many(texts)[3] == ["提供", "文章"]
    assert words._analyser("C").texts.height == 2
    assert tokenize_many(texts[3:]) == [["提供", "文章"]]
    words.clear_cache()


def test_analyses_reused_after_other_words_are_known_keep_their_order():
    words.clear_cache()
    first = tokenize_many(["委託先の監査。", "録画データを提供する。"])
    words.clear_cache()
    tokenize_many(["提供の文章。"])  # other words numbered first this time
    assert tokenize_many(["録画データを提供する。", "委託先の監査。"]) == first[::-1]


# --------------------------------------------------------------------------- token cache file


def _cache_file(folder):
    return folder / words.CACHE_NAME.format(mode="C")


def test_token_cache_file_is_written_and_read_back(tmp_path, monkeypatch):
    words.clear_cache()
    expected = term_frequencies(SMALL, kinds=None, top=None)
    assert not _cache_file(tmp_path).exists()
    assert term_frequencies(SMALL, kinds=None, top=None, cache_dir=tmp_path).equals(expected)
    stored = pl.read_parquet(_cache_file(tmp_path))
    assert sorted(stored["text"]) == sorted(set(SMALL["text"]))
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind

    # a new process (here: an empty memory) reads the file and tokenises nothing
    words.clear_cache()
    tokenize_many(["提供の文章。"])  # words numbered before the file is read
    an = words._analyser("C")

    def no_tokenising(text):
        raise AssertionError(f"tokenised {text!r}")

    monkeypatch.setattr(an, "analyse", lambda text, ids: no_tokenising(text))
    got = term_frequencies(SMALL, kinds=None, top=None, cache_dir=tmp_path)
    assert got.equals(expected)
    by_role = term_frequencies(SMALL, by="speaker_role", kinds=None, top=None, cache_dir=tmp_path)
    monkeypatch.undo()
    words.clear_cache()
    assert by_role.equals(term_frequencies(SMALL, by="speaker_role", kinds=None, top=None))
    words.clear_cache()


def test_token_cache_file_grows_with_new_texts(tmp_path):
    words.clear_cache()
    term_frequencies(SMALL.head(2), kinds=None, cache_dir=tmp_path)
    term_frequencies(SMALL.tail(2), kinds=None, cache_dir=tmp_path)
    stored = pl.read_parquet(_cache_file(tmp_path))
    assert sorted(stored["text"]) == sorted(set(SMALL.head(2)["text"]) | set(SMALL.tail(2)["text"]))
    words.clear_cache()
    assert term_frequencies(SMALL.head(2), kinds=None, cache_dir=tmp_path).equals(
        term_frequencies(SMALL.head(2), kinds=None)
    )
    words.clear_cache()


def test_stale_or_broken_token_cache_file_is_ignored_and_rewritten(tmp_path):
    words.clear_cache()
    expected = term_frequencies(SMALL, top=None)
    path = _cache_file(tmp_path)
    term_frequencies(SMALL, top=None, cache_dir=tmp_path)
    meta = pl.read_parquet_metadata(path)
    stale = pl.read_parquet(path).with_columns(pl.lit([0], dtype=pl.List(pl.UInt32)).alias("ids"))
    identity = meta[words._CACHE_KEY].replace('"format": 1', '"format": 0')
    stale.write_parquet(path, metadata={**meta, words._CACHE_KEY: identity})
    words.clear_cache()
    assert term_frequencies(SMALL, top=None, cache_dir=tmp_path).equals(expected)
    assert words._CACHE_KEY in pl.read_parquet_metadata(path)
    assert '"format": 1' in pl.read_parquet_metadata(path)[words._CACHE_KEY]

    path.write_bytes(b"not parquet")
    words.clear_cache()
    assert term_frequencies(SMALL, top=None, cache_dir=tmp_path).equals(expected)
    assert pl.read_parquet(path).height > 0
    words.clear_cache()


def test_unwritable_token_cache_warns_and_still_counts(tmp_path):
    words.clear_cache()
    expected = term_frequencies(SMALL, top=None)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    words.clear_cache()
    with pytest.warns(UserWarning, match="token cache not written"):
        got = term_frequencies(SMALL, top=None, cache_dir=blocked / "cache")
    assert got.equals(expected)
    words.clear_cache()


# --------------------------------------------------------------------------- term frequencies


def test_term_frequencies_counts_documents_and_order():
    tf = term_frequencies(SMALL, top=None)
    assert tf.columns == ["term", "pos", "count", "documents"]
    assert tf.schema["count"] == pl.Int64 and tf.schema["documents"] == pl.Int64
    rows = {r["term"]: r for r in tf.iter_rows(named=True)}
    # questions and remarks only: 録画 twice in the remark, once in the first question
    assert (rows["録画"]["count"], rows["録画"]["documents"]) == (3, 2)
    assert rows["録画"]["pos"] == "名詞"
    assert (rows["監査"]["count"], rows["監査"]["documents"]) == (1, 1)  # answer not counted
    assert "挙手" not in rows  # procedural
    assert "実施" not in rows  # answer
    # count descending, then term ascending
    keys = [(-r["count"], r["term"]) for r in tf.iter_rows(named=True)]
    assert keys == sorted(keys)
    assert tf.row(0, named=True)["term"] == "録画"


def test_term_frequencies_kinds_and_top():
    tf = term_frequencies(SMALL, kinds=None, top=None)
    rows = {r["term"]: r for r in tf.iter_rows(named=True)}
    assert (rows["録画"]["count"], rows["録画"]["documents"]) == (4, 3)
    assert rows["監査"]["count"] == 2
    assert "挙手" in rows
    answers = term_frequencies(SMALL, kinds=["answer"], top=None)
    assert set(answers["term"]) == {"録画", "データ", "提供", "委託先", "監査", "実施"}
    top2 = term_frequencies(SMALL, kinds=None, top=2)
    assert top2.height == 2
    assert top2.equals(tf.head(2))
    assert term_frequencies(SMALL, top=0).height == 0
    with pytest.raises(ValueError, match="top"):
        term_frequencies(SMALL, top=-1)


def test_term_frequencies_grouping():
    tf = term_frequencies(SMALL, by="speaker_role", kinds=None, top=None)
    assert tf.columns == ["speaker_role", "term", "pos", "count", "documents"]
    member = tf.filter(pl.col("speaker_role") == "member")
    assert member.row(0, named=True) == {
        "speaker_role": "member",
        "term": "録画",
        "pos": "名詞",
        "count": 3,
        "documents": 2,
    }
    dept = tf.filter(pl.col("speaker_role") == "department")
    assert dept.filter(pl.col("term") == "録画")["count"].to_list() == [1]
    # groups ascending, within a group count desc then term asc
    keys = [(r["speaker_role"], -r["count"], r["term"]) for r in tf.iter_rows(named=True)]
    assert keys == sorted(keys)
    by_group = term_frequencies(SMALL, by="deliberation_group", kinds=None, top=1)
    assert by_group.rows() == [("ア", "録画", "名詞", 4, 3), ("イ", "委託先", "名詞", 2, 2)]
    # (委託先 and 監査 both count 2: the tie goes to the smaller term)


def test_term_frequencies_is_deterministic_across_input_order():
    a = term_frequencies(SMALL, by="deliberation_group", top=None)
    b = term_frequencies(SMALL.reverse(), by="deliberation_group", top=None)
    assert a.equals(b)


def test_term_frequencies_empty_input_and_no_content():
    empty = SMALL.clear()
    tf = term_frequencies(empty)
    assert tf.height == 0
    assert tf.schema == pl.Schema(
        {"term": pl.String, "pos": pl.String, "count": pl.Int64, "documents": pl.Int64}
    )
    grouped = term_frequencies(empty, by="speaker_role")
    assert grouped.columns == ["speaker_role", "term", "pos", "count", "documents"]
    only_particles = utterances(
        ("ア", "委員", "question", "はい。"), ("ア", "委員", "remark", None)
    )
    assert term_frequencies(only_particles).height == 0


def test_term_frequencies_missing_column():
    with pytest.raises(ValueError, match="speaker_org_x"):
        term_frequencies(SMALL, by="speaker_org_x")


def test_term_frequencies_on_seed_recording(seed_tables):
    u = seed_tables["utterances"]
    tf = term_frequencies(u, top=None)
    row = tf.filter(pl.col("term") == "録画").row(0, named=True)
    # questions at lines 168, 188 and 196 (the answers at 170, 190, 194 are not counted)
    assert (row["count"], row["documents"], row["pos"]) == (3, 3, "名詞")
    every = term_frequencies(u, kinds=None, top=None).filter(pl.col("term") == "録画")
    assert every["count"].to_list() == [6]
    top = term_frequencies(u)
    assert top.height == 50
    assert not set(top["term"]) & load_stopwords()
    by_role = term_frequencies(u, by="speaker_role", top=None)
    chair = by_role.filter((pl.col("speaker_role") == "chair") & (pl.col("term") == "録画"))
    assert chair["count"].to_list() == [1]


# --------------------------------------------------------------------------- kwic


SEED_RECORDING = [
    # (line, speaker_label, role, kind, left (width 20), right (first 8 chars))
    (168, "委員", "member", "question", "既存の監視カメラに", "機能を付けるという"),
    (170, "スポーツ", "department", "answer", "その通り。", "機能を公示して設"),
    (
        188,
        "会長",
        "chair",
        "question",
        "」が収集する理由として挙げられているが、",
        "とは関係ないのでは",
    ),
    (
        190,
        "スポーツ",
        "department",
        "answer",
        "モニターをずっと見続けなくてもすぐ",
        "映像を確認できると",
    ),
    (194, "事務局", "secretariat", "answer", "", "していることを告げ"),
    (196, "委員", "member", "question", "", "中であることを掲示"),
]


def test_kwic_seed_recording(seed_tables):
    hits = kwic(seed_tables["utterances"], "録画", consultations=seed_tables["consultations"])
    assert hits.columns == [*KWIC_COLUMNS, "consultation_labels", "titles"]
    assert hits["source_line"].to_list() == [h[0] for h in SEED_RECORDING]
    assert hits["source_line_end"].to_list() == [h[0] for h in SEED_RECORDING]
    for row, (line, label, role, kind, left, right) in zip(
        hits.iter_rows(named=True), SEED_RECORDING, strict=True
    ):
        assert (row["source_line"], row["speaker_label"]) == (line, label)
        assert (row["speaker_role"], row["kind"]) == (role, kind)
        assert row["keyword"] == "録画"
        assert row["left"] == left
        assert row["right"].startswith(right[:8])
        assert len(row["right"]) <= 20
        assert row["deliberation_group"] == "オ"
        assert row["consultation_labels"] == ["オ"]
        assert row["titles"] == ["個人情報の本人以外収集"]
    assert hits["meeting_id"].unique().to_list() == ["tama-2020-09"]


def test_kwic_seed_hits_match_the_raw_lines(seed_tables, seed_path):
    lines = seed_path.read_text(encoding="utf-8").splitlines()
    hits = kwic(seed_tables["utterances"], "録画", width=6)
    for row in hits.iter_rows(named=True):
        assert row["left"] + row["keyword"] + row["right"] in lines[row["source_line"] - 1]


def test_kwic_seed_kinds_and_multiline(seed_tables):
    u = seed_tables["utterances"]
    questions = kwic(u, "録画", kinds=["question"])
    assert questions["source_line"].to_list() == [168, 188, 196]
    multi = kwic(u, "マイナンバーカード", width=8)
    first = multi.row(0, named=True)
    assert (first["source_line"], first["source_line_end"]) == (108, 109)
    assert (first["left"], first["right"]) == ("た。また、当時は", "の取得率も低く、")


def test_kwic_default_loads_datasets(seed_build):
    hits = kwic_default("録画", seed_build, kinds=("question",), width=5)
    assert hits["source_line"].to_list() == [168, 188, 196]
    assert hits["consultation_labels"].to_list() == [["オ"]] * 3
    assert hits["left"].to_list() == ["視カメラに", "ているが、", ""]
    assert hits["right"].to_list() == ["機能を付け", "とは関係な", "中であるこ"]


def test_kwic_width_and_several_hits_per_utterance():
    hits = kwic(SMALL, "録画", width=3)
    assert hits["seq"].to_list() == [1, 2, 3, 3]
    third = hits.filter(pl.col("seq") == 3)
    assert third["left"].to_list() == ["", "しい。"]
    assert third["right"].to_list() == ["の保存", "は重要"]
    none = kwic(SMALL, "録画", width=0)
    assert set(none["left"]) == {""} and set(none["right"]) == {""}
    with pytest.raises(ValueError, match="width"):
        kwic(SMALL, "録画", width=-1)


def test_kwic_literal_hits_do_not_overlap_and_dot_is_literal():
    u = utterances(("ア", "委員", "question", "ああああ。a.b と axb"))
    assert kwic(u, "ああ")["left"].to_list() == ["", "ああ"]
    dot = kwic(u, "a.b")
    assert dot["keyword"].to_list() == ["a.b"]


def test_kwic_matches_nfkc_but_shows_original():
    u = utterances(
        ("ア", "委員", "question", "ＩＤとﾊﾟｽﾜｰﾄﾞの管理（案）について"),
        ("ア", "課", "answer", "IDはパスワードと別に管理する。"),
    )
    hits = kwic(u, "ID", width=4)
    assert hits["keyword"].to_list() == ["ＩＤ", "ID"]
    # width counts characters as written; a voiced mark is never cut from its kana
    assert hits["right"].to_list() == ["とﾊﾟｽ", "はパスワ"]
    assert kwic(u, "ID", width=3)["right"].to_list() == ["とﾊﾟ", "はパス"]
    assert kwic(u, "ID", width=2)["right"].to_list() == ["と", "はパ"]
    assert kwic(u, "ｽﾜｰﾄﾞ", width=1)["left"].to_list() == ["", "パ"]
    assert kwic(u, "ｽﾜｰﾄﾞ", width=2)["left"].to_list() == ["ﾊﾟ", "はパ"]
    kata = kwic(u, "パスワード", width=3)
    assert kata["keyword"].to_list() == ["ﾊﾟｽﾜｰﾄﾞ", "パスワード"]
    assert kata["left"].to_list() == ["ＩＤと", "IDは"]
    assert kata["right"].to_list() == ["の管理", "と別に"]
    # the keyword is normalised as well
    assert kwic(u, "ＩＤ").height == 2
    assert kwic(u, "(案)")["keyword"].to_list() == ["（案）"]


def test_kwic_regex_mode():
    u = utterances(
        ("ア", "委員", "question", "録画機能と録画映像、録音機能。"),
        ("ア", "課", "answer", "ＨＤレコーダー３台"),
    )
    hits = kwic(u, "録(画|音)機能", regex=True, width=2)
    assert hits["keyword"].to_list() == ["録画機能", "録音機能"]
    assert hits["left"].to_list() == ["", "像、"]
    # the pattern is matched on NFKC text: half-width digits find full-width ones
    digits = kwic(u, r"[0-9]+台", regex=True)
    assert digits["keyword"].to_list() == ["３台"]
    compiled = kwic(u, re.compile(r"HD\w+"), regex=True, width=0)
    assert compiled["keyword"].to_list() == ["ＨＤレコーダー３台"]
    assert kwic(u, "x*", regex=True).height == 0  # empty matches are skipped
    assert kwic(u, "録(画", regex=False).height == 0  # literal: no regex syntax
    with pytest.raises(re.error):
        kwic(u, "録(画", regex=True)
    with pytest.raises(TypeError):
        kwic(u, re.compile("録画"))


def test_kwic_consultations_for_groups_and_outside():
    u = utterances(
        ("イ・ウ", "委員", "question", "委託先の監査は。"),
        (None, "会長", "remark", "監査の話は次回に。"),
    )
    consultations = pl.DataFrame(
        {
            "consultation_id": ["m-1-ウ", "m-1-イ"],
            "meeting_id": ["m-1", "m-1"],
            "label": ["ウ", "イ"],
            "seq": [2, 1],
            "title": ["システムの変更", "業務の外部委託"],
            "deliberation_group": ["イ・ウ", "イ・ウ"],
        }
    )
    hits = kwic(u, "監査", consultations=consultations)
    assert hits["consultation_labels"].to_list() == [["イ", "ウ"], []]
    assert hits["titles"].to_list() == [["業務の外部委託", "システムの変更"], []]
    assert hits.schema["titles"] == pl.List(pl.String)


def test_kwic_empty_input_and_no_hits():
    for frame, keyword in ((SMALL.clear(), "録画"), (SMALL, "存在しない語")):
        hits = kwic(frame, keyword)
        assert hits.height == 0
        assert hits.columns == list(KWIC_COLUMNS)
        assert hits.schema["seq"] == pl.Int64 and hits.schema["left"] == pl.String
    consultations = pl.DataFrame(
        schema={
            "meeting_id": pl.String,
            "deliberation_group": pl.String,
            "label": pl.String,
            "title": pl.String,
        }
    )
    empty = kwic(SMALL.clear(), "録画", consultations=consultations)
    assert empty.columns == [*KWIC_COLUMNS, "consultation_labels", "titles"]
    assert empty.schema["consultation_labels"] == pl.List(pl.String)


def test_kwic_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        kwic(SMALL, "")
    with pytest.raises(ValueError, match="source_line_end"):
        kwic(SMALL.drop("source_line_end"), "録画")


def test_kwic_null_text_is_skipped():
    u = utterances(("ア", "委員", "question", None), ("ア", "委員", "question", "録画"))
    assert kwic(u, "録画")["seq"].to_list() == [2]


def test_kwic_prefilter_on_text_norm_gives_the_same_hits_as_a_full_scan():
    u = utterances(
        ("ア", "委員", "question", "ＩＤとﾊﾟｽﾜｰﾄﾞの管理（案）〜ＩＤ−番号について"),
        ("ア", "課", "answer", "IDはパスワードと別に管理する。"),
        ("ア", "課", "answer", None),
        ("イ", "委員", "remark", "ｶﾞｲﾄﾞﾗｲﾝ〜ID"),
    )
    for keyword in ("ID", "パスワード", "〜ID", "ガイド", "−番号", "（案）"):
        fast = kwic(u, keyword, width=3)
        full = kwic(u.drop("text_norm"), keyword, width=3)
        assert fast.to_dicts() == full.to_dicts(), keyword


def _aligned_nfkc_reference(text: str) -> tuple[str, list[int], list[int]]:
    """The character-by-character alignment (the former implementation), for comparison."""
    import unicodedata

    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if spans and words._continues(ch):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    pieces, starts, ends = [], [], []
    for start, end in spans:
        piece = unicodedata.normalize("NFKC", text[start:end])
        pieces.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))
    return "".join(pieces), starts, ends


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ﾊﾟｽﾜｰﾄﾞ",
        "ﾞ先頭が濁点ﾟﾟ",
        "ＩＤとﾊﾟｽﾜｰﾄﾞの管理（案）〜ＩＤ−番号",
        "㈱と㍻とｶﾞ\u3099e\u0301\u0301x",
        "か\u3099き\u309aく",
        "[a]^$.*+?{}()|\\ ﾃﾞｰﾀ\u00a0①②",
        "ただの文章です。",
    ],
)
def test_aligned_nfkc_matches_the_character_by_character_alignment(text):
    assert words._aligned_nfkc(text) == _aligned_nfkc_reference(text)


def test_texts_longer_than_sudachi_accepts_are_tokenised_in_pieces():
    from analysis.words import content_words, tokens

    text = "個人情報の保護について。" * 9000  # 108,000 characters, over SudachiPy's 49,149 bytes
    assert len(tokens(text)) == 7 * 9000
    assert content_words(text).count("個人情報") >= 8990


def test_token_cache_dir_is_a_subfolder_of_the_datasets(tmp_path):
    from analysis.paths import processed_dir

    assert words.token_cache_dir(tmp_path) == tmp_path / "cache"
    assert words.token_cache_dir() == processed_dir() / "cache"


def test_kwic_limit_keeps_the_first_hits_and_kwic_count_counts_them_all():
    full = kwic(SMALL, "録画", width=3)
    for limit in (0, 1, 3, 10):
        assert kwic(SMALL, "録画", width=3, limit=limit).equals(full.head(limit))
    assert kwic_count(SMALL, "録画") == full.height == 4
    assert (
        kwic_count(SMALL, "録画", kinds=["remark"]) == kwic(SMALL, "録画", kinds=["remark"]).height
    )
    assert kwic_count(SMALL, "録画|提供", regex=True) == kwic(SMALL, "録画|提供", regex=True).height
    assert kwic_count(SMALL, "見つからない") == 0
    with pytest.raises(ValueError, match="limit"):
        kwic(SMALL, "録画", limit=-1)


def test_kwic_limit_on_the_seed_with_consultations(seed_tables):
    u, cons = seed_tables["utterances"], seed_tables["consultations"]
    full = kwic(u, "録画", consultations=cons)
    assert kwic(u, "録画", consultations=cons, limit=2).equals(full.head(2))
    assert kwic_count(u, "録画") == full.height
