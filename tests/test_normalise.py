"""Tests for analysis.normalise: one-line repair and the sequence helpers."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import normalise
from analysis.normalise import (
    CleanLine,
    clean_line,
    compat_table,
    find_repeated_lines,
    find_running_headers,
    is_page_artifact,
    is_page_number,
    join_letter_spacing,
    load_compat_characters,
    reload_compat_table,
    to_norm,
)
from analysis.paths import raw_dir

SEED = "tama_2020-12-15_r02-09_minutes.txt"


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    return (raw_dir() / SEED).read_text(encoding="utf-8").split("\n")


@pytest.fixture
def restore_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo the environment changes, then rebuild the table from the real CSV."""
    yield
    monkeypatch.undo()
    reload_compat_table()


def text(raw: str) -> str:
    return clean_line(raw).text


# --------------------------------------------------------------------------- CleanLine


def test_clean_line_returns_frozen_dataclass() -> None:
    c = clean_line("  本文  ")
    assert c == CleanLine(text="本文", norm="本文", marker="", bold=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.text = "x"  # type: ignore[misc]


def test_empty_and_blank_lines() -> None:
    assert clean_line("") == CleanLine("", "", "", False)
    assert clean_line(" \u3000\t\f\n") == CleanLine("", "", "", False)


# --------------------------------------------------------------------------- step 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("本文 \t\f", "本文"),  # trailing whitespace and form feed
        ("本文\r\n", "本文"),
        ("本\u200b文", "本文"),  # ZERO WIDTH SPACE
        ("本\u200c文", "本文"),  # ZWNJ
        ("本\u200d文", "本文"),  # ZWJ
        ("\ufeff本文", "本文"),  # BOM
        ("本\x01文\x7f", "本文"),  # control characters
        ("本\u00ad文", "本文"),  # soft hyphen
        ("諮問ア（課税課）\t赤松課税課長", "諮問ア（課税課） 赤松課税課長"),  # tab separates
        ("諮問ア\t\t 赤松課税課長", "諮問ア 赤松課税課長"),  # one space only
        ("\t本文", "本文"),  # leading tab is not a separator
        ("会議\u00a0資料", "会議 資料"),  # NBSP
    ],
)
def test_step1_invisible_and_control_characters(raw: str, expected: str) -> None:
    assert text(raw) == expected


# --------------------------------------------------------------------------- step 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u2f08", "人"),  # ⼈ KANGXI RADICAL MAN (NFKC maps it)
        ("\u2ed1", "長"),  # ⻑ CJK RADICAL LONG ONE (NFKC does not)
        ("\u2ec4", "西"),  # ⻄
        ("\u2ed8", "青"),  # ⻘
        ("\u2edd", "食"),  # ⻝
        ("\u2ee4", "鬼"),  # ⻤
        ("会\u2ed1", "会長"),
        ("\u2f2f事", "工事"),  # ⼯ KANGXI RADICAL WORK
        ("\ufa19", "\u795e"),  # CJK COMPATIBILITY IDEOGRAPH-FA19 -> 神
        ("\uf91d", "\u6b04"),  # CJK COMPATIBILITY IDEOGRAPH-F91D -> 欄
    ],
)
def test_step2_compat_mapping(raw: str, expected: str) -> None:
    assert text(raw) == expected


def test_step2_radical_supplement_not_handled_by_nfkc() -> None:
    # The reason for the CSV: NFKC leaves ⻑ alone but maps ⼈.
    assert unicodedata.normalize("NFKC", "\u2ed1") == "\u2ed1"
    assert unicodedata.normalize("NFKC", "\u2f08") == "人"


def test_step2_keeps_other_compatibility_characters_in_text() -> None:
    c = clean_line("ＡＢＣ１２３（火）①㈱ｶﾅ")
    assert c.text == "ＡＢＣ１２３（火）①㈱ｶﾅ"  # full-width and other NFKC targets kept
    assert c.norm == "ABC123(火)1(株)カナ"


def test_step2_every_kangxi_radical_maps_to_a_unified_ideograph() -> None:
    for cp in range(0x2F00, 0x2FD6):
        out = chr(cp).translate(compat_table())
        assert len(out) == 1
        assert unicodedata.name(out).startswith("CJK UNIFIED IDEOGRAPH"), hex(cp)


