"""Synthetic corpora for benchmarks: N meetings made from the shipped minutes.

The seed (``data/raw/tama_2020-12-15_r02-09_minutes.txt``) is cut into three parts once:

* the head — marker, title, 日時, attendance, the previous-minutes reference, the agenda heading;
* its deliberation blocks — each from a consultation header line (``ア …（…）``) up to its
  decision sentence (``※ …決定された。``), with every place that names a label (the headers,
  the decision sentence, the attendee line ``諮問ア（…）`` that belongs to the block);
* the tail — closing and signatures.

Each synthetic meeting gets its own fiscal year and session (so its own meeting id), a date in
that fiscal year written in the era of the date (平成31年4月…, 令和元年5月…, 平成元年…), the
title's 年度 and 第N回, a previous-minutes reference to the meeting before it, and a
deterministic shuffle/sample of the blocks relabelled ア, イ, ウ … in order. Every file starts
with the line :data:`MARKER` …, so the data can always tell it is synthetic.

Corpora are written under ``.bench/corpus-N/`` (never into ``data/raw``)::

    .bench/corpus-N/SYNTHETIC.txt     what this folder is
    .bench/corpus-N/raw/README.txt    the same note (the build ignores README.txt)
    .bench/corpus-N/raw/sources.csv   provenance, one row per file, marked synthetic
    .bench/corpus-N/raw/*.txt         the minutes: build with `council build --raw …/raw`

``python -m analysis.bench.corpus 1000`` writes one from the command line.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import math
import random
import re
import shutil
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from analysis import paths

__all__ = [
    "MARKER",
    "MARKER_FILE",
    "SEED_NAME",
    "Corpus",
    "CorpusError",
    "Meeting",
    "default_root",
    "era_date",
    "fiscal_year_text",
    "generate",
    "plan",
    "render",
]

SEED_NAME = "tama_2020-12-15_r02-09_minutes.txt"
#: First line of every synthetic file. The parser recognises the prefix ``【合成データ】``.
MARKER = "【合成データ】ベンチマーク用に生成"
MARKER_FILE = "SYNTHETIC.txt"
MUNICIPALITY_SLUG = "tama"

#: Fiscal years the meetings are spread over: 平成元年度 (1989) .. 令和7年度 (2025).
FIRST_FY, LAST_FY = 1989, 2025
#: Labels in the order the council uses them.
LABELS = "アイウエオカキクケコサシスセソタチツテト"
#: Blocks per meeting (before the label cap): the seed has 7, so sizes average near the seed's.
MIN_BLOCKS, MAX_BLOCKS = 4, 10

HEISEI_START = dt.date(1989, 1, 8)
REIWA_START = dt.date(2019, 5, 1)
WEEKDAYS = "月火水木金土日"


class CorpusError(Exception):
    """The corpus cannot be made (refused target, or a seed the generator does not understand)."""


# ============================================================================ dates and eras
def _era(d: dt.date) -> tuple[str, int]:
    if d >= REIWA_START:
        return "令和", d.year - 2018
    if d >= HEISEI_START:
        return "平成", d.year - 1988
    return "昭和", d.year - 1925


def _year_text(n: int) -> str:
    return "元" if n == 1 else str(n)


def era_date(d: dt.date) -> str:
    """``令和元年5月7日（火）``: the date in the era in force on that day, with its weekday."""
    era, n = _era(d)
    return f"{era}{_year_text(n)}年{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）"


def fiscal_year_text(fy: int, reiwa: bool = False) -> str:
    """``令和2年度`` for 2020. Fiscal 2019 is ``平成31年度``, or ``令和元年度`` with ``reiwa``."""
    if fy == 2019:
        return "令和元年度" if reiwa else "平成31年度"
    era, n = _era(dt.date(fy, 4, 1))
    return f"{era}{_year_text(n)}年度"


# ============================================================================ the seed template
RE_HEADER = re.compile(r"^(?P<label>[ア-ヶ])[ \u3000]+\S.*[（(][^（）()]+[）)]\s*$")
RE_STAFF = re.compile(r"^諮問(?P<labels>[ア-ヶ](?:・[ア-ヶ])*)(?P<rest>[（(].*)$")
RE_TITLE = re.compile(
    r"^(?P<fy>(?:令和|平成|昭和)(?:元|[0-9]+)年度)第(?P<session>[0-9]+)回(?P<rest>.*議事録.*)$"
)
RE_DATETIME = re.compile(
    r"^(?P<pre>.*日\s*時\s*)(?:令和|平成|昭和)(?:元|[0-9]+)年[0-9]+月[0-9]+日[（(].[）)](?P<post>.*)$"
)
RE_PREVIOUS = re.compile(r"^(?P<pre>.*前回議事録[（(])(?P<ref>[^）)]+)(?P<post>[）)].*)$")
RE_LABEL_REF = re.compile(r"(?<![ァ-ヶー])([ア-ヶ])(?=\s*「)")


@dataclass(frozen=True)
class _Block:
    labels: tuple[str, ...]  # labels in the seed, in order
    pieces: tuple[str | int, ...]  # text, with ints standing for labels (index into labels)
    staff_rest: str  # the attendee line after 諮問ア・イ, e.g. （市民経済部課税課）\t赤松…
    chars: int


@dataclass(frozen=True)
class _Template:
    before_title: str
    title_rest: str  # after 第N回: 情報公開・…議事録（要点記録）
    between_title_date: str
    date_pre: str
    date_post: str
    before_staff: str
    before_previous: str
    previous_pre: str
    previous_post: str
    before_blocks: str
    blocks: tuple[_Block, ...]
    tail: str


def _pieces(lines: list[str], header_rows: set[int], label_rows: set[int], labels: tuple[str, ...]):
    """The block's text as pieces: strings, and label indices where a label is written."""
    pieces: list[str | int] = []
    buf: list[str] = []
    for i, line in enumerate(lines):
        if i in header_rows:
            pieces.append("".join(buf))
            buf = []
            pieces.append(labels.index(line[0]))
            line = line[1:]
        elif i in label_rows:
            pos = 0
            for m in RE_LABEL_REF.finditer(line):
                if m.group(1) not in labels:
                    continue
                buf.append(line[pos : m.start()])
                pieces.append("".join(buf))
                buf = []
                pieces.append(labels.index(m.group(1)))
                pos = m.end()
            line = line[pos:]
        buf.append(line + "\n")
    pieces.append("".join(buf))
    return tuple(p for p in pieces if p != "")


