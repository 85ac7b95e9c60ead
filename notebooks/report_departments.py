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
# # 担当課別のまとめ

# %% tags=["parameters"]
# What each department brought to the council, the questions it drew, what it promised or
# corrected. Render: `council report report_departments -p department=課税課` (the schedule
# makes one for "all" and one per department). department: "all" or a 課 found in the data
# (checked in the next cell); period: "all", "2020" or "2019-2021".
data_dir = None
department = "all"
period = "all"

# %%
# Parameters are checked against the data first, with a named error listing the allowed values.
import altair as alt
import polars as pl
from IPython.display import Markdown, display

from analysis import charts
from analysis import report_helpers as rh
from analysis.analyses import department_follow_ups, department_summary
from analysis.crosstab import topic_by
from analysis.report_helpers import markdown_table, md
from analysis.schema import COUNCIL_ROLES

tables = rh.load_tables(data_dir)
scope = rh.select_scope(tables, period=period, department=department)

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
data = scope.tables
register = scope.register
several_meetings = data["meetings"].height > 1
one = department != "all"
topics_ja = rh.topic_labels()
categories_ja = charts.category_labels()
summary = department_summary(register)
if one:  # a joint 諮問 also counts for its other department: keep the one asked for
    summary = summary.filter(pl.col("department") == department)

# %%
who = f"{md(department)}" if one else "すべての担当課"
display(
    Markdown(
        f"## {who} ／ {md(scope.period.label)}\n\n"
        f"諮問 {register.height} 件（会議 {data['meetings'].height} 回）。"
        "連名の諮問（課税課・市民課 など）は、それぞれの課に1件ずつ数えます。"
        "一括審議（イ・ウ など）の質問や約束は、まとまりごとに1回だけ数えます。"
    )
)

# %% [markdown]
# ### 担当課ごとの件数

