"""Fragments of minutes written for one case each, parsed whole (head and closing added).

Every parse here is also checked against the line-ledger invariant.
"""

from __future__ import annotations

import datetime

import pytest

from analysis.parse.minutes import NotMinutesError
from test_parse_support import (
    assert_ledger,
    codes,
    diag_lines,
    fragment,
    line_of,
    one,
    parse_text,
    role,
    rows,
)

SUMMARY = "本諮問は、課税情報を国に提供する、個人情報の外部提供についての諮問である。"
DECIDED = "※ 課税課から諮問のあったア「個人情報の外部提供」について"
PRESENTED = """
ア 個人情報の外部提供（市民経済部課税課）
〔課税課〕
本諮問は、課税情報を国に提供する、個人情報の外部提供についての諮問である。
個人情報保護措置として、LGWAN回線を使用する。
"""


def _decided(decision_lines: str, vote: str = "・・・挙手全員・・・"):
    res = fragment(PRESENTED + vote + "\n" + decision_lines)
    assert_ledger(res)
    return res, one(res, "consultations", label="ア")


# ------------------------------------------------------------------------------- outcomes
def test_opinion_in_quotes():
    _, a = _decided(
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、「提供の記録を残すこと」"
        "との意見を付して同意することが決定された。"
    )
    assert (a["decision"], a["conditions"]) == ("approved_with_conditions", "提供の記録を残すこと")


def test_opinion_as_a_clause():
    _, a = _decided(
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、提供先での取扱いに十分留意する"
        "よう意見を付して同意することが決定された。"
    )
    assert (a["decision"], a["conditions"]) == (
        "approved_with_conditions",
        "提供先での取扱いに十分留意する",
    )


def test_opinion_listed_on_the_lines_below():
    res, a = _decided(
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、次の意見を付して同意することが"
        "決定された。\n（意見）\n・提供先における管理状況を年に1回確認すること。\n"
        "・提供の記録を残すこと。"
    )
    assert a["decision"] == "approved_with_conditions"
    assert a["conditions"] == (
        "提供先における管理状況を年に1回確認すること。\n提供の記録を残すこと。"
    )
    for text in ("（意見）", "提供の記録を残すこと。"):
        assert role(res, line_of(res, text)) == "decision"
    assert a["source_line_end"] == line_of(res, "提供の記録を残すこと。")


def test_conditions_not_written_are_flagged():
    res, a = _decided(
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、条件付きで同意することが"
        "決定された。"
    )
    assert (a["decision"], a["conditions"]) == ("approved_with_conditions", None)
    assert diag_lines(res, "conditions_unread") == [a["decision_line"]]


@pytest.mark.parametrize(
    "sentence",
    [
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、不同意とすることが決定された。",
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、同意しないことが決定された。",
    ],
)
def test_rejected(sentence):
    _, a = _decided(sentence, vote="・・・挙手少数・・・")
    assert (a["decision"], a["vote"]) == ("rejected", "majority")


@pytest.mark.parametrize(
    ("outcome", "decision"),
    [
        ("継続審議とすることとなった。", "deferred"),
        ("継続して審議することとした。", "deferred"),
        ("取下げとなった。", "withdrawn"),
        ("取り下げられた。", "withdrawn"),
    ],
)
def test_deferred_and_withdrawn_without_a_vote(outcome, decision):
    _, a = _decided(f"{DECIDED}は、{outcome}", vote="")
    assert (a["decision"], a["vote"]) == (decision, "none")


def test_approved_without_a_vote_line_has_unknown_vote():
    _, a = _decided(
        "※ 課税課から諮問のあったア「個人情報の外部提供」について、同意することが決定された。",
        vote="",
    )
    assert (a["decision"], a["vote"]) == ("approved", "unknown")


def test_decision_recorded_without_marker_or_label():
    res, a = _decided("本件は、同意することに決定した。")
    assert (a["decision"], a["vote"]) == ("approved", "unanimous")
    assert role(res, a["decision_line"]) == "decision"


