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
# # 個人情報保護措置と取り扱う個人情報

# %% tags=["parameters"]
# Which safeguards recur, which control categories each 諮問 covers, the gaps, the topics no
# stated safeguard answers, and the personal data items with the sensitive ones flagged.
# Render: `council report report_safeguards -p category=outsourcing -p period=2020`.
# period: "all", one fiscal year ("2020") or a range ("2019-2021"), checked in the next cell.
data_dir = None
period = "all"
category = "all"  # choices: all, system_change, outsourcing, collection_from_third_party, use_outside_purpose, external_provision, online_connection, sensitive_collection, other
max_rows: int = 80

# %%
# Parameters are checked against the data first, with a named error listing the allowed values.
import altair as alt
import polars as pl
from IPython.display import Markdown, display

from analysis import charts
from analysis import report_helpers as rh
from analysis.analyses import (
    coverage_matrix,
    flag_sensitive_items,
    items_by_consultation,
    items_by_frequency,
    measure_recurrence,
    safeguard_gaps,
    sensitive_summary,
    uncovered_topics,
)
from analysis.report_helpers import ReportParameterError, markdown_table, md
from analysis.schema import CONTROL_CATEGORIES

if max_rows < 1:
    raise ReportParameterError(f"max_rows = {max_rows!r} は1以上にしてください")
tables = rh.load_tables(data_dir)
scope = rh.select_scope(tables, period=period, category=category)

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
data = scope.tables
several_meetings = data["meetings"].height > 1
meeting_col = "meeting_id" if several_meetings else None
topics_ja = rh.topic_labels()
measures_ja = rh.measure_labels()
control_ja = {c: rh.CONTROL_CATEGORY_JA[c] for c in CONTROL_CATEGORIES}
CONTROL_COLORS = {
    "組織的": "#4a6d8c",
    "人的": "#e0a030",
    "物理的": "#5a9e6f",
    "技術的": "#9b6fb0",
    "未分類": "#c8c8c8",
}

# %%
display(
    Markdown(
        f"## {md(scope.label)}\n\n"
        f"諮問 {scope.register.height} 件（会議 {data['meetings'].height} 回）で述べられた個人情報保護措置と、取り扱う個人情報の項目です。"
        "措置は `data/reference/safeguard_taxonomy.csv` の規則で種類に分け、組織的・人的・物理的・技術的の4区分（安全管理措置の区分）にまとめています。"
        "一括審議（イ・ウ など）でまとめて述べた措置や項目は、まとまりごとに1回と数えます。"
    )
)

# %% [markdown]
# ### よく述べられる措置

# %%
recurrence = (
    measure_recurrence(data["safeguards"], refs_limit=8)
    .with_columns(
        措置=pl.coalesce("label_ja", pl.lit("未分類（分類表に当たらない記述）")),
        区分=pl.col("control_category").replace_strict(
            rh.CONTROL_CATEGORY_JA, default=pl.col("control_category")
        ),
    )
    .pipe(rh.with_refs, "source_refs", show_meeting=several_meetings, limit=8, total="n_refs")
)
if recurrence.height:
    present = [c for c in CONTROL_COLORS if c in set(recurrence["区分"])]
    control_scale = alt.Scale(domain=present, range=[CONTROL_COLORS[c] for c in present])
    chart = (
        alt.Chart(recurrence.drop("consultation_ids", "source_refs", "n_refs"))
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="述べた審議の数", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("措置:N", sort="-x", title=None),
            color=alt.Color("区分:N", scale=control_scale, title="区分"),
            tooltip=[
                "措置:N",
                "区分:N",
                alt.Tooltip("count:Q", title="審議数"),
                alt.Tooltip("consultations:Q", title="諮問数"),
                alt.Tooltip("statements:Q", title="記述の数"),
                "行:N",
            ],
        )
        .properties(title=f"述べられた保護措置（{scope.period.label}）", height=alt.Step(20))
    )
    display(chart)
display(
    Markdown(
        markdown_table(
            recurrence,
            {
                "措置": "措置",
                "区分": "区分",
                "count": "審議",
                "consultations": "諮問",
                "meetings": "会議",
                "行": "行",
            },
            empty="保護措置の記述はありません",
        )
    )
)

# %% [markdown]
# ### 諮問ごとの区分の網羅（諮問 × 区分）
#
# 数字は、その諮問がその区分で述べた措置の種類数です。0 は、その区分の措置を述べていないことを示します（不要な場合もあるので、抜けの候補として読んでください）。

