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

# ruff: noqa: E402, E501, B018  (a notebook: imports after the parameters cell; Japanese paragraphs stay on one line; a bare name shows a value)

# %% [markdown]
# # データの使い方（探索用ノートブック）
#
# 審議会の議事録から作ったデータを、JupyterLab で読み込み・絞り込み・検索し、グラフにする手順です。上から順に実行してください。定期レポート（`reports/schedule.yml`）には含めていません。
#
# 例として、**「外部委託の諮問で、委員は何を質問し、担当課は何を約束したか」** に答えます。

# %% tags=["parameters"]
# data_dir = None reads data/processed (built by `council build`); the test suite points it at
# a freshly built copy.
data_dir = None

# %% [markdown]
# ## 1. データを読み込む
#
# `analysis.load()` は、表の名前と polars のデータフレームの辞書を返します。データがまだなければ `data/raw` から作ります。pandas で扱いたいときは `analysis.load(backend="pandas")` とします。

# %%
import altair as alt
import polars as pl

import analysis
from analysis import charts
from analysis.analyses import consultation_register, department_follow_ups

pl.Config.set_fmt_str_lengths(80)  # show longer texts in the tables below
pl.Config.set_tbl_rows(20)

tables = analysis.load(data_dir)
pl.DataFrame({"表": list(tables), "行数": [df.height for df in tables.values()]})

# %% [markdown]
# 主な表：
#
# - `meetings`：会議（1行が1回の会議）
# - `consultations`：諮問と報告（1行が1件。`category` は分類、`departments` は担当課、`deliberation_group` は一括審議のまとまり）
# - `utterances`：審議中の発言（`speaker_role` は委員・会長・担当課など、`kind` は質問・回答・意見・進行、`reply_to` は回答が答えている質問）
# - `follow_ups`：約束（commitment）・訂正（correction）・要望（request）
# - `safeguards`、`personal_data_items`、`question_topics`、`diagnostics` など
#
# どの表にも `source_line`（議事録ファイルの行番号）があり、元の議事録にさかのぼれます。列の意味は `docs/data-dictionary.md` にあります。

# %% [markdown]
# ## 2. 絞り込む：外部委託の諮問
#
# `consultation_register()` は諮問の台帳（1行が1件の諮問）を返します。`category`、`fiscal_years`、`bureau`、`department`、`meeting_id` で絞り込めます。分類のコードは `outsourcing`（外部委託）、`system_change`（情報システムの変更）などです。

# %%
outsourcing = consultation_register(tables, category="outsourcing")
outsourcing.select(
    "meeting_id",
    "label",
    "title",
    "departments",
    "deliberation_group",
    "decision",
    "questions",
    "source_line_start",
)

# %% [markdown]
# 一括審議（ク・ケ・コ など）では、質問や回答は諮問ごとではなく、まとまり（`meeting_id` と `deliberation_group` の組）ごとに記録されています。そこで、外部委託の諮問を含むまとまりを取り出します。

# %%
groups = outsourcing.select("meeting_id", "deliberation_group").unique()
groups

# %% [markdown]
# ## 3. 委員は何を質問したか（回答つき）
#
# 発言の表から、そのまとまりの委員・会長（`member`・`chair`・`vice_chair`）の質問を取り出し、担当課の回答（`reply_to` がその質問の `seq` を指す発言）をつなげます。

# %%
utterances = tables["utterances"].join(groups, on=["meeting_id", "deliberation_group"], how="semi")
questions = utterances.filter(
    pl.col("speaker_role").is_in(["member", "chair", "vice_chair"]) & (pl.col("kind") == "question")
).select("meeting_id", "deliberation_group", "seq", 質問="text", 質問の行="source_line")
answers = (
    utterances.filter(pl.col("kind") == "answer")
    .group_by("meeting_id", "deliberation_group", "reply_to")
    .agg(
        回答=pl.col("text").str.join("／"),
        回答した課=pl.col("speaker_org").drop_nulls().unique(),
        回答の行=pl.col("source_line"),
    )
    .rename({"reply_to": "seq"})
)
qa = questions.join(answers, on=["meeting_id", "deliberation_group", "seq"], how="left").sort(
    "meeting_id", "質問の行"
)
qa

