"""Rendering report notebooks (analysis.render): parameters, names, HTML, schedules.

Kernel starts are slow, so the notebooks run once per module (fixtures ``single`` and
``batch``) and the tests read what they wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from typer.testing import CliRunner

from analysis.render import (
    ParameterError,
    ReportKernel,
    ScheduleError,
    check_schedule,
    load_schedule,
    notebook_parameters,
    render_schedule,
    run_notebook,
    summarize,
)
from analysis.render import notebook as render_notebook
from analysis.render.html import NO_ALT_TEXT, _accessible, external_references, strip_external
from analysis.render.naming import output_path, report_name, safe_component
from analysis.render.parameters import parse_cli_value, parse_parameters
from analysis.render.schedule import expand, for_each_values

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
TINY = FIXTURES / "tiny_report.py"
EXTERNAL = re.compile(r"(?<![\w-])(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def single(seed_build, tmp_path_factory):
    """The fixture notebook rendered once with its own kernel, with a parameter."""
    out = tmp_path_factory.mktemp("single")
    result = run_notebook(TINY, {"top_n": 3}, seed_build, out)
    return result, out


def _schedule(tmp: Path, jobs: list) -> Path:
    path = tmp / "schedule.yml"
    path.write_text(yaml.safe_dump({"jobs": jobs}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def batch(seed_build, tmp_path_factory):
    """A schedule of four reports in one kernel; the second job fails on purpose."""
    tmp = tmp_path_factory.mktemp("batch")
    schedule = _schedule(
        tmp,
        [
            {"notebook": str(TINY), "parameters": {"top_n": 1}},
            {"notebook": str(TINY), "parameters": {"fail": True}},
            {"notebook": str(TINY), "for_each": "meeting", "name": "会議-{meeting_id}"},
            {"notebook": str(TINY), "parameters": {"top_n": 2, "mode": "share"}},
        ],
    )
    out = tmp / "out"
    lines: list[str] = []
    results = render_schedule(schedule, seed_build, out, log=lines.append)
    return results, out, lines


# -- one report ------------------------------------------------------------------------------
def test_run_notebook_writes_ipynb_and_html(single):
    result, out = single
    assert result.ok and result.error is None
    assert result.name == "tiny_report-3"
    assert result.html == out / "tiny_report-3.html" and result.html.is_file()
    assert result.ipynb == out / "tiny_report-3.ipynb" and result.ipynb.is_file()
    assert sorted(p.name for p in out.iterdir()) == ["tiny_report-3.html", "tiny_report-3.ipynb"]
    nb = nbformat.read(result.ipynb, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "top_n = 3" in injected[0].source
    assert "data_dir = " in injected[0].source
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts[:2] == [1, 2]  # the renderer's reset cell is gone; counts start at 1


def test_report_html_is_offline_and_has_the_chart(single):
    result, _ = single
    html = result.html.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert not EXTERNAL.search(html)
    assert "require.js" not in html and "mathjax" not in html.lower()
    assert '<html lang="ja">' in html
    # the library once, in the first chart's output, before any chart that needs it
    assert html.count('data-council="vega-bundle"') == 1
    specs = [m.start() for m in re.finditer(r'<script[^>]*"council-chart-spec"', html)]
    assert len(specs) == 2
    assert html.index('data-council="vega-bundle"') < specs[0]
    assert html.count("council-vega-ready") >= 3  # fired by the bundle, awaited by each chart
    assert "分類別の諮問件数" in html  # the chart title, inside the spec
    assert "会議 tama-2020-09 の諮問" in html  # heading made from the parameters
    assert "import altair" not in html and "charts.enable_offline" not in html  # input hidden
    assert "</script><script>alert('x')" not in html  # data text stays data


def test_parameters_are_checked_before_running(seed_build, tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the notebook was run")

    monkeypatch.setattr(render_notebook, "_execute", must_not_run)
    cases = [
        ({"top_m": 3}, r"unknown parameter 'top_m'.*declares: meeting_id, top_n, fail, mode"),
        ({"top_n": "3"}, r"parameter 'top_n' expects int, got str '3'"),
        ({"top_n": True}, r"parameter 'top_n' expects int, got bool True"),
        ({"fail": "yes"}, r"parameter 'fail' expects bool"),
        ({"meeting_id": ["a"]}, r"parameter 'meeting_id' expects str, got list"),
        ({"mode": "median"}, r"'median' is not one of the allowed choices: count, share"),
        ({"data_dir": "/tmp"}, r"'data_dir' is set by the renderer"),
    ]
    for params, message in cases:
        with pytest.raises(ParameterError, match=message):
            run_notebook(TINY, params, seed_build, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("value", ["../x", "../../etc/passwd", "/etc/passwd", "a/../../b", ".."])
def test_parameter_values_cannot_leave_the_output_folder(tmp_path, value):
    name = report_name(TINY, {"meeting_id": value})
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    path = output_path(tmp_path, name, ".html")
    assert path.parent == tmp_path.resolve()
    templated = report_name(TINY, {"meeting_id": value}, template="{meeting_id}")
    assert output_path(tmp_path, templated, ".ipynb").parent == tmp_path.resolve()
    with pytest.raises(ValueError):
        output_path(tmp_path, value, ".html")


def test_safe_component():
    assert safe_component("会議 2020/09") == "会議_2020_09"
    assert safe_component("CON") == "_CON"
    assert safe_component("") == "_"
    long = safe_component("あ" * 200)
    assert len(long.encode()) <= 150 and long != safe_component("あ" * 201)
    assert report_name(TINY, {"fail": True, "top_n": 2}, order=["top_n", "fail"]) == (
        "tiny_report-2-fail"
    )


# -- the parameters convention ---------------------------------------------------------------
def _nb(source: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    return nb


def test_parse_parameters():
    declared = parse_parameters(
        _nb(
            "data_dir = None\n"
            "n: int | None = None\n"
            "ratio = 0.5\n"
            "kinds: list[str] = []\n"
            "year = 2020  # choices: 2019, 2020\n"
        )
    )
    assert list(declared) == ["data_dir", "n", "ratio", "kinds", "year"]
    assert (declared["n"].type, declared["n"].optional) == ("int", True)
    assert declared["kinds"].type == "list[str]"
    assert declared["year"].choices == (2019, 2020)
    assert declared["data_dir"].type == "any"
    assert [p.name for p in notebook_parameters(TINY).values()] == [
        "data_dir",
        "meeting_id",
        "top_n",
        "fail",
        "mode",
    ]
    with pytest.raises(ParameterError, match="line 2: the default of 'b' must be a literal"):
        parse_parameters(_nb("a = 1\nb = a + 1\n"))
    with pytest.raises(ParameterError, match="line 1: only `name = literal default`"):
        parse_parameters(_nb("import os\n"))


def test_notebook_must_declare_data_dir(tmp_path, seed_build):
    nb = tmp_path / "nodata.py"
    nb.write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nprint(x)\n', encoding="utf-8")
    with pytest.raises(ParameterError, match="must declare 'data_dir'"):
        run_notebook(nb, {}, seed_build, tmp_path / "out")


def test_parse_cli_value():
    declared = notebook_parameters(TINY)
    assert parse_cli_value(declared["top_n"], "7") == 7
    assert parse_cli_value(declared["fail"], "yes") is True
    assert parse_cli_value(declared["meeting_id"], "2020") == "2020"
    with pytest.raises(ParameterError, match="'top_n' expects int, got 'x'"):
        parse_cli_value(declared["top_n"], "x")
    kinds = parse_parameters(_nb("kinds: list[int] = []\n"))["kinds"]
    assert parse_cli_value(kinds, "1,2") == [1, 2]
    assert parse_cli_value(kinds, "[3, 4]") == [3, 4]


# -- HTML clean-up ---------------------------------------------------------------------------
def test_strip_external_removes_and_defuses_references():
    html = (
        '<script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//cdn.example/x.css">'
        '<style>@import url("https://fonts.example/f.css");</style>'
        '<img src="http://example.org/a.png"><a href="https://example.org">市のページ</a>'
        '<script>var u = "https://example.org";</script>'
    )
    assert len(external_references(html)) == 5
    clean = strip_external(html)
    assert external_references(clean) == [] and not EXTERNAL.search(clean)
    assert "市のページ" in clean and 'data-external-href="https://example.org"' in clean
    assert '<script>var u = "https://example.org";</script>' in clean  # code untouched


# -- schedules -------------------------------------------------------------------------------
def test_schedule_errors_name_the_job_and_key(tmp_path):
    good = {"notebook": str(TINY)}
    cases = [
        ([good, {"notebook": str(TINY), "colour": "red"}], r"jobs\[1\]: unknown key 'colour'"),
        ([good, {"notebook": "nope.py"}], r"jobs\[1\]\.notebook: .*nope\.py does not exist"),
        ([{"parameters": {}}], r"jobs\[0\]\.notebook: required"),
        ([good, {"notebook": str(TINY), "for_each": "meetings"}], r"jobs\[1\]\.for_each"),
        (
            [{"notebook": str(TINY), "formats": ["docx"]}],
            r"jobs\[0\]\.formats: unknown format 'docx'",
        ),
        ([{"notebook": str(TINY), "parameters": [1]}], r"jobs\[0\]\.parameters: must be a map"),
        (
            [{"notebook": str(TINY), "name": "r-{year}"}],
            r"jobs\[0\]\.name: \{year\} is not a parameter",
        ),
        (
            [{"notebook": str(TINY), "for_each": "meeting", "name": "same"}],
            r"jobs\[0\]\.name: must contain \{meeting_id\}",
        ),
        (
            [{"notebook": str(TINY), "for_each": "meeting", "parameters": {"meeting_id": "x"}}],
            r"jobs\[0\]\.parameters: 'meeting_id' is set by for_each",
        ),
        (["tiny_report.py"], r"jobs\[0\]: a job must be a mapping"),
    ]
    for jobs, message in cases:
        with pytest.raises(ScheduleError, match=message):
            load_schedule(_schedule(tmp_path, jobs))
    path = tmp_path / "bad.yml"
    path.write_text("jobs: {notebook: x}\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match="'jobs' must be a list"):
        load_schedule(path)


def test_project_schedule_loads():
    from analysis import paths

    schedule = load_schedule(paths.reports_dir() / "schedule.yml")
    assert schedule.jobs
    assert all(
        job.notebook is None or not job.notebook.name.startswith("_") for job in schedule.jobs
    )
    template = paths.notebooks_dir() / "_template.py"
    assert [p for p in notebook_parameters(template)] == ["data_dir", "meeting_id"]


def test_for_each_values_come_from_the_data(seed_build, tmp_path):
    assert for_each_values("meeting", seed_build) == ["tama-2020-09"]
    assert for_each_values("fiscal_year", seed_build) == [2020]
    assert "課税課" in for_each_values("department", seed_build)
    assert for_each_values("category", seed_build)[0] == "system_change"
    schedule = load_schedule(
        _schedule(tmp_path, [{"notebook": str(TINY), "for_each": "meeting", "parameters": {}}])
    )
    assert expand(schedule.jobs[0], seed_build) == [{"meeting_id": "tama-2020-09"}]
    assert check_schedule(schedule, seed_build) == []
    bad = load_schedule(
        _schedule(
            tmp_path,
            [
                {"notebook": str(TINY), "parameters": {"top_n": "x"}},
                {"notebook": str(TINY)},
                {"notebook": str(TINY)},
            ],
        )
    )
    problems = check_schedule(bad, seed_build)
    assert len(problems) == 2
    assert problems[0].startswith("job 0") and "'top_n' expects int" in problems[0]
    assert problems[1].startswith("job 2") and "also made by job 1" in problems[1]


def test_one_failing_job_does_not_stop_the_others(batch):
    results, out, lines = batch
    assert [(r.job, r.ok) for r in results] == [(0, True), (1, False), (2, True), (3, True)]
    failed = results[1]
    assert "RuntimeError: asked to fail" in failed.error
    assert failed.ipynb == out / "tiny_report-fail.ipynb" and failed.ipynb.is_file()
    assert failed.html is None and not (out / "tiny_report-fail.html").exists()
    assert [r.name for r in results] == [
        "tiny_report-1",
        "tiny_report-fail",
        "会議-tama-2020-09",
        "tiny_report-2-share",
    ]
    summary = summarize(results)
    assert "rendered 3 of 4 report(s)" in summary
    assert "job 1 tiny_report-fail: RuntimeError: asked to fail" in summary
    assert any(line.startswith("FAILED job 1") for line in lines)


def test_reports_in_a_shared_kernel_are_isolated_and_self_contained(batch):
    results, _, _ = batch
    for r in results:
        if not r.ok:
            continue
        html = r.html.read_text(encoding="utf-8")
        # each report carries the chart library itself, even in a reused kernel
        assert html.count('data-council="vega-bundle"') == 1, r.name
        assert external_references(html) == []
        nb = nbformat.read(r.ipynb, as_version=4)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert errors == []  # includes the check that no variable leaked in
        spec = re.search(r'<script[^>]*"council-chart-spec"[^>]*>(.*?)</script>', html, re.S)
        assert json.loads(spec.group(1))["title"].startswith("分類別の諮問件数")


def test_report_kernel_is_reused(seed_build, tmp_path):
    with ReportKernel() as kernel:
        first = run_notebook(TINY, {"top_n": 1}, seed_build, tmp_path, kernel=kernel)
        client = kernel.client()
        assert client is not None  # kept, channels open, for the next report
        second = run_notebook(TINY, {"top_n": 2}, seed_build, tmp_path, kernel=kernel)
        assert kernel.starts == 1 and kernel.reports == 2
        assert kernel.client() is client
    assert kernel.client() is None  # stopped with the kernel
    assert first.ok and second.ok
    # The second report skips the kernel start; generous bound for a busy machine.
    assert second.seconds < first.seconds


def test_a_shared_kernel_loads_the_libraries_before_the_first_report(seed_build, tmp_path):
    """Imports and the Sudachi dictionary are the first report's cost, as the kernel's start
    is: a notebook that imports nothing finds them loaded."""
    from analysis.render.kernel_state import PRELOAD

    probe = tmp_path / "probe.py"
    probe.write_text(
        "# %% tags=['parameters']\n"
        "data_dir = ''\n\n"
        "# %%\n"
        "import json, sys\n"
        "words = sys.modules.get('analysis.words')\n"
        "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith(('polars',"
        " 'altair', 'analysis'))), 'dictionary': words is not None and words._dictionary is not"
        " None}))\n",
        encoding="utf-8",
    )
    with ReportKernel() as kernel:
        result = run_notebook(probe, {}, seed_build, tmp_path / "out", kernel=kernel)
    nb = nbformat.read(result.ipynb, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    seen = json.loads(text)
    assert set(PRELOAD) <= set(seen["modules"]) and seen["dictionary"] is True


# -- command line ----------------------------------------------------------------------------
def test_cli_commands(tmp_path, seed_build):
    from analysis.render.cli import report_app

    runner = CliRunner()
    res = runner.invoke(report_app, ["report", str(TINY), "--list-params"])
    assert res.exit_code == 0, res.output
    assert "top_n: int = 5" in res.output and "data_dir" not in res.output
    res = runner.invoke(
        report_app, ["report", str(TINY), "-p", "top_n=x", "--data", str(seed_build)]
    )
    assert res.exit_code == 1 and "'top_n' expects int" in res.output
    res = runner.invoke(report_app, ["report", str(TINY), "-p", "nope=1"])
    assert res.exit_code == 1 and "unknown parameter 'nope'" in res.output
    empty = tmp_path / "schedule.yml"
    empty.write_text("jobs: []\n", encoding="utf-8")
    res = runner.invoke(report_app, ["reports", "--schedule", str(empty)])
    assert res.exit_code == 0 and "no jobs scheduled" in res.output
    bad = _schedule(tmp_path, [{"notebook": str(TINY), "for_each": "year"}])
    res = runner.invoke(report_app, ["reports", "--schedule", str(bad)])
    assert res.exit_code == 2 and "jobs[0].for_each" in res.output


def test_accessible_markup_as_nbconvert_makes_it():
    """What nbconvert's exporter adds with BeautifulSoup, added without re-parsing the page."""
    from bs4 import BeautifulSoup

    page = (
        '<div class="jp-Cell jp-OutputArea-output" data-mime-type="text/html"><img src="a.png">'
        '<img alt="x" src="b.png"/><div class="jp-OutputArea-outputs">'
        '<h3 id="&#20250;&#35696;">&#20250;&#35696; &lt;b&gt; &#38;</h3></div></div>'
        '<script>var s = "<img src=1> &#20250;";</script>'
    )
    done = _accessible(page)
    assert done.count('tabindex="0"') == 1 and done.count(NO_ALT_TEXT) == 1
    assert '<h3 id="会議">会議 &lt;b&gt; &#38;</h3>' in done
    assert '<script>var s = "<img src=1> &#20250;";</script>' in done  # code left alone
    soup = BeautifulSoup(page, features="html.parser")
    soup.select("div.jp-OutputArea-output")[0].attrs["tabindex"] = "0"
    soup.select("img:not([alt])")[0].attrs["alt"] = NO_ALT_TEXT
    assert str(BeautifulSoup(done, features="html.parser")) == str(soup)