def test_decision_wrapped_over_two_lines_names_the_item_by_title():
    res, a = _decided(
        "※ 課税課から諮問のあった「個人情報の外部提供」\nについて、同意することが決定された。"
    )
    assert a["decision"] == "approved"
    assert a["decision_text"] == (
        "課税課から諮問のあった「個人情報の外部提供」について、同意することが決定された。"
    )
    first = line_of(res, "※ 課税課から")
    assert role(res, first) == role(res, first + 1) == "decision"
    assert diag_lines(res, "decision_label_missing") == [first]


def test_decision_in_bold_markup():
    _, a = _decided(
        "※ **課税課から諮問のあったア「個人情報の外部提供」について、同意することが決定された。**"
    )
    assert a["decision"] == "approved"
    assert not a["decision_text"].endswith("**")


def test_decision_naming_no_outcome_is_flagged():
    res, a = _decided("※ 課税課から諮問のあったア「個人情報の外部提供」について、審議を行った。")
    assert (a["decision"], a["vote"]) == ("unknown", "unanimous")
    assert diag_lines(res, "decision_unread") == [a["decision_line"]]


def test_each_decision_takes_the_vote_before_it():
    res = fragment(
        """
ア 個人情報の外部提供（市民経済部課税課）
イ 個人情報の目的外利用（市民経済部市民課）
〔課税課・市民課〕
本諮問は、課税情報を国に提供し、住民票の情報を目的外に利用する、個人情報の外部提供と目的外利用についての諮問である。
〔会長〕 まず、アについて同意の方の挙手をお願いしたい。
・・・挙手全員・・・
※ 課税課から諮問のあったア「個人情報の外部提供」について、同意することが決定された。
〔会長〕 次に、イについて同意の方の挙手をお願いしたい。
．．．挙手多数（賛成５名、反対２名）．．．
※ 市民課から諮問のあったイ「個人情報の目的外利用」について、同意することが決定された。
"""
    )
    assert_ledger(res)
    got = [(c["label"], c["vote"], c["deliberation_group"]) for c in res.tables["consultations"]]
    assert got == [("ア", "unanimous", "ア・イ"), ("イ", "majority", "ア・イ")]
    assert [c["category"] for c in res.tables["consultations"]] == [
        "external_provision",
        "use_outside_purpose",
    ]


# ----------------------------------------------------------------------------- categories
@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("個人情報の外部提供", "external_provision"),
        ("個人情報の目的外提供", "external_provision"),
        ("電子計算機の結合", "online_connection"),
        ("オンライン結合による個人情報の提供", "online_connection"),
        ("要配慮個人情報の収集", "sensitive_collection"),
        ("個人情報を取り扱う情報システムの変更", "system_change"),
        ("個人情報の処理に係る情報システムの導入", "system_change"),
        ("本人以外からの個人情報の収集", "collection_from_third_party"),
        ("個人情報の本人外収集", "collection_from_third_party"),
        ("個人情報の目的外利用", "use_outside_purpose"),
        ("個人情報を取り扱う業務の処理の外部委託", "outsourcing"),
    ],
)
def test_category_in_context(title, category):
    res = fragment(
        f"ア {title}（市民経済部課税課）\n〔課税課〕\n本諮問は、{title}についての諮問である。\n"
        "・・・挙手全員・・・\n"
        f"※ 課税課から諮問のあったア「{title}」について、同意することが決定された。"
    )
    assert_ledger(res)
    c = one(res, "consultations", label="ア")
    assert (c["title"], c["category"], c["decision"]) == (title, category, "approved")


# ------------------------------------------------------------------------- head in other dress
BODY = """
ア 個人情報の外部提供（市民経済部課税課）
〔課税課〕
本諮問は、課税情報を国に提供する、個人情報の外部提供についての諮問である。
・・・挙手全員・・・
※ 課税課から諮問のあったア「個人情報の外部提供」について、同意することが決定された。
"""

