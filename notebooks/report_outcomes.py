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
# # 審議の結果

# %% tags=["parameters"]
# Decisions and votes, approval rates with counts and Wilson intervals, conditions, deferrals
# and follow-ups. Render: `council report report_outcomes -p period=2020`.
# period: "all", one fiscal year ("2020") or a range ("2019-2021"), checked in the next cell.
data_dir = None
period = "all"

# %%
# Parameters are checked against the data first, with a named error listing the allowed values.
import altair as alt
import polars as pl
from IPython.display import Markdown, display

from analysis import charts
from analysis import report_helpers as rh
from analysis.analyses import approval_rates, outcome_profile
from analysis.report_helpers import markdown_table, md

tables = rh.load_tables(data_dir)
scope = rh.select_scope(tables, period=period)

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
data = scope.tables
several_meetings = data["meetings"].height > 1
register = scope.register.join(
    data["consultations"].select("consultation_id", "decision_text", "decision_line"),
    on="consultation_id",
    how="left",
).with_columns(
    結果=pl.col("decision").replace_strict(rh.DECISION_JA, default=pl.col("decision")),
    採決=pl.col("vote").replace_strict(rh.VOTE_JA, default=pl.col("vote")),
)
DECISION_COLORS = {  # outcome colours: calm for agreement, warm for anything else
    "同意": "#4a6d8c",
    "意見を付して同意": "#9cc0dd",
    "継続審議": "#e0a030",
    "取り下げ": "#a0a0a0",
    "不同意": "#c0392b",
    "不明（読み取れず）": "#e6e6e6",
}

# %%
note = rh.regime_note(data["meetings"])
display(
    Markdown(
        f"## {md(scope.label)}\n\n"
        f"諮問 **{register.height} 件**（会議 {data['meetings'].height} 回）の結果です。"
        + (f"\n\n{note}" if note else "")
    )
)

# %% [markdown]
# ### 結果と採決

