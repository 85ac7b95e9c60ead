"""The report notebooks in notebooks/, executed end to end.

Every report notebook runs with its defaults and with one other parameter set, and explore.py
runs too; bad parameter values must fail with an error that names them. Kernel starts are slow,
so everything runs once, in one shared kernel, in the module fixture ``rendered`` (failures
last: a failing report replaces the kernel), and the tests read what it wrote.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from analysis import paths
from analysis.render import (
    NotebookExecutionError,
    ParameterError,
    ReportKernel,
    check_schedule,
    load_schedule,
    notebook_parameters,
    run_notebook,
)
from analysis.render.html import external_references

pytestmark = pytest.mark.slow

NOTEBOOKS = paths.notebooks_dir()
REPORTS = (
    "report_meeting_brief",
    "report_consultations",
    "report_question_topics",
    "report_departments",
    "report_outcomes",
    "report_safeguards",
)
# case name → (notebook, parameters). Each report: its defaults, then one other set.
CASES: dict[str, tuple[str, dict]] = {
    "meeting_brief": ("report_meeting_brief", {}),
    "meeting_brief-given": ("report_meeting_brief", {"meeting_id": "tama-2020-09"}),
    "consultations": ("report_consultations", {}),
    "consultations-filtered": (
        "report_consultations",
        {"period": "2020", "category": "outsourcing", "department": "課税課"},
    ),
    "question_topics": ("report_question_topics", {}),
    "question_topics-outsourcing": (
        "report_question_topics",
        {"period": "2020", "category": "outsourcing"},
    ),
    "departments": ("report_departments", {}),
    "departments-課税課": ("report_departments", {"department": "課税課"}),
    "outcomes": ("report_outcomes", {}),
    "outcomes-2020": ("report_outcomes", {"period": "令和2年度"}),
    "safeguards": ("report_safeguards", {}),
    "safeguards-outsourcing": (
        "report_safeguards",
        {"period": "2019-2021", "category": "outsourcing"},
    ),
    "explore": ("explore", {}),
}
# Cases on a synthetic corpus of several meetings and fiscal years (analysis.bench.corpus).
SYNTHETIC: dict[str, tuple[str, dict]] = {
    "synthetic-outcomes": ("report_outcomes", {"period": "2019-2020"}),
    "synthetic-brief": ("report_meeting_brief", {"meeting_id": "tama-1989-01"}),
}
# Bad values: refused before running (choices) or by the notebook's own check (data).
FAILURES: dict[str, tuple[str, dict]] = {
    "category-bogus": ("report_question_topics", {"category": "bogus"}),
    "wrong-type": ("report_outcomes", {"period": 2020}),
    "meeting-unknown": ("report_meeting_brief", {"meeting_id": "tama-1999-01"}),
    "department-unknown": ("report_departments", {"department": "総務課"}),
    "period-unreadable": ("report_outcomes", {"period": "2020年代"}),
    "period-no-data": ("report_safeguards", {"period": "2019"}),
}


def _notebook(stem: str) -> Path:
    return NOTEBOOKS / f"{stem}.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The shipped minutes built into a scratch folder (never data/processed)."""
    from analysis.build import build

    out = tmp_path_factory.mktemp("notebooks_data") / "processed"
    build(paths.raw_dir(), out, progress=False, workers=1)
    return out


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """Six synthetic meetings over three fiscal years (1989, 2019, 2020), built."""
    from analysis.bench.corpus import generate
    from analysis.build import build

    root = tmp_path_factory.mktemp("notebooks_synthetic")
    corpus = generate(6, root / "corpus")
    build(corpus.raw, root / "processed", progress=False, workers=1)
    return root / "processed"


