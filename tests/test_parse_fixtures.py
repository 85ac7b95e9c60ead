"""Small hand-written minutes of other years and other dress (``tests/fixtures/minutes/``).

Each fixture is written for a group of cases; line numbers are found by the text of the line so
that a fixture can be edited without renumbering the tests.
"""

from __future__ import annotations

import datetime

import pytest

from test_parse_support import (
    FIXTURES,
    codes,
    diag_lines,
    line_of,
    one,
    parse_file,
    role,
    rows,
)


def _load(name):
    return parse_file(FIXTURES / name)


# ================================================= 平成, １．日時 items, vice-chair, absent members
@pytest.fixture(scope="module")
def heisei():
    return _load("tama_h30-03_heisei.txt")


def test_heisei_meeting(heisei):
    m = one(heisei, "meetings")
    assert m["meeting_id"] == "tama-2018-03"
    assert (m["fiscal_year"], m["session_no"]) == (2018, 3)
    assert m["date"] == datetime.date(2018, 10, 25)
    assert (m["start_time"], m["end_time"]) == ("14:00", "16:30")  # afternoon, wrapped line
    assert m["venue"] == "多摩市役所本庁舎3階 301会議室"
    assert m["observers"] == 2  # ６．傍聴人　２名
    assert (m["members_present"], m["members_absent"]) == (5, 2)
    assert (m["previous_minutes"], m["previous_minutes_signed_by"]) == ("平成30年度第2回", "牛島")
    assert m["designated_signer"] == "川合"
    assert m["signatories"] == ["藤崎太郎", "川合次郎"]


def test_heisei_vice_chair_and_absent_members(heisei):
    members = [(a["name"], a["role"], a["present"]) for a in heisei.tables["attendees"][:7]]
    assert members == [
        ("藤崎", "chair", True),
        ("吉田", "vice_chair", True),
        ("牛島", "member", True),
        ("川合", "member", True),
        ("小谷", "member", True),
        ("山田", "member", False),
        ("佐藤", "member", False),
    ]
    absent_line = line_of(heisei, "欠席委員")
    assert {a["source_line"] for a in heisei.tables["attendees"] if not a["present"]} == {
        absent_line
    }
    assert role(heisei, absent_line) == "attendee"


def test_vice_chair_speaks(heisei):
    turns = rows(heisei, "utterances", speaker_label="副会長")
    assert [(u["speaker_role"], u["kind"]) for u in turns] == [
        ("vice_chair", "question"),
        ("vice_chair", "remark"),
    ]
    assert "unknown_speaker" not in codes(heisei)


def test_external_provision_with_opinion_on_a_majority_vote(heisei):
    a = one(heisei, "consultations", label="ア")
    assert (a["title"], a["category"]) == ("個人情報の外部提供", "external_provision")
    assert (a["bureau"], a["departments"]) == ("健康福祉部", ["健康推進課"])
    assert (a["decision"], a["vote"]) == ("approved_with_conditions", "majority")
    assert a["conditions"] == "提供先における個人情報の管理状況を定期的に確認することに留意すること"
    assert a["decision_line"] == line_of(heisei, "との意見を付して同意")
    assert role(heisei, line_of(heisei, "挙手多数（賛成4名、反対1名）")) == "vote"


def test_online_connection(heisei):
    i = one(heisei, "consultations", label="イ")
    assert (i["title"], i["category"]) == (
        "電子計算機の結合による個人情報の提供",
        "online_connection",
    )
    assert (i["decision"], i["vote"], i["conditions"]) == ("approved", "unanimous", None)


def test_heisei_is_clean(heisei):
    assert heisei.tables["diagnostics"] == []


# ============================== 令和３年度 in full-width dress, colon speakers, a 報告事項
@pytest.fixture(scope="module")
def fullwidth():
    return _load("tama_r03-01_fullwidth.txt")


