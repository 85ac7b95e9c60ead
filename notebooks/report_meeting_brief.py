# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# ruff: noqa: E402, E501  (a notebook: imports follow the parameters cell; Japanese paragraphs stay on one line)

# %% [markdown]
# # 会議の概要

# %% tags=["parameters"]
# One meeting on one page. Render: `council report report_meeting_brief -p meeting_id=tama-2020-09`
# (the schedule makes one per meeting). meeting_id must be a meeting in the datasets.
data_dir = None
meeting_id = "tama-2020-09"

# %%
# Parameters are checked against the data first, with a named error listing the allowed values.
import altair as alt
import polars as pl
from IPython.display import Markdown, display

from analysis import charts
from analysis import report_helpers as rh
from analysis.analyses import (
    coverage_matrix,
    legal_regime,
    safeguard_gaps,
    uncovered_topics,
)
from analysis.report_helpers import markdown_table, md

tables = rh.load_tables(data_dir)
known = tables["meetings"].sort("date", "meeting_id", nulls_last=True)["meeting_id"].to_list()
rh.check_choice("meeting_id", meeting_id, known, in_data=True)

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
meeting = tables["meetings"].filter(pl.col("meeting_id") == meeting_id).row(0, named=True)
consultations = charts.with_category_labels(
    tables["consultations"].filter(pl.col("meeting_id") == meeting_id).sort("seq")
)
scope = rh.restrict_tables(tables, consultations["consultation_id"])
topics_ja = rh.topic_labels()
measures_ja = rh.measure_labels()
lines = scope["source_lines"]


def lines_of(role: str, *words: str) -> list[int]:
    """Source lines of a role (those containing one of ``words``, spaces ignored, if given)."""
    found = lines.filter(pl.col("role") == role)
    if words:
        bare = pl.col("text").str.replace_all(r"\s", "")
        found = found.filter(pl.any_horizontal(bare.str.contains(w, literal=True) for w in words))
    return found["source_line"].to_list()


# %%
date_text = rh.jp_date(meeting["date"], weekday=True)
session = f"{rh.jp_fiscal_year(meeting['fiscal_year'])}第{meeting['session_no']}回"
display(
    Markdown(
        f"## {md(meeting['municipality'])} {md(meeting['council'])} {session} — {date_text}\n\n"
        f"会議 `{md(meeting_id)}` ／ 諮問 {meeting['consultations']} 件、"
        f"報告 {meeting['reports']} 件 ／ "
        f"出典: {md(meeting['source_path'])}（{meeting['source_lines']} 行）。"
        "表の「行」は議事録ファイルの行番号です。"
        + (
            "\n\n**注意：この会議は合成データ（ベンチマーク用）です。実在の議事録ではありません。**"
            if meeting["is_synthetic"]
            else ""
        )
    )
)

# %% [markdown]
# ### 会議の基本情報

# %%
people = scope["attendees"]


def names(role: str, present: bool = True) -> list[str]:
    rows = people.filter((pl.col("role") == role) & (pl.col("present") == present))
    return rows["name"].unique(maintain_order=True).to_list()


chair, vice = names("chair"), names("vice_chair")
members = names("member")
absent = names("chair", False) + names("vice_chair", False) + names("member", False)
present_text = "、".join(
    [f"{n}（会長）" for n in chair] + [f"{n}（副会長）" for n in vice] + members
)
secretariat = people.filter(pl.col("role") == "secretariat")
dept_staff = people.filter(pl.col("role") == "department")
departments_present = dept_staff["organization"].drop_nulls().unique(maintain_order=True)
regime = legal_regime(tables["meetings"].filter(pl.col("meeting_id") == meeting_id)).row(
    0, named=True
)
observers = meeting["observers"]
previous = meeting["previous_minutes"]
facts = pl.DataFrame(
    [
        (
            "日時",
            f"{date_text} {rh.jp_time_range(meeting['start_time'], meeting['end_time'])}",
            rh.lines_text(lines_of("meeting_info", "日時", "時から", "分から", "まで")),
        ),
        ("場所", meeting["venue"] or "記載なし", rh.lines_text(lines_of("meeting_info", "場所"))),
        (
            "出席委員",
            f"{meeting['members_present']} 名：{present_text or '記載なし'}",
            rh.lines_text(
                people.filter(pl.col("role").is_in(["chair", "vice_chair", "member"]))[
                    "source_line"
                ]
            ),
        ),
        (
            "欠席委員",
            f"{meeting['members_absent']} 名" + (f"：{'、'.join(absent)}" if absent else ""),
            rh.lines_text(people.filter(~pl.col("present"))["source_line"]),
        ),
        (
            "傍聴人",
            "記載なし" if observers is None else ("なし" if observers == 0 else f"{observers} 名"),
            rh.lines_text(lines_of("meeting_info", "傍聴")),
        ),
        (
            "事務局",
            "、".join(
                f"{r['name']}（{r['title'] or '職名不明'}）"
                for r in secretariat.iter_rows(named=True)
            )
            or "記載なし",
            rh.lines_text(secretariat["source_line"]),
        ),
        (
            "出席した担当課",
            f"{departments_present.len()} 課：{'、'.join(departments_present)}"
            f"（職員 {dept_staff['name'].n_unique()} 名）",
            rh.lines_text(dept_staff["source_line"]),
        ),
        (
            "前回議事録の確定",
            f"{previous}（署名：{meeting['previous_minutes_signed_by'] or '記載なし'}）"
            if previous
            else "記載なし",
            rh.lines_text(lines_of("previous_minutes")),
        ),
        (
            "議事録署名委員",
            meeting["designated_signer"] or "記載なし",
            rh.lines_text(lines_of("signer_designation")),
        ),
        (
            "署名欄",
            "、".join(meeting["signatories"]) or "記載なし",
            rh.lines_text(lines_of("signature")),
        ),
        ("適用される制度", regime["regime_label_ja"] or "不明", "—"),
    ],
    schema=["項目", "内容", "行"],
    orient="row",
)
display(Markdown(markdown_table(facts)))