def test_step2_translation_is_idempotent() -> None:
    table = compat_table()
    for key, value in table.items():
        if value:
            assert all(ord(ch) not in table for ch in value), hex(key)


def test_compat_csv_loads_and_replacements_are_unified_ideographs() -> None:
    mapping = load_compat_characters()
    assert len(mapping) >= 100
    for char, repl in mapping.items():
        assert 0x2E80 <= ord(char) <= 0x2EF3, hex(ord(char))
        assert len(repl) == 1
        assert unicodedata.name(repl).startswith("CJK UNIFIED IDEOGRAPH"), (char, repl)
    for radical, ideograph in [
        ("⻑", "長"),
        ("⻄", "西"),
        ("⻘", "青"),
        ("⻝", "食"),
        ("⻤", "鬼"),
    ]:
        assert mapping[radical] == ideograph


def test_compat_csv_is_read_from_reference_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_table: None
) -> None:
    (tmp_path / "compat_characters.csv").write_text(
        "char,replacement,note\n⻑,長,long\n\n⻘,靑,edited on purpose\n", encoding="utf-8"
    )
    monkeypatch.setenv("COUNCIL_REFERENCE", str(tmp_path))
    reload_compat_table()
    assert text("⻑⻘⻄") == "長靑⻄"  # ⻄ is not in this CSV


def test_compat_csv_missing_warns_and_keeps_nfkc_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_table: None
) -> None:
    monkeypatch.setenv("COUNCIL_REFERENCE", str(tmp_path))
    with pytest.warns(RuntimeWarning, match="compat_characters.csv"):
        reload_compat_table()
    assert text("⼈⻑") == "人⻑"


def test_compat_csv_bad_row_raises(tmp_path: Path) -> None:
    path = tmp_path / "compat_characters.csv"
    path.write_text("char,replacement,note\n⻑,長い,two characters\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_compat_characters(path)


# --------------------------------------------------------------------------- step 3


@pytest.mark.parametrize(
    ("raw", "marker", "expected"),
    [
        (
            "- 〔委員〕 変更前後で経費の変化はあるのか。",
            "-",
            "〔委員〕 変更前後で経費の変化はあるのか。",
        ),
        ("* 項目", "*", "項目"),
        ("• 項目", "•", "項目"),
        ("● 項目", "●", "項目"),
        ("> 引用された発言", ">", "引用された発言"),
        ("# 見出し", "#", "見出し"),
        ("### 見出し", "###", "見出し"),
        ("・個人情報の項目", "・", "個人情報の項目"),  # line-initial ・ followed by text
        ("・ 個人情報の項目", "・", "個人情報の項目"),
        ("・（1）項目", "・", "（1）項目"),
        ("  - 字下げ項目", "-", "字下げ項目"),  # after leading whitespace
        ("-\u3000項目", "-", "項目"),
        ("- 1 日 時 令和2年12月15日（火）", "-", "1 日時 令和2年12月15日（火）"),
    ],
)
def test_step3_markers(raw: str, marker: str, expected: str) -> None:
    c = clean_line(raw)
    assert (c.marker, c.text) == (marker, expected)


@pytest.mark.parametrize(
    "raw",
    [
        "・・・挙手全員・・・",  # not a bullet
        "．．．挙手全員．．．",
        "○ 委員",  # ○ can be meaningful
        "※ 以下、質疑等",
        "(1) 開会",
        "① 諮問に関する審議",
        "-項目",  # no space after the dash
        "#1 番",  # not a heading
        "- 3 -",  # page number, not a list item
        "- - 入れ子",  # nested markers: stripping one would not be idempotent
        "> - 入れ子",
        "・",
        "-",
        "本文 - 途中",
    ],
)
def test_step3_not_markers(raw: str) -> None:
    c = clean_line(raw)
    assert c.marker == ""
    assert c.text == raw.strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("**同意することが決定された。**", "同意することが決定された。"),
        ("__同意__", "同意"),
        ("※ **子育て支援課から諮問のあった**について", "※ 子育て支援課から諮問のあったについて"),
        ("**一**と**二**", "一と二"),
        ("* **太字の項目**", "太字の項目"),
    ],
)
def test_step3_bold(raw: str, expected: str) -> None:
    c = clean_line(raw)
    assert c.text == expected
    assert c.bold


@pytest.mark.parametrize("raw", ["**閉じない", "2**3", "** 空白 **", "a_b_c", "普通の行"])
def test_step3_not_bold(raw: str) -> None:
    c = clean_line(raw)
    assert not c.bold
    assert c.text == raw