def test_fullwidth_head(fullwidth):
    m = one(fullwidth, "meetings")
    assert m["meeting_id"] == "tama-2021-01"
    assert m["title"] == "令和３年度第１回多摩市情報公開・個人情報保護運営審議会議事録（要点記録）"
    assert m["council"] == "情報公開・個人情報保護運営審議会"
    assert m["date"] == datetime.date(2021, 5, 20)
    assert (m["start_time"], m["end_time"]) == ("14:00", "16:00")
    assert m["venue"] == "多摩市役所本庁舎３階\u3000特別会議室"  # as written
    assert m["observers"] == 3  # ６　傍聴者　３人
    assert (m["members_present"], m["members_absent"]) == (6, 1)
    assert (m["consultations"], m["reports"]) == (1, 1)
    assert role(fullwidth, 1) == role(fullwidth, 2) == "title"  # a title over two lines


def test_fullwidth_staff(fullwidth):
    sec = rows(fullwidth, "attendees", role="secretariat")
    assert [(a["name"], a["organization"]) for a in sec] == [
        ("岩田", "文書法制課"),
        ("原田", "文書法制課"),  # the 事務局 line's 課, named by 岩田文書法制課長
    ]
    dept = rows(fullwidth, "attendees", role="department")
    assert [(a["name"], a["organization"], a["consultation_labels"]) for a in dept] == [
        ("森", "健康推進課", ["ア"]),
        ("石井", "健康推進課", ["ア"]),
    ]


def test_sensitive_collection(fullwidth):
    a = one(fullwidth, "consultations", consultation_id="tama-2021-01-ア")
    assert (a["category"], a["decision"], a["vote"]) == (
        "sensitive_collection",
        "approved",
        "unanimous",
    )
    items = [i["item"] for i in rows(fullwidth, "personal_data_items")]
    assert items == ["氏名", "住所", "電話番号", "基礎疾患の有無"]


def test_colon_style_turns(fullwidth):
    turns = rows(fullwidth, "utterances", deliberation_group="ア")
    got = [(u["speaker_label"], u["speaker_role"], u["speaker_org"], u["kind"]) for u in turns]
    assert got == [
        ("会長", "chair", None, "question"),
        ("健康推進課長", "department", "健康推進課", "answer"),
        ("委員", "member", None, "question"),
        ("健康推進課長", "department", "健康推進課", "answer"),
        ("副会長", "vice_chair", None, "question"),
        ("健康推進課長", "department", "健康推進課", "answer"),
        ("副会長", "vice_chair", None, "remark"),
        ("会長", "chair", None, "procedural"),
    ]


def test_label_alone_on_its_line(fullwidth):
    u = one(fullwidth, "utterances", deliberation_group="ア", seq=3)
    label_line = line_of(fullwidth, "委員：")
    assert (u["source_line"], u["source_line_end"]) == (label_line, label_line + 1)
    assert u["text"] == "聞き取った情報はいつまで保管するのか。"


def test_page_number_inside_a_turn(fullwidth):
    page = line_of(fullwidth, "- 3 -")
    assert role(fullwidth, page) == "page_artifact"
    assert page in diag_lines(fullwidth, "page_artifact")
    u = one(fullwidth, "utterances", deliberation_group="ア", seq=4)
    assert u["source_line"] < page < u["source_line_end"]
    assert u["text"] == "接種が終了した時点で、保管している記録はシュレッダーで廃棄する。"


def test_turn_wrapped_across_a_blank_line(fullwidth):
    u = one(fullwidth, "utterances", deliberation_group="ア", seq=5)
    assert u["text"] == "聞き取りの業務を外部の事業者に委託することはあるか。"
    assert u["source_line_end"] - u["source_line"] == 2
    assert role(fullwidth, u["source_line"] + 1) == "blank"


def test_duplicated_line_is_set_aside(fullwidth):
    first = line_of(fullwidth, "委託はせず、職員が聞き取る。")
    assert role(fullwidth, first) == "answer"
    assert role(fullwidth, first + 1) == "repeated"
    assert diag_lines(fullwidth, "repeated_line") == [first + 1]
    assert len(rows(fullwidth, "utterances", text="委託はせず、職員が聞き取る。")) == 1