def test_font_subsets_agree_with_or_without_harfbuzz():
    import io

    from fontTools.ttLib import TTFont

    from analysis.render import fonts

    pytest.importorskip("uharfbuzz")
    chars = fonts.glyph_text("諮問審議会【令和２年度】の議事録")
    fast = TTFont(io.BytesIO(fonts._subset_woff_harfbuzz(chars)))
    slow = TTFont(io.BytesIO(fonts._subset_woff_fonttools(chars)))
    assert fast.flavor == slow.flavor == "woff"
    page = {ord(c) for c in "諮問審議会【令和２年度】の議事録"}
    assert set(fast.getBestCmap()) == set(slow.getBestCmap()) >= page
    assert fast["name"].getDebugName(1) == slow["name"].getDebugName(1) == fonts.FAMILY


MARKDOWN_SAMPLES = [
    "| 措置 | 行 |\n|---|---:|\n| 暗号化 | 12 |\n| a\\*b\\_c | 行\u00a03〜5 |",
    "price $5 and $6, $$x^2$$ and \\$ escaped, $a$b$, $$",
    "inline \\\\(x\\\\) and block \\\\[y\\\\] and \\begin{equation}z\\end{equation} \\begin{x",
    "**bold** _em_ `code` ~~strike~~ [link](https://example.org) ![img](x.png) <b>html</b>",
    "see https://example.org/a_b and http://x.y and <https://auto.link> and <me@x.org>",
    "line one  \nline two\\\nline three\nhard&amp;soft &#124; | pipe &lt;tag&gt;",
    "# 見出し\n\n- 項目 $1$\n    - 回答（行\u00a012）：\\[注\\]\n\n> 引用 `a$b`",
    "",
    "$",
    "\\",
]