@pytest.fixture(scope="module")
def rendered(built, synthetic, tmp_path_factory):
    """Every case rendered once in one kernel: {case: RenderResult or the exception raised}."""
    out = tmp_path_factory.mktemp("notebooks_out")
    results: dict[str, object] = {}
    seconds: dict[str, float] = {}
    runs = [(case, stem, params, built) for case, (stem, params) in CASES.items()]
    runs += [(case, stem, params, synthetic) for case, (stem, params) in SYNTHETIC.items()]
    runs += [(case, stem, params, built) for case, (stem, params) in FAILURES.items()]
    with ReportKernel() as kernel:
        for case, stem, params, data in runs:
            started = time.perf_counter()
            try:
                results[case] = run_notebook(
                    _notebook(stem), params, data, out, kernel=kernel, name=case
                )
            except Exception as exc:  # recorded: the tests say which are expected
                results[case] = exc
            seconds[case] = time.perf_counter() - started
    timing = ", ".join(f"{c} {s:.1f}s" for c, s in seconds.items())
    print(f"\nnotebook render times: {timing}")
    return results


def _page(rendered, case: str) -> str:
    """The report's HTML as text: tags and the chart JavaScript out, entities decoded."""
    result = rendered[case]
    assert not isinstance(result, Exception), f"{case} failed: {result}"
    raw = result.html.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", raw, flags=re.S | re.I)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", raw))
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def _chart_titles(rendered, case: str) -> list[str]:
    raw = rendered[case].html.read_text(encoding="utf-8")
    titles = []
    for m in re.finditer(r"<script[^>]*council-chart-spec[^>]*>(.*?)</script>", raw, re.S):
        spec = json.loads(m.group(1))
        title = spec.get("title") or next(
            (layer.get("title") for layer in spec.get("layer", []) if layer.get("title")), None
        )
        titles.append(title.get("text") if isinstance(title, dict) else title)
    return titles


