"""analysis.report_helpers: parameter checks, Japanese wording, safe Markdown, table helpers."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from analysis import report_helpers as rh
from analysis.report_helpers import ReportParameterError


# -- parameters ------------------------------------------------------------------------------
def test_check_choice_names_the_value_and_the_allowed_ones():
    assert rh.check_choice("category", "all", ["all", "outsourcing"]) == "all"
    with pytest.raises(ReportParameterError) as err:
        rh.check_choice("category", "bogus", ["all", "outsourcing"])
    message = str(err.value)
    assert "category" in message and "'bogus'" in message and "all, outsourcing" in message
    with pytest.raises(ReportParameterError, match="データにありません"):
        rh.check_choice("department", "総務課", ["all", "課税課"], in_data=True)


@pytest.mark.parametrize(
    ("text", "first", "last", "label"),
    [
        ("all", None, None, "全期間"),
        ("ALL", None, None, "全期間"),
        ("全期間", None, None, "全期間"),
        ("2020", 2020, 2020, "2020年度（令和2年度）"),
        ("２０２０", 2020, 2020, "2020年度（令和2年度）"),
        ("2020年度", 2020, 2020, "2020年度（令和2年度）"),
        ("令和2年度", 2020, 2020, "2020年度（令和2年度）"),
        ("令和元", 2019, 2019, "2019年度（令和元年度）"),
        ("2019-2021", 2019, 2021, "2019〜2021年度（令和元〜3年度）"),
        ("2019 〜 2021", 2019, 2021, "2019〜2021年度（令和元〜3年度）"),
        ("2017~2020", 2017, 2020, "2017〜2020年度（平成29〜令和2年度）"),
        ("平成30年度-令和2年度", 2018, 2020, "2018〜2020年度（平成30〜令和2年度）"),
    ],
)
def test_parse_period(text, first, last, label):
    period = rh.parse_period(text)
    assert (period.first, period.last) == (first, last)
    assert period.label == label
    assert period.is_all == (first is None)


@pytest.mark.parametrize("text", ["bogus", "20", "2020-", "2019-2020-2021", "", "FY2020"])
def test_parse_period_refuses_what_it_cannot_read(text):
    with pytest.raises(ReportParameterError) as err:
        rh.parse_period(text)
    assert repr(text) in str(err.value) and "2019-2021" in str(err.value)


def test_parse_period_refuses_a_reversed_range_and_a_non_text():
    with pytest.raises(ReportParameterError, match="2021"):
        rh.parse_period("2021-2019")
    with pytest.raises(ReportParameterError):
        rh.parse_period(2020)  # type: ignore[arg-type]


def test_period_years_and_select_period():
    period = rh.parse_period("2019-2020")
    assert period.years([2018, 2019, 2020, 2021, None]) == [2019, 2020]
    assert period.contains(2019) and not period.contains(None)
    chosen, years = rh.select_period("all", [2020, 2018, None])
    assert chosen.is_all and years == [2018, 2020]
    with pytest.raises(ReportParameterError) as err:
        rh.select_period("2019", [2020])
    assert "'2019'" in str(err.value) and "2020" in str(err.value)


def test_select_scope(seed_tables):
    scope = rh.select_scope(seed_tables, period="2020", category="outsourcing")
    assert scope.register["label"].to_list() == ["イ", "カ", "ク", "ケ"]
    assert scope.label == "2020年度（令和2年度） ／ 外部委託"
    assert scope.tables["consultations"].height == 4
    one = rh.select_scope(seed_tables, department="課税課")
    assert one.register["label"].to_list() == ["ア", "イ", "ウ"]
    assert one.label.endswith("課税課")
    with pytest.raises(ReportParameterError, match="'bogus'"):
        rh.select_scope(seed_tables, category="bogus")
    with pytest.raises(ReportParameterError, match="課税課"):
        rh.select_scope(seed_tables, department="総務課")
    with pytest.raises(ReportParameterError, match="教育部"):
        rh.select_scope(seed_tables, bureau="市民経済部x")
    with pytest.raises(ReportParameterError, match="当てはまる諮問はありません"):
        rh.select_scope(seed_tables, bureau="教育部", department="課税課")


# -- Japanese wording ------------------------------------------------------------------------
def test_jp_date_uses_the_era_in_force_that_day():
    assert rh.jp_date(dt.date(2020, 12, 15)) == "令和2年12月15日"
    assert rh.jp_date(dt.date(2020, 12, 15), weekday=True) == "令和2年12月15日（火）"
    assert rh.jp_date(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert rh.jp_date(dt.date(2019, 4, 30)) == "平成31年4月30日"
    assert rh.jp_date(dt.date(1989, 1, 7)) == "昭和64年1月7日"
    assert rh.jp_date(dt.date(2020, 12, 15), western=True) == "2020年12月15日"
    assert rh.jp_date(None) == "日付不明"


def test_jp_fiscal_year_and_time():
    assert rh.jp_fiscal_year(2020) == "令和2年度"
    assert rh.jp_fiscal_year(2019) == "令和元年度"
    assert rh.jp_fiscal_year(2018) == "平成30年度"
    assert rh.jp_fiscal_year(1989) == "平成元年度"
    assert rh.jp_fiscal_year(1988) == "昭和63年度"
    assert rh.jp_fiscal_year(None) == "年度不明"
    assert rh.jp_time_range("10:00", "12:00") == "10:00〜12:00"
    assert rh.jp_time_range(None, None) == "時刻不明"


def test_percent_and_interval():
    assert rh.percent(0.8333) == "83%"
    assert rh.percent(0.8333, 1) == "83.3%"
    assert rh.percent(None) == rh.percent(math.nan) == "—"
    assert rh.interval_text(0.7225, 1.0) == "72〜100%"
    assert rh.interval_text(None, 1.0) == rh.interval_text(math.nan, 1.0) == "—"


def test_lines_text_joins_runs():
    nbsp = "\u00a0"
    assert rh.lines_text([10, 5, 6, 7, 12, 6]) == f"行{nbsp}5〜7・10・12"
    assert rh.lines_text(230, "tama-2020-09") == f"tama-2020-09 行{nbsp}230"
    assert rh.lines_text(range(44, 83)) == f"行{nbsp}44〜82"
    assert rh.lines_text([]) == rh.lines_text(None) == rh.lines_text([None]) == "—"
    assert rh.lines_text(pl.Series([3, 1])) == f"行{nbsp}1・3"


def test_refs_text_groups_by_meeting_and_limits():
    refs = ["tama-2020-09:82", "tama-2020-09:44", "tama-2019-01:5", "tama-2020-09:45", None]
    text = rh.refs_text(refs).replace("\u00a0", " ")
    assert text == "tama-2019-01 行 5／tama-2020-09 行 44〜45・82"
    assert rh.refs_text(refs, show_meeting=False).replace("\u00a0", " ") == "行 5／行 44〜45・82"
    limited = rh.refs_text(refs, limit=2).replace("\u00a0", " ")
    assert limited == "tama-2019-01 行 5／tama-2020-09 行 44 … ほか 2 か所"
    assert rh.refs_text(None) == rh.refs_text([]) == "—"
    assert rh.refs_text(pl.Series(["m:1"])).endswith("1")


def test_labels():
    assert rh.ja(rh.DECISION_JA, "approved") == "同意"
    assert rh.ja(rh.DECISION_JA, "something_new") == "something_new"
    assert rh.ja(rh.VOTE_JA, None) == "—"
    assert rh.topic_labels()["recording_camera"] == "録画・カメラ"
    assert rh.measure_labels()["encryption"] == "暗号化"
    assert rh.measure_labels()["unclassified"] == "未分類"
    df = pl.DataFrame({"kind": ["commitment", "x"], "many": [["human", "technical"], []]})
    out = rh.with_labels(df, "kind", rh.FOLLOW_UP_JA, "種類")
    out = rh.with_labels(out, "many", rh.CONTROL_CATEGORY_JA, "区分")
    assert out["種類"].to_list() == ["約束", "x"]
    assert out["区分"].to_list() == [["人的", "技術的"], []]


# -- Markdown --------------------------------------------------------------------------------
def test_md_makes_minutes_text_inert():
    assert rh.md("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert rh.md("a|b") == "a&#124;b"
    assert rh.md("**決定された。**") == r"\*\*決定された。\*\*"
    assert rh.md("[x](javascript:y)") == r"\[x\](javascript:y)"
    assert rh.md("一行目\n二行目") == "一行目<br>二行目"
    assert rh.md("&amp;") == "&amp;amp;"
    assert rh.md(None) == "—"


def test_markdown_table():
    df = pl.DataFrame(
        {
            "name": ["a|b", "<b>x</b>", None],
            "n": [1, 22, 3],
            "share": [0.5, None, 1 / 3],
            "items": [["氏名", "住所"], [], None],
            "flag": [True, False, None],
            "day": [dt.date(2020, 12, 15), None, None],
        }
    )
    text = rh.markdown_table(df, {"name": "名前", "n": "件数", "share": "割合", "items": "項目"})
    lines = text.splitlines()
    assert lines[0] == "| 名前 | 件数 | 割合 | 項目 |"
    assert lines[1] == "|---|---:|---:|---|"
    assert lines[2] == "| a&#124;b | 1 | 0.50 | 氏名、住所 |"
    assert lines[3] == "| &lt;b&gt;x&lt;/b&gt; | 22 | — | — |"
    assert lines[4] == "| — | 3 | 0.33 | — |"
    assert "| ✓ | 2020-12-15 |" in rh.markdown_table(df, ["flag", "day"])
    assert rh.markdown_table(df, ["share"], decimals=1).splitlines()[2] == "| 0.5 |"
    limited = rh.markdown_table(df, ["n"], limit=2)
    assert limited.count("\n| ") == 2 and limited.endswith("（ほか 1 件は省略）")
    assert rh.markdown_table(df.clear(), empty="なし") == "（なし）"
    with pytest.raises(ValueError, match="nope"):
        rh.markdown_table(df, ["nope"])


def test_with_lines_and_refs():
    df = pl.DataFrame(
        {
            "meeting_id": ["m1", "m2"],
            "start": [44, 5],
            "end": [46, None],
            "many": [[3, 4], []],
            "refs": [["m1:3", "m1:4"], []],
        }
    )
    out = rh.with_lines(df, "start", end="end", meeting="meeting_id")
    assert [t.replace("\u00a0", " ") for t in out["行"]] == ["m1 行 44〜46", "m2 行 5"]
    assert rh.with_lines(df, "many", name="x")["x"].to_list()[1] == "—"
    assert rh.with_refs(df, "refs", show_meeting=False)["行"].to_list()[0].endswith("3〜4")


def test_diagnostics_view_puts_errors_and_warnings_first():
    diag = pl.DataFrame(
        {
            "meeting_id": ["m"] * 4,
            "source_line": [1, 2, 3, None],
            "severity": ["info", "warning", "error", "warning"],
            "code": ["page_artifact", "repeated_line", "rejected_file", "new_code"],
            "message": ["a", "b", "c", "d"],
        }
    )
    out = rh.diagnostics_view(diag)
    assert out["severity"].to_list() == ["error", "warning", "warning", "info"]
    assert out["重要度"].to_list() == ["エラー", "警告", "警告", "参考"]
    assert out["内容"].to_list()[2] == "new_code"  # unknown codes shown as they are


# -- tables ----------------------------------------------------------------------------------
def test_restrict_tables_keeps_whole_deliberations(seed_tables):
    cut = rh.restrict_tables(seed_tables, ["tama-2020-09-イ"])
    assert cut["consultations"]["label"].to_list() == ["イ"]
    assert set(cut["utterances"]["deliberation_group"]) == {"イ・ウ"}
    assert set(cut["safeguards"]["consultation_id"]) == {"tama-2020-09-イ"}
    assert cut["meetings"].height == 1
    assert cut["follow_ups"].height == 0
    assert rh.restrict_tables(seed_tables, [])["utterances"].height == 0


def test_topic_counts(seed_tables):
    counts = rh.topic_counts(seed_tables)
    camera = counts.filter(pl.col("topic") == "recording_camera").row(0, named=True)
    assert camera["topic_ja"] == "録画・カメラ"
    assert (camera["utterances"], camera["deliberations"]) == (4, 1)
    assert camera["deliberation_groups"] == ["オ"]
    assert camera["share"] == pytest.approx(1 / 7)  # 7 deliberations in the seed
    assert sorted(camera["source_refs"]) == [f"tama-2020-09:{n}" for n in (168, 176, 188, 196)]
    assert counts["deliberations"].to_list() == sorted(counts["deliberations"], reverse=True)
    assert counts["utterance_share"].max() <= 1


def test_topic_examples(seed_tables):
    found = rh.topic_examples(seed_tables, examples=2)
    assert found.group_by("topic").len()["len"].max() <= 2
    assert found.select("topic", "meeting_id", "question_line").is_unique().all()
    first = found.filter((pl.col("topic") == "children_school") & (pl.col("example") == 1))
    assert first["question_line"].to_list() == [228]
    assert "追加する" in first["answer"][0]


def test_follow_up_rows(seed_tables):
    rows = rh.follow_up_rows(seed_tables)
    assert rows["source_line"].to_list() == [230, 234, 296, 310]
    assert rows["kind_ja"].to_list() == ["約束", "訂正", "要望", "要望"]
    assert rows["departments"].to_list()[0] == ["子育て支援課"]
    assert rh.follow_up_rows(seed_tables, ["request"]).height == 2


def test_regime_note():
    meetings = pl.DataFrame(
        {
            "meeting_id": ["a", "b"],
            "date": [dt.date(2022, 5, 1), dt.date(2023, 5, 1)],
            "fiscal_year": [2022, 2023],
        }
    )
    note = rh.regime_note(meetings)
    assert note is not None and "多摩市個人情報保護条例" in note and "改正個人情報保護法" in note
    assert rh.regime_note(meetings.head(1)) is None


# -- the independence test in Japanese -------------------------------------------------------
def test_describe_test_ja():
    from analysis.crosstab import independence_test

    fisher = rh.describe_test_ja(independence_test([[8, 0], [0, 8]]))
    assert "フィッシャーの正確確率検定" in fisher and "p値 = 0.000" not in fisher
    assert "偏っている可能性" in fisher
    exact = rh.describe_test_ja(independence_test([[3, 1, 2], [1, 3, 2]]), columns="担当課")
    assert "並べ替え検定" in exact and "違うとは言えません" in exact and "担当課" in exact
    assert "期待度数が5未満" in exact
    none = rh.describe_test_ja(independence_test([[3, 4]]))
    assert "検定できません" in none and "1×2" in none
    mc = rh.describe_test_ja(
        {
            "method": "monte_carlo_permutation_chi2",
            "p_value": 0.0004,
            "n": 50,
            "shape": (5, 4),
            "permutations": 20000,
            "seed": 1,
            "small_expected": 0.1,
            "min_expected": 2.0,
            "dropped_rows": ["x"],
            "dropped_columns": [],
        }
    )
    assert "0.001 未満" in mc and "20,000" in mc and "1 個を除いて" in mc


def test_with_lines_agrees_with_lines_text_row_by_row():
    import random

    rng = random.Random(7)
    n = 300
    starts = [rng.choice([None, *range(1, 30)]) for _ in range(n)]
    ends = [None if s is None or rng.random() < 0.2 else s + rng.randint(-2, 5) for s in starts]
    many = [
        None
        if rng.random() < 0.1
        else [rng.choice([None, *range(1, 15)]) for _ in range(rng.randint(0, 6))]
        for _ in range(n)
    ]
    meetings = [rng.choice([None, "", "m-1", "m-2"]) for _ in range(n)]
    df = pl.DataFrame(
        {"s": starts, "e": ends, "many": many, "m": meetings},
        schema={"s": pl.Int64, "e": pl.Int64, "many": pl.List(pl.Int64), "m": pl.String},
    )

    def expected(first, last, mid):
        if last is not None and first is not None:
            first = range(first, last + 1)
        return rh.lines_text(first, mid)

    got = rh.with_lines(df, "s", end="e", meeting="m")["行"].to_list()
    assert got == [expected(*r) for r in zip(starts, ends, meetings, strict=True)]
    got = rh.with_lines(df, "s")["行"].to_list()
    assert got == [rh.lines_text(s) for s in starts]
    got = rh.with_lines(df, "many", meeting="m")["行"].to_list()
    assert got == [rh.lines_text(v, m) for v, m in zip(many, meetings, strict=True)]
    assert rh.with_lines(df.clear(), "many")["行"].to_list() == []


def test_with_refs_agrees_with_refs_text_row_by_row():
    refs = [
        ["m-2:12", "m-1:5", "m-1:6", "m-1:6", "m-1:7", "m-2:3", None, "x:y", "9", "a:1:4"],
        [],
        None,
        ["m-1:10", "m-1:9", "m-1:100"],
        [f"m-{i % 3}:{i}" for i in range(40)],
    ]
    df = pl.DataFrame({"r": refs}, schema={"r": pl.List(pl.String)})
    for show in (True, False):
        for limit in (None, 1, 3, 12):
            got = rh.with_refs(df, "r", show_meeting=show, limit=limit)["行"].to_list()
            assert got == [rh.refs_text(r, show_meeting=show, limit=limit) for r in refs]
    assert rh.with_refs(df.clear(), "r")["行"].to_list() == []


def test_join_first_says_how_many_are_left_out():
    df = pl.DataFrame({"g": ["a"] * 25 + ["b"] * 2, "v": [f"v{i}" for i in range(27)]})
    out = df.group_by("g", maintain_order=True).agg(t=rh.join_first(pl.col("v")))
    many, few = out["t"].to_list()
    assert many.startswith("v0、v1、") and many.endswith("v19 … ほか 5 件")
    assert few == "v25、v26"


def test_markdown_table_lists_are_escaped_as_a_whole():
    df = pl.DataFrame({"l": [["a*b", "c|d", None, "e\nf"]]})
    assert rh.markdown_table(df).splitlines()[-1] == "| a\\*b、c&#124;d、e<br>f |"


def test_load_tables_reads_once_per_data_version(seed_build, monkeypatch):
    from analysis.render import versions

    first = rh.load_tables(seed_build)
    second = rh.load_tables(seed_build)
    assert first is not second and first.keys() == second.keys()
    assert all(first[name] is second[name] for name in first)  # not read again
    monkeypatch.setattr(versions, "data_version", lambda _: "another version")
    third = rh.load_tables(seed_build)  # the folder changed: read again
    assert third["meetings"] is not first["meetings"]
    assert third["meetings"].equals(first["meetings"])


def test_select_scope_is_remembered_for_the_same_frames(seed_tables):
    one = rh.select_scope(seed_tables, category="outsourcing")
    two = rh.select_scope(seed_tables, category="outsourcing")
    assert one.register is two.register and one.tables is not two.tables
    assert one.tables.keys() == two.tables.keys()
    other = rh.select_scope(seed_tables, category="system_change")
    assert other.category == "system_change" and other.register is not one.register
    copy = dict(seed_tables)
    copy["consultations"] = seed_tables["consultations"].head(3)  # other frames: computed anew
    assert rh.select_scope(copy).register.height <= 3


def test_for_shown_rows_adds_columns_to_the_rows_a_table_shows():
    df = pl.DataFrame({"line": [5, 6, 7, 8, 9]})
    cite = lambda d: rh.with_lines(d, "line")  # noqa: E731
    out = rh.for_shown_rows(df, 2, cite)
    assert out["line"].to_list() == [5, 6, 7, 8, 9]
    assert out["行"].to_list() == ["行\u00a05", "行\u00a06", None, None, None]
    assert rh.markdown_table(out, ["行"], limit=2) == rh.markdown_table(cite(df), ["行"], limit=2)
    assert rh.for_shown_rows(df, 5, cite).equals(cite(df))


def test_restrict_tables_to_every_consultation(seed_tables):
    every = seed_tables["consultations"]["consultation_id"]
    whole = rh.restrict_tables(seed_tables, every)
    assert whole["utterances"] is seed_tables["utterances"]  # nothing to drop: not copied
    assert whole["source_lines"] is seed_tables["source_lines"]
    # rows outside every deliberation / meeting are still dropped
    stray_u = seed_tables["utterances"].head(1).with_columns(deliberation_group=pl.lit(None))
    stray_l = seed_tables["source_lines"].head(1).with_columns(meeting_id=pl.lit("elsewhere"))
    tables = dict(
        seed_tables,
        utterances=pl.concat([seed_tables["utterances"], stray_u]),
        source_lines=pl.concat([seed_tables["source_lines"], stray_l]),
    )
    cut = rh.restrict_tables(tables, every)
    assert cut["utterances"].equals(
        seed_tables["utterances"].join(
            seed_tables["consultations"].select("meeting_id", "deliberation_group").unique(),
            on=["meeting_id", "deliberation_group"],
            how="semi",
        )
    )
    assert cut["source_lines"].equals(seed_tables["source_lines"])


def test_restrict_tables_keeps_the_statements_of_every_consultation(seed_tables):
    every = seed_tables["consultations"]["consultation_id"]
    whole = rh.restrict_tables(seed_tables, every)
    for name in ("safeguards", "personal_data_items"):
        assert whole[name] is seed_tables[name]  # nothing to drop: not copied
        frame = seed_tables[name]
        strays = pl.concat(
            [
                frame.head(1).with_columns(consultation_id=pl.lit("elsewhere")),
                frame.head(1).with_columns(consultation_id=pl.lit(None, pl.String)),
            ]
        )
        tables = dict(seed_tables, **{name: pl.concat([frame.head(2), strays, frame.slice(2)])})
        assert rh.restrict_tables(tables, every)[name].equals(frame)  # strays dropped
        some = every.head(3)
        assert rh.restrict_tables(tables, some)[name].equals(
            frame.filter(pl.col("consultation_id").is_in(some.implode()))
        )


def test_markdown_table_total_counts_the_rows_left_out():
    df = pl.DataFrame({"n": [1, 2]})
    assert rh.markdown_table(df, ["n"], limit=2, total=5).endswith("（ほか 3 件は省略）")
    assert rh.markdown_table(df, ["n"], limit=2, total=2) == rh.markdown_table(df, ["n"], limit=2)
    assert rh.markdown_table(df.clear(), ["n"], total=0, empty="なし") == "（なし）"


def test_topic_counts_refs_limit_cites_as_the_full_list(seed_tables):
    full = rh.topic_counts(seed_tables)
    for limit in (1, 2, 12):
        short = rh.topic_counts(seed_tables, refs_limit=limit)
        assert short.drop("source_refs", "n_refs").equals(full.drop("source_refs"))
        assert short["n_refs"].to_list() == full["source_refs"].list.len().to_list()
        assert (short["source_refs"].list.len() <= limit).all()
        cited = rh.with_refs(short, "source_refs", limit=limit, total="n_refs")["行"]
        assert cited.to_list() == rh.with_refs(full, "source_refs", limit=limit)["行"].to_list()


def test_council_topics_shared_by_the_question_topic_tables(seed_tables):
    coded = rh.council_topics(seed_tables)
    assert coded.columns == [
        "meeting_id",
        "deliberation_group",
        "seq",
        "topic",
        "matched",
        "kind",
        "source_line",
    ]
    assert rh.topic_counts(seed_tables, coded=coded).equals(rh.topic_counts(seed_tables))
    for examples in (1, 2):
        assert rh.topic_examples(seed_tables, examples=examples, coded=coded).equals(
            rh.topic_examples(seed_tables, examples=examples)
        )


def test_with_refs_total_counts_the_references_left_out():
    df = pl.DataFrame({"refs": [["m:1", "m:2"], []], "n": [5, 0]})
    got = rh.with_refs(df, "refs", limit=2, total="n", show_meeting=False)["行"].to_list()
    assert got == ["行\u00a01〜2 … ほか 3 か所", "—"]


def test_topic_counts_takes_the_tagged_turns_already_counted(seed_tables):
    coded = rh.council_topics(seed_tables)
    tagged = coded.select("meeting_id", "deliberation_group", "seq").unique().height
    assert 0 < tagged < coded.height  # some turns carry several topics
    plain = rh.topic_counts(seed_tables, refs_limit=3)
    assert rh.topic_counts(seed_tables, refs_limit=3, coded=coded, tagged_turns=tagged).equals(
        plain
    )
    assert plain["utterance_share"].to_list() == (plain["utterances"] / tagged).to_list()


def _plain_council_topics(tables, kinds=("question", "remark")):
    """council_topics by its definition: the topics' first rows per (turn, topic), joined to
    the members' and the chair's turns of ``kinds``."""
    from analysis.schema import COUNCIL_ROLES

    g = ["meeting_id", "deliberation_group"]
    said = tables["utterances"].filter(
        pl.col("speaker_role").is_in(COUNCIL_ROLES) & pl.col("kind").is_in(list(kinds))
    )
    return (
        tables["question_topics"]
        .select(*g, "seq", "topic", "matched")
        .unique([*g, "seq", "topic"], keep="first", maintain_order=True)
        .join(said.select(*g, "seq", "kind", "source_line"), on=[*g, "seq"], how="inner")
    )


@pytest.mark.parametrize("utterance_order", ["as written", "reversed"])
@pytest.mark.parametrize("kinds", [("question", "remark"), ("question",)])
def test_council_topics_merged_or_joined_as_its_definition(seed_tables, utterance_order, kinds):
    tables = dict(seed_tables)
    key = ["meeting_id", "deliberation_group", "seq", "topic"]
    topics = tables["question_topics"]
    first = topics.head(3).with_columns(matched=pl.lit("dup"))  # repeated (turn, topic) rows
    tables["question_topics"] = pl.concat([topics, first, topics.head(2).reverse()])
    if utterance_order == "reversed":  # not in turn order: the keys are joined
        tables["utterances"] = tables["utterances"].reverse()
    plain = _plain_council_topics(tables, kinds)
    coded = rh.council_topics(tables, kinds, turns=True)
    assert coded.drop("turn").sort(key).equals(plain.sort(key))
    assert coded.drop("turn").equals(coded.drop("turn").unique(key, maintain_order=True))
    turn = tables["utterances"].select("meeting_id", "deliberation_group", "seq")[coded["turn"]]
    assert turn.equals(coded.select("meeting_id", "deliberation_group", "seq"))
    assert rh.council_topics(tables, kinds).columns == plain.columns
