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
# # 委員の質問の話題

# %% tags=["parameters"]
# What members asked about: topics, topic × category / department with an independence test,
# example questions with the departments' answers, and keywords in context.
# Render: `council report report_question_topics -p category=outsourcing -p period=2020`.
# period: "all", one fiscal year ("2020") or a range ("2019-2021"), checked in the next cell.
data_dir = None
period = "all"
category = "all"  # choices: all, system_change, outsourcing, collection_from_third_party, use_outside_purpose, external_provision, online_connection, sensitive_collection, other
examples: int = 2
top_terms: int = 5

# %%
# Parameters are checked against the data first, with a named error listing the allowed values.
import altair as alt
import polars as pl
from IPython.display import Markdown, display

from analysis import charts
from analysis import report_helpers as rh
from analysis.crosstab import independence_test, topic_by
from analysis.report_helpers import ReportParameterError, markdown_table, md
from analysis.schema import COUNCIL_ROLES
from analysis.words import kwic, kwic_count, term_frequencies, token_cache_dir

if examples < 1 or top_terms < 0:
    raise ReportParameterError(
        f"examples = {examples!r} は1以上、top_terms = {top_terms!r} は0以上にしてください"
    )
tables = rh.load_tables(data_dir)
scope = rh.select_scope(tables, period=period, category=category)

charts.enable_offline()  # charts drawn with no network (LGWAN): JavaScript inside the report
data = scope.tables
several_meetings = data["meetings"].height > 1
topics_ja = rh.topic_labels()
categories_ja = charts.category_labels()
KINDS = ["question", "remark"]
council = data["utterances"].filter(
    pl.col("speaker_role").is_in(COUNCIL_ROLES) & pl.col("kind").is_in(KINDS)
)

# %%
coded = rh.council_topics(data, KINDS, turns=True)  # (turn, topic) rows, shared below
tagged = coded["turn"].n_unique()  # turns with a topic
counts = rh.topic_counts(
    data, kinds=KINDS, labels=topics_ja, refs_limit=12, coded=coded, tagged_turns=tagged
)
groups = data["consultations"].select("meeting_id", "deliberation_group").unique().height
display(
    Markdown(
        f"## {md(scope.label)}\n\n"
        f"対象：諮問 {scope.register.height} 件（審議 {groups} 件、会議 {data['meetings'].height} 回）"
        f"での委員・会長の質問と意見 {council.height} 件。"
        f"そのうち {tagged} 件に、`data/reference/topic_rules.yml` の規則で話題がつきました。"
        "1つの発言に複数の話題がつくことがあるので、話題ごとの件数の合計は発言数より多くなります。"
    )
)

# %% [markdown]
# ### 話題の件数と割合
#
# 「審議の割合」は、対象の審議のうちその話題が一度でも出た審議の割合です。「発言の割合」は、話題のついた発言のうちその話題がついた発言の割合です。

