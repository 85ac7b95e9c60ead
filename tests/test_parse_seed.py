"""The seed minutes (令和2年度第9回), as a careful reader records them.

Every expected value here was read off ``data/raw/tama_2020-12-15_r02-09_minutes.txt`` by hand;
line numbers are the file's own. When the parser disagrees with the text, the parser is wrong.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pytest

from test_parse_support import SEED, assert_ledger, ledger, one, parse_file, rows


@pytest.fixture(scope="module")
def seed():
    return parse_file(SEED)


# ---------------------------------------------------------------------------------- meeting
def test_meeting_row(seed):
    m = one(seed, "meetings")
    expected = {
        "meeting_id": "tama-2020-09",
        "municipality": "多摩市",
        "council": "情報公開・個人情報保護運営審議会",
        "title": "令和2年度第9回情報公開・個人情報保護運営審議会議事録（要点記録）",
        "fiscal_year": 2020,
        "session_no": 9,
        "date": datetime.date(2020, 12, 15),
        "start_time": "10:00",
        "end_time": "12:00",  # 午前12時00分 is noon
        "venue": "多摩市役所本庁舎3階 301会議室",
        "observers": 0,  # 傍聴人 なし
        "members_present": 7,
        "members_absent": 0,
        "previous_minutes": "令和2年度第6回",
        "previous_minutes_signed_by": "川合",
        "designated_signer": "櫻井",
        "signatories": ["藤崎太郎", "榎中和子"],
        "consultations": 10,
        "reports": 0,
        "source_format": "text",
        "source_encoding": "utf-8",
        "source_lines": 330,
        "is_synthetic": False,
    }
    assert {k: m[k] for k in expected} == expected
    assert seed.meeting_id == "tama-2020-09"


# -------------------------------------------------------------------------------- attendees
def test_attendee_counts_by_role(seed):
    assert len(seed.tables["attendees"]) == 30
    by_role = Counter(a["role"] for a in seed.tables["attendees"])
    assert by_role == {"chair": 1, "member": 6, "secretariat": 4, "department": 19}
    assert all(a["present"] for a in seed.tables["attendees"])


def test_members_from_line_8(seed):
    members = [(a["name"], a["role"]) for a in rows(seed, "attendees", source_line=8)]
    assert members == [
        ("藤崎", "chair"),
        ("牛島", "member"),
        ("川合", "member"),
        ("小谷", "member"),
        ("櫻井", "member"),
        ("帆足", "member"),
        ("松村", "member"),
    ]


def test_secretariat_from_line_14(seed):
    sec = rows(seed, "attendees", source_line=14)
    assert [(a["name"], a["title"]) for a in sec] == [
        ("岩田", "文書法制課長"),
        ("原田", "文書公開係長"),
        ("安達", "主任"),
        ("村岡", "主事"),
    ]
    assert {(a["role"], a["organization"], a["bureau"]) for a in sec} == {
        ("secretariat", "文書法制課", "総務部")
    }


def test_department_staff_sample(seed):
    akamatsu = one(seed, "attendees", name="赤松", source_line=18)
    assert akamatsu == {
        "meeting_id": "tama-2020-09",
        "name": "赤松",
        "role": "department",
        "title": "課税課長",
        "organization": "課税課",
        "bureau": "市民経済部",
        "consultation_labels": ["ア"],
        "present": True,
        "source_line": 18,
    }
    # line 19 lists 課税課・市民課 together; the 課税課長 title names its 課
    assert one(seed, "attendees", name="赤松", source_line=19)["organization"] == "課税課"
    enomoto = one(seed, "attendees", name="榎本", source_line=19)
    assert enomoto["consultation_labels"] == ["イ", "ウ"]
    assert enomoto["title"] == "戸籍担当主査"
    # line 20 lists the same 榎本戸籍担当主査 under 市民課 alone
    assert enomoto["organization"] == "市民課"
    assert one(seed, "attendees", name="榎本", source_line=20)["consultation_labels"] == ["エ"]
    # 小尾市民税係長 and 新見主事: the minutes do not say which of the two 課
    assert one(seed, "attendees", name="小尾")["organization"] is None
    assert one(seed, "attendees", name="新見")["organization"] is None
    ariga = one(seed, "attendees", name="有賀")
    assert (ariga["title"], ariga["organization"], ariga["consultation_labels"]) == (
        "手当・医療・相談担当",
        "子育て支援課",
        ["キ"],
    )
    muroi = one(seed, "attendees", name="室井")
    assert muroi["consultation_labels"] == ["ク", "ケ", "コ"]
    assert (muroi["bureau"], muroi["organization"]) == ("教育部", "教育振興課")
    # two different 河井: スポーツ振興課 主事 and 子育て支援課 計画推進・保育担当主査
    kawai = rows(seed, "attendees", name="河井")
    assert [(a["organization"], a["title"], a["source_line"]) for a in kawai] == [
        ("スポーツ振興課", "主事", 21),
        ("子育て支援課", "計画推進・保育担当主査", 22),
    ]


# ---------------------------------------------------------------------------- consultations
CONSULTATIONS = [
    # label, category, bureau, departments, group, decision_line, start, end
    ("ア", "system_change", "市民経済部", ["課税課"], "ア", 82, 44, 82),
    ("イ", "outsourcing", "市民経済部", ["課税課", "市民課"], "イ・ウ", 119, 84, 120),
    ("ウ", "system_change", "市民経済部", ["課税課", "市民課"], "イ・ウ", 119, 86, 120),
    ("エ", "system_change", "市民経済部", ["市民課"], "エ", 152, 122, 152),
    (
        "オ",
        "collection_from_third_party",
        "くらしと文化部",
        ["スポーツ振興課"],
        "オ",
        204,
        154,
        204,
    ),
    ("カ", "outsourcing", "子ども青少年部", ["子育て支援課"], "カ", 244, 206, 244),
    ("キ", "use_outside_purpose", "子ども青少年部", ["子育て支援課"], "キ", 274, 246, 274),
    ("ク", "outsourcing", "教育部", ["教育振興課"], "ク・ケ・コ", 316, 276, 318),
    ("ケ", "outsourcing", "教育部", ["教育振興課"], "ク・ケ・コ", 316, 278, 318),
    ("コ", "system_change", "教育部", ["教育振興課"], "ク・ケ・コ", 316, 280, 318),
]


def test_consultations(seed):
    got = [
        (
            c["label"],
            c["category"],
            c["bureau"],
            c["departments"],
            c["deliberation_group"],
            c["decision_line"],
            c["source_line_start"],
            c["source_line_end"],
        )
        for c in seed.tables["consultations"]
    ]
    assert got == CONSULTATIONS
    for i, c in enumerate(seed.tables["consultations"], start=1):
        assert c["seq"] == i
        assert c["consultation_id"] == f"tama-2020-09-{c['label']}"
        assert c["agenda_kind"] == "consultation"
        assert (c["decision"], c["vote"], c["conditions"]) == ("approved", "unanimous", None)


def test_consultation_titles_and_texts(seed):
    a = one(seed, "consultations", label="ア")
    assert a["title"] == "個人情報の処理に係る情報システムの変更"
    assert a["decision_text"] == (
        "課税課から諮問のあったア「個人情報の処理に係る情報システムの変更」について、"
        "同意することが決定された。"
    )
    # the summary is written as read, LGWAN's letter-spacing repaired
    assert a["summary"].startswith("本諮問は、固定資産税の所有者や内容の異動を")
    assert "LGWAN又は政府系共通ネットワーク" in a["summary"]
    e = one(seed, "consultations", label="エ")
    assert e["title"] == "個人情報を取り扱う情報システムの変更"
    assert (e["bureau"], e["departments"]) == ("市民経済部", ["市民課"])  # （市民経済部・市民課）
    # オ's summary is wrapped over a blank line (158 | 160)
    o = one(seed, "consultations", label="オ")
    assert "録画機能付きの防犯カメラを設置することによる" in o["summary"]
    # the wrapped decision of イ・ウ (119–120), joined; イ named by title only
    i = one(seed, "consultations", label="イ")
    assert i["decision_text"] == (
        "課税課・市民課から諮問のあった「個人情報を取り扱う業務の処理の外部委託」"
        "ウ「個人情報の処理に係る情報システムの変更」について、同意することが決定された。"
    )
    # カ's decision is wrapped in **markup** (244)
    ka = one(seed, "consultations", label="カ")
    assert ka["decision_text"].startswith("子育て支援課から諮問のあった「")
    assert "**" not in ka["decision_text"]
    # one summary paragraph for the three 諮問 deliberated together
    summaries = {c["summary"] for c in rows(seed, "consultations", deliberation_group="ク・ケ・コ")}
    assert len(summaries) == 1
    assert "GIGA スクール構想" in summaries.pop()


def test_question_and_remark_counts(seed):
    counts = {
        c["deliberation_group"]: (c["questions"], c["remarks"])
        for c in seed.tables["consultations"]
    }
    assert counts == {
        "ア": (5, 0),
        "イ・ウ": (3, 0),
        "エ": (7, 0),
        "オ": (8, 0),
        "カ": (5, 0),
        "キ": (3, 0),
        "ク・ケ・コ": (5, 2),
    }


# ------------------------------------------------------------------------------- utterances
def test_utterance_counts_per_group(seed):
    per_group = Counter(u["deliberation_group"] for u in seed.tables["utterances"])
    assert per_group == {
        "ア": 11,
        "イ・ウ": 7,
        "エ": 15,
        "オ": 17,
        "カ": 11,
        "キ": 7,
        "ク・ケ・コ": 13,
    }
    kinds = Counter(u["kind"] for u in seed.tables["utterances"])
    assert kinds == {"question": 36, "answer": 36, "remark": 2, "procedural": 7}


def _turn(seed, line):
    return one(seed, "utterances", source_line=line)


def test_letter_spaced_chair_label(seed):
    u = _turn(seed, 70)
    assert (u["speaker_label"], u["speaker_role"], u["speaker_org"], u["kind"]) == (
        "会 長",
        "chair",
        None,
        "question",
    )
    assert (u["deliberation_group"], u["seq"]) == ("ア", 7)
    answer = _turn(seed, 72)
    assert (answer["speaker_label"], answer["speaker_org"], answer["reply_to"]) == (
        "課 税",
        "課税課",
        7,
    )


def test_abbreviated_department_labels(seed):
    shimin = _turn(seed, 113)
    assert (shimin["speaker_label"], shimin["speaker_role"], shimin["speaker_org"]) == (
        "市民",
        "department",
        "市民課",
    )
    assert (shimin["kind"], shimin["reply_to"]) == ("answer", 5)
    assert _turn(seed, 170)["speaker_org"] == "スポーツ振興課"
    assert _turn(seed, 222)["speaker_org"] == "子育て支援課"
    assert _turn(seed, 290)["speaker_org"] == "教育振興課"


def test_secretariat_answer(seed):
    u = _turn(seed, 194)
    assert (u["speaker_label"], u["speaker_role"], u["speaker_org"], u["kind"]) == (
        "事務局",
        "secretariat",
        None,
        "answer",
    )
    assert (u["deliberation_group"], u["seq"], u["reply_to"]) == ("オ", 14, 13)


def test_remarks_and_procedural_turns(seed):
    r296 = _turn(seed, 296)
    assert (r296["kind"], r296["reply_to"], r296["speaker_role"]) == ("remark", None, "member")
    r310 = _turn(seed, 310)
    assert (r310["kind"], r310["speaker_role"]) == ("remark", "chair")
    p78 = _turn(seed, 78)
    assert (p78["kind"], p78["speaker_label"], p78["seq"]) == ("procedural", "会 長", 11)
    assert {u["kind"] for u in seed.tables["utterances"] if "挙手をお願い" in u["text"]} == {
        "procedural"
    }


def test_reply_to_links(seed):
    # after the remark at 296 (seq 5), the answer at 300 answers the question at 298 (seq 6)
    assert _turn(seed, 300)["reply_to"] == 6
    for u in seed.tables["utterances"]:
        if u["kind"] == "answer":
            q = one(
                seed, "utterances", deliberation_group=u["deliberation_group"], seq=u["reply_to"]
            )
            assert q["kind"] == "question"
            assert q["source_line"] < u["source_line"]
        else:
            assert u["reply_to"] is None


def test_wrapped_turn_is_joined(seed):
    u = _turn(seed, 108)
    assert (u["source_line"], u["source_line_end"]) == (108, 109)
    assert u["text"].endswith("新型コロナウイルス感染症の影響もでていなかったので慎重に検討した。")
    assert (u["deliberation_group"], u["seq"], u["kind"], u["reply_to"]) == (
        "イ・ウ",
        4,
        "answer",
        3,
    )


def test_list_marked_turns(seed):
    # 134–148 are written as a markdown list (`- 〔委員〕 …`)
    u = _turn(seed, 134)
    assert (u["speaker_label"], u["text"]) == ("委員", "変更前後で経費の変化はあるのか。")


# -------------------------------------------------------------------- what the 諮問 state
def test_personal_data_items(seed):
    items = seed.tables["personal_data_items"]
    assert len(items) == 42
    per = Counter(i["consultation_id"].rsplit("-", 1)[1] for i in items)
    assert per == {"ア": 3, "イ": 8, "ウ": 8, "カ": 15, "キ": 8}
    assert [
        i["item"] for i in rows(seed, "personal_data_items", consultation_id="tama-2020-09-ア")
    ] == [
        "氏名",
        "住所",
        "固定資産の決定価格",
    ]
    i_items = rows(seed, "personal_data_items", consultation_id="tama-2020-09-イ")
    assert [(i["item"], i["item_group"]) for i in i_items] == [
        ("賦課期日現在の住所", "課税情報"),
        ("氏名", "課税情報"),
        ("市都民税年税額", "課税情報"),
        ("合計所得金額", "課税情報"),
        ("各所得金額", "課税情報"),
        ("控除合計額", "課税情報"),
        ("各控除金額", "課税情報"),
        ("戸籍情報（戸籍法第13条、住民基本台帳法第17条で規定されているもの）", None),
    ]
    assert {i["source_line"] for i in i_items} == {92}
    ka = rows(seed, "personal_data_items", consultation_id="tama-2020-09-カ")
    assert [(i["item"], i["item_group"]) for i in ka] == [
        ("氏名", None),
        ("住所", None),
        ("生年月日", None),
        ("年齢", None),
        ("電話番号", None),
        ("メールアドレス", None),
        ("事業所名", "現在の勤務先"),
        ("住所", "現在の勤務先"),
        ("電話番号", "現在の勤務先"),
        ("雇用形態（正規／非正規等）", "現在の勤務先"),
        ("保育士", "現在の勤務先 > 関連資格の有無"),
        ("幼稚園教諭", "現在の勤務先 > 関連資格の有無"),
        ("社会福祉士", "現在の勤務先 > 関連資格の有無"),
        ("看護師", "現在の勤務先 > 関連資格の有無"),
        ("保険士", "現在の勤務先 > 関連資格の有無"),
    ]
    assert {i["source_line"] for i in ka} == {212}


SAFEGUARDS = {
    "ア": (54, ["closed_network", "removable_media_rules", "internal_rules"]),
    "イ": (
        98,
        [
            "closed_network",
            "encryption",
            "firewall",
            "operation_error_prevention",
            "data_residue_prevention",
            "restricted_disclosure",
            "vendor_selection",
            "contract_clause",
            "forgery_prevention",
        ],
    ),
    "エ": (
        130,
        [
            "disaster_resilience",
            "disaster_resilience",
            "disaster_resilience",
            "tenant_isolation",
            "entry_control",
            "vendor_selection",
        ],
    ),
    "オ": (164, ["internal_rules", "locked_storage", "surveillance_staffing", "access_control"]),
    "カ": (
        216,
        [
            "contract_clause",
            "vendor_reporting",
            "locked_storage",
            "entry_control",
            "secure_transfer",
        ],
    ),
    "キ": (254, ["no_removal", "limited_staff", "locked_storage"]),
}


def test_safeguards(seed):
    assert len(seed.tables["safeguards"]) == 39
    for label, (line, measures) in SAFEGUARDS.items():
        got = rows(seed, "safeguards", consultation_id=f"tama-2020-09-{label}")
        assert [s["measure"] for s in got] == measures, label
        assert {s["source_line"] for s in got} == {line}, label
    # ウ shares イ's statement
    assert [s["measure"] for s in rows(seed, "safeguards", consultation_id="tama-2020-09-ウ")] == (
        SAFEGUARDS["イ"][1]
    )
    assert not rows(seed, "safeguards", deliberation_group="ク・ケ・コ")


def test_safeguard_texts_and_control_categories(seed):
    lg = rows(seed, "safeguards", consultation_id="tama-2020-09-ア")
    assert [(s["text"], s["control_category"], s["matched"]) for s in lg] == [
        ("LGWAN回線を使用し", "technical", "LGWAN"),
        (
            "外部記録媒体の取り扱いに関しては、外部記録媒体取扱実施手順書に従って使用する",
            "organizational",
            "外部記録媒体",
        ),
        (
            "外部記録媒体の取り扱いに関しては、外部記録媒体取扱実施手順書に従って使用する",
            "organizational",
            "手順書",
        ),
    ]
    ki = rows(seed, "safeguards", consultation_id="tama-2020-09-キ")
    assert [(s["measure"], s["control_category"]) for s in ki] == [
        ("no_removal", "organizational"),
        ("limited_staff", "human"),
        ("locked_storage", "physical"),
    ]
    assert ki[2]["text"] == "受給者リストは施錠できるキャビネットで厳重に保管する等の措置をとる"


def test_follow_ups(seed):
    got = [
        (f["deliberation_group"], f["seq"], f["kind"], f["source_line"], f["matched"])
        for f in seed.tables["follow_ups"]
    ]
    assert got == [
        ("カ", 6, "commitment", 230, "追加する"),
        ("カ", 8, "correction", 234, "記載の誤り"),
        ("ク・ケ・コ", 5, "request", 296, "方がいい"),
        ("ク・ケ・コ", 12, "request", 310, "てほしい"),
    ]
    assert seed.tables["follow_ups"][0]["text"] == "扱う個人情報の項目に追加する。"


# ------------------------------------------------------------------------------ diagnostics
def test_diagnostics(seed):
    got = sorted((d["source_line"], d["code"], d["severity"]) for d in seed.tables["diagnostics"])
    assert got == [
        (119, "decision_label_missing", "info"),
        (144, "truncated_question_repeated_answer", "warning"),
        (244, "decision_label_missing", "info"),
        (276, "no_safeguards_stated", "info"),
        (330, "signatory_not_designated", "warning"),
        (330, "signatory_not_present", "warning"),
    ]
    msg = {d["code"]: d["message"] for d in seed.tables["diagnostics"]}
    assert "榎中和子" in msg["signatory_not_present"]
    assert "櫻井" in msg["signatory_not_designated"]
    assert "asked in full at line 146" in msg["truncated_question_repeated_answer"]
    assert "repeats line 143" in msg["truncated_question_repeated_answer"]
    assert "ク・ケ・コ" in msg["no_safeguards_stated"]


# ----------------------------------------------------------------------------------- ledger
def test_ledger_roles_sample(seed):
    led = ledger(seed)
    expected = {
        1: ("blank", None),
        3: ("title", None),
        5: ("meeting_info", None),
        6: ("meeting_info", None),  # the time range, wrapped
        7: ("meeting_info", None),
        8: ("attendee", None),
        10: ("attendee_heading", None),
        12: ("attendee_heading", None),
        14: ("attendee", None),
        16: ("attendee_heading", None),
        24: ("attendee", None),
        26: ("meeting_info", None),
        28: ("meeting_info", None),
        30: ("agenda_heading", None),
        34: ("previous_minutes", None),
        38: ("signer_designation", None),
        42: ("agenda_heading", None),
        44: ("consultation_header", "tama-2020-09-ア"),
        46: ("presenter", "ア"),
        48: ("summary", "ア"),
        50: ("personal_data", "ア"),
        52: ("explanation", "ア"),
        54: ("safeguard", "ア"),
        56: ("qa_marker", "ア"),
        58: ("question", "ア#1"),
        78: ("procedural", "ア#11"),
        80: ("vote", "ア"),
        82: ("decision", "ア"),
        86: ("consultation_header", "tama-2020-09-ウ"),
        88: ("presenter", "イ・ウ"),
        94: ("reason", "イ・ウ"),
        108: ("answer", "イ・ウ#4"),
        109: ("answer", "イ・ウ#4"),
        119: ("decision", "イ・ウ"),
        120: ("decision", "イ・ウ"),
        158: ("summary", "オ"),
        159: ("blank", None),
        160: ("summary", "オ"),
        244: ("decision", "カ"),
        296: ("remark", "ク・ケ・コ#5"),
        317: ("decision", "ク・ケ・コ"),
        320: ("agenda_heading", None),
        322: ("closing", None),
        324: ("signature", None),
        326: ("signature", None),
        330: ("signature", None),
    }
    assert {n: led[n] for n in expected} == expected


def test_ledger_role_totals(seed):
    assert Counter(r["role"] for r in seed.tables["source_lines"]) == {
        "blank": 152,
        "title": 1,
        "meeting_info": 5,
        "attendee": 9,
        "attendee_heading": 3,
        "agenda_heading": 6,
        "previous_minutes": 1,
        "signer_designation": 1,
        "consultation_header": 10,
        "presenter": 7,
        "summary": 8,
        "personal_data": 4,
        "reason": 4,
        "explanation": 2,
        "safeguard": 6,
        "qa_marker": 7,
        "question": 36,
        "answer": 37,  # 36 answers, one wrapped over two lines
        "remark": 2,
        "procedural": 7,
        "vote": 7,
        "decision": 10,
        "closing": 1,
        "signature": 4,
    }
    assert_ledger(seed)


def test_ledger_keeps_the_raw_line(seed):
    led = seed.tables["source_lines"]
    assert led[4]["text"] == "- 1 日 時 令和2年12月15日（火）"
    assert led[243]["text"].startswith("※ **子育て支援課から")