def test_report_beside_consultation(fullwidth):
    r = one(fullwidth, "consultations", agenda_kind="report")
    assert r["consultation_id"] == "tama-2021-01-報告ア"
    assert r["label"] == "ア"
    assert r["deliberation_group"] == "報告ア"
    assert (r["decision"], r["vote"], r["category"]) == ("not_applicable", "none", "other")
    assert (r["bureau"], r["departments"]) == ("総務部", ["文書法制課"])
    assert r["summary"].startswith("本報告は、令和２年度の")
    assert r["questions"] == 1
    turns = rows(fullwidth, "utterances", deliberation_group="報告ア")
    assert [(u["speaker_role"], u["kind"], u["reply_to"]) for u in turns] == [
        ("member", "question", None),
        ("secretariat", "answer", 1),
    ]
    # the report's ア never collides with the 諮問's ア
    assert one(fullwidth, "consultations", consultation_id="tama-2021-01-ア")["agenda_kind"] == (
        "consultation"
    )
    assert "no_decision" not in codes(fullwidth)
    assert "no_safeguards_stated" not in codes(fullwidth)


def test_fullwidth_follow_up(fullwidth):
    (f,) = fullwidth.tables["follow_ups"]
    assert (f["kind"], f["text"]) == ("request", "委託はしない方がいいと思う。")


def test_fullwidth_diagnostics(fullwidth):
    assert sorted(codes(fullwidth)) == ["page_artifact", "repeated_line"]


# ====================================== 令和元年度, (1)日時 items, 1 開会 headings, outcomes
@pytest.fixture(scope="module")
def outcomes():
    return _load("tama_r01-02_outcomes.txt")


def test_gannen_head(outcomes):
    m = one(outcomes, "meetings")
    assert m["meeting_id"] == "tama-2019-02"
    assert (m["fiscal_year"], m["date"]) == (2019, datetime.date(2019, 7, 23))
    assert (m["start_time"], m["end_time"]) == ("10:00", "11:45")
    assert m["observers"] == 0
    assert (m["previous_minutes"], m["previous_minutes_signed_by"]) == ("令和元年度第1回", "小谷")
    assert m["designated_signer"] == "牛島"


def test_numbered_headings(outcomes):
    for text in ("1 開会", "2 前回議事録の確定", "3 議事録署名委員の指名", "4 議題", "5 閉会"):
        assert role(outcomes, line_of(outcomes, text)) == "agenda_heading", text
    assert role(outcomes, line_of(outcomes, "牛島委員が指名された")) == "signer_designation"


def test_deferred(outcomes):
    a = one(outcomes, "consultations", label="ア")
    assert a["category"] == "collection_from_third_party"
    assert (a["decision"], a["vote"]) == ("deferred", "none")  # no vote is taken
    chair = one(outcomes, "utterances", deliberation_group="ア", seq=3)
    assert chair["kind"] == "procedural"  # 本諮問は継続審議としたい


def test_rejected_on_a_vote(outcomes):
    i = one(outcomes, "consultations", label="イ")
    assert i["category"] == "use_outside_purpose"
    assert (i["decision"], i["vote"]) == ("rejected", "majority")  # ・・・挙手少数・・・
    assert "同意しないことが決定された" in i["decision_text"]


def test_withdrawn_without_vote(outcomes):
    u = one(outcomes, "consultations", label="ウ")
    assert (u["title"], u["category"]) == ("個人情報を取り扱う情報システムの変更", "system_change")
    assert (u["decision"], u["vote"]) == ("withdrawn", "none")
    assert not rows(outcomes, "utterances", deliberation_group="ウ")


def test_outcomes_diagnostics(outcomes):
    assert sorted(diag_lines(outcomes, "no_safeguards_stated")) == [
        line_of(outcomes, "ア 本人以外から"),
        line_of(outcomes, "ウ 個人情報を取り扱う"),
    ]
    assert set(codes(outcomes)) == {"no_safeguards_stated"}