HEADS = {
    "heisei31": (
        "平成31年度第1回情報公開・個人情報保護運営審議会議事録\n"
        "日時 平成31年4月25日（木）午後1時30分から午後3時まで\n場所 301会議室\n"
        "傍聴者 ３人\n出席委員 藤崎会長、吉田副会長\n",
        ("tama-2019-01", datetime.date(2019, 4, 25), "13:30", "15:00", "301会議室", 3, 2),
    ),
    "parenthesised_session_colons": (
        "多摩市情報公開・個人情報保護運営審議会（令和３年度第１回）会議録\n"
        "日　時：令和３年５月２０日（木）午後２時～午後４時１５分\n場　所：特別会議室\n"
        "傍聴人：三名\n出席委員：藤崎会長、牛島委員（２名）\n",
        ("tama-2021-01", datetime.date(2021, 5, 20), "14:00", "16:15", "特別会議室", 3, 2),
    ),
    "kanji_session_paren_items": (
        "令和元年度 第 十二 回 情報公開・個人情報保護運営審議会 議事録\n"
        "（1）日時 令和２年３月２６日（木）午前10時00分から午前12時00分まで\n"
        "（2）場所 301会議室\n（3）傍聴人 0名\n（4）出席委員 藤崎会長、牛島委員\n"
        "（5）欠席委員 なし\n",
        ("tama-2019-12", datetime.date(2020, 3, 26), "10:00", "12:00", "301会議室", 0, 2),
    ),
    "list_markers_time_wrapped": (
        "令和2年度第3回情報公開・個人情報保護運営審議会議事録\n"
        "- 1 日 時 令和2年7月1日（水）\n午前10時00分から\n午前11時00分まで\n"
        "- 2 場 所 301会議室\n- 3 傍聴人 なし\n- 4 出席委員 藤崎会長\n",
        ("tama-2020-03", datetime.date(2020, 7, 1), "10:00", "11:00", "301会議室", 0, 1),
    ),
    "kanji_item_numbers_noon": (
        "令和2年度第4回情報公開・個人情報保護運営審議会議事録\n"
        "一、日時 令和2年8月4日（火）午前10時から正午まで\n二、場所 301会議室\n"
        "三、傍聴人 なし\n四、出席委員 藤崎会長、牛島委員、川合委員\n",
        ("tama-2020-04", datetime.date(2020, 8, 4), "10:00", "12:00", "301会議室", 0, 3),
    ),
}


@pytest.mark.parametrize("name", sorted(HEADS))
def test_head_in_other_dress(name):
    head, expected = HEADS[name]
    res = parse_text(head + "\n内容及び要点\n(1) 議題\n" + BODY)
    assert_ledger(res)
    m = one(res, "meetings")
    got = (
        m["meeting_id"],
        m["date"],
        m["start_time"],
        m["end_time"],
        m["venue"],
        m["observers"],
        m["members_present"],
    )
    assert got == expected
    assert m["council"] == "情報公開・個人情報保護運営審議会"
    assert one(res, "consultations", label="ア")["decision"] == "approved"
    assert "unplaced_line" not in codes(res)
    assert "member_without_role" not in codes(res)


def test_title_without_year_or_session():
    res = parse_text(
        "情報公開・個人情報保護運営審議会議事録\n日時 令和2年7月1日（水）午前10時から正午まで\n"
        "内容及び要点\n(1) 議題\n" + BODY
    )
    m = one(res, "meetings")
    assert (m["meeting_id"], m["fiscal_year"], m["session_no"]) == ("tama-2020-00", 2020, 0)
    assert {"fiscal_year_from_date", "missing_session"} <= set(codes(res))


def test_not_minutes():
    with pytest.raises(NotMinutesError):
        parse_text("お知らせ\n本日は晴天なり。\n")


# ---------------------------------------------------------------------------- attendance
def test_vice_chair_label_without_a_vice_chair_present():
    head = (
        "令和3年度第5回情報公開・個人情報保護運営審議会議事録（要点記録）\n"
        "1 日時 令和3年10月5日（火）午前10時から午前11時まで\n"
        "2 出席委員 藤崎会長、牛島委員\n3 欠席委員 吉田副会長\n4 傍聴人 なし\n"
        "5 内容及び要点\n(1) 議題\n"
    )
    res = fragment(
        PRESENTED + "※ 以下、質疑等\n〔副会長〕 提供先はどこか。\n〔課税〕 国税庁である。\n",
        head=head,
    )
    assert_ledger(res)
    assert [(a["name"], a["role"], a["present"]) for a in res.tables["attendees"]] == [
        ("藤崎", "chair", True),
        ("牛島", "member", True),
        ("吉田", "vice_chair", False),
    ]
    m = one(res, "meetings")
    assert (m["members_present"], m["members_absent"]) == (2, 1)
    u = one(res, "utterances", seq=1)
    assert (u["speaker_role"], u["kind"]) == ("vice_chair", "question")
    assert diag_lines(res, "unknown_speaker") == [u["source_line"]]