# -- every report ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", [*CASES, *SYNTHETIC])
def test_report_renders_offline_without_errors(rendered, case):
    result = rendered[case]
    assert not isinstance(result, Exception), f"{case} failed: {result}"
    assert result.ok and result.html.is_file()
    html = result.html.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    nb = nbformat.read(result.ipynb, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    # the code is hidden: none of the notebook's Python shows in the report
    assert "import polars as pl" not in html and "analysis.load(data_dir)" not in html


def test_meeting_brief(rendered):
    page = _page(rendered, "meeting_brief")
    for heading in (
        "会議の概要",
        "会議の基本情報",
        "議題",
        "諮問ごとの結果",
        "話題別の質問",
        "保護措置（安全管理措置）",
        "抜けのある諮問",
        "追跡が必要な事項",
        "データ品質の注意",
    ):
        assert heading in page, heading
    assert "情報公開・個人情報保護運営審議会 令和2年度第9回 — 令和2年12月15日（火）" in page
    assert "10:00〜12:00" in page and "多摩市役所本庁舎3階 301会議室" in page
    assert "7 名：藤崎（会長）" in page
    assert "諮問 10 件：同意 10 件" in page
    assert "扱う個人情報の項目に追加する。 行 230" in page  # follow-up with its line
    assert "保護措置の記載なし" in page and "ク・ケ・コ" in page
    # data quality: warnings before the rest
    quality = page[page.index("データ品質の注意") :]
    assert quality.index("警告") < quality.index("参考")
    assert "署名者が出席委員にいない" in quality
    assert _chart_titles(rendered, "meeting_brief") == ["令和2年12月15日（火）の質問・意見の話題"]
    assert "令和2年度第9回" in _page(rendered, "meeting_brief-given")


def test_consultations(rendered):
    page = _page(rendered, "consultations")
    assert "諮問の一覧（諮問台帳）" in page and "全期間 ／ 全分類" in page
    assert "諮問 10 件 （会議 1 回、審議 7 件）" in page
    assert _chart_titles(rendered, "consultations") == [
        "分類別の諮問件数（全期間）",
        "担当課別の諮問件数（分類の内訳）",
        "年度別の諮問件数（分類の内訳）",
    ]
    filtered = _page(rendered, "consultations-filtered")
    assert "2020年度（令和2年度） ／ 外部委託 ／ 課税課" in filtered
    assert "諮問 1 件 " in filtered
    assert "行 84〜120" in filtered and "行 44〜82" not in filtered  # イ only, not ア


def test_consultations_chart_data_come_in_one_order(rendered):
    """Rows of equal counts in a fixed order, so that a report made twice is the same page."""
    raw = rendered["consultations"].html.read_text(encoding="utf-8")
    specs = [
        json.loads(m.group(1))
        for m in re.finditer(r"<script[^>]*council-chart-spec[^>]*>(.*?)</script>", raw, re.S)
    ]
    rows = [next(iter(spec["datasets"].values())) for spec in specs]
    by_category, by_department, by_year = rows
    assert len(by_category) > 1 and len(by_department) > 1
    assert by_category == sorted(by_category, key=lambda r: (-r["件数"], r["category"]))
    assert by_department == sorted(by_department, key=lambda r: (r["担当課"], r["category"]))
    assert by_year == sorted(by_year, key=lambda r: (r["fiscal_year"], r["category"]))


def test_question_topics(rendered):
    page = _page(rendered, "question_topics")
    for text in (
        "話題の件数と割合",
        "話題 × 分類",
        "話題 × 担当課",
        "話題ごとの質問例と担当課の回答",
    ):
        assert text in page, text
    assert "独立性の検定：" in page and "並べ替え検定" in page and "p値 =" in page
    assert "期待度数が5未満" in page  # the warning, in Japanese
    assert "録画・カメラ" in page
    assert "回答 （スポーツ振興課・行 170）" in page  # an example answer with its line
    assert "よく使われた語と文脈（KWIC）" in page and "「交付」" in page
    assert "話題 × 分類（発言数）" in _chart_titles(rendered, "question_topics")
    narrow = _page(rendered, "question_topics-outsourcing")
    assert "2020年度（令和2年度） ／ 外部委託" in narrow
    assert "分類を「外部委託」に絞っているため" in narrow
    assert "録画・カメラ" not in narrow  # raised only about オ (本人以外収集)


def test_departments(rendered):
    page = _page(rendered, "departments")
    assert "すべての担当課 ／ 全期間" in page
    for dept in ("課税課", "市民課", "スポーツ振興課", "子育て支援課", "教育振興課"):
        assert dept in page
    assert "扱う個人情報の項目に追加する。" in page  # a commitment
    assert "記載の誤りであり" in page  # a correction
    assert "下請けを使う場合もあるだろうから気を付けてほしい。" in page  # a request
    one = _page(rendered, "departments-課税課")
    assert "課税課 ／ 全期間" in one and "行 44〜82" in one
    assert "スポーツ振興課" not in one and "約束・訂正は記録されていません" in one


def test_outcomes(rendered):
    page = _page(rendered, "outcomes")
    assert "同意の割合は、それだけではほとんど何も語らない" in page
    assert "Wilson" in page
    assert "結果の分かった諮問 10 件のうち 10 件が同意（100%、95%区間 72〜100%）" in page
    assert "10 / 10" in page  # counts beside the rate
    assert "意見・条件を付した決定はありません" in page
    assert "約束 1 件、訂正 1 件、要望 2 件。" in page
    assert "分類別の同意の割合（右の数字は 同意 / 件数）" in _chart_titles(rendered, "outcomes")
    assert "2020年度（令和2年度） ／ 全分類" in _page(rendered, "outcomes-2020")


def test_safeguards(rendered):
    page = _page(rendered, "safeguards")
    for text in (
        "よく述べられる措置",
        "諮問ごとの区分の網羅（諮問 × 区分）",
        "抜けのある諮問",
        "質問されたが、述べられた措置で答えていない話題",
        "取り扱う個人情報の項目",
        "要配慮・機微な個人情報",
    ):
        assert text in page, text
    assert "保護措置の記載がない諮問 3 件" in page
    assert "施錠保管 物理的 3 3" in page
    assert "課税情報 税・所得・口座" in page
    assert "諮問 × 区分（述べた措置の種類数）" in _chart_titles(rendered, "safeguards")
    narrow = _page(rendered, "safeguards-outsourcing")
    assert "2019〜2021年度（令和元〜3年度） ／ 外部委託" in narrow
    assert "常駐監視" not in narrow  # stated only for オ (本人以外収集)


def test_explore_answers_the_outsourcing_question(rendered):
    page = _page(rendered, "explore")
    assert "外部委託の諮問で、委員は何を質問し、担当課は何を約束したか" in page
    assert "市内在学の学生も受講できるのに、学籍を確認しないのか。" in page  # a question
    assert "扱う個人情報の項目に追加する。" in page  # the commitment it drew
    assert "録画" in page  # analysis.kwic("録画")
    assert _chart_titles(rendered, "explore") == ["分類別の質問の数"]


def test_reports_over_several_meetings(rendered):
    page = _page(rendered, "synthetic-outcomes")
    assert "2019〜2020年度（令和元〜2年度） ／ 全分類" in page
    assert "（会議 4 回）" in page
    assert "tama-2019-01 行 " in page  # lines carry their meeting when there are several
    assert "2019年度" in page and "2020年度" in page and "1989年度" not in page
    brief = _page(rendered, "synthetic-brief")
    assert "平成元年度第1回 — 平成元年4月10日（月）" in brief
    assert "この会議は合成データ（ベンチマーク用）です" in brief


# -- bad parameters --------------------------------------------------------------------------
def test_a_value_outside_the_choices_is_refused_before_running(rendered):
    exc = rendered["category-bogus"]
    assert isinstance(exc, ParameterError)
    message = str(exc)
    assert "'bogus'" in message and "all" in message and "outsourcing" in message
    exc = rendered["wrong-type"]
    assert isinstance(exc, ParameterError) and "'period' expects str" in str(exc)


@pytest.mark.parametrize(
    ("case", "named"),
    [
        ("meeting-unknown", ["'tama-1999-01'", "tama-2020-09"]),
        ("department-unknown", ["'総務課'", "課税課", "all"]),
        ("period-unreadable", ["'2020年代'", "2019-2021"]),
        ("period-no-data", ["'2019'", "2020"]),
    ],
)
def test_a_value_not_in_the_data_fails_with_a_named_error(rendered, case, named):
    exc = rendered[case]
    assert isinstance(exc, NotebookExecutionError), exc
    message = str(exc)
    assert "ReportParameterError" in message
    for text in named:
        assert text in message, text
    assert exc.result is not None and exc.result.html is None  # no report for a bad value


# -- declarations and the schedule -----------------------------------------------------------
@pytest.mark.parametrize("stem", [*REPORTS, "explore"])
def test_parameters_are_declared_by_convention(stem):
    declared = notebook_parameters(_notebook(stem))
    assert next(iter(declared)) == "data_dir" and declared["data_dir"].default is None
    if "category" in declared:
        assert declared["category"].choices[0] == "all"
        assert "outsourcing" in declared["category"].choices
    if "period" in declared:
        assert declared["period"].default == "all" and declared["period"].type == "str"


def test_project_schedule_lists_every_report(built):
    schedule = load_schedule(paths.reports_dir() / "schedule.yml")
    notebook_jobs = [job for job in schedule.jobs if job.notebook is not None]
    scheduled = {job.notebook.stem for job in notebook_jobs}
    assert scheduled == set(REPORTS)  # explore.py is for analysts, not scheduled
    assert check_schedule(schedule, built) == []
    per_department = [j for j in notebook_jobs if j.for_each == "department"]
    assert [j.notebook.stem for j in per_department] == ["report_departments"]
    assert any(j.for_each == "meeting" for j in schedule.jobs)
