"""A Japanese font that travels inside every page, so text looks the same on every terminal.

The municipal terminals and a fresh CI machine may have no Japanese font at all: a browser then
draws boxes (tofu) and a PDF printed there has no readable text. The project depends on the PyPI
package ``noto-cjk-sans-jp-regular`` (Noto Sans CJK JP Regular, SIL Open Font License 1.1), and:

- :func:`font_face_css` embeds a *subset* of it — only the glyphs a page uses plus kana, ASCII
  and common punctuation — as a base64 WOFF ``@font-face`` rule named ``Noto Sans CJK JP``, the
  first family of :data:`analysis.charts.FONT`. The page's own text and the charts' SVG text
  (Vega draws it in the browser from the spec, whose characters are in the page) use it, with
  no network and nothing installed. Subsetting a page takes about 20 ms with HarfBuzz
  (``uharfbuzz``), about 0.4 s with fontTools where HarfBuzz is not installed; the result is
  cached per character set.
- :func:`register_chart_fonts` gives vl-convert the font folder, for ``to_svg``/``to_png``
  layouts and PNG pixels.

Embedding a subset in a document is what the OFL allows for documents (the page is not a font
program); the licence text is shipped inside the font package (``*.dist-info/licenses``) and
:data:`LICENSE_NOTE` names it in each page.

``COUNCIL_FONT_FILE`` (an ``.otf``/``.ttf`` path) overrides the font, for a site that must use
another one. Without any font, pages still render with the reader's own fonts
(:func:`font_face_css` returns an empty string) and :func:`font_problem` says why.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

FAMILY = "Noto Sans CJK JP"
FONT_PACKAGE = "noto_cjk_sans_jp_regular"
LICENSE_NOTE = "Noto Sans CJK JP（SIL Open Font License 1.1）の部分フォントを埋め込んでいます。"


def _ranges(*pairs: tuple[int, int]) -> str:
    return "".join(chr(c) for a, b in pairs for c in range(a, b + 1))


# Characters every page gets, whatever its text: what charts, page numbers, dates and numbers
# may draw that is not written in the page itself (Vega's ja-JP date/number formats, print
# counters), and kana and punctuation so small edits to a page's text stay legible.
BASE_TEXT = (
    _ranges(
        (0x20, 0x7E),  # ASCII
        (0xA0, 0xBF),  # Latin-1 punctuation and signs (°, ±, ·)
        (0xD7, 0xD7),  # ×
        (0xF7, 0xF7),  # ÷
        (0x2010, 0x2027),  # dashes, quotes, …, ‥
        (0x2030, 0x203B),  # ‰, ※
        (0x2190, 0x2193),  # arrows
        (0x2212, 0x2212),  # minus
        (0x25A0, 0x25CF),  # ■□▲△▼▽◆◇○◎●
        (0x3000, 0x303F),  # CJK punctuation 、。「」『』【】〜
        (0x3041, 0x3096),  # hiragana
        (0x309B, 0x309F),
        (0x30A0, 0x30FF),  # katakana
        (0xFF01, 0xFF5E),  # full-width ASCII
    )
    + "年月日時分秒午前後曜火水木金土令和平成昭和度第回件名課部係長委員会議諮問報告"
    + "✓✔"
)

_CACHE_SIZE = 64
_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


class FontUnavailable(RuntimeError):
    """No Japanese font to embed (package missing or ``COUNCIL_FONT_FILE`` wrong)."""


@lru_cache(maxsize=1)
def _locate() -> tuple[Path | None, str]:
    override = os.environ.get("COUNCIL_FONT_FILE")
    if override:
        path = Path(override)
        if path.is_file():
            return path, ""
        return None, f"COUNCIL_FONT_FILE={override}: no such file"
    try:
        import importlib

        module = importlib.import_module(FONT_PACKAGE)
        path = Path(str(module.FONT_PATH))
    except (ImportError, AttributeError):
        return None, (
            "the Japanese font package is not installed "
            "(pip install noto-cjk-sans-jp-regular); pages use the reader's fonts"
        )
    if not path.is_file():
        return None, f"{path}: font file missing from the {FONT_PACKAGE} package"
    return path, ""


def font_path() -> Path:
    """The Japanese font file pages embed (raises :class:`FontUnavailable`)."""
    path, problem = _locate()
    if path is None:
        raise FontUnavailable(problem)
    return path


def font_problem() -> str | None:
    """Why no font can be embedded, or None when all is well."""
    return _locate()[1] or None


def font_dir() -> Path:
    """The folder holding :func:`font_path` (for vl-convert)."""
    return font_path().parent


def font_license() -> Path | None:
    """The font's licence file, when the installed package carries one."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution(FONT_PACKAGE.replace("_", "-"))
    except (ImportError, PackageNotFoundError):
        return None
    for f in dist.files or []:
        if f.name.upper().startswith(("LICENSE", "OFL")):
            return Path(str(dist.locate_file(f)))
    return None