# %%
summary_view = summary.with_columns(
    分類の内訳=pl.concat_list(
        [
            pl.when(pl.col(f"n_{c}") > 0).then(pl.format(f"{label} {{}}", pl.col(f"n_{c}")))
            for c, label in categories_ja.items()
        ]
    ).list.drop_nulls(),
    質問_諮問=pl.col("questions_per_consultation").round(1),
    期間=pl.format("{}〜{}", "first_date", "last_date"),
)
display(
    Markdown(
        markdown_table(
            summary_view,
            {
                "bureau": "部",
                "department": "課",
                "consultations": "諮問",
                "deliberations": "審議",
                "分類の内訳": "分類の内訳",
                "questions": "質問",
                "質問_諮問": "質問／諮問",
                "commitments": "約束",
                "corrections": "訂正",
                "requests": "要望",
                "期間": "会議日",
            },
        )
    )
)
chart_data = summary_view.select(
    pl.col("department").fill_null("（不明）").alias("課"),
    pl.col("bureau").fill_null("（不明）").alias("部"),
    pl.col("consultations").alias("諮問"),
    pl.col("questions").alias("質問"),
    pl.col("質問_諮問"),
    (pl.col("commitments") + pl.col("corrections")).alias("約束・訂正"),
)
chart = (
    alt.Chart(chart_data)
    .mark_bar(color=rh.NEUTRAL_COLOR)
    .encode(
        x=alt.X("質問:Q", title="委員から受けた質問の数", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("課:N", sort="-x", title=None),
        tooltip=[
            "部:N",
            "課:N",
            "諮問:Q",
            "質問:Q",
            alt.Tooltip("質問_諮問:Q", title="質問／諮問"),
            "約束・訂正:Q",
        ],
    )
    .properties(title="担当課が受けた質問の数", height=alt.Step(24))
)
display(chart)
display(
    Markdown(
        "質問の数は諮問の件数や内容の新しさに左右されます。"
        "多い課ほど問題がある、という意味ではありません。"
    )
)

# %% [markdown]
# ### 持ち込んだ諮問

# %%
brought = (
    register.explode("departments")
    .rename({"departments": "課"})
    .filter(pl.col("課") == department if one else pl.lit(True))
    .with_columns(
        結果=pl.col("decision").replace_strict(rh.DECISION_JA, default=pl.col("decision"))
    )
    .pipe(
        rh.with_lines,
        "source_line_start",
        end="source_line_end",
        meeting="meeting_id" if several_meetings else None,
    )
    .sort("課", "date", "meeting_id", "label", nulls_last=True)
)
display(
    Markdown(
        markdown_table(
            brought,
            {
                "課": "課",
                "date": "会議日",
                "label": "記号",
                "title": "件名",
                "category_ja": "分類",
                "結果": "結果",
                "questions": "質問",
                "行": "行",
            },
            limit=300,
        )
    )
)

# %% [markdown]
# ### 受けた質問の話題
#
# 担当課の審議で委員・会長が質問・意見した話題です（話題は `topic_rules.yml` の規則による）。

# %%
council = data["utterances"].filter(
    pl.col("speaker_role").is_in(COUNCIL_ROLES) & pl.col("kind").is_in(["question", "remark"])
)
long = topic_by(
    data["question_topics"],
    council,
    data["consultations"],
    by="department",
    kinds=["question", "remark"],
    wide=False,
).with_columns(話題=pl.col("topic").replace_strict(topics_ja, default=pl.col("topic")))
if one:
    long = long.filter(pl.col("group") == department)
top = (
    long.sort(["group", "n", "topic"], descending=[False, True, False])
    .group_by("group", maintain_order=True)
    .agg(
        話題数=pl.len(),
        よく出た話題=pl.format("{}（{}）", "話題", "n").head(5),
    )
    .rename({"group": "課"})
)
display(
    Markdown(
        markdown_table(
            top,
            {"課": "課", "話題数": "話題の種類", "よく出た話題": "よく出た話題（発言数）"},
            empty="話題のついた質問はありません",
        )
    )
)
if one:
    examples = rh.topic_examples(data, examples=1)
    rows = [
        f"- **{md(topics_ja.get(r['topic'], r['topic']))}**（{rh.jp_date(r['date'])}・"
        f"諮問{md('・'.join(r['labels']))}・"
        f"{rh.lines_text(r['question_line'], r['meeting_id'] if several_meetings else None)}）："
        f"{md(r['question'])}"
        + (
            f"<br>→ 回答（{rh.lines_text(r['answer_lines'])}）：{md(r['answer'])}"
            if r["answer"]
            else ""
        )
        for r in examples.iter_rows(named=True)
    ]
    display(Markdown("#### 話題ごとの質問の例\n\n" + ("\n".join(rows) or "（なし）")))

# %% [markdown]
# ### 約束と訂正
#
# 担当課が審議中に「対応する」と述べたこと（約束）と、資料の誤りを認めたこと（訂正）です。職員の発言は発言した課に、課の分からない発言はその審議の諮問の担当課すべてに割り当てます。


# %%
def follow_up_table(kinds: list[str], empty: str) -> None:
    """Follow-ups of ``kinds`` attributed to departments, in the 諮問 of this report."""
    rows = (
        department_follow_ups(data, kinds=kinds, department=department if one else None)
        .with_columns(
            種類=pl.col("kind").replace_strict(rh.FOLLOW_UP_JA, default=pl.col("kind")),
            審議=pl.col("labels").list.join("・"),
        )
        .pipe(rh.with_lines, "source_line", meeting="meeting_id" if several_meetings else None)
    )
    display(
        Markdown(
            markdown_table(
                rows,
                {
                    "department": "課",
                    "種類": "種類",
                    "date": "会議日",
                    "審議": "諮問",
                    "text": "内容",
                    "行": "行",
                },
                empty=empty,
                limit=300,
            )
        )
    )


follow_up_table(["commitment", "correction"], "約束・訂正は記録されていません")

# %% [markdown]
# ### 委員からの要望
#
# 委員・会長が担当課に求めたこと（「〜してほしい」など）です。

# %%
follow_up_table(["request"], "要望は記録されていません")
