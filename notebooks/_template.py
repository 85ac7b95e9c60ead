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

# ruff: noqa: E402, B018  (a notebook: imports follow the parameters cell; a bare name shows a value)

# %% [markdown]
# # 会議別 諮問の概要（レポートの雛形）

# %% tags=["parameters"]
# Report notebook conventions (this file is the example; a leading "_" keeps it unscheduled):
# - This cell is tagged "parameters" and holds defaults only, one `name = literal` per line.
#   The renderer checks values against these before running: unknown names and wrong types are
#   refused. Annotate when the default does not show the type (`top_n: int | None = None`);
#   limit values with a trailing comment `# choices: a, b, c`.
# - `data_dir` is always there: the renderer sets it to the datasets folder. Left as None,
#   analysis.load() reads data/processed (handy when working on the notebook in JupyterLab).
# - Code cells are hidden in the HTML report; only outputs and Markdown cells are shown.
# - Render: `council report _template -p meeting_id=tama-2020-09`.
data_dir = None
meeting_id = "tama-2020-09"

# %%
# Check the parameters against the data before doing anything else, with a named error.
import html

import altair as alt
import polars as pl
from IPython.display import Markdown, display

import analysis
from analysis import charts


class ReportParameterError(ValueError):
    """A parameter value this report cannot be made for."""


def md(text) -> str:
    """Text from the minutes made safe inside Markdown: no HTML, no table breaks."""
    return html.escape(str(text)).replace("|", "&#124;")


tables = analysis.load(data_dir)
meetings = tables["meetings"]
known = meetings["meeting_id"].to_list()
if meeting_id not in known:
    raise ReportParameterError(
        f"meeting_id {meeting_id!r} はデータにありません（あるもの: {', '.join(known)}）"
    )

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
meeting = meetings.filter(pl.col("meeting_id") == meeting_id).row(0, named=True)
consultations = charts.with_category_labels(
    tables["consultations"].filter(pl.col("meeting_id") == meeting_id).sort("seq")
)

# %%
date = meeting["date"]
date_text = f"{date.year}年{date.month}月{date.day}日" if date else "日付不明"
display(
    Markdown(
        f"## {meeting['municipality']} {meeting['council']}\n\n"
        f"**{meeting['fiscal_year']}年度 第{meeting['session_no']}回**（{date_text}）"
        f" — 諮問 {meeting['consultations']} 件、報告 {meeting['reports']} 件"
    )
)

# %%
display(Markdown("### 分類別の件数"))
by_category = (
    consultations.group_by("category", "分類")
    .agg(pl.len().alias("件数"), pl.col("label").str.join("・").alias("諮問"))
    .sort("件数", descending=True)
)
chart = (
    alt.Chart(by_category)
    .mark_bar()
    .encode(
        x=alt.X("件数:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("分類:N", sort="-x", title=None),
        color=alt.Color("分類:N", scale=charts.category_scale(), legend=None),
        tooltip=["分類:N", "件数:Q", "諮問:N"],
    )
    .properties(title=f"{date_text}の諮問 {consultations.height} 件", height=alt.Step(28))
)
chart

# %%
display(Markdown("### 諮問の一覧"))
rows = [
    f"| {md(r['label'])} | {md(r['title'])} | {md(r['分類'])} | {md('、'.join(r['departments']))} |"
    for r in consultations.iter_rows(named=True)
]
display(Markdown("\n".join(["| | 件名 | 分類 | 担当課 |", "|---|---|---|---|", *rows])))
