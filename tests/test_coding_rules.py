"""The coding-rule language: tokenizer, parser, matching semantics, matched words, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.coding_rules import (
    DEFAULT_DISTANCE,
    And,
    Near,
    Not,
    Or,
    RuleError,
    RuleSet,
    Term,
    compile_rule,
    fold_case,
    parse,
    tokenize,
)
from analysis.reference import ReferenceError


def match(rule: str, text: str) -> list[str] | None:
    return compile_rule(rule).match(text)


# ---------------------------------------------------------------------------- tokens and tree
def test_tokens_carry_kind_and_one_based_column():
    toks = tokenize('録画 | "個人 情報" & !near(a, b, 3)')
    assert [(t.kind, t.value, t.column) for t in toks] == [
        ("WORD", "録画", 1),
        ("OR", "|", 4),
        ("PHRASE", "個人 情報", 6),
        ("AND", "&", 14),
        ("NOT", "!", 16),
        ("FUNC", "near", 17),
        ("LPAREN", "(", 21),
        ("WORD", "a", 22),
        ("COMMA", ",", 23),
        ("WORD", "b", 25),
        ("COMMA", ",", 26),
        ("WORD", "3", 28),
        ("RPAREN", ")", 29),
        ("END", "", 30),
    ]


def test_full_width_operators_and_keywords_work_like_ascii():
    assert parse("録画｜（カメラ＆！監視）") == parse("録画 | (カメラ & !監視)")
    assert parse("録画 OR カメラ and not 監視") == parse("録画 | カメラ & !監視")
    # near/seq without '(' are ordinary words
    assert parse("near | seq") == Or((Term("near"), Term("seq")))


def test_precedence_not_then_and_then_or():
    tree = parse("録画 | カメラ & !監視カメラ")
    assert tree == Or((Term("録画"), And((Term("カメラ"), Not(Term("監視カメラ"))))))
    assert parse("(録画 | カメラ) & !監視") == And(
        (Or((Term("録画"), Term("カメラ"))), Not(Term("監視")))
    )


def test_words_are_normalised_and_case_folded_when_compiled():
    assert parse("ＵＳＢ") == Term("usb")
    assert parse('"  個人   情報 "') == Term("個人 情報")


def test_near_arguments_alternatives_and_distance():
    tree = parse("near((委託 | 受託), 再委託, 10)")
    assert tree == Near(((Term("委託"), Term("受託")), (Term("再委託"),)), 10, False)
    assert parse("seq(a, b)") == Near(((Term("a"),), (Term("b"),)), DEFAULT_DISTANCE, True)
    assert parse('near(a, "10")') == Near(((Term("a"),), (Term("10"),)), DEFAULT_DISTANCE, False)


# ---------------------------------------------------------------------------- matching
@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("録画", "録画機能を付ける", ["録画"]),
        ("録画", "カメラを付ける", None),
        ("録画 | カメラ", "カメラを付ける", ["カメラ"]),
        ("録画 & カメラ", "カメラを付ける", None),
        ("録画 & カメラ", "カメラに録画機能", ["カメラ", "録画"]),
        # NOT looks at the whole text: 監視カメラ contains カメラ
        ("録画 | カメラ & !監視カメラ", "監視カメラを付ける", None),
        ("録画 | カメラ & !監視カメラ", "監視カメラで録画", ["録画"]),
        ("録画 | カメラ & !監視カメラ", "防犯カメラを付ける", ["カメラ"]),
        ("(録画 | カメラ) & !監視", "監視カメラで録画", None),
        ("!(録画 | カメラ) & 映像", "映像を見る", ["映像"]),
        ('"個人 情報"', "個人 情報を扱う", ["個人 情報"]),
        ('"個人 情報"', "個人情報を扱う", None),
        ("'a|b'", "x a|b y", ["a|b"]),
    ],
)
def test_boolean_operators(rule, text, expected):
    assert match(rule, text) == expected


def test_latin_letters_match_in_either_case_and_full_width_rule_words_match():
    assert match("usb", "USBメモリ") == ["USB"]  # reported as written in the text
    assert match("ＵＳＢ", "usbメモリ") == ["usb"]
    assert match("LGWAN", "lgwan回線") == ["lgwan"]


def test_latin_words_match_whole_words_only():
    assert match("PC", "PC室に置く") == ["PC"]
    assert match("PC", "PCR検査") is None
    assert match("OS", "iOSの端末") is None
    assert match("OS", "OS(4~5年)") == ["OS"]
    assert match("ID", "IDとパスワード") == ["ID"]
    assert match("ID", "IDEA") is None
    assert match("26市", "多摩26市") == ["26市"]  # the Japanese side is not bounded
    assert match("26市", "126市") is None
    # a word that is not Latin is found anywhere
    assert match("ログ", "プログラム") == ["ログ"]


def test_near_counts_the_characters_between_the_words():
    rule = "near(委託, 報告, 3)"
    assert match(rule, "委託の報告") == ["委託", "報告"]  # 1 character between
    assert match(rule, "委託先から報告") == ["委託", "報告"]  # 3 characters between
    assert match(rule, "委託先からの報告") is None  # 4
    assert match(rule, "報告を委託") == ["報告", "委託"]  # near: any order


def test_near_uses_any_pair_of_occurrences():
    text = "委託については、後で述べる。報告と委託"
    assert match("near(委託, 報告, 1)", text) == ["委託", "報告"]


def test_near_occurrences_must_not_overlap():
    assert match("near(委託, 再委託, 5)", "再委託する") is None
    assert match("near(委託, 再委託, 5)", "委託と再委託") == ["委託", "再委託"]


def test_near_with_three_words_measures_first_to_last():
    rule = "near(a, b, c, 4)"
    assert match(rule, "a b c") == ["a", "b", "c"]  # from end of a to start of c: 3
    assert match(rule, "a  b  c") is None  # 5


def test_seq_requires_the_order():
    assert match("seq(外部, 媒体, 5)", "外部記録媒体") == ["外部", "媒体"]
    assert match("seq(外部, 媒体, 5)", "媒体を外部へ") is None
    assert match("seq(外部, 媒体, 1)", "外部記録媒体") is None


def test_near_default_distance():
    filler = "あ" * DEFAULT_DISTANCE
    assert match("near(委託, 報告)", f"委託{filler}報告") == ["委託", "報告"]
    assert match("near(委託, 報告)", f"委託{filler}あ報告") is None


def test_near_with_alternatives_reports_every_word_that_qualifies():
    rule = "near((データ | 情報), (持た | 持つ), 3)"
    assert match(rule, "庁舎内でデータを持たないのか") == ["データ", "持た"]
    assert match(rule, "情報は持つ") == ["情報", "持つ"]
    assert match(rule, "情報について、職員は持つ") is None


def test_matched_words_in_order_of_first_appearance_once_each():
    assert match("b | a | c", "c a b a c") == ["c", "a", "b"]


def test_words_under_not_are_not_reported():
    assert match("カメラ & !録音", "カメラで撮る") == ["カメラ"]


def test_a_word_inside_a_longer_matched_word_is_not_repeated():
    assert match("委託 | 再委託", "再委託する") == ["再委託"]
    assert match("委託 | 再委託", "再委託先に委託する") == ["再委託", "委託"]
    assert match("媒体 | 記録媒体", "外部記録媒体と電子媒体") == ["記録媒体", "媒体"]


def test_fold_case_keeps_the_length():
    text = "İSTANBUL ＡＢＣ abc 漢字"
    assert len(fold_case(text)) == len(text)
    assert fold_case("AbC漢字") == "abc漢字"


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("rule", "column", "fragment"),
    [
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("録画 |", 5, "found the end of the rule"),
        ("録画 カメラ", 4, "expected an operator"),
        ("(録画 | カメラ", 1, "never closed"),
        ("録画 | カメラ)", 9, "closes no '('"),
        ('録画 | "カメラ', 6, "never closed"),
        ("録画 | & カメラ", 6, "expected a word"),
        ("near(録画)", 1, "at least two words"),
        ("near(録画, 10, カメラ)", 10, "last argument"),
        ("near(録画, !カメラ)", 10, "argument of near()"),
        ("near((録画 & 映像), カメラ)", 10, "parentheses hold words"),
        ("near((録画 | !映像), カメラ)", 12, "parentheses hold words"),
        ("near(録画, カメラ", 5, "never closed"),
        ('録画 | ""', 6, "empty phrase"),
    ],
)
def test_syntax_errors_name_the_column(rule, column, fragment):
    with pytest.raises(RuleError) as info:
        compile_rule(rule)
    err = info.value
    assert err.column == column
    assert fragment in str(err)
    if column:
        assert f"column {column}:" in str(err)


@pytest.mark.parametrize("rule", ["!録画", "録画 | !カメラ", "not (a & b)"])
def test_a_rule_must_need_a_word_that_occurs(rule):
    with pytest.raises(RuleError, match="none of its words"):
        compile_rule(rule)


def test_rule_error_is_a_reference_error_and_can_be_located():
    with pytest.raises(ReferenceError) as info:
        compile_rule("録画 カメラ")
    located = info.value.located(source="data/reference/topic_rules.yml", line=12, topic="camera")
    assert str(located) == (
        "data/reference/topic_rules.yml:12: topic 'camera': column 4: "
        "expected an operator (| or &) before the word 'カメラ'"
    )
    assert (located.source, located.line, located.topic, located.column) == (
        "data/reference/topic_rules.yml",
        12,
        "camera",
        4,
    )


# ---------------------------------------------------------------------------- rule sets
RULES = {
    "camera": "録画 | カメラ & !監視カメラ",
    "outsourcing": "委託 | 再委託 | 下請",
    "near": "near(委託, 報告, 5)",
    "latin": "PC | OS",
    "negated": "映像 & !録画",
}


def test_rule_set_matches_in_rule_order():
    rs = RuleSet(RULES)
    assert rs.match("委託先の報告と録画") == {
        "camera": ["録画"],
        "outsourcing": ["委託"],
        "near": ["委託", "報告"],
    }
    assert rs.match("なにもない") == {}


def test_match_many_handles_nulls_duplicates_and_empty_input():
    rs = RuleSet(RULES)
    texts = ["再委託先のPC", None, "再委託先のPC", "PCR", ""]
    assert rs.match_many(texts) == [rs.match(t) if t is not None else {} for t in texts]
    assert rs.match_many([]) == []
    assert RuleSet({}).match_many(["録画"]) == [{}]


FRAGMENTS = [
    "委託",
    "再委託",
    "託",
    "報告",
    "録画",
    "監視カメラ",
    "カメラ",
    "映像",
    "PC",
    "pc",
    "R",
    "i",
    "OS",
    "os",
    "下請",
    "の",
    "、",
    " ",
    "あいう",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join), max_size=8))
def test_match_many_agrees_with_match_one_by_one(texts):
    """The batch path (Aho-Corasick word search first) gives what matching each text gives."""
    rs = RuleSet(RULES)
    assert rs.match_many(texts) == [rs.match(t) for t in texts]


# Rules mixing plain words, words inside other words, negation, and near/seq inside an Or
# (the column-wise matcher evaluates the near/seq alone on the text, the rest from the words).
MIXED_RULES = {
    "mixed": "再委託 | 委託 & !下請 | near(委託, 報告, 3) | seq(PC, os, 2)",
    "near_only": "near((録画 | 映像), の, 2) & !監視カメラ",
    "nested": "委託 | 再委託 | 託 | カメラ | 監視カメラ",
    "seq_and": "seq(報告, 委託, 4) & (PC | R)",
    "three": "near(委託, の, 報告, 2) | 下請",  # three arguments: evaluated per text
}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join), max_size=8))
def test_match_many_agrees_with_match_on_mixed_rules(texts):
    rs = RuleSet(MIXED_RULES)
    assert rs.match_many(texts) == [rs.match(t) for t in texts]


def test_match_frame_rows_rules_and_words():
    rs = RuleSet(MIXED_RULES)
    frame = rs.match_frame(["再委託の報告", None, "なにもない", "録画の映像"]).sort("row", "rule")
    assert frame.columns == ["row", "rule", "code", "words"]
    assert frame.rows() == [
        (0, 0, "mixed", ["再委託", "報告"]),
        (0, 2, "nested", ["再委託"]),
        (0, 4, "three", ["委託", "の", "報告"]),
        (3, 1, "near_only", ["録画", "の", "映像"]),
    ]
    assert rs.match_frame([]).height == 0
    assert RuleSet({}).match_frame(["録画"]).height == 0
    # no word found, or only inside a longer Latin word: an empty frame with the columns
    nothing = rs.match_frame(["なにもない", None, "PCR", "xos"])
    assert nothing.height == 0 and nothing.columns == frame.columns


def test_rules_with_more_than_64_words_match_alike():
    many = [f"語{i:03d}" for i in range(150)]
    rs = RuleSet({"big": " | ".join(many) + " | near(語000, 語149, 3)", "small": "語149"})
    texts = ["語149と語000", "語070", "語000の語149", "語1499", "なし", "語14"]
    assert rs.match_many(texts) == [rs.match(t) for t in texts]
    assert rs.match("語149と語000") == {"big": ["語149", "語000"], "small": ["語149"]}


def test_near_on_a_long_text_with_many_occurrences_is_quick():
    text = ("委託の" * 3000) + "報告"
    assert match("near(委託, の, 報告, 1)", text) == ["委託", "の", "報告"]
    assert match("near(委託, の, 報告, 0)", text) is None