def test_step3_bold_marker() -> None:
    c = clean_line("- **重要**")
    assert (c.marker, c.text, c.bold) == ("-", "重要", True)


# --------------------------------------------------------------------------- step 4


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # examples from the seed minutes
        ("L G W A N又は政府系", "LGWAN又は政府系"),
        ("把握するため、L G W A N又は政府系", "把握するため、LGWAN又は政府系"),
        ("〔会 長〕", "〔会長〕"),
        ("〔課 税〕 手入力だった。", "〔課税〕 手入力だった。"),
        ("D V被害者", "DV被害者"),
        ("なっている。D V被害者等の", "なっている。DV被害者等の"),
        ("1 日 時 令和2年", "1 日時 令和2年"),
        ("2 場 所 多摩市役所", "2 場所 多摩市役所"),
        # invented ones
        ("【事 務 局】", "【事務局】"),
        ("（L G W A N）", "（LGWAN）"),
        ("L G W A N 回線", "LGWAN 回線"),
        ("ア D V被害者", "ア DV被害者"),
        ("お 知 ら せ", "お知らせ"),
        ("日\u3000時 令和2年", "日時 令和2年"),
        ("会 長 藤崎太郎", "会長 藤崎太郎"),
        ("I C カード", "IC カード"),  # scripts are not mixed
        ("x y z", "xyz"),
        ("〔会 長〕 〔課 税〕", "〔会長〕 〔課税〕"),  # a closing bracket ends a run
    ],
)
def test_step4_letter_spacing_joined(raw: str, expected: str) -> None:
    assert text(raw) == expected
    assert join_letter_spacing(raw.replace("\u3000", " ")) == expected.replace("\u3000", " ")


@pytest.mark.parametrize(
    "raw",
    [
        "ア 個人情報の処理に係る",
        "4 出席職員",
        "(1) 開会",
        "※ 以下、質疑等",
        "〔委員〕 担当職員は何名か",
        "赤松課税課長 宇佐川土地係長",
        "「GIGA スクール構想」",
        "Gsuit 以外のアプリ",
        "藤崎会長、牛島委員",
        "児童・生徒および教職員 1 人 1 台のタブレット",
        "A 案",
        "第 1 回",
        "〔委員〕 13名が全員",
        "ID パスワード",
        "OS のサポート",
        "3D V",  # a capital after a digit is not lone
        "〔会〕 〔長〕",  # brackets on both sides
        "A 〔B〕",
    ],
)
def test_step4_letter_spacing_left_alone(raw: str) -> None:
    assert text(raw) == raw


def test_step4_join_letter_spacing_tolerates_odd_input() -> None:
    assert join_letter_spacing("") == ""
    assert join_letter_spacing("日") == "日"
    assert join_letter_spacing("日  時") == "日  時"  # an empty token breaks the run


# --------------------------------------------------------------------------- step 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("会議  資料", "会議 資料"),
        ("会議\u3000資料", "会議\u3000資料"),  # a single U+3000 is kept
        ("会議\u3000\u3000資料", "会議 資料"),
        ("会議 \u3000資料", "会議 資料"),
        ("\u3000本諮問は、", "本諮問は、"),  # indent stripped
        ("-    項目   です  ", "項目 です"),
    ],
)
def test_step5_spaces(raw: str, expected: str) -> None:
    assert text(raw) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("a 1。あｱﾞ゙１（〜−～ＬＶ㍉①\u2f08\ufa19é\u0301") | st.characters()))
def test_to_norm_is_nfkc_with_the_folds(raw: str) -> None:
    expected = unicodedata.normalize("NFKC", raw).replace("\u301c", "~").replace("\u2212", "-")
    assert to_norm(raw) == expected


def test_norm_is_nfkc_of_text() -> None:
    c = clean_line("〔会 長〕　令和２年１２月１５日（火）　ＬＧＷＡＮ")
    assert c.text == "〔会長〕　令和２年１２月１５日（火）　ＬＧＷＡＮ"
    assert c.norm == "〔会長〕 令和2年12月15日(火) LGWAN"


# --------------------------------------------------------------------------- the seed