@pytest.mark.parametrize("source", MARKDOWN_SAMPLES)
def test_report_markdown_as_nbconvert_renders_it(source):
    """The exporter's Markdown filter (math rules' start characters declared to mistune) gives
    nbconvert's own HTML."""
    from nbconvert.exporters import HTMLExporter

    from analysis.render.html import _exporter

    context = {"cell": {}, "resources": {"metadata": {"path": ""}}}
    exporter = _exporter()  # nbconvert's method on the same exporter: the same settings
    assert exporter.markdown2html(context, source) == HTMLExporter.markdown2html(
        exporter, context, source
    )


def test_math_start_characters_are_declared_only_when_the_pattern_begins_with_them():
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    from analysis.render.html import _starts_with, declare_math_start

    inline = MarkdownWithMath(renderer=IPythonRenderer(escape=False)).inline
    declare_math_start(inline)
    assert inline._get_fast_trigger_chars() is not None  # every rule's start is known
    assert _starts_with(r"(?s:(?<![$\\])\$(?P<x>.+?)(?<![$\\])\$)", "$")
    assert _starts_with(r"(?s:\\begin\{(?P<n>[a-z]*)\})", "\\")
    assert not _starts_with(r"(?s:\$?x)", "$")
    assert not _starts_with(r"(?s:\$x|y)", "$")
    assert not _starts_with(r"(?s:x\$)", "$")