@cache
def _template(seed_path: Path) -> _Template:
    text = seed_path.read_text(encoding="utf-8")
    lines = text.split("\n")

    def find(regex: re.Pattern, what: str, start: int = 0) -> tuple[int, re.Match]:
        for i in range(start, len(lines)):
            if m := regex.match(lines[i]):
                return i, m
        raise CorpusError(f"{seed_path}: no {what} line found; cannot make a synthetic corpus")

    i_title, m_title = find(RE_TITLE, "title (…年度第N回…議事録)")
    i_date, m_date = find(RE_DATETIME, "日時 with an era date", i_title + 1)
    staff_rows = [i for i, ln in enumerate(lines) if RE_STAFF.match(ln)]
    if not staff_rows:
        raise CorpusError(f"{seed_path}: no attendee line 諮問ア（…） found")
    i_prev, m_prev = find(RE_PREVIOUS, "previous-minutes reference 前回議事録（…）", staff_rows[-1])
    staff: dict[tuple[str, ...], str] = {}
    for i in staff_rows:
        m = RE_STAFF.match(lines[i])
        staff[tuple(m.group("labels").split("・"))] = m.group("rest")

    # deliberation blocks: header line(s) .. the line that finishes the decision sentence
    blocks: list[_Block] = []
    spans: list[tuple[int, int]] = []
    i = i_prev + 1
    while i < len(lines):
        if not RE_HEADER.match(lines[i]):
            i += 1
            continue
        start = i
        header_rows: list[int] = []
        while i < len(lines) and (not lines[i].strip() or RE_HEADER.match(lines[i])):
            if lines[i].strip():
                header_rows.append(i)
            i += 1
        in_decision = False
        label_rows: list[int] = []
        end = None
        while i < len(lines):
            stripped = lines[i].strip().strip("*").strip()
            if stripped.startswith("※") and not re.match(r"^※\s*以下", stripped):
                in_decision = True
            if in_decision:
                label_rows.append(i)
                if "決定された" in lines[i]:
                    end = i
                    break
            i += 1
        if end is None:
            raise CorpusError(
                f"{seed_path}: the deliberation from line {start + 1} has no decision line "
                "(※ …決定された。)"
            )
        labels = tuple(lines[r][0] for r in header_rows)
        if labels not in staff:
            raise CorpusError(
                f"{seed_path}: no attendee line 諮問{'・'.join(labels)}（…） for the deliberation "
                f"at line {start + 1}"
            )
        block_lines = lines[start : end + 1]
        pieces = _pieces(
            block_lines,
            {r - start for r in header_rows},
            {r - start for r in label_rows},
            labels,
        )
        blocks.append(
            _Block(labels, pieces, staff[labels], sum(len(p) for p in pieces if isinstance(p, str)))
        )
        spans.append((start, end))
        i = end + 1
    if not blocks:
        raise CorpusError(f"{seed_path}: no deliberation block (ア …（…） … ※ …決定された。)")

    def join(a: int, b: int) -> str:
        return "".join(ln + "\n" for ln in lines[a:b])

    first, last = spans[0][0], spans[-1][1]
    return _Template(
        before_title=join(0, i_title),
        title_rest=m_title.group("rest") + "\n",
        between_title_date=join(i_title + 1, i_date),
        date_pre=m_date.group("pre"),
        date_post=m_date.group("post") + "\n",
        before_staff=join(i_date + 1, staff_rows[0]),
        before_previous=join(staff_rows[-1] + 1, i_prev),
        previous_pre=m_prev.group("pre"),
        previous_post=m_prev.group("post") + "\n",
        before_blocks=join(i_prev + 1, first),
        blocks=tuple(blocks),
        tail="\n".join(lines[last + 1 :]),
    )