def test_seed_lines_clean_without_error_and_idempotently(seed_lines: list[str]) -> None:
    assert len(seed_lines) >= 329
    for raw in seed_lines:
        first = clean_line(raw)
        again = clean_line(first.text)
        assert again.text == first.text, raw
        assert again.marker == ""
        assert not again.bold
        assert first.norm == unicodedata.normalize("NFKC", first.text)


def test_seed_specific_lines(seed_lines: list[str]) -> None:
    by_number = {n: clean_line(seed_lines[n - 1]) for n in (5, 7, 18, 48, 70, 98, 134, 244)}
    assert by_number[5].text == "1 日時 令和2年12月15日（火）"
    assert by_number[5].marker == "-"
    assert by_number[7].text == "2 場所 多摩市役所本庁舎3階 301会議室"
    assert "\t" not in by_number[18].text
    assert "ため、LGWAN又は政府系" in by_number[48].text
    assert by_number[70].text.startswith("〔会長〕 紙で")
    assert "LGWAN回線" in by_number[98].text
    assert "。DV被害者等" in by_number[98].text
    assert by_number[134].marker == "-"
    assert by_number[134].text.startswith("〔委員〕")
    assert by_number[244].bold
    assert "**" not in by_number[244].text


# --------------------------------------------------------------------------- property

_FRAGMENTS = [
    *"あいうかきくアイウカキクー日時場所会長課税委員々〇一二",
    *"ABDGLNVWxyz0123１２",
    " ",
    " ",
    "\u3000",
    "\t",
    *"〔〕（）「」【】()",
    *"-*・•●>#○※、。：",
    "**",
    "__",
    "- ",
    "・",
    "\u200b",
    "\ufeff",
    "\f",
    "\x01",
    "\u00a0",
    "\u2f08",
    "\u2ed1",
    "\ufa19",
    "L G W A N",
    "D V",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join))
def test_clean_line_is_idempotent_property(raw: str) -> None:
    first = clean_line(raw)
    again = clean_line(first.text)
    assert again.text == first.text
    assert again.marker == ""
    assert not again.bold
    t = first.text
    assert t == t.strip()
    assert "  " not in t and "\u3000\u3000" not in t and " \u3000" not in t
    assert not any(ch in t for ch in "\u200b\ufeff\f\t\x01\u2f08\u2ed1\ufa19")
    assert first.norm == unicodedata.normalize("NFKC", t)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS) | st.characters(), max_size=25).map("".join))
def test_translation_skipped_only_when_it_changes_nothing(raw: str) -> None:
    assert normalise._translate(raw) == raw.translate(compat_table())


def test_every_character_of_the_table_is_seen_by_the_search() -> None:
    for cp in compat_table():
        assert normalise._translate(chr(cp)) == chr(cp).translate(compat_table()), hex(cp)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from([*_FRAGMENTS, *"日時会長アイｱ①ⅡＬＶａé_〈〉"]) | st.characters(),
        max_size=25,
    ).map("".join)
)
def test_letter_spacing_quick_test_skips_only_lines_without_a_link(raw: str) -> None:
    assert join_letter_spacing(raw) == normalise._join_linked(raw)


# --------------------------------------------------------------------------- page numbers


@pytest.mark.parametrize(
    "line",
    [
        "- 3 -",
        "-3-",
        "－３－",
        "― 12 ―",
        "3/12",
        "３／１２",
        "3 ページ",
        "３ページ",
        "Page 3",
        "page 3 of 12",
    ],
)
def test_is_page_artifact(line: str) -> None:
    assert is_page_artifact(line)
    assert is_page_artifact(f"  {line}  ")
    assert is_page_number(to_norm(line))
    # the parser asks is_page_number only about a text starting as a page number may
    assert to_norm(line).strip()[0] in normalise.PAGE_NUMBER_STARTS


@given(st.text(alphabet="-－−―0123456789０１２ pPageofｐ/ページ　", max_size=12))
@settings(max_examples=300, deadline=None)
def test_page_numbers_start_as_page_number_starts_says(text: str) -> None:
    norm = to_norm(text)
    if is_page_number(norm, at_page_edge=True):
        assert norm.strip()[0] in normalise.PAGE_NUMBER_STARTS


@pytest.mark.parametrize(
    "line", ["", "3", "(3)", "（3）", "3 日", "令和3年", "1/3程度", "- 3 出席委員", "①"]
)
def test_is_page_artifact_rejects(line: str) -> None:
    assert not is_page_artifact(line)
    assert not is_page_number(to_norm(line))


