"""A raw minutes file as numbered lines, with what is known about its bytes.

``lines[N - 1]`` is source line N of the file, exactly as it is in the file: nothing is stripped
or normalised here. Text files are split on CRLF, LF and lone CR (mixed in one file is fine);
empty lines are kept; a final line terminator does not add an empty line. Form feeds and other
Unicode separators stay inside their line. For a PDF, the lines are pdfplumber's text lines
(blank lines dropped) and ``pages`` gives the page of each.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from analysis.reading.decode import decode_bytes
from analysis.reading.errors import InputError
from analysis.reading.pdf import extract_pdf_lines

__all__ = ["PDF_MAGIC", "RawDocument", "document_from_bytes", "read_document", "split_lines"]

PDF_MAGIC = b"%PDF-"
# Readers accept the PDF header anywhere in the first KiB (some generators put junk before it).
_PDF_HEADER_WINDOW = 1024
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class RawDocument:
    path: str  # as given
    name: str  # file name
    sha256: str  # of the raw bytes
    size: int  # bytes
    format: str  # 'text' or 'pdf'
    encoding: str | None  # for text; None for pdf
    encoding_confidence: str | None  # 'bom', 'strict' or 'scored' for text; None for pdf
    lines: tuple[str, ...]  # source line N is lines[N - 1]; no line terminators
    pages: tuple[int, ...] | None  # for pdf: page of each line; None for text


def read_document(path: str | Path) -> RawDocument:
    """Read a raw minutes file (text or PDF, told apart by content, not by extension)."""
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(shown, f"cannot read file: {exc.strerror or exc}") from exc
    return document_from_bytes(data, shown)


def document_from_bytes(data: bytes, path: str) -> RawDocument:
    """Build a :class:`RawDocument` from bytes; ``path`` is used for naming and errors only."""
    path = str(path)
    common = {
        "path": path,
        "name": PurePath(path).name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    if PDF_MAGIC in data[:_PDF_HEADER_WINDOW]:
        extracted = extract_pdf_lines(data, path)
        return RawDocument(
            **common,
            format="pdf",
            encoding=None,
            encoding_confidence=None,
            lines=tuple(line for _, line in extracted),
            pages=tuple(page for page, _ in extracted),
        )
    decoded = decode_bytes(data, path)
    return RawDocument(
        **common,
        format="text",
        encoding=decoded.encoding,
        encoding_confidence=decoded.confidence,
        lines=split_lines(decoded.text),
        pages=None,
    )


def split_lines(text: str) -> tuple[str, ...]:
    """Split on CRLF, LF and lone CR; keep empty lines; ignore one final terminator."""
    if not text:
        return ()
    parts = _LINE_END.split(text) if "\r" in text else text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return tuple(parts)