# ============================================================================ the plan
@dataclass(frozen=True)
class Meeting:
    """One synthetic meeting: everything that differs from the seed."""

    index: int  # 0-based position in the corpus
    fiscal_year: int
    session: int
    date: dt.date
    fy_text: str  # 年度 as written in the title, e.g. 令和元年度
    previous: str  # previous-minutes reference, e.g. 令和元年度第2回
    blocks: tuple[int, ...]  # seed block indices, in the order they appear

    @property
    def meeting_id(self) -> str:
        return f"{MUNICIPALITY_SLUG}-{self.fiscal_year}-{self.session:02d}"

    @property
    def title_prefix(self) -> str:
        return f"{self.fy_text}第{self.session}回"

    @property
    def file(self) -> str:
        return f"tama_{self.date.isoformat()}_fy{self.fiscal_year}-{self.session:03d}_synthetic.txt"


def _year_order(seed: int) -> list[int]:
    """2019 (平成31年/令和元年) and 1989 (平成元年) first, so that small corpora have both;
    then the other fiscal years in a seeded order."""
    rest = [y for y in range(FIRST_FY, LAST_FY + 1) if y not in (2019, 1989, 2020)]
    random.Random(f"years:{seed}").shuffle(rest)
    return [2019, 1989, 2020, *rest]


def _date_of(fy: int, session: int, per_year: int, rng: random.Random) -> dt.date:
    span = 360 // per_year
    offset = (session - 1) * 360 // per_year + rng.randrange(max(1, min(14, span)))
    d = dt.date(fy, 4, 1) + dt.timedelta(days=offset)
    if d.weekday() >= 5:  # a weekend: the Monday after (still in the fiscal year)
        d += dt.timedelta(days=7 - d.weekday())
    return d


def _choose_blocks(rng: random.Random, sizes: list[int]) -> tuple[int, ...]:
    k = rng.randint(MIN_BLOCKS, MAX_BLOCKS)
    order = rng.sample(range(len(sizes)), len(sizes))
    if k > len(order):
        order += rng.choices(range(len(sizes)), k=k - len(order))
    chosen: list[int] = []
    labels = 0
    for b in order[:k]:
        if labels + sizes[b] <= len(LABELS):
            chosen.append(b)
            labels += sizes[b]
    return tuple(chosen)