# %% [markdown]
# 上の表が、外部委託の審議での委員・会長の質問と担当課の回答です。「回答」が空の行は、回答が記録されていない（または回答とのつながりが読み取れなかった）質問です。`質問の行`・`回答の行` で議事録を確認できます。

# %% [markdown]
# ## 4. 担当課は何を約束したか
#
# `follow_ups` の `kind == "commitment"` が約束です。`department_follow_ups()` を使うと、発言した課（分からなければ諮問の担当課）が付きます。

# %%
promises = department_follow_ups(tables, kinds="commitment").join(
    groups, on=["meeting_id", "deliberation_group"], how="semi"
)
promises.select("meeting_id", "labels", "department", "text", "source_line")

# %% [markdown]
# 約束のきっかけになった質問は、同じまとまりの直前の質問です。`seq`（発言の順番）で質問の表とつなげられます。

# %%
promises.join(
    utterances.select("meeting_id", "deliberation_group", "seq", "reply_to"),
    on=["meeting_id", "deliberation_group", "seq"],
    how="left",
).join(
    questions.rename({"seq": "reply_to"}),
    on=["meeting_id", "deliberation_group", "reply_to"],
    how="left",
).select(
    "labels",
    "department",
    約束="text",
    約束の行="source_line",
    きっかけの質問="質問",
    質問の行="質問の行",
)

# %% [markdown]
# ## 5. 語を探す（KWIC）
#
# `analysis.kwic("語")` は、すべての発言からその語を探し、前後の文脈、話者、諮問、行番号を返します。全角・半角の違いは無視されます（「ＩＤ」で「ID」も見つかります）。正規表現を使うときは `regex=True`、文脈の長さは `width=` で変えられます。

# %%
hits = analysis.kwic("録画", data_dir)
hits.select("consultation_labels", "speaker_role", "left", "keyword", "right", "source_line")

# %% [markdown]
# ## 6. グラフを作る
#
# グラフは Altair で作ります。審議会の端末はインターネットにつながらないので、最初に `charts.enable_offline()` を呼んでください（グラフを描くプログラムをノートブックの中に入れます）。分類の色は `charts.category_scale()` で、どのレポートでも同じ色になります。

# %%
charts.enable_offline()
register = charts.with_category_labels(consultation_register(tables))  # adds the column 分類
by_category = register.group_by("分類").agg(諮問=pl.len(), 質問=pl.col("questions").sum())
alt.Chart(by_category).mark_bar().encode(
    x=alt.X("質問:Q", title="質問の数（一括審議は諮問ごとに重ねて数える）"),
    y=alt.Y("分類:N", sort="-x", title=None),
    color=alt.Color("分類:N", scale=charts.category_scale(), legend=None),
    tooltip=["分類", "諮問", "質問"],
).properties(title="分類別の質問の数")

# %% [markdown]
# ## 7. 次に使える関数
#
# - `analysis.analyses.preparation_checklist(tables, "outsourcing")`：同じ分類の過去の諮問で出た質問と回答（諮問の準備に）
# - `analysis.analyses.approval_rates(register, by="category")`：同意の割合と Wilson の区間
# - `analysis.analyses.coverage_matrix(tables)`、`safeguard_gaps(tables)`：保護措置の区分の網羅と抜け
# - `analysis.crosstab.topic_by(...)`、`independence_test(...)`：話題のクロス表と検定
# - `analysis.words.term_frequencies(...)`：よく使われた語
#
# 決まった形の報告書は、コマンドで HTML にできます：`council report report_meeting_brief -p meeting_id=tama-2020-09`、すべての定期レポートは `council reports`。