# %%
decisions = (
    register.group_by("decision", "結果")
    .agg(件数=pl.len(), 諮問=rh.join_first(pl.col("meeting_id") + ":" + pl.col("label")))
    .with_columns(
        割合=(pl.col("件数") / register.height).map_elements(rh.percent, return_dtype=pl.String)
    )
    .sort("件数", descending=True)
)
votes = (
    register.group_by("vote", "採決")
    .agg(件数=pl.len())
    .with_columns(
        割合=(pl.col("件数") / register.height).map_elements(rh.percent, return_dtype=pl.String)
    )
    .sort("件数", descending=True)
)
display(Markdown(markdown_table(decisions, ["結果", "件数", "割合"])))
display(
    Markdown(
        "採決の方法："
        + "、".join(f"{r['採決']} {r['件数']} 件" for r in votes.iter_rows(named=True))
        + "。"
    )
)
by_year = (
    register.group_by("fiscal_year", "結果")
    .agg(件数=pl.len(), 諮問=rh.join_first(pl.col("meeting_id") + ":" + pl.col("label")))
    .with_columns(年度=pl.format("{}年度", "fiscal_year"))
    .sort("fiscal_year")
)
shown = [d for d in DECISION_COLORS if d in set(by_year["結果"])]
chart = (
    alt.Chart(by_year)
    .mark_bar()
    .encode(
        x=alt.X(
            "年度:O",
            title=None,
            axis=alt.Axis(labelAngle=0),
            sort=by_year["年度"].unique(maintain_order=True).to_list(),
        ),
        y=alt.Y("sum(件数):Q", title="件数", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color(
            "結果:N", scale=alt.Scale(domain=shown, range=[DECISION_COLORS[d] for d in shown])
        ),
        tooltip=["年度:N", "結果:N", "件数:Q", "諮問:N"],
    )
    .properties(title="年度別の結果", width=alt.Step(56))
)
display(chart)

# %% [markdown]
# ### 同意の割合は、それだけではほとんど何も語らない
#
# 同意の割合は目安にとどめてください。理由は三つあります。
#
# 1. **ほとんどの諮問は同意される**。担当課は事務局（文書法制課）と事前に調整し、準備が整ってから諮問します。同意の割合が高いのは当然で、審議会の働きを測る物差しになりません。
# 2. **件数が少ない**。数件から十数件の割合は大きく揺れます。そこで割合に「95%の区間」（Wilson の方法）を添えました。「同じような諮問が続くとしたら、本当の同意の割合はこの幅のどこかにありそう」という範囲です。10件中10件が同意でも、区間は 72〜100% で、「必ず同意される」とは言えません。
# 3. **審議会の働きは別のところに現れる**。付された意見・条件、継続審議、審議中の約束・訂正・要望、そして質問です。下の「結果の中身」と「約束・訂正・要望」を合わせて読んでください。
#
# 結果が「不明」の諮問（議事録から読み取れなかったもの）は割合の計算から除き、件数だけ示します。

# %%
overall = approval_rates(register, by="all").row(0, named=True)
display(
    Markdown(
        f"この範囲では、結果の分かった諮問 {overall['n']} 件のうち {overall['approved']} 件が同意"
        f"（{rh.percent(overall['rate'])}、95%区間 {rh.interval_text(overall['wilson_low'], overall['wilson_high'])}）。"
        + (
            f"結果が読み取れない諮問が {overall['n_unknown']} 件あります。"
            if overall["n_unknown"]
            else ""
        )
    )
)


def rate_view(by: str, label: str) -> pl.DataFrame:
    rates = approval_rates(register, by=by)
    if by == "category":
        rates = charts.with_category_labels(rates, name=label)
    elif by == "fiscal_year":
        rates = rates.with_columns(pl.format("{}年度", "fiscal_year").alias(label))
    else:
        rates = rates.with_columns(pl.col(by).fill_null("（不明）").alias(label))
    return rates.with_columns(
        同意_件数=pl.format("{} / {}", "approved", "n"),
        同意の割合=pl.col("rate").map_elements(rh.percent, return_dtype=pl.String),
        区間=pl.struct("wilson_low", "wilson_high").map_elements(
            lambda r: rh.interval_text(r["wilson_low"], r["wilson_high"]), return_dtype=pl.String
        ),
        その他=pl.format(
            "意見付き {}・不同意 {}・継続 {}・取下げ {}・不明 {}",
            "n_approved_with_conditions",
            "n_rejected",
            "n_deferred",
            "n_withdrawn",
            "n_unknown",
        ),
        同意でない諮問=pl.col("not_approved_ids"),
    )


def rate_chart(rates: pl.DataFrame, label: str, title: str) -> alt.LayerChart:
    base = alt.Chart(rates.drop("consultation_ids", "not_approved_ids")).encode(
        y=alt.Y(f"{label}:N", title=None, sort=rates[label].to_list()),
        tooltip=[
            alt.Tooltip(f"{label}:N"),
            alt.Tooltip("同意_件数:N", title="同意 / 結果の分かった諮問"),
            alt.Tooltip("同意の割合:N"),
            alt.Tooltip("区間:N", title="95%区間"),
            alt.Tooltip("その他:N", title="内訳"),
        ],
    )
    interval = base.mark_rule(strokeWidth=3, color="#9cb6cc").encode(
        x=alt.X(
            "wilson_low:Q",
            title="同意の割合（点）と95%区間（線）",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        x2="wilson_high:Q",
    )
    point = base.mark_point(filled=True, size=90, color=rh.NEUTRAL_COLOR).encode(x="rate:Q")
    counts = base.mark_text(align="left", dx=8, fontSize=12, color="#333333").encode(
        x=alt.value(525), text=alt.Text("同意_件数:N")
    )
    return (interval + point + counts).properties(title=title, width=520, height=alt.Step(28))


columns = {
    "同意_件数": "同意 / 結果の分かった諮問",
    "同意の割合": "同意の割合",
    "区間": "95%区間",
    "consultations": "諮問（全件）",
    "その他": "内訳",
}
for by, label in (("category", "分類"), ("fiscal_year", "年度")):
    rates = rate_view(by, label)
    display(Markdown(f"#### {label}別"))
    display(rate_chart(rates, label, f"{label}別の同意の割合（右の数字は 同意 / 件数）"))
    display(Markdown(markdown_table(rates, {label: label, **columns})))

# %% [markdown]
# ### 結果の中身（条件・継続審議・約束）
#
# 「約束などのあった諮問」は、その審議で約束・訂正・要望のいずれかが記録された諮問の数です。1諮問あたりの数は、一括審議のまとまりの数を各諮問に数えた平均です。

# %%
profile = charts.with_category_labels(outcome_profile(register, by="category"))
display(
    Markdown(
        markdown_table(
            profile,
            {
                "分類": "分類",
                "consultations": "諮問",
                "with_conditions": "意見・条件付き",
                "deferred": "継続審議",
                "withdrawn": "取り下げ",
                "rejected": "不同意",
                "with_follow_ups": "約束などのあった諮問",
                "questions_per_consultation": "質問／諮問",
                "commitments_per_consultation": "約束／諮問",
                "corrections_per_consultation": "訂正／諮問",
                "requests_per_consultation": "要望／諮問",
            },
            decimals=1,
        )
    )
)

# %% [markdown]
# ### 付された意見・条件

# %%
meeting_col = "meeting_id" if several_meetings else None
conditioned = register.filter(
    (pl.col("decision") == "approved_with_conditions") | pl.col("conditions").is_not_null()
).pipe(rh.with_lines, "decision_line", meeting=meeting_col)
display(
    Markdown(
        markdown_table(
            conditioned,
            {
                "date": "会議日",
                "label": "記号",
                "title": "件名",
                "結果": "結果",
                "conditions": "意見・条件",
                "行": "決定文の行",
            },
            empty="意見・条件を付した決定はありません",
        )
    )
)

# %% [markdown]
# ### 継続審議・取り下げ・不同意

# %%
other = register.filter(
    pl.col("decision").is_in(["deferred", "withdrawn", "rejected", "unknown"])
).pipe(rh.with_lines, "decision_line", meeting=meeting_col)
display(
    Markdown(
        markdown_table(
            other,
            {
                "date": "会議日",
                "label": "記号",
                "title": "件名",
                "結果": "結果",
                "decision_text": "決定文",
                "行": "行",
            },
            empty="継続審議・取り下げ・不同意・結果不明の諮問はありません",
        )
    )
)

# %% [markdown]
# ### 審議中の約束・訂正・要望
#
# 同意の決定とは別に、審議の中で担当課が約束したこと、資料を訂正したこと、委員が求めたことです。

# %%
follow = rh.follow_up_rows(data).pipe(rh.with_lines, "source_line", meeting=meeting_col)
kinds = dict(follow.group_by("kind").len().iter_rows())
display(
    Markdown(
        "、".join(f"{label} {kinds.get(kind, 0)} 件" for kind, label in rh.FOLLOW_UP_JA.items())
        + "。"
    )
)
display(
    Markdown(
        markdown_table(
            follow,
            {
                "kind_ja": "種類",
                "date": "会議日",
                "labels": "諮問",
                "speaker_ja": "発言者",
                "departments": "担当課",
                "text": "内容",
                "行": "行",
            },
            empty="約束・訂正・要望は記録されていません",
            limit=300,
        )
    )
)