# %%
matrix = coverage_matrix(data)
coverage = charts.with_category_labels(matrix)
labels = coverage.with_columns(
    諮問=(pl.col("meeting_id") + " " if several_meetings else pl.lit(""))
    + pl.col("label")
    + "（"
    + pl.col("分類")
    + "）"
).select("consultation_id", "諮問", "meeting_id", "label", "source_line_start", "source_line_end")
order = labels["諮問"].tail(max_rows).to_list()
shown = labels  # the chart draws the newest max_rows 諮問: cells only for those
if labels.height > max_rows:
    shown = labels.filter(pl.col("諮問").is_in(order))
    display(
        Markdown(
            f"（図は新しい {max_rows} 件の諮問のみ。全 {labels.height} 件の抜けは下の表にあります）"
        )
    )
per_category = (
    data["safeguards"]
    .join(shown, on="consultation_id", how="semi")
    .filter(pl.col("measure") != "unclassified")
    .with_columns(措置=pl.col("measure").replace_strict(measures_ja, default=pl.col("measure")))
    .group_by("consultation_id", "control_category")
    .agg(pl.col("措置").unique(maintain_order=True).str.join("、"))
)
cells = (
    coverage.join(shown, on="consultation_id", how="semi")
    .select("consultation_id", *CONTROL_CATEGORIES)
    .unpivot(index="consultation_id", variable_name="control_category", value_name="措置数")
    .join(per_category, on=["consultation_id", "control_category"], how="left")
    .join(labels, on="consultation_id", how="left")
    .pipe(rh.with_lines, "source_line_start", end="source_line_end", meeting=meeting_col)
    .with_columns(
        区分=pl.col("control_category").replace_strict(control_ja),
        措置=pl.col("措置").fill_null("（なし）"),
    )
)
heat = (
    alt.Chart(cells)
    .mark_rect(stroke="white")
    .encode(
        x=alt.X(
            "区分:N",
            sort=list(control_ja.values()),
            title=None,
            axis=alt.Axis(orient="top", labelAngle=0),
        ),
        y=alt.Y("諮問:N", sort=order, title=None),
        color=alt.condition(
            "datum['措置数'] == 0",
            alt.value("#f2f2f2"),
            alt.Color(
                "措置数:Q", title="措置の種類数", scale=alt.Scale(scheme="greens", domainMin=0)
            ),
        ),
        tooltip=["諮問:N", "区分:N", "措置数:Q", "措置:N", "行:N"],
    )
    .properties(title="諮問 × 区分（述べた措置の種類数）", width=alt.Step(90), height=alt.Step(22))
)
text = heat.mark_text(fontSize=12).encode(
    text="措置数:Q",
    color=alt.condition("datum['措置数'] > 2", alt.value("white"), alt.value("#222222")),
)
display(heat + text)

# %% [markdown]
# ### 抜けのある諮問
#
# 4区分のどれかを述べていない諮問と、保護措置をまったく述べていない諮問（先頭）です。

# %%
gaps = (
    safeguard_gaps(data, coverage=matrix)
    .pipe(rh.with_labels, "missing_categories", rh.CONTROL_CATEGORY_JA, "欠けている区分")
    .pipe(charts.with_category_labels)
    .with_columns(
        状態=pl.when(pl.col("states_none"))
        .then(pl.lit("保護措置の記載なし"))
        .otherwise(pl.format("{} / 4 区分", "categories_covered"))
    )
)
none = gaps.filter(pl.col("states_none")).height
full = coverage.filter(pl.col("categories_covered") == 4).height
display(
    Markdown(
        f"4区分すべてを述べた諮問 {full} 件、どれかが欠ける諮問 {gaps.height - none} 件、保護措置の記載がない諮問 {none} 件（全 {coverage.height} 件）。"
    )
)
display(
    Markdown(
        markdown_table(
            rh.for_shown_rows(  # lines only for the rows shown
                gaps,
                300,
                lambda df: df.pipe(
                    rh.with_lines, "source_line_start", end="source_line_end", meeting=meeting_col
                ),
            ),
            {
                "label": "記号",
                "分類": "分類",
                "deliberation_group": "一括審議",
                "状態": "状態",
                "欠けている区分": "欠けている区分",
                "行": "行",
            },
            empty="すべての諮問が4区分とも述べています",
            limit=300,
        )
    )
)