# ============================================== 第十回, kanji date, flags for the reader
@pytest.fixture(scope="module")
def flags():
    return _load("tama_r02-10_flags.txt")


def test_kanji_session_and_date(flags):
    m = one(flags, "meetings")
    assert (m["meeting_id"], m["session_no"]) == ("tama-2020-10", 10)
    assert m["date"] == datetime.date(2021, 2, 9)  # 令和三年二月九日, fiscal 2020
    assert (m["start_time"], m["end_time"]) == ("10:00", "11:30")


def test_unknown_speakers_are_flagged_and_kept(flags):
    unknown = {d["source_line"]: d["message"] for d in flags.tables["diagnostics"]}
    kankyo = line_of(flags, "〔環境政策〕")
    yamada = line_of(flags, "〔山田委員〕")
    kosodate = line_of(flags, "〔子育て〕")
    assert diag_lines(flags, "unknown_speaker") == [kankyo, yamada, kosodate]
    assert "matches no one present" in unknown[kankyo]
    assert "山田" in unknown[yamada]
    assert "子育て支援課" in unknown[kosodate]
    u = one(flags, "utterances", source_line=kankyo)
    assert (u["speaker_role"], u["speaker_org"], u["kind"]) == ("unknown", None, "answer")
    u = one(flags, "utterances", source_line=yamada)
    assert (u["speaker_role"], u["kind"]) == ("member", "question")
    u = one(flags, "utterances", source_line=kosodate)
    assert (u["speaker_role"], u["speaker_org"]) == ("department", "子育て支援課")


def test_consultation_without_decision(flags):
    i = one(flags, "consultations", label="イ")
    assert (i["decision"], i["vote"], i["decision_line"]) == ("unknown", "unknown", None)
    assert diag_lines(flags, "no_decision") == [i["source_line_start"]]
    assert one(flags, "consultations", label="ア")["decision"] == "approved"


def test_signatory_not_present(flags):
    last = len(flags.tables["source_lines"])
    assert diag_lines(flags, "signatory_not_present") == [last]
    assert diag_lines(flags, "signatory_not_designated") == [last]
    assert one(flags, "meetings")["signatories"] == ["藤崎太郎", "松村花子"]


def test_flags_diagnostics(flags):
    assert sorted(codes(flags)) == [
        "no_decision",
        "signatory_not_designated",
        "signatory_not_present",
        "unknown_speaker",
        "unknown_speaker",
        "unknown_speaker",
    ]


# ========================================================= a document that stops mid-turn
@pytest.fixture(scope="module")
def truncated():
    return _load("tama_r04-02_truncated.txt")


def test_truncated_builds_what_it_has(truncated):
    m = one(truncated, "meetings")
    assert (m["meeting_id"], m["observers"], m["signatories"]) == ("tama-2022-02", 1, [])
    a = one(truncated, "consultations", label="ア")
    assert (a["category"], a["decision"], a["vote"]) == ("outsourcing", "unknown", "unknown")
    assert [i["item"] for i in truncated.tables["personal_data_items"]] == [
        "氏名",
        "住所",
        "子の生年月日",
    ]
    turns = truncated.tables["utterances"]
    assert [(u["kind"], u["reply_to"]) for u in turns] == [("question", None), ("answer", 1)]
    assert turns[-1]["text"] == "事業者のデータセンターに保存され、国内の施設であ"


def test_truncated_is_flagged(truncated):
    last = len(truncated.tables["source_lines"])
    assert diag_lines(truncated, "truncated_document") == [last]
    assert diag_lines(truncated, "no_decision") == [line_of(truncated, "ア 個人情報を取り扱う")]
    (msg,) = [
        d["message"] for d in truncated.tables["diagnostics"] if d["code"] == "truncated_document"
    ]
    assert "inside the deliberation of ア" in msg
    assert "unplaced_line" not in codes(truncated)