@pytest.mark.parametrize(("line", "expected"), [("3", True), ("１２", True), ("(3)", False)])
def test_is_page_artifact_bare_number_at_page_edge(line: str, expected: bool) -> None:
    assert is_page_artifact(line, at_page_edge=True) is expected


# --------------------------------------------------------------------------- running headers


def _pdf(pages: list[list[str]]) -> tuple[list[str], list[int]]:
    lines: list[str] = []
    numbers: list[int] = []
    for number, page in enumerate(pages, start=1):
        lines.extend(page)
        numbers.extend([number] * len(page))
    return lines, numbers


def test_running_headers_text_file_only_page_numbers() -> None:
    lines = ["本文", "- 3 -", "3", "－４－", "〔委員〕 本文", "(3)"]
    assert find_running_headers(lines, None) == {1, 3}


def test_running_headers_repeated_header_and_page_numbers() -> None:
    lines, pages = _pdf(
        [
            ["令和2年度第9回 議事録", "本文一", "- 1 -"],
            ["", "令和2年度第9回 議事録", "本文二", "- 2 -", ""],
            ["令和2年度第9回　議事録", "本文三", "3"],  # U+3000 and a bare page number
            ["令和2年度第9回 議事録", "本文四", "4/4"],
        ]
    )
    found = find_running_headers(lines, pages)
    assert {lines[i] for i in found} == {
        "令和2年度第9回 議事録",
        "令和2年度第9回　議事録",
        "- 1 -",
        "- 2 -",
        "3",
        "4/4",
    }
    assert not any(lines[i].startswith("本文") for i in found)
    assert len(found) == 8


def test_running_headers_with_page_number_inside() -> None:
    lines, pages = _pdf([[f"議事録 {n}", f"本文{'一二三四'[n - 1]}"] for n in range(1, 5)])
    assert find_running_headers(lines, pages) == {0, 2, 4, 6}


def test_running_headers_digit_masking_merges_numbered_edges() -> None:
    # Documented trade-off: edge lines that differ only in their digits count as one text.
    lines, pages = _pdf([[f"諮問{n}", "本文"[n % 2]] for n in range(1, 5)])
    assert find_running_headers(lines, pages) == {0, 2, 4, 6}


def test_running_headers_need_three_pages() -> None:
    pages_text = [
        ["見出し", "本文"],
        ["見出し", "本文二"],
        ["別", "本文三"],
        ["別紙", "本文四"],
        ["x", "y"],
    ]
    lines, pages = _pdf(pages_text)
    assert find_running_headers(lines, pages) == set()


@pytest.mark.parametrize("n_pages", [2, 3])
def test_running_headers_small_documents_need_more_than_half(n_pages: int) -> None:
    body = [[f"本文{'一二三'[n]}", f"結び{'一二三'[n]}"] for n in range(n_pages)]
    body[0].insert(0, "審議会")
    body[1].insert(0, "審議会")
    lines, pages = _pdf(body)
    assert {lines[i] for i in find_running_headers(lines, pages)} == {"審議会"}


def test_running_headers_single_page_and_middle_numbers() -> None:
    lines, pages = _pdf([["表題", "3", "本文", "12"]])
    assert find_running_headers(lines, pages) == {3}  # bare number only at an edge


def test_running_headers_length_mismatch() -> None:
    with pytest.raises(ValueError):
        find_running_headers(["a", "b"], [1])


# --------------------------------------------------------------------------- repeated lines


def test_repeated_lines_consecutive() -> None:
    texts = ["一行目", "二行目", "二行目", "三行目"]
    assert find_repeated_lines(texts) == [(2, 1)]


def test_repeated_lines_blank_between_and_chain() -> None:
    texts = ["同じ行", "", "同じ行 ", "\u200b同じ行", "別"]
    assert find_repeated_lines(texts) == [(2, 0), (3, 0)]


def test_repeated_lines_not_consecutive_and_blank_lines_ignored() -> None:
    assert find_repeated_lines(["a行", "b行", "a行", "", ""]) == []


def test_repeated_lines_seed(seed_lines: list[str]) -> None:
    # Lines 143 and 145 are identical but line 144 sits between them.
    assert clean_line(seed_lines[142]).text == clean_line(seed_lines[144]).text
    assert find_repeated_lines(seed_lines) == []


def test_module_exports() -> None:
    for name in normalise.__all__:
        assert hasattr(normalise, name)
