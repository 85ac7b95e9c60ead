"""Text lines of a PDF with a text layer, page by page, via pdfplumber.

pdfplumber (``page.extract_text`` with ``layout=False``) groups characters into lines by their
vertical position and orders each line left to right, so the order in which a PDF draws its text
does not matter. What it does (seen with pdfplumber 0.11 on Japanese text):

* a gap wider than ``x_tolerance`` (3 pt) between two characters becomes one ASCII space: text
  set with letter-spacing above about 3 pt (均等割付 labels such as ``日　時``) comes out as
  ``日 時`` or ``字 間 ...``; an ideographic space U+3000 comes out as an ASCII space, and runs
  of spaces collapse into one;
* characters whose baselines differ by up to ``y_tolerance`` (3 pt) share a line, and text side
  by side (two columns, a table row) is joined into one line with a space.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator

from analysis.reading.errors import InputError

__all__ = ["extract_pdf_lines"]

NO_TEXT_LAYER = "PDF has no text layer (scanned image?)"
# Share of extracted characters inside '(cid:N)' placeholders above which the text is useless.
MAX_CID_SHARE = 0.1

_LINE_END = re.compile(r"\r\n|\r|\n")
_CID = re.compile(r"\(cid:\d+\)")


def extract_pdf_lines(data: bytes, path: str) -> list[tuple[int, str]]:
    """``(page_number, line)`` for every non-blank text line, pages 1-based, in reading order.

    Raises :class:`InputError` for a PDF without pages or without a text layer, a text layer
    that pdfminer cannot map to Unicode, and any PDF the library cannot parse.
    """
    import pdfplumber  # heavy; imported only when a PDF is read

    lines: list[tuple[int, str]] = []
    try:
        with _quiet_libraries(), pdfplumber.open(io.BytesIO(data)) as pdf:
            if not pdf.pages:
                raise InputError(path, "PDF has no pages")
            for number, page in enumerate(pdf.pages, start=1):
                text = page.extract_text(layout=False) or ""
                lines.extend((number, line) for line in _LINE_END.split(text) if line.strip())
                page.close()  # drop the page's cached layout objects
    except InputError:
        raise
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        raise InputError(path, f"cannot read PDF: {_describe(exc)}") from exc

    if not lines:
        raise InputError(path, NO_TEXT_LAYER)
    text_chars = sum(len(line) for _, line in lines)
    cid_chars = sum(len(m) for _, line in lines for m in _CID.findall(line))
    if cid_chars > MAX_CID_SHARE * text_chars:
        raise InputError(
            path,
            "PDF text layer cannot be mapped to Unicode (its font has no usable ToUnicode map; "
            "pdfminer returns '(cid:N)' placeholders)",
        )
    return lines


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Keep pdfminer's and pdfplumber's log lines and warnings about a damaged file
    (``Invalid MediaBox in /Page ...``) off stderr: without a handler, Python prints them there,
    around the command's one-line error. What matters reaches the caller as an InputError."""
    loggers = [logging.getLogger(name) for name in ("pdfminer", "pdfplumber")]
    saved = [(lg, lg.propagate) for lg in loggers]
    null = logging.NullHandler()
    for lg in loggers:
        lg.addHandler(null)
        lg.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, propagate in saved:
            lg.removeHandler(null)
            lg.propagate = propagate


def _describe(exc: BaseException) -> str:
    # pdfplumber wraps pdfminer's exception in PdfminerException(original).
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    name = type(inner).__name__
    if "Password" in name or "Encrypt" in name:
        return f"PDF is encrypted and cannot be opened without a password ({name})"
    return str(inner).strip() or name