_registered: set[str] = set()


def register_chart_fonts() -> bool:
    """Let vl-convert (``charts.to_svg``/``to_png``) use the shipped Japanese font.

    Safe to call often; returns False when there is no font to register.
    """
    path, _ = _locate()
    if path is None:
        return False
    folder = str(path.parent)
    with _lock:
        if folder in _registered:
            return True
        import vl_convert as vlc

        vlc.register_font_directory(folder)
        _registered.add(folder)
    return True


_NAME_IDS = range(7)  # family, style, version, full and PostScript names, copyright


def _subset_woff(chars: str) -> bytes:
    """A WOFF of the glyphs for ``chars``: no layout features, no hints, names 0–6.

    HarfBuzz's subsetter (the ``uharfbuzz`` package) when it is installed: about 20 ms for a
    page; otherwise fontTools' (the same glyphs, about 0.4 s: it runs every glyph's outline
    program in Python).
    """
    try:
        import uharfbuzz  # noqa: F401 - only whether it is there
    except ImportError:
        return _subset_woff_fonttools(chars)
    return _subset_woff_harfbuzz(chars)


def _subset_woff_harfbuzz(chars: str) -> bytes:
    import uharfbuzz as hb
    from fontTools.ttLib import TTFont

    subset_input = hb.SubsetInput()
    subset_input.unicode_set.update(ord(c) for c in chars)
    subset_input.sets(hb.SubsetInputSets.LAYOUT_FEATURE_TAG).clear()
    names = subset_input.sets(hb.SubsetInputSets.NAME_ID)
    names.clear()
    names.update(_NAME_IDS)
    subset_input.flags = hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.NOTDEF_OUTLINE
    face = hb.subset(_harfbuzz_face(str(font_path())), subset_input)
    font = TTFont(io.BytesIO(face.blob.data))  # only wrapped as WOFF: tables are not parsed
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@lru_cache(maxsize=2)
def _harfbuzz_face(path: str) -> Any:
    import uharfbuzz as hb

    return hb.Face(hb.Blob.from_file_path(path))


def _subset_woff_fonttools(chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    # recalcBBoxes=False: the font-wide bounding boxes stay the full font's (browsers do not
    # draw with them); recomputing them for the subset took a third of the time.
    font = TTFont(str(font_path()), lazy=True, recalcBBoxes=False)
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = []  # horizontal Japanese needs none; keeps subsetting fast
    options.name_IDs = list(_NAME_IDS)
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff"
    font.save(out)
    return out.getvalue()


def glyph_text(text: str) -> str:
    """The sorted, de-duplicated characters a subset for ``text`` holds (base set included)."""
    return "".join(sorted(c for c in set(text).union(BASE_TEXT) if c.isprintable() or c == " "))


def font_face_css(text: str, family: str = FAMILY) -> str:
    """An ``@font-face`` rule embedding the glyphs ``text`` needs (empty without a font)."""
    path, _ = _locate()
    if path is None:
        return ""
    chars = glyph_text(text)
    key = hashlib.sha256(f"{path}\0{family}\0{chars}".encode()).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = base64.b64encode(_subset_woff(chars)).decode("ascii")
    css = (
        "@font-face {\n"
        f'  font-family: "{family}";\n'
        "  font-style: normal;\n"
        "  font-weight: 400;\n"
        "  font-display: block;\n"
        f'  src: url("data:font/woff;base64,{data}") format("woff");\n'
        "}\n"
    )
    with _lock:
        _cache[key] = css
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return css
