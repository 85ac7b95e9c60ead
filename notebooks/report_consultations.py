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
# # 諮問の一覧（諮問台帳）

# %% tags=["parameters"]
# The register of 諮問 with counts by category, department and fiscal year.
# Render: `council report report_consultations -p period=2020 -p category=outsourcing`.
# period: "all", one fiscal year ("2020") or a range ("2019-2021"); bureau / department: "all"
# or a 部 / 課 found in the data (checked in the next cell).
data_dir = None
period = "all"
bureau = "all"
department = "all"
category = "all"  # choices: all, system_change, outsourcing, collection_from_third_party, use_outside_purpose, external_provision, online_connection, sensitive_collection, other

# %%
# Parameters are checked against the data first, with a named error listing the allowed values.
import altair as alt
import polars as pl
from IPython.display import Markdown, display

from analysis import charts
from analysis import report_helpers as rh
from analysis.report_helpers import markdown_table, md

tables = rh.load_tables(data_dir)
scope = rh.select_scope(
    tables, period=period, category=category, bureau=bureau, department=department
)

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
register = scope.register.rename({"category_ja": "分類"})
meetings = scope.tables["meetings"]
several_meetings = meetings.height > 1
present = [c for c in charts.CATEGORY_COLORS if c in set(register["category"])]
category_scale = charts.category_scale(categories=present)  # legend: the categories shown

# %%
first, last = register["date"].min(), register["date"].max()
groups = register.select("meeting_id", "deliberation_group").unique().height
note = rh.regime_note(meetings)
display(
    Markdown(
        f"## {md(scope.label)}\n\n"
        f"諮問 **{register.height} 件**（会議 {meetings.height} 回、審議 {groups} 件）。"
        + (
            f"会議は {rh.jp_date(first)}。"
            if first == last
            else f"会議の日付は {rh.jp_date(first)} から {rh.jp_date(last)} まで。"
        )
        + "一括して審議された諮問（イ・ウ など）は、件数では1件ずつ、審議では1件と数えます。"
        + (f"\n\n{note}" if note else "")
    )
)

# %% [markdown]
# ### 分類別の件数

# %%
ids = pl.col("meeting_id") + ":" + pl.col("label")
by_category = (
    register.group_by("category", "分類")
    .agg(件数=pl.len(), 諮問=rh.join_first(ids))
    .sort(["件数", "category"], descending=[True, False])  # one order, run after run
)
chart = (
    alt.Chart(by_category)
    .mark_bar()
    .encode(
        x=alt.X("件数:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("分類:N", sort="-x", title=None),
        color=alt.Color("分類:N", scale=category_scale, legend=None),
        tooltip=["分類:N", "件数:Q", "諮問:N"],
    )
    .properties(title=f"分類別の諮問件数（{scope.period.label}）", height=alt.Step(28))
)
display(chart)

# %% [markdown]
# ### 担当課別の件数
#
# 複数の課が連名で諮問したもの（課税課・市民課）は、それぞれの課に1件ずつ数えます。

# %%
by_department = (
    register.explode("departments")
    .with_columns(pl.col("departments").fill_null("（担当課不明）"))
    .group_by("departments", "category", "分類")
    .agg(件数=pl.len(), 諮問=rh.join_first(ids))
    .rename({"departments": "担当課"})
    .sort("担当課", "category")
)
order = (
    by_department.group_by("担当課")
    .agg(pl.col("件数").sum())
    .sort(["件数", "担当課"], descending=[True, False])["担当課"]
    .to_list()
)
chart = (
    alt.Chart(by_department)
    .mark_bar()
    .encode(
        x=alt.X("sum(件数):Q", title="件数", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("担当課:N", sort=order, title=None),
        color=alt.Color("分類:N", scale=category_scale, title="分類"),
        order=alt.Order("category:N"),
        tooltip=["担当課:N", "分類:N", "件数:Q", "諮問:N"],
    )
    .properties(title="担当課別の諮問件数（分類の内訳）", height=alt.Step(24))
)
display(chart)

# %% [markdown]
# ### 年度別の件数

# %%
by_year = (
    register.group_by("fiscal_year", "category", "分類")
    .agg(件数=pl.len(), 諮問=rh.join_first(ids))
    .with_columns(
        年度=pl.format("{}年度", "fiscal_year"),
        和暦=pl.col("fiscal_year").map_elements(rh.jp_fiscal_year, return_dtype=pl.String),
    )
    .sort("fiscal_year", "category")
)
chart = (
    alt.Chart(by_year)
    .mark_bar()
    .encode(
        x=alt.X(
            "年度:O",
            sort=by_year["年度"].unique(maintain_order=True).to_list(),
            title=None,
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("sum(件数):Q", title="件数", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("分類:N", scale=category_scale, title="分類"),
        order=alt.Order("category:N"),
        tooltip=["年度:N", "和暦:N", "分類:N", "件数:Q", "諮問:N"],
    )
    .properties(title="年度別の諮問件数（分類の内訳）", width=alt.Step(56))
)
display(chart)

# %% [markdown]
# ### 諮問の一覧
#
# 「質問」は委員・会長の質問の数です（一括審議ではまとまり全体の数）。「保護措置」は述べられた保護措置の種類数、「項目」は取り扱う個人情報の項目数です。0 の行は議事録で確認してください。

# %%
table = register.with_columns(
    結果=pl.col("decision").replace_strict(rh.DECISION_JA, default=pl.col("decision"))
).pipe(
    rh.with_lines,
    "source_line_start",
    end="source_line_end",
    meeting="meeting_id" if several_meetings else None,
)
display(
    Markdown(
        markdown_table(
            table,
            {
                "date": "会議日",
                "label": "記号",
                "title": "件名",
                "分類": "分類",
                "departments": "担当課",
                "結果": "結果",
                "questions": "質問",
                "safeguard_measures": "保護措置",
                "personal_data_items": "項目",
                "行": "行",
            },
            limit=500,
        )
    )
)