# %% [markdown]
# ### 議題

# %%
agenda = consultations.with_columns(
    種別=pl.when(pl.col("agenda_kind") == "report").then(pl.lit("報告")).otherwise(pl.lit("諮問")),
).pipe(rh.with_lines, "source_line_start", end="source_line_end")
display(
    Markdown(
        markdown_table(
            agenda,
            {
                "label": "記号",
                "種別": "種別",
                "title": "件名",
                "分類": "分類",
                "bureau": "担当部",
                "departments": "担当課",
                "deliberation_group": "一括審議",
                "行": "行",
            },
        )
        + "\n\n「一括審議」が同じ諮問はまとめて審議されました"
        "（質問・約束などはまとまりごとに数えます）。"
    )
)

# %% [markdown]
# ### 諮問ごとの結果

# %%
decided = (
    consultations.filter(pl.col("agenda_kind") == "consultation")
    .with_columns(
        結果=pl.col("decision").replace_strict(rh.DECISION_JA, default=pl.col("decision")),
        採決=pl.col("vote").replace_strict(rh.VOTE_JA, default=pl.col("vote"))
        + pl.when(pl.col("votes_for").is_not_null())
        .then(pl.format("（賛成 {} ・反対 {}）", "votes_for", pl.col("votes_against").fill_null(0)))
        .otherwise(pl.lit("")),
    )
    .pipe(rh.with_lines, "decision_line", name="決定文の行")
)
outcome_counts = decided.group_by("結果").len().sort("len", descending=True)
summary = "、".join(f"{r['結果']} {r['len']} 件" for r in outcome_counts.iter_rows(named=True))
display(Markdown(f"諮問 {decided.height} 件：{summary or 'なし'}。"))
display(
    Markdown(
        markdown_table(
            decided,
            {
                "label": "記号",
                "title": "件名",
                "departments": "担当課",
                "結果": "結果",
                "採決": "採決",
                "conditions": "付された意見・条件",
                "questions": "質問数",
                "決定文の行": "行",
            },
        )
    )
)
groups = decided.group_by("deliberation_group", maintain_order=True).agg(
    pl.col("title").unique(maintain_order=True),
    pl.col("departments")
    .list.explode(keep_nulls=False, empty_as_null=False)
    .unique(maintain_order=True),
    pl.col("summary").drop_nulls().first(),
)
summary_lines = lines.filter(pl.col("role") == "summary").group_by("ref").agg("source_line")
groups = groups.join(summary_lines, left_on="deliberation_group", right_on="ref", how="left")
summaries = [
    f"- **{md(r['deliberation_group'])}** {md('／'.join(r['title']))}"
    f"（{md('・'.join(r['departments']))}）：{md(r['summary'] or '概要の記載なし')}"
    f"（{rh.lines_text(r['source_line'])}）"
    for r in groups.iter_rows(named=True)
]
display(
    Markdown(
        "#### 諮問の概要（議事録の「本諮問は…」の段落。一括審議はまとめて1つ）\n\n"
        + "\n".join(summaries)
    )
)

# %% [markdown]
# ### 話題別の質問
#
# 委員・会長の質問と意見を、`data/reference/topic_rules.yml` の規則で話題に分けて数えました。1つの発言に複数の話題がつくことがあります。