# %%
counts_view = counts.pipe(
    rh.with_refs, "source_refs", show_meeting=several_meetings, limit=12, total="n_refs"
).with_columns(
    審議の割合=pl.col("share").map_elements(rh.percent, return_dtype=pl.String),
    発言の割合=pl.col("utterance_share").map_elements(rh.percent, return_dtype=pl.String),
)
if counts.height:
    chart = (
        alt.Chart(
            counts_view.select(
                "topic_ja", "utterances", "deliberations", "審議の割合", "発言の割合", "行"
            )
        )
        .mark_bar(color=rh.NEUTRAL_COLOR)
        .encode(
            x=alt.X(
                "deliberations:Q",
                title="話題が出た審議の数",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=alt.Y("topic_ja:N", sort="-x", title=None),
            tooltip=[
                alt.Tooltip("topic_ja:N", title="話題"),
                alt.Tooltip("deliberations:Q", title="審議数"),
                alt.Tooltip("審議の割合:N"),
                alt.Tooltip("utterances:Q", title="発言数"),
                alt.Tooltip("発言の割合:N"),
                alt.Tooltip("行:N", title="行"),
            ],
        )
        .properties(title=f"話題が出た審議の数（{scope.period.label}）", height=alt.Step(22))
    )
    display(chart)
display(
    Markdown(
        markdown_table(
            counts_view,
            {
                "topic_ja": "話題",
                "deliberations": "審議数",
                "審議の割合": "審議の割合",
                "utterances": "発言数",
                "発言の割合": "発言の割合",
                "行": "行（例）",
            },
            empty="話題のついた質問・意見はありません",
        )
    )
)


# %%
def cross_table(by: str, labels: dict[str, str], column_title: str, max_columns: int = 12) -> None:
    """Topic × ``by`` counts: a heat map, the table (widest groups first) and the test."""
    wide = topic_by(
        data["question_topics"],
        council,
        data["consultations"],
        by=by,
        meetings=data["meetings"],
        kinds=KINDS,
        tagged=coded,
    )
    if wide.height == 0:
        display(Markdown("（話題のついた発言がないため、表を作れません）"))
        return
    long = wide.unpivot(index="topic", variable_name="group", value_name="n").with_columns(
        話題=pl.col("topic").replace_strict(topics_ja, default=pl.col("topic")),
        列=pl.col("group").replace_strict(labels, default=pl.col("group")),
    )
    totals = (
        long.group_by("group").agg(pl.col("n").sum()).sort(["n", "group"], descending=[True, False])
    )
    column_order = [labels.get(g, g) for g in totals["group"]]  # most utterances first
    chart = (
        alt.Chart(long)
        .mark_rect(stroke="white")
        .encode(
            x=alt.X("列:N", title=None, sort=column_order, axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("話題:N", title=None, sort=counts["topic_ja"].to_list()),
            color=alt.condition(
                "datum.n == 0",
                alt.value("#f4f4f4"),
                alt.Color("n:Q", title="発言数", scale=alt.Scale(scheme="blues", domainMin=0)),
            ),
            tooltip=[
                alt.Tooltip("話題:N"),
                alt.Tooltip("列:N", title=column_title),
                alt.Tooltip("n:Q", title="発言数"),
            ],
        )
        .properties(
            title=f"話題 × {column_title}（発言数）", width=alt.Step(44), height=alt.Step(20)
        )
    )
    text = chart.mark_text(fontSize=11).encode(
        text=alt.Text("n:Q"),
        color=alt.when("datum.n == 0")
        .then(alt.value("#bbbbbb"))
        .when(f"datum.n > {long['n'].max() * 0.55}")  # dark cells: white text
        .then(alt.value("white"))
        .otherwise(alt.value("#222222")),
    )
    display(chart + text)
    shown = totals["group"].head(max_columns).to_list()
    rank = {t: i for i, t in enumerate(counts["topic"])}  # most raised first, as above
    table = wide.with_columns(
        話題=pl.col("topic").replace_strict(topics_ja, default=pl.col("topic")),
        _rank=pl.col("topic").replace_strict(rank, default=len(rank), return_dtype=pl.Int64),
    ).sort("_rank")
    columns = {"話題": "話題"} | {g: labels.get(g, g) for g in shown}
    note = ""
    if len(totals) > max_columns:
        note = f"\n\n（表は発言の多い {max_columns} 列のみ。全 {len(totals)} 列はグラフにあります）"
    display(Markdown(markdown_table(table, columns) + note))
    display(Markdown(rh.describe_test_ja(independence_test(wide), columns=column_title)))


# %% [markdown]
# ### 話題 × 分類
#
# 委員の関心が諮問の分類（外部委託、情報システムの変更など）によって違うかを見る表です。一括審議で分類の違う諮問をまとめて審議したときは、その発言をそれぞれの分類に数えます。

# %%
if scope.category == "all":
    cross_table("category", categories_ja, "分類")
else:
    display(
        Markdown(
            f"（分類を「{md(categories_ja[scope.category])}」に絞っているため、この表は作りません）"
        )
    )

# %% [markdown]
# ### 話題 × 担当課
#
# 連名の諮問や一括審議では、その発言をそれぞれの課に数えます。

# %%
cross_table("department", {}, "担当課")

# %% [markdown]
# ### 話題ごとの質問例と担当課の回答
#
# 各話題について、新しい審議から順に質問・意見の例を挙げます。回答は、その質問に続けて担当課が答えた発言です（回答のない意見もあります）。

# %%
found = rh.topic_examples(data, examples=examples, coded=coded)
order = counts["topic"].to_list()
blocks = []
for topic in order:
    row = counts.filter(pl.col("topic") == topic).row(0, named=True)
    lines_md = [
        f"#### {md(row['topic_ja'])}（審議 {row['deliberations']} 件、発言 {row['utterances']} 件）"
    ]
    for ex in found.filter(pl.col("topic") == topic).iter_rows(named=True):
        where = (
            f"{rh.jp_date(ex['date'])}・諮問{md('・'.join(ex['labels']))}・"
            f"{rh.lines_text(ex['question_line'], ex['meeting_id'] if several_meetings else None)}"
        )
        kind = rh.ja(rh.UTTERANCE_KIND_JA, ex["kind"])
        lines_md.append(f"- **{kind}**（{where}）：{md(ex['question'])}")
        if ex["answer"]:
            orgs = "・".join(ex["answer_orgs"]) or "担当課"
            lines_md.append(
                f"    - **回答**（{md(orgs)}・{rh.lines_text(ex['answer_lines'])}）：{md(ex['answer'])}"
            )
        else:
            lines_md.append("    - （この発言への回答は記録されていません）")
    blocks.append("\n".join(lines_md))
display(Markdown("\n\n".join(blocks) or "（話題のついた質問・意見はありません）"))

# %% [markdown]
# ### よく使われた語と文脈（KWIC）
#
# 委員・会長の質問と意見から、よく使われた語（名詞・動詞・形容詞）を数えました。よく使われた名詞について、前後の文脈（KWIC: keyword in context）を示します。

# %%
terms = term_frequencies(council, kinds=KINDS, top=15, cache_dir=token_cache_dir(data_dir))
display(
    Markdown(
        markdown_table(
            terms,
            {"term": "語", "pos": "品詞", "count": "出現回数", "documents": "発言数"},
            empty="語がありません",
        )
    )
)
nouns = terms.filter(pl.col("pos") == "名詞")["term"].head(top_terms).to_list()
for term in nouns:
    total = kwic_count(council, term)  # every hit counted, the first 8 shown
    hits = kwic(council, term, consultations=data["consultations"], width=18, limit=8)
    hits = hits.with_columns(
        話者=pl.col("speaker_role").replace_strict(
            rh.SPEAKER_ROLE_JA, default=pl.col("speaker_role")
        ),
    ).pipe(rh.with_lines, "source_line", meeting="meeting_id" if several_meetings else None)
    display(Markdown(f"#### 「{md(term)}」（{total} か所）"))
    display(
        Markdown(
            markdown_table(
                hits,
                {
                    "consultation_labels": "諮問",
                    "話者": "話者",
                    "left": "前",
                    "keyword": "語",
                    "right": "後",
                    "行": "行",
                },
                empty="表記が違うため本文に見つかりません（辞書の正規化形です）",
                limit=8,
                total=total,
            )
        )
    )
