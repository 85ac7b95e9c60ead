"""Reading layer: raw minutes files (text in any common Japanese encoding, or PDF) as lines.

Everything a later stage needs to cite a source line comes from here: the file's hash and size,
the encoding and how sure the choice was, and ``lines[N - 1]`` for source line N.
"""

from __future__ import annotations

from analysis.reading.decode import Decoded, decode_bytes
from analysis.reading.document import RawDocument, document_from_bytes, read_document, split_lines
from analysis.reading.errors import InputError
from analysis.reading.pdf import extract_pdf_lines

__all__ = [
    "Decoded",
    "InputError",
    "RawDocument",
    "decode_bytes",
    "document_from_bytes",
    "extract_pdf_lines",
    "read_document",
    "split_lines",
]
