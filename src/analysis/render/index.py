"""``index.html`` of a run: every report with its parameters, data version, time and links.

Offline like the reports (no script at all, the font subset inside, the A4 print sheet) and
every text escaped: parameter values and titles may come from the minutes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from analysis.render.page import JST, PageInfo, finish_page

STATUS_JA = {
    "rendered": "今回作成",
    "skipped": "変更なし（前回の版）",
    "failed": "作成失敗",
}
FORMAT_JA = {"html": "HTML", "pdf": "PDF（印刷用）", "slides": "スライド", "ipynb": "ノートブック"}
_ORDER = ("html", "pdf", "slides", "ipynb")

_CSS = """
body { font-family: "Noto Sans CJK JP", sans-serif; max-width: 1200px; margin: 0 auto;
  padding: 16px 24px 48px; color: #111; line-height: 1.6; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
table.council-index { border-collapse: collapse; width: 100%; font-size: 13px; }
table.council-index th, table.council-index td { border: 1px solid #bbb; padding: 5px 8px;
  text-align: left; vertical-align: top; }
table.council-index th { background: #e8eef5; }
.status-failed { color: #a11b1b; font-weight: bold; }
.status-skipped { color: #555; }
.status-rendered { color: #1b6b2f; }
.links a { margin-right: 10px; white-space: nowrap; }
.params { font-family: monospace; font-size: 12px; word-break: break-all; }
.error { color: #a11b1b; font-size: 12px; word-break: break-word; }
.summary { font-size: 14px; }
"""


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).astimezone(JST).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _params(params: dict[str, Any]) -> str:
    if not params:
        return "（既定値）"
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _links(entry: dict[str, Any]) -> str:
    outputs = entry.get("outputs") or {}
    parts = []
    for fmt in _ORDER:
        name = outputs.get(fmt)
        if name:
            href = quote(name)  # a plain file name in this folder, never a path or a scheme
            parts.append(f'<a href="{html.escape(href)}">{html.escape(FORMAT_JA[fmt])}</a>')
    return " ".join(parts) or "—"


def index_html(run: dict[str, Any]) -> str:
    """The index page for a run record (the content of ``run.json``)."""
    e = html.escape
    entries: Sequence[dict[str, Any]] = run.get("reports", [])
    counts = {k: sum(1 for r in entries if r.get("status") == k) for k in STATUS_JA}
    rows = []
    for r in entries:
        status = r.get("status", "")
        note = ""
        if status == "failed":
            note = f'<div class="error">{e(str(r.get("error") or ""))}</div>'
            if r.get("carried"):
                note += '<div class="error">前回作成した版を表示しています。</div>'
            elif r.get("outputs", {}).get("ipynb"):
                note += '<div class="error">エラーの内容はノートブックにあります。</div>'
        for w in r.get("warnings") or []:
            note += f'<div class="error">{e(str(w))}</div>'
        title = r.get("title") or r.get("name")
        rows.append(
            "<tr>"
            f"<td><strong>{e(str(title))}</strong><br><small>{e(str(r.get('name')))}</small></td>"
            f'<td class="params">{e(str(r.get("source", "")))}<br>'
            f"{e(_params(r.get('parameters') or {}))}</td>"
            f'<td class="links">{_links(r)}</td>'
            f"<td>{e(str(r.get('data_version', '—'))[:8])}</td>"
            f"<td>{e(_when(r.get('rendered_at')))}</td>"
            f'<td class="status-{e(status)}">{e(STATUS_JA.get(status, status))}{note}</td>'
            "</tr>"
        )
    body = (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(run.get('title', 'レポート一覧'))}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<p class="summary">レポート {len(entries)} 件：今回作成 {counts["rendered"]} 件、'
        f"変更なし {counts['skipped']} 件、作成失敗 {counts['failed']} 件。"
        "「変更なし」はデータ・ノートブック・条件・プログラムが前回と同じため作り直さず、"
        "前回の版をそのまま載せたものです。</p>\n"
        '<table class="council-index"><thead><tr><th>レポート</th><th>ノートブック・条件</th>'
        "<th>ファイル</th><th>データ版</th><th>作成日時（JST）</th><th>状態</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>\n"
        "</body>\n</html>\n"
    )
    started = run.get("started")
    info = PageInfo(
        run.get("title", "レポート一覧"),
        details=[("実行", str(run.get("run", "")))],
        data_version=str(run.get("data_version", ""))[:8] or None,
        generated=datetime.fromisoformat(started) if started else None,
    )
    return finish_page(body, info)