def test_named_member_label_present_is_not_flagged():
    qa = "※ 以下、質疑等\n〔牛島委員〕 提供先はどこか。\n〔課税〕 国税庁である。\n"
    res = fragment(PRESENTED + qa)
    assert one(res, "utterances", seq=1)["speaker_role"] == "member"
    assert "unknown_speaker" not in codes(res)


# ---------------------------------------------------------------------------- speaker dress
def test_speaker_turns_in_other_dress():
    res = fragment(
        """
ア 個人情報の外部提供（市民経済部課税課）
課税課：本諮問は、課税情報を国に提供する、個人情報の外部提供についての諮問である。
氏名、住所を取り扱う。
個人情報保護措置として、LGWAN回線を使用する。
○藤崎会長　提供の頻度はどのくらいか。
担当課：年に1回である。
（委員）
提供先はどこか。
○課税課長　国税庁である。
○会 長：他に質問等がなければ、本諮問について同意の方の挙手をお願いしたい。
（全員挙手）
※ 課税課から諮問のあったア「個人情報の外部提供」について、同意することが決定された。
"""
    )
    assert_ledger(res)
    a = one(res, "consultations", label="ア")
    # the department's first turn is its explanation, not a turn of the Q&A
    assert a["summary"] == SUMMARY
    assert role(res, line_of(res, "課税課：本諮問は")) == "summary"
    assert [i["item"] for i in res.tables["personal_data_items"]] == ["氏名", "住所"]
    got = [
        (u["speaker_label"], u["speaker_role"], u["speaker_org"], u["kind"], u["reply_to"])
        for u in res.tables["utterances"]
    ]
    assert got == [
        ("藤崎会長", "chair", None, "question", None),
        ("担当課", "department", "課税課", "answer", 1),
        ("委員", "member", None, "question", None),
        ("課税課長", "department", "課税課", "answer", 3),
        ("会 長", "chair", None, "procedural", None),
    ]
    assert (a["decision"], a["vote"]) == ("approved", "unanimous")
    assert "unknown_speaker" not in codes(res)


def test_presenter_label_alone_then_member_label_alone():
    res = fragment(
        """
ア 個人情報の外部提供（市民経済部課税課）
〔課税課〕
本諮問は、課税情報を国に提供する、個人情報の外部提供についての諮問である。
〔委員〕
提供先はどこか。
〔課税〕
国税庁である。
"""
    )
    assert_ledger(res)
    assert role(res, line_of(res, "〔課税課〕")) == "presenter"
    turns = [(u["speaker_role"], u["kind"], u["text"]) for u in res.tables["utterances"]]
    assert turns == [
        ("member", "question", "提供先はどこか。"),
        ("department", "answer", "国税庁である。"),
    ]


def test_colon_in_an_explanation_is_not_a_turn():
    res = fragment(
        PRESENTED.replace(
            "個人情報保護措置として", "提供する項目：氏名、住所を取り扱う。\n個人情報保護措置として"
        )
    )
    assert_ledger(res)
    assert res.tables["utterances"] == []
    assert role(res, line_of(res, "提供する項目：")) == "personal_data"


def test_page_number_and_repeated_line_inside_a_paragraph():
    res = fragment(
        """
ア 個人情報の外部提供（市民経済部課税課）
〔課税課〕
本諮問は、課税情報を国に提供する、個人情報の
－４－
外部提供についての諮問である。
外部提供についての諮問である。
"""
    )
    assert_ledger(res)
    a = one(res, "consultations", label="ア")
    assert a["summary"] == SUMMARY
    page = line_of(res, "－４－")
    assert role(res, page) == "page_artifact"
    assert role(res, page + 2) == "repeated"
    assert diag_lines(res, "repeated_line") == [page + 2]


