"""Unit tests of the parser's pieces on single lines and short texts (no whole document)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.parse import decisions, head, statements
from analysis.parse import segment as segment_module
from analysis.parse.lines import prepare, sentences_with_offsets
from analysis.parse.segment import (
    decision_finished,
    heading_section,
    is_decision,
    read_vote,
    segment,
)
from analysis.parse.speech import (
    follow_ups,
    is_speaker_label,
    label_name,
    label_role,
    resolve_speaker,
    speaker_vocabulary,
    utterance_kind,
)
from analysis.parse.statements import categorise, classify_measure
from analysis.reference import load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference()


# ------------------------------------------------------------------------------------ votes
MAJ = {"vote": "majority"}
COUNCIL = "情報公開・個人情報保護運営審議会"
TAMA = "多摩市" + COUNCIL
DONE = "同意することが決定された。"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("・・・挙手全員・・・", {"vote": "unanimous"}),
        ("．．．挙手全員．．．", {"vote": "unanimous"}),
        ("（全員挙手）", {"vote": "unanimous"}),
        ("※ 異議なし", {"vote": "unanimous"}),
        ("・・・挙手多数・・・", {"vote": "majority"}),
        ("・・・挙手多数（賛成5名、反対2名）・・・", {"vote": "majority", "for": 5, "against": 2}),
        ("挙手多数（賛成５名、反対２名、棄権１名）", {**MAJ, "for": 5, "against": 2, "abstain": 1}),
        ("・・・挙手少数・・・", {"vote": "majority"}),
        ("・・・賛成多数・・・", {"vote": "majority"}),
    ],
)  # fmt: skip
def test_vote_lines(ref, line, expected):
    assert read_vote(line, ref.vote_phrases) == expected


@pytest.mark.parametrize(
    "line",
    [
        "〔会長〕 他に質問等がなければ、本諮問について同意の方の挙手をお願いしたい。",
        "前回の審議では挙手全員で同意することが決定されたが、今回は事情が異なる。",
        "・・・",
        "",
    ],
)
def test_not_vote_lines(ref, line):
    assert read_vote(line, ref.vote_phrases) is None


_VOTE_PIECES = [
    *"挙手全員多数・…（）、 \n。",
    *("賛成", "異議", "なし", "5名", "反対2", "本件", "多摩市", "〔会長〕"),
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_VOTE_PIECES), max_size=14).map("".join))
def test_vote_quick_test_skips_only_lines_without_a_vote(ref, line):
    norm = unicodedata.normalize("NFKC", line)
    expected = segment_module._read_stripped_vote(norm, ref.vote_phrases)
    assert segment_module.read_vote_norm(norm, ref.vote_phrases) == expected


# The clause boundaries written as look-behinds before the separator (slower to search).
_PLAIN_CLAUSE = re.compile(
    r"(?:(?<=[しせ])|(?<=させる)|(?<=とともに)|(?<=こと)|(?<=ている)|(?<=なく)|(?<=また))、"
    r"|(?<=[るい])・(?=\S)"
)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("しせさせるとともにこといてなくまたるい、・ 。あ漢\n"), max_size=30))
def test_clause_boundaries_are_the_plain_look_behinds(text):
    assert statements.RE_CLAUSE.split(text) == _PLAIN_CLAUSE.split(text)


def _measures_one_by_one(text, ref):
    """classify_measure as its docstring defines it: every keyword of every measure tried."""
    norm = unicodedata.normalize("NFKC", text).replace(" ", "")
    hits = []
    for m in ref.measures:
        kw = next((k for k in m.keywords if unicodedata.normalize("NFKC", k) in norm), None)
        if kw is not None:
            hits.append((m.measure, m.control_category, kw))
    return hits


def _follow_ups_one_by_one(text, role, ref):
    speaker = "department" if role in ("department", "secretariat") else "member"
    out = []
    for offset, sentence in sentences_with_offsets(text):
        kinds = set()
        for cue in ref.follow_up_cues:
            if cue.speaker == speaker and cue.kind not in kinds and cue.pattern in sentence:
                kinds.add(cue.kind)
                out.append((cue.kind, sentence, cue.pattern, offset))
    return out


def _cue_words(ref):
    words = [kw for m in ref.measures for kw in m.keywords]
    words += [c.pattern for c in (*ref.follow_up_cues, *ref.utterance_cues)]
    return [*words, *"、。？ ＬＧＷＡＮ", "し", "ます", "ついて"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_measures_and_follow_ups_found_as_by_trying_every_cue(ref, data):
    text = data.draw(st.lists(st.sampled_from(_cue_words(ref)), max_size=12).map("".join))
    assert classify_measure(text, ref) == _measures_one_by_one(text, ref)
    for role in ("department", "member"):
        found = [(f.kind, f.text, f.matched, f.offset) for f in follow_ups(text, role, ref)]
        assert found == _follow_ups_one_by_one(text, role, ref)


# ---------------------------------------------------------------------- headings, decisions
@pytest.mark.parametrize(
    ("title", "section"),
    [
        ("開会", "content"),
        ("前回議事録の確定", "content"),
        ("議事録署名委員の指名", "content"),
        ("議題", "agenda"),
        ("諮問に関する審議", "agenda"),
        ("報告事項", "agenda"),
        ("閉会", "closing"),
    ],
)
def test_heading_section(title, section):
    assert heading_section(title) == section


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("※ 課税課から諮問のあったア「…」について、同意することが決定された。", True),
        ("課税課から諮問のあった「個人情報を取り扱う業務の処理の外部委託」", True),
        ("※ 教育振興課からの諮問ク「…」", True),  # the start of a wrapped decision
        ("本件は、同意することに決定した。", True),
        ("本諮問については、継続審議とすることとなった。", True),
        ("※ 以下、質疑等", False),
        ("※ 資料に基づき説明があった。", False),
        ("事業者を選定することが決定した場合は報告する。", False),  # no 諮問/本件
    ],
)
def test_is_decision(line, expected):
    assert is_decision(line) is expected


def test_decision_finished():
    assert not decision_finished("課税課から諮問のあった「個人情報の外部提供」")
    assert decision_finished("…について、継続審議とすることとなった")
    assert decision_finished("…について、同意することが決定された。")


# ------------------------------------------------------------------------------- segmenting
@pytest.mark.parametrize(
    ("line", "key", "rest"),
    [
        ("1 日時 令和2年12月15日（火）", "datetime", "令和2年12月15日(火)"),
        ("- 1 日 時 令和2年12月15日（火）", "datetime", "令和2年12月15日(火)"),
        ("１　日　時　令和３年５月２０日（木）", "datetime", "令和3年5月20日(木)"),
        ("１．日時　平成30年10月25日", "datetime", "平成30年10月25日"),
        ("(1) 日時 令和元年7月23日", "datetime", "令和元年7月23日"),
        ("（２）場所　301会議室", "venue", "301会議室"),
        ("日　時：令和３年５月２０日", "datetime", "令和3年5月20日"),
        ("一、傍聴人 なし", "observers", "なし"),
        ("６　傍聴者　３人", "observers", "3人"),
        ("4 欠席委員 山田委員、佐藤委員", "absent", "山田委員、佐藤委員"),
        ("事務局 岩田文書法制課長", "secretariat", "岩田文書法制課長"),
    ],
)
def test_info_items(ref, line, key, rest):
    blocks = segment(prepare([line], None).content(), ref)
    assert [(b.kind, b.data["key"], b.data["rest"]) for b in blocks] == [("info", key, rest)]


def test_an_info_word_inside_a_sentence_is_not_an_item(ref):
    blocks = segment(prepare(["場所は市役所である。"], None).content(), ref)
    assert blocks[0].kind == "paragraph"


@pytest.mark.parametrize(
    ("line", "kind", "data"),
    [
        ("(1) 開会", "section", {"num": 1, "title": "開会"}),
        ("（２）前回議事録の確定", "section", {"num": 2, "title": "前回議事録の確定"}),
        ("1 開会", "section", {"num": None, "title": "開会"}),
        ("４．議題", "section", {"num": None, "title": "議題"}),
        ("① 諮問に関する審議", "circled", {"title": "諮問に関する審議"}),
        ("② 報告事項", "circled", {"title": "報告事項"}),
        ("※ 以下、質疑等", "qa_marker", {}),
        ("【質疑応答】", "qa_marker", {}),
        ("〔課税課〕", "presenter", {"label": "課税課"}),
        ("（委員）", "presenter", {"label": "委員"}),
        ("〔会 長〕 紙か。", "utterance", {"label": "会長", "text": "紙か。"}),
        ("○会長：病名を聞くのか。", "utterance", {"label": "会長", "text": "病名を聞くのか。"}),
        ("○草川会長　開会します。", "utterance", {"label": "草川会長", "text": "開会します。"}),
        ("委員：", "utterance", {"label": "委員", "text": ""}),
        ("健康推進課長：聞かない。", "utterance", {"label": "健康推進課長", "text": "聞かない。"}),
        ("課税：聞かない。", "utterance", {"label": "課税", "text": "聞かない。"}),
    ],
)  # fmt: skip
def test_block_kinds(ref, line, kind, data):
    blocks = segment(prepare(["内容及び要点", line], None).content(), ref)
    assert (blocks[1].kind, blocks[1].data) == (kind, data)


@pytest.mark.parametrize(
    ("line", "label", "title", "org"),
    [
        ("ア 個人情報の外部提供（総務部）", "ア", "個人情報の外部提供", "総務部"),
        ("ア　要配慮個人情報の収集（健康推進課）", "ア", "要配慮個人情報の収集", "健康推進課"),
        ("（イ）個人情報の目的外利用", "イ", "個人情報の目的外利用", None),
        ("ウ．電子計算機の結合（市民経済部市民課）", "ウ", "電子計算機の結合", "市民経済部市民課"),
        ("ア 特定健診の案内（健康推進課）", "ア", "特定健診の案内", "健康推進課"),
    ],
)
def test_agenda_headers(ref, line, label, title, org):
    blocks = segment(prepare(["(4) 議題", line], None).content(), ref)
    b = blocks[1]
    assert b.kind == "cons_header"
    assert (b.data["label"], b.data["title"], b.data["org"]) == (label, title, org)


@pytest.mark.parametrize(
    "line",
    [
        "ア 氏名",  # a list item in an explanation
        "オンライン化することで、所要時間は1/3程度軽減される。",
        "ア 個人情報の外部提供についての諮問である。",  # a sentence
    ],
)
def test_not_agenda_headers(ref, line):
    blocks = segment(prepare(["(4) 議題", line], None).content(), ref)
    assert blocks[1].kind != "cons_header"


def test_wrapped_lines_are_joined(ref):
    lines = [
        "(4) 議題",
        "〔課税〕 ニーズがわからなかったの",
        "",
        "で慎重に検討した。",
        "〔委員〕 わかった。",
        "本諮問は、システムを",
        "- 3 -",
        "変更する諮問である。",
    ]
    blocks = segment(prepare(lines, None).content(), ref)
    got = [(b.kind, b.text(), [ln.no for ln in b.lines]) for b in blocks[1:]]
    assert got == [
        ("utterance", "ニーズがわからなかったので慎重に検討した。", [2, 4]),
        ("utterance", "わかった。", [5]),
        ("paragraph", "本諮問は、システムを変更する諮問である。", [6, 8]),
    ]


def test_signing_formula_opens_the_closing(ref):
    lines = ["(4) 議題", "ここに署名する。", "会長", "藤崎太郎"]
    blocks = segment(prepare(lines, None).content(), ref)
    assert [b.section for b in blocks[1:]] == ["closing", "closing", "closing"]


# ---------------------------------------------------------------------------------- speakers
@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("会長", "chair"),
        ("会 長", "chair"),
        ("藤崎会長", "chair"),
        ("副会長", "vice_chair"),
        ("吉田副会長", "vice_chair"),
        ("委員", "member"),
        ("Ａ委員", "member"),
        ("事務局", "secretariat"),
        ("事務局（文書法制課）", "secretariat"),
        ("課税", None),
        ("健康推進課長", None),
    ],
)
def test_label_role(label, role):
    assert label_role(label) == role


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("山田委員", "山田"),
        ("吉田副会長", "吉田"),
        ("会 長", None),
        ("Ａ委員", None),
        ("A委員", None),
    ],
)
def test_label_name(label, name):
    assert label_name(label) == name


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("会長", True),
        ("健康推進課長", True),
        ("担当課", True),
        ("課税", True),  # a short name in organizations.csv
        ("提供する項目", False),
        ("理由", False),
        ("日時", False),
    ],
)
def test_is_speaker_label(ref, label, expected):
    assert is_speaker_label(label, speaker_vocabulary(ref)) is expected


@pytest.mark.parametrize(
    ("label", "presenting", "present", "expected"),
    [
        ("課税", ["課税課"], ["課税課", "市民課"], ("department", "課税課", "presenting")),
        ("市民", ["課税課", "市民課"], [], ("department", "市民課", "presenting")),
        ("課 税", [], ["課税課"], ("department", "課税課", "present")),
        ("スポーツ", [], [], ("department", "スポーツ振興課", "reference")),
        ("担当課", ["健康推進課"], [], ("department", "健康推進課", "presenting")),
        ("会 長", [], [], ("chair", None, "label")),
        ("環境政策", ["課税課"], ["課税課"], ("unknown", None, "none")),
    ],
)
def test_resolve_speaker(ref, label, presenting, present, expected):
    sp = resolve_speaker(label, presenting, present, ref)
    assert (sp.role, sp.org, sp.via) == expected
    assert sp.resolved is (sp.role != "unknown")


@pytest.mark.parametrize(
    ("text", "role", "next_role", "kind"),
    [
        ("担当職員は何名か", "member", "department", "question"),
        ("本諮問について同意の方の挙手をお願いしたい。", "chair", None, "procedural"),
        ("本諮問は継続審議としたい。", "chair", None, "procedural"),
        ("気を付けてほしい。", "chair", "chair", "remark"),
        ("資料を確認した。", "member", "department", "question"),
        ("13名程度。", "department", "member", "answer"),
        ("職員が行う。", "unknown", "member", "answer"),
        ("誰が行うのか。", "unknown", "department", "question"),
        ("本人の同意は得ないのか。", "vice_chair", "department", "question"),
    ],
)  # fmt: skip
def test_utterance_kind(ref, text, role, next_role, kind):
    assert utterance_kind(text, role, next_role, ref) == kind


# ------------------------------------------------------------------------------------- head
@pytest.mark.parametrize(
    ("title", "fiscal_year", "session", "council"),
    [
        (f"令和2年度第9回{COUNCIL}議事録（要点記録）", 2020, 9, COUNCIL),
        (f"令和３年度第１回{TAMA}議事録（要点記録）", 2021, 1, TAMA),
        (f"令和元年度第2回{COUNCIL}会議録", 2019, 2, COUNCIL),
        (f"平成30年度 第3回 {COUNCIL} 議事録", 2018, 3, COUNCIL),
        (f"令和2年度第十回{COUNCIL}議事録", 2020, 10, COUNCIL),
        (f"{TAMA}（令和３年度第１回）会議録", 2021, 1, TAMA),
        (f"{COUNCIL}議事録", None, None, COUNCIL),
    ],
)
def test_title_parts(title, fiscal_year, session, council):
    assert head.title_parts(title) == head.TitleParts(fiscal_year, session, council)


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("なし", 0),
        ("無し", 0),
        ("0名", 0),
        ("2名", 2),
        ("３人", 3),
        ("三名", 3),
        ("１２名", 12),
        ("不明", None),
    ],
)
def test_observers(text, n):
    assert head.observers(text) == n


def test_previous_minutes_and_signer():
    text = (
        "事前に郵送した前回議事録（令和2年度第6回）について、修正箇所がないことを審議会で確認した。"
        "よって前回議事録は確定し、川合委員が署名した。"
    )
    assert head.previous_minutes(text) == ("令和2年度第6回", "川合")
    text = "前回（令和3年度第2回）の議事録を確定し、吉田副会長が署名した。"
    assert head.previous_minutes(text) == ("令和3年度第2回", "吉田")
    assert head.designated_signer("櫻井委員が指名された。") == "櫻井"
    assert head.designated_signer("議事録署名委員に牛島委員を指名した。") == "牛島"
    assert head.designated_signer("署名委員は、川合委員とした。") == "川合"
    assert head.designated_signer("指名はなかった。") is None


# ---------------------------------------------------------------------------------- outcomes
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("…について、同意することが決定された。", "approved"),
        ("…について、「…」との意見を付して同意することが決定された。", "approved_with_conditions"),
        ("…について、記録を残すことを条件として" + DONE, "approved_with_conditions"),
        ("…について、同意しないことが決定された。", "rejected"),
        ("…について、不同意とすることに決定した。", "rejected"),
        ("…については、継続審議とすることとなった。", "deferred"),
        ("…については、取り下げられた。", "withdrawn"),
        ("…について、審議を行った。", None),
    ],
)
def test_decision_code(ref, text, code):
    assert decisions.decision_code(text, ref.decision_phrases) == code


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        (
            "課税課から諮問のあったア「提供」について、「記録を残すこと」との意見を付して",
            "記録を残すこと",
        ),
        ("ア「提供」について、「記録を残すこと」という意見を付して", "記録を残すこと"),
        ("ア「提供」について、取扱いに十分留意するよう意見を付して", "取扱いに十分留意する"),
        ("ア「提供」については、記録を残すことを条件として", "記録を残すこと"),
        ("ア「提供」について、「記録を残すこと」との条件を付して", "記録を残すこと"),
        ("ア「提供」について、次の意見を付して", None),
        ("ア「提供」について、条件付きで", None),
        ("ア「提供」について、", None),
    ],
)
def test_conditions_in(text, conditions):
    assert decisions.conditions_in(text + DONE) == conditions


def test_conditions_after_the_sentence():
    text = "ア「提供」について、次の意見を付して" + DONE + "「記録を残すこと」"
    assert decisions.conditions_in(text) == "記録を残すこと"


def test_labels_and_titles_named_in_a_decision():
    text = "教育振興課から諮問のあったク「委託」ケ「委託」コ「変更」について、" + DONE
    assert decisions.labels_named(text) == ["ク", "ケ", "コ"]
    assert decisions.titles_without_label(text, {"ク", "ケ", "コ"}) == []
    text = "課税課・市民課から諮問のあった「委託」ウ「変更」について、" + DONE
    assert decisions.labels_named(text) == ["ウ"]
    assert decisions.titles_without_label(text, {"イ", "ウ"}) == ["委託"]
    # a katakana word before a quote is not a label
    assert decisions.labels_named("システム「A」について") == []


# -------------------------------------------------------------------------------- categories
@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("個人情報の処理に係る情報システムの変更", "system_change"),
        ("個人情報を取り扱う情報システムの変更", "system_change"),
        ("電子計算機処理に係る記録項目の変更", "system_change"),
        ("個人情報を取り扱う業務の処理の外部委託", "outsourcing"),
        ("電子計算機処理の外部委託", "outsourcing"),
        ("個人情報の本人以外収集", "collection_from_third_party"),
        ("本人以外からの個人情報の収集", "collection_from_third_party"),
        ("個人情報の目的外利用", "use_outside_purpose"),
        ("個人情報の外部提供", "external_provision"),
        ("個人情報の提供", "external_provision"),
        ("電子計算機の結合", "online_connection"),
        ("オンライン結合による提供", "online_connection"),
        ("電子計算機の結合による個人情報の提供", "online_connection"),
        ("要配慮個人情報の収集", "sensitive_collection"),
        ("思想・信条に関する個人情報の収集", "sensitive_collection"),
        ("その他の事項", "other"),
    ],
)
def test_categorise(ref, title, category):
    assert categorise(title, ref) == category


# ------------------------------------------------------------------------------------- lines
def test_prepare_sets_aside_page_numbers_and_repeats():
    raw = ["本諮問は、", "- 3 -", "－４－", "", "同じ行。", "", "同じ行。", "別の行。", "12", "(3)"]
    prep = prepare(raw, None)
    got = [(ln.no, ln.role) for ln in prep.lines]
    assert got == [
        (1, None),
        (2, "page_artifact"),
        (3, "page_artifact"),
        (4, "blank"),
        (5, None),
        (6, "blank"),
        (7, "repeated"),
        (8, None),
        (9, None),  # a bare number is a page number only at a PDF page's edge
        (10, None),  # (3) is a list number
    ]
    assert [(f.code, f.line) for f in prep.findings] == [
        ("page_artifact", 2),
        ("page_artifact", 3),
        ("repeated_line", 7),
    ]
    assert prepare(raw, None).lines[6].ref == "line 5"


def test_prepare_on_pdf_pages_finds_running_headers():
    raw = ["議事録", "本文1", "1", "議事録", "本文2", "2", "議事録", "本文3", "3"]
    pages = (1, 1, 1, 2, 2, 2, 3, 3, 3)
    prep = prepare(raw, pages)
    roles = [ln.role for ln in prep.lines]
    assert roles == ["page_artifact", None, "page_artifact"] * 3


# ------------------------------------------------------------------------------------ names
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("藤崎会長、牛島委員、川合委員", ["藤崎会長", "牛島委員", "川合委員"]),
        ("藤崎 会長、吉田 副会長、牛島　委員", ["藤崎会長", "吉田副会長", "牛島委員"]),
        ("赤松課税課長 宇佐川土地係長", ["赤松課税課長", "宇佐川土地係長"]),
        ("", []),
    ],
)
def test_split_list(text, tokens):
    from analysis.names import split_list

    assert split_list(text) == tokens


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("赤松課税課長", ("赤松", "課税課長")),
        ("有賀手当・医療・相談担当", ("有賀", "手当・医療・相談担当")),
        ("藤崎太郎", ("藤崎太郎", None)),
        ("森", ("森", None)),
    ],
)
def test_split_person(token, expected):
    from analysis.names import split_person

    assert split_person(token) == expected