# The contents of <script> and <style> elements by their definition: one lazy regex.
_RAW_TEXT = re.compile(r"(<(script|style)\b[^>]*>)(.*?)(</\2\s*>)", re.IGNORECASE | re.DOTALL)


def _split_by_regex(html: str) -> list[tuple[str, str]]:
    """The pieces by their definition: one lazy regex over the page."""
    pieces, pos = [], 0
    for m in _RAW_TEXT.finditer(html):
        pieces.append(("markup", html[pos : m.start(3)]))
        pieces.append((m.group(2).lower(), m.group(3)))
        pos = m.end(3)
    pieces.append(("markup", html[pos:]))
    return pieces


@pytest.mark.parametrize(
    "page",
    [
        "<p>a</p><script>var x = '</p>';</script><style>p{}</style ><p>b</p>",
        "<SCRIPT type='x'>a</script>b<Style>c</STYLE\n>d",
        "<script>never closed <style>s</style> tail",
        "<scripts>not raw</scripts><script>x</style>y</script>",
        "<style>a</script></style><script src='//x'></script>",
        "",
        "<script",
        "<p>no raw text at all</p>",
    ],
)
def test_split_markup_as_its_regex(page):
    from analysis.render.html import _split_markup

    assert _split_markup(page) == _split_by_regex(page)