# ------------------------------------------------------------------------ agenda structure
def test_agenda_listed_before_the_deliberations():
    res = fragment(
        """
ア 個人情報の外部提供（市民経済部課税課）
イ 個人情報の目的外利用（市民経済部市民課）
(3) 諮問に関する審議
""".lstrip()
        + BODY
        + """
イ 個人情報の目的外利用（市民経済部市民課）
〔市民課〕
本諮問は、住民票の情報を目的外に利用する、個人情報の目的外利用についての諮問である。
・・・挙手全員・・・
※ 市民課から諮問のあったイ「個人情報の目的外利用」について、同意することが決定された。
"""
    )
    assert_ledger(res)
    got = [(c["consultation_id"], c["decision"]) for c in res.tables["consultations"]]
    assert got == [("tama-2021-04-ア", "approved"), ("tama-2021-04-イ", "approved")]
    listing = line_of(res, "ア 個人情報の外部提供")
    assert role(res, listing) == role(res, listing + 1) == "agenda"
    assert "no_decision" not in codes(res)


def test_report_under_a_numbered_section():
    res = fragment(
        BODY
        + """
(3) 報告事項
ア 個人情報保護条例の改正について（総務部文書法制課）
〔事務局〕
本報告は、条例の改正内容についての報告である。
〔委員〕 施行日はいつか。
〔事務局〕 令和5年4月1日である。
"""
    )
    assert_ledger(res)
    r = one(res, "consultations", agenda_kind="report")
    assert (r["consultation_id"], r["deliberation_group"], r["decision"], r["vote"]) == (
        "tama-2021-04-報告ア",
        "報告ア",
        "not_applicable",
        "none",
    )
    assert [u["speaker_role"] for u in rows(res, "utterances", deliberation_group="報告ア")] == [
        "member",
        "secretariat",
    ]
    assert one(res, "meetings")["reports"] == 1


def test_duplicate_label_keeps_ids_unique():
    res = fragment(BODY + BODY)
    assert_ledger(res)
    ids = [c["consultation_id"] for c in res.tables["consultations"]]
    assert ids == ["tama-2021-04-ア", "tama-2021-04-ア-2"]
    assert [c["deliberation_group"] for c in res.tables["consultations"]] == ["ア", "ア-2"]
    assert len(diag_lines(res, "duplicate_label")) == 1


def test_stray_lines_are_unplaced_with_a_diagnostic():
    res = fragment("・・・挙手全員・・・\n" + BODY)
    assert_ledger(res)
    stray = line_of(res, "・・・挙手全員・・・")
    assert role(res, stray) == "unplaced"
    assert diag_lines(res, "unplaced_line") == [stray]


def test_vote_head_counts_reach_the_row():
    _, a = _decided(
        f"{DECIDED}、同意することが決定された。", vote="・・・挙手多数（賛成5名、反対2名）・・・"
    )
    assert (a["vote"], a["votes_for"], a["votes_against"]) == ("majority", 5, 2)
    _, a = _decided(f"{DECIDED}、同意することが決定された。")
    assert (a["vote"], a["votes_for"], a["votes_against"]) == ("unanimous", None, None)


def test_vote_head_counts_are_stored():
    _, a = _decided(
        f"{DECIDED}、同意することが決定された。", vote="・・・挙手多数（賛成5名、反対2名）・・・"
    )
    assert a["vote"] == "majority"
    assert (a["votes_for"], a["votes_against"]) == (5, 2)


def test_synthetic_marker_line():
    from test_parse_support import HEAD

    marker = "【合成データ】ベンチマーク用に生成（実在しない会議。seed=0、1/1件目）\n"
    res = fragment(BODY, head=marker + HEAD)
    assert_ledger(res)
    assert one(res, "meetings")["is_synthetic"] is True
    assert role(res, 1) == "meeting_info"
    assert role(res, 2) == "title"
    assert one(res, "meetings")["meeting_id"] == "tama-2021-04"
    assert fragment(BODY).tables["meetings"][0]["is_synthetic"] is False