def plan(n: int, seed: int = 0, seed_path: Path | None = None) -> list[Meeting]:
    """The meetings of a corpus of ``n``: pure and deterministic for (``n``, ``seed``).

    Fiscal years 1989..2025 take ``max(2, ceil(n / 37))`` sessions each, in the order of
    :func:`_year_order`; session ``s`` of ``S`` falls ``(s - 1) * 360 / S`` days after
    1 April (plus up to two weeks; a weekend moves to the Monday after). Fiscal 2019 is
    平成31年度 for a meeting held in April 2019 and, after that, 令和元年度 or 平成31年度 at
    random (both forms occur).
    """
    if n < 1:
        raise ValueError(f"a corpus needs at least one meeting, not {n}")
    years = _year_order(seed)
    per_year = max(2, math.ceil(n / len(years)))
    if math.ceil(n / per_year) > len(years):  # pragma: no cover - arithmetic guard
        raise ValueError(f"cannot place {n} meetings")
    sizes = [len(b.labels) for b in _template(seed_path or _seed_path()).blocks]
    out: list[Meeting] = []
    texts: dict[tuple[int, int], str] = {}
    counts: dict[int, int] = {}
    for i in range(n):
        fy, session = years[i // per_year], i % per_year + 1
        counts[fy] = session
        rng = random.Random(f"{seed}:{i}")
        date = _date_of(fy, session, per_year, rng)
        reiwa = fy == 2019 and date >= REIWA_START and rng.random() < 0.5
        fy_text = fiscal_year_text(fy, reiwa=reiwa)
        texts[(fy, session)] = fy_text
        out.append(Meeting(i, fy, session, date, fy_text, "", _choose_blocks(rng, sizes)))
    # previous minutes: the session before, or the last one of the fiscal year before
    final: list[Meeting] = []
    for m in out:
        if m.session > 1:
            prev_fy, prev_session = m.fiscal_year, m.session - 1
        else:
            prev_fy, prev_session = m.fiscal_year - 1, counts.get(m.fiscal_year - 1, per_year)
        prev_text = texts.get((prev_fy, prev_session)) or fiscal_year_text(prev_fy)
        final.append(
            Meeting(
                m.index, m.fiscal_year, m.session, m.date, m.fy_text,
                f"{prev_text}第{prev_session}回", m.blocks,
            )
        )  # fmt: skip
    return final


# ============================================================================ rendering
def _marker_line(m: Meeting, n: int, seed: int) -> str:
    # Ends with a full-width bracket so that the parser never joins the title onto it.
    return f"{MARKER}（実在しない会議。seed={seed}、{m.index + 1}/{n}件目、元資料 {SEED_NAME}）\n"


def render(m: Meeting, n: int = 1, seed: int = 0, seed_path: Path | None = None) -> str:
    """The text of synthetic meeting ``m``."""
    t = _template(seed_path or _seed_path())
    staff: list[str] = []
    body: list[str] = []
    pos = 0
    for bi in m.blocks:
        b = t.blocks[bi]
        labels = LABELS[pos : pos + len(b.labels)]
        pos += len(b.labels)
        staff.append(f"諮問{'・'.join(labels)}{b.staff_rest}\n")
        body.append("".join(p if isinstance(p, str) else labels[p] for p in b.pieces))
    return "".join(
        (
            _marker_line(m, n, seed),
            t.before_title,
            m.title_prefix,
            t.title_rest,
            t.between_title_date,
            t.date_pre,
            era_date(m.date),
            t.date_post,
            t.before_staff,
            *staff,
            t.before_previous,
            t.previous_pre,
            m.previous,
            t.previous_post,
            t.before_blocks,
            "\n".join(body),
            t.tail,
        )
    )


def block_summary(m: Meeting, seed_path: Path | None = None) -> str:
    """``ア←オ; イ・ウ←イ・ウ``: which seed deliberation each new label set came from."""
    t = _template(seed_path or _seed_path())
    parts, pos = [], 0
    for bi in m.blocks:
        b = t.blocks[bi]
        new = LABELS[pos : pos + len(b.labels)]
        pos += len(b.labels)
        parts.append(f"{'・'.join(new)}←{'・'.join(b.labels)}")
    return "; ".join(parts)


# ============================================================================ writing
def _seed_path() -> Path:
    return paths.raw_dir() / SEED_NAME


def default_root(n: int) -> Path:
    return paths.project_root() / ".bench" / f"corpus-{n}"


def _inside(a: Path, b: Path) -> bool:
    return a == b or b in a.parents


def _check_target(root: Path) -> None:
    real_raw = paths.raw_dir().resolve()
    for p in (root, root / "raw"):
        if _inside(p, real_raw) or _inside(real_raw, p):
            raise CorpusError(
                f"{root}: refusing to write a synthetic corpus into or over {real_raw} "
                "(the published minutes); use a scratch folder such as .bench/"
            )
    if root.exists() and any(root.iterdir()) and not (root / MARKER_FILE).is_file():
        raise CorpusError(
            f"{root}: folder exists, is not empty and holds no {MARKER_FILE}; refusing to write "
            "a synthetic corpus over it"
        )


def _note_text(n: int, seed: int) -> str:
    return (
        "SYNTHETIC DATA — NOT PUBLISHED MINUTES\n"
        "合成データ：実在の審議会の議事録ではありません。\n\n"
        f"{n} meeting(s) generated by analysis.bench.corpus (seed={seed}) from\n"
        f"data/raw/{SEED_NAME}: fiscal years, session numbers, dates and the\n"
        "previous-minutes reference were changed and the deliberations (諮問) shuffled,\n"
        "sampled and relabelled. Every file starts with the line\n"
        f"{MARKER}（…）, and the build marks such meetings as synthetic\n"
        "(meetings.is_synthetic). For benchmarks only: never copy these files into data/raw.\n"
    )


@dataclass
class Corpus:
    root: Path  # .bench/corpus-N
    raw: Path  # root / "raw": give this to the build
    meetings: list[Meeting]
    bytes: int

    @property
    def files(self) -> list[Path]:
        return [self.raw / m.file for m in self.meetings]


def generate(
    n: int,
    out: Path | str | None = None,
    *,
    seed: int = 0,
    seed_path: Path | None = None,
    reuse: bool = False,
) -> Corpus:
    """Write a corpus of ``n`` synthetic meetings to ``out`` (default ``.bench/corpus-N``).

    Refuses (:class:`CorpusError`) to write into or over ``data/raw`` or anywhere in ``data/``,
    and over a non-empty folder that is not a synthetic corpus. An earlier corpus in the folder
    is replaced, unless ``reuse`` is true and it was made with the same ``n``, ``seed`` and seed
    file, in which case it is kept as it is.
    """
    root = Path(out) if out is not None else default_root(n)
    root = root.resolve()
    _check_target(root)
    seed_path = Path(seed_path or _seed_path())
    meetings = plan(n, seed, seed_path)
    raw = root / "raw"
    stamp = root / ".stamp"
    key = f"n={n} seed={seed} seed_sha256={hashlib.sha256(seed_path.read_bytes()).hexdigest()}"
    if reuse and stamp.is_file() and stamp.read_text() == key:
        size = sum((raw / m.file).stat().st_size for m in meetings)
        return Corpus(root, raw, meetings, size)
    if raw.exists():
        shutil.rmtree(raw)
    stamp.unlink(missing_ok=True)
    raw.mkdir(parents=True)
    note = _note_text(n, seed)
    (root / MARKER_FILE).write_text(note, encoding="utf-8")
    (raw / "README.txt").write_text(note, encoding="utf-8")
    rows = io.StringIO()
    w = csv.writer(rows, lineterminator="\n")
    w.writerow(("file", "title", "source_url", "retrieved", "sha256", "note"))
    t = _template(seed_path)
    total = 0
    for m in meetings:
        data = render(m, n, seed, seed_path).encode("utf-8")
        (raw / m.file).write_bytes(data)
        total += len(data)
        w.writerow(
            (
                m.file,
                f"{m.title_prefix}{t.title_rest.strip()}",
                "",
                "",
                hashlib.sha256(data).hexdigest(),
                f"SYNTHETIC benchmark meeting (analysis.bench.corpus, seed={seed}) from "
                f"{SEED_NAME}; deliberations {block_summary(m, seed_path)}",
            )
        )
    (raw / "sources.csv").write_text(rows.getvalue(), encoding="utf-8")
    stamp.write_text(key)
    return Corpus(root, raw, meetings, total)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.bench.corpus",
        description="Write N synthetic meetings (made from the shipped minutes) for benchmarks.",
    )
    ap.add_argument("n", type=int, help="number of meetings")
    ap.add_argument("--out", type=Path, help="target folder (default .bench/corpus-N)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        c = generate(args.n, args.out, seed=args.seed)
    except (CorpusError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(c.meetings)} synthetic meetings, {c.bytes / 1e6:.1f} MB, in {c.raw}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
