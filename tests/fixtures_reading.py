"""Helpers that build reading-layer fixtures at test time (no binary fixtures in the repo)."""

from __future__ import annotations

import io
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "raw" / "tama_2020-12-15_r02-09_minutes.txt"
SEED_SHA256 = "7921c04f338dec28ed3411828114baed12bb6a501018b8df051d3645985d284e"
PNG_HEADER = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
)

JAPANESE_FONTS = ("HeiseiMin-W3", "HeiseiKakuGo-W5")


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def _sjis_to_jis(s1: int, s2: int) -> tuple[int, int]:
    if s1 >= 0xE0:
        s1 -= 0x40
    if s2 >= 0x9F:
        return (s1 - 0x70) * 2, s2 - 0x7E
    return (s1 - 0x70) * 2 - 1, s2 - (0x1F if s2 < 0x7F else 0x20)


def encode_euc_jp(text: str) -> bytes:
    """EUC-JP as Windows writes it (CP51932): every character via its CP932 JIS cell.

    Python's strict ``euc_jp`` codec cannot encode the seed (it has ① and ～), so the test
    encoder goes through CP932, as Windows software does.
    """
    out = bytearray()
    for ch in text:
        sjis = ch.encode("cp932")
        if len(sjis) == 1:
            out += sjis if sjis[0] < 0x80 else b"\x8e" + sjis  # half-width katakana: SS2
        else:
            j1, j2 = _sjis_to_jis(sjis[0], sjis[1])
            out += bytes((j1 | 0x80, j2 | 0x80))
    return bytes(out)


def make_pdf(pages: list[list[str]], font: str = "HeiseiMin-W3", size: float = 10.5) -> bytes:
    """A PDF with one text line per entry, drawn top to bottom, using a CID font (no font file)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    _, height = A4
    for lines in pages:
        pdf.setFont(font, size)
        y = height - 72
        for line in lines:
            pdf.drawString(56, y, line)
            y -= size * 1.6
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_placed_pdf(
    items: list[tuple[float, float, str, float]], font: str = "HeiseiMin-W3"
) -> bytes:
    """One page; each item is ``(x, y, text, char_space)``, drawn in the order given."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, invariant=1)
    for x, y, text, char_space in items:
        obj = pdf.beginText(x, y)
        obj.setFont(font, 10.5)
        obj.setCharSpace(char_space)
        obj.textOut(text)
        obj.setCharSpace(0)  # Tc is graphics state: it would leak into later text otherwise
        pdf.drawText(obj)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_drawing_only_pdf() -> bytes:
    """A one-page PDF with shapes but no text (what a scan looks like to a text extractor)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, invariant=1)
    pdf.rect(72, 72, 300, 400, fill=1)
    pdf.line(72, 600, 500, 600)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_unmapped_cid_pdf() -> bytes:
    """A hand-built PDF whose Identity-H font has no ToUnicode map: pdfminer yields '(cid:N)'."""
    content = b"BT /F1 12 Tf 72 700 Td <0011002200330044005500660077> Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /NoMap /Encoding /Identity-H "
        b"/DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NoMap "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 "
        b"/FontDescriptor 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /FontDescriptor /FontName /NoMap /Flags 4 /FontBBox [0 -120 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
