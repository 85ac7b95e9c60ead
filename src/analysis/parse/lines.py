"""Prepared lines: each raw line with its repaired text and its place in the ledger."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analysis.normalise import (
    PAGE_NUMBER_STARTS,
    find_repeated_lines,
    find_running_headers,
    is_page_number,
    repair,
    to_norm,
)

# A sentence (or a list item) is complete when its last character is one of these.
TERMINATORS = "。．.！!？?」）)】〕"


@dataclass(slots=True)
class Line:
    no: int  # 1-based source line
    raw: str
    page: int | None
    text: str  # repaired text (scars removed)
    norm: str  # NFKC width-normalised text
    bold: bool = False
    role: str | None = None
    ref: str | None = None

    @property
    def blank(self) -> bool:
        return not self.text

    def mark(self, role: str, ref: str | None = None) -> None:
        self.role = role
        if ref is not None:
            self.ref = ref

    @property
    def ends_sentence(self) -> bool:
        return bool(self.text) and self.text[-1] in TERMINATORS


@dataclass
class Finding:
    """A diagnostics row before it knows its meeting id."""

    severity: str
    code: str
    message: str
    line: int | None = None


@dataclass
class Prepared:
    lines: list[Line]
    findings: list[Finding] = field(default_factory=list)

    def content(self) -> list[Line]:
        """Lines that still need a role: non-blank and not set aside as artifacts."""
        return [ln for ln in self.lines if ln.role is None and ln.text]


def prepare(raw_lines: tuple[str, ...] | list[str], pages: tuple[int, ...] | None) -> Prepared:
    lines: list[Line] = []
    append = lines.append
    for i, raw in enumerate(raw_lines):
        page = pages[i] if pages else None
        if not raw:  # about half the lines of a text file: repair("") is ("", "", False)
            append(Line(i + 1, raw, page, "", "", False, "blank"))
            continue
        text, _, bold = repair(raw)  # the same as clean_line, without building a CleanLine
        append(Line(i + 1, raw, page, text, to_norm(text), bold, None if text else "blank"))
    prep = Prepared(lines)
    if pages is None:
        # a text file: find_running_headers keeps only the page-number lines, judged on the
        # cleaned text, which is at hand (no need to clean every line again); a line that
        # cannot start a page number is not asked
        artifacts = [
            i
            for i, ln in enumerate(lines)
            if ln.text
            and (ln.norm[:1] in PAGE_NUMBER_STARTS or ln.norm[:1].isspace())
            and is_page_number(ln.norm)
        ]
    else:
        artifacts = sorted(find_running_headers([ln.raw for ln in lines], pages))
    for idx in artifacts:
        ln = lines[idx]
        if not ln.blank:
            ln.mark("page_artifact")
            prep.findings.append(
                Finding(
                    "info",
                    "page_artifact",
                    f"page number or running header set aside: {ln.text}",
                    ln.no,
                )
            )
    texts = [ln.text if ln.role is None else "" for ln in lines]
    for idx, earlier in find_repeated_lines(texts, cleaned=True):
        ln = lines[idx]
        ln.mark("repeated", f"line {lines[earlier].no}")
        prep.findings.append(
            Finding(
                "warning",
                "repeated_line",
                f"line repeats line {lines[earlier].no} word for word (extraction scar?); "
                "not counted twice",
                ln.no,
            )
        )
    return prep


_SENTENCE_END = re.compile(r"(?<=[。．！？!?])")


def sentences_with_offsets(text: str) -> list[tuple[int, str]]:
    """Split text into sentences, each with its start offset in ``text``."""
    out = []
    pos = 0
    for part in _SENTENCE_END.split(text):
        if part.strip():
            lead = len(part) - len(part.lstrip())
            out.append((pos + lead, part.strip()))
        pos += len(part)
    return out


def line_at(offset: int, starts: list[tuple[int, int]]) -> int:
    """Source line of a character offset in text joined from lines (``starts``: (offset, line))."""
    line = starts[0][1]
    for start, no in starts:
        if start <= offset:
            line = no
        else:
            break
    return line