# %%
topics = rh.topic_counts(scope, labels=topics_ja).with_columns(
    一括審議=pl.col("deliberation_groups").list.join("／"),
    行=pl.col("source_refs").map_elements(
        lambda refs: rh.refs_text(refs, show_meeting=False), return_dtype=pl.String
    ),
)
if topics.height:
    chart = (
        alt.Chart(topics.select("topic_ja", "utterances", "deliberations", "一括審議", "行"))
        .mark_bar(color=rh.NEUTRAL_COLOR)
        .encode(
            x=alt.X("utterances:Q", title="発言数", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("topic_ja:N", sort="-x", title=None),
            tooltip=[
                alt.Tooltip("topic_ja:N", title="話題"),
                alt.Tooltip("utterances:Q", title="発言数"),
                alt.Tooltip("deliberations:Q", title="審議数"),
                alt.Tooltip("一括審議:N", title="審議"),
                alt.Tooltip("行:N", title="行"),
            ],
        )
        .properties(title=f"{date_text}の質問・意見の話題", height=alt.Step(22))
    )
    display(chart)
display(
    Markdown(
        markdown_table(
            topics,
            {
                "topic_ja": "話題",
                "utterances": "発言数",
                "deliberations": "審議数",
                "一括審議": "審議",
                "行": "行",
            },
            empty="話題のついた質問・意見はありません",
        )
    )
)

# %% [markdown]
# ### 保護措置（安全管理措置）
#
# 各諮問が述べた個人情報保護措置を、組織的・人的・物理的・技術的の4区分に分けて数えました（`data/reference/safeguard_taxonomy.csv` による分類。数字は区分ごとの措置の種類数）。

# %%
coverage = (
    coverage_matrix(scope)
    .with_columns(
        述べた措置=pl.col("measures").list.eval(
            pl.element().replace_strict(measures_ja, default=pl.element())
        ),
    )
    .pipe(rh.with_lines, "source_line_start", end="source_line_end")
)
coverage_columns = {"label": "記号"}
coverage_columns |= {
    c: rh.CONTROL_CATEGORY_JA[c] for c in ("organizational", "human", "physical", "technical")
}
coverage_columns |= {"unclassified": "未分類", "述べた措置": "述べた措置", "行": "行"}
display(Markdown(markdown_table(coverage, coverage_columns)))

gaps = safeguard_gaps(scope).with_columns(
    欠けている区分=pl.col("missing_categories").list.eval(
        pl.element().replace_strict(rh.CONTROL_CATEGORY_JA, default=pl.element())
    ),
    状態=pl.when(pl.col("states_none"))
    .then(pl.lit("保護措置の記載なし"))
    .otherwise(pl.format("{} / 4 区分", "categories_covered")),
)
display(Markdown("#### 抜けのある諮問"))
display(
    Markdown(
        markdown_table(
            gaps,
            {
                "label": "記号",
                "deliberation_group": "一括審議",
                "状態": "状態",
                "欠けている区分": "欠けている区分",
            },
            empty="すべての諮問が4区分とも述べています",
        )
        + "\n\n一括審議の諮問では、まとまり全体で述べた措置が各諮問に記録されています。"
    )
)

uncovered = (
    uncovered_topics(scope["question_topics"], scope["utterances"], scope["safeguards"])
    .with_columns(
        話題=pl.col("topic").replace_strict(topics_ja, default=pl.col("topic")),
        対応する措置の例=pl.col("expected_measures").list.eval(
            pl.element().replace_strict(measures_ja, default=pl.element())
        ),
    )
    .pipe(rh.with_lines, "source_lines")
)
display(Markdown("#### 質問されたが、述べられた措置で答えていない話題"))
display(
    Markdown(
        markdown_table(
            uncovered,
            {
                "deliberation_group": "審議",
                "話題": "話題",
                "対応する措置の例": "対応する措置の例",
                "行": "行",
            },
            empty="該当なし",
        )
    )
)

# %% [markdown]
# ### 追跡が必要な事項
#
# 審議中の約束（担当課が対応すると述べたこと）、資料の訂正、委員からの要望です。次回以降の審議や事務局の確認で追いかける対象になります。

# %%
follow = rh.follow_up_rows(scope).pipe(rh.with_lines, "source_line")
conditions = decided.filter(pl.col("conditions").is_not_null())
if conditions.height:
    display(Markdown("#### 決定に付された意見・条件"))
    display(
        Markdown(
            markdown_table(
                conditions, {"label": "記号", "conditions": "意見・条件", "決定文の行": "行"}
            )
        )
    )
display(
    Markdown(
        markdown_table(
            follow,
            {
                "kind_ja": "種類",
                "deliberation_group": "審議",
                "speaker_ja": "発言者",
                "departments": "担当課",
                "text": "内容",
                "行": "行",
            },
            empty="約束・訂正・要望は記録されていません",
        )
    )
)

# %% [markdown]
# ### データ品質の注意
#
# 議事録を読み取るときに見つかった問題です（警告を先に並べています）。数字を読む前に確認してください。

# %%
diagnostics = rh.diagnostics_view(scope["diagnostics"]).pipe(rh.with_lines, "source_line")
unplaced = lines.filter(pl.col("role") == "unplaced").height
counts = diagnostics.group_by("重要度", maintain_order=True).len()
count_text = "、".join(f"{r['重要度']} {r['len']} 件" for r in counts.iter_rows(named=True))
display(
    Markdown(
        f"指摘 {diagnostics.height} 件（{count_text or 'なし'}）。"
        f"議事録 {meeting['source_lines']} 行のうち、"
        f"どこにも位置づけられなかった行：{unplaced} 行。"
    )
)
display(
    Markdown(
        markdown_table(
            diagnostics,
            {"重要度": "重要度", "内容": "内容", "message": "詳細（読み取り時の記録）", "行": "行"},
            empty="指摘はありません",
        )
    )
)