# %% [markdown]
# ### 質問されたが、述べられた措置で答えていない話題
#
# 委員・会長が質問・意見した話題のうち、その審議で述べられた保護措置のどれも対応していないものです。話題と措置の対応は `data/reference/topic_safeguard_map.csv` で決めています。回答の中で口頭で説明された場合もあるので、議事録で確認する候補として読んでください。

# %%
uncovered = uncovered_topics(  # lists (lines, measures) only for the 200 rows shown below
    data["question_topics"], data["utterances"], data["safeguards"], detail_rows=200
).pipe(rh.with_labels, "topic", topics_ja, "話題")
by_topic = (
    uncovered.group_by("話題")
    .agg(
        審議数=pl.len(),
        審議=rh.join_first(
            pl.format("{}:{}", "meeting_id", "deliberation_group")
            if several_meetings
            else pl.col("deliberation_group")
        ),
    )
    .sort(["審議数", "話題"], descending=[True, False])
)
display(
    Markdown(
        markdown_table(
            by_topic, {"話題": "話題", "審議数": "審議数", "審議": "審議"}, empty="該当なし"
        )
    )
)
shown_uncovered = rh.for_shown_rows(  # measures and lines only for the rows shown
    uncovered,
    200,
    lambda df: df.pipe(rh.with_labels, "expected_measures", measures_ja, "対応する措置の例").pipe(
        rh.with_lines, "source_lines", meeting=meeting_col
    ),
)
display(
    Markdown(
        markdown_table(
            shown_uncovered,
            {
                "deliberation_group": "審議",
                "話題": "話題",
                "matched": "きっかけの語",
                "対応する措置の例": "対応する措置の例",
                "行": "質問の行",
            },
            empty="該当なし",
            limit=200,
        )
    )
)

# %% [markdown]
# ### 取り扱う個人情報の項目

# %%
items = items_by_frequency(data["personal_data_items"], refs_limit=6).pipe(
    rh.with_refs, "source_refs", show_meeting=several_meetings, limit=6, total="n_refs"
)
display(
    Markdown(
        markdown_table(
            items,
            {
                "item_norm": "項目",
                "count": "審議",
                "consultations": "諮問",
                "item_groups": "まとめられた区分",
                "行": "行",
            },
            empty="個人情報の項目の記述はありません",
            limit=40,
        )
    )
)
flags = flag_sensitive_items(data["personal_data_items"])
per_consultation = items_by_consultation(data, flags=flags)
no_items = per_consultation.filter(pl.col("n_items") == 0)
if no_items.height:
    display(
        Markdown(
            f"項目の記載が読み取れない諮問が {no_items.height} 件あります（{md('、'.join(no_items['label']))}）。一括審議で別の諮問にまとめて書かれている場合もあります。"
        )
    )

# %% [markdown]
# ### 要配慮・機微な個人情報
#
# 項目を `data/reference/sensitive_items.csv` の語と照らし、要配慮個人情報、個人番号、税・所得、戸籍、福祉、画像・映像にあたるものに印をつけました。語の一致による機械的な判定なので、最終的な判断は議事録と資料で行ってください。

# %%
summary = (
    sensitive_summary(flags, refs_limit=6)
    .pipe(rh.with_labels, "kind", rh.SENSITIVE_KIND_JA, "種類")
    .pipe(rh.with_refs, "source_refs", show_meeting=several_meetings, limit=6, total="n_refs")
)
display(
    Markdown(
        markdown_table(
            summary,
            {
                "label_ja": "区分",
                "種類": "種類",
                "count": "審議",
                "consultations": "諮問",
                "items": "該当した項目",
                "行": "行",
            },
            empty="要配慮・機微な項目は見つかりませんでした",
        )
    )
)
flagged = rh.for_shown_rows(  # lines only for the rows shown
    per_consultation.filter(pl.col("n_sensitive") > 0).pipe(charts.with_category_labels),
    200,
    lambda df: df.pipe(rh.with_lines, "source_lines", meeting=meeting_col),
)
display(
    Markdown(
        markdown_table(
            flagged,
            {
                "label": "記号",
                "分類": "分類",
                "n_items": "項目数",
                "n_sensitive": "該当数",
                "sensitive_labels": "区分",
                "items": "項目",
                "行": "行",
            },
            empty="該当する諮問はありません",
            limit=200,
        )
    )
)
