"""Reading layer: bytes -> text (encodings), PDF -> lines, files -> RawDocument."""

from __future__ import annotations

import pickle
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.reading import (
    Decoded,
    InputError,
    RawDocument,
    decode_bytes,
    document_from_bytes,
    extract_pdf_lines,
    read_document,
    split_lines,
)
from analysis.reading.decode import _char_weight, _full_weight_run, _weight, score_japanese
from fixtures_reading import (
    JAPANESE_FONTS,
    PNG_HEADER,
    SEED,
    SEED_SHA256,
    encode_euc_jp,
    make_drawing_only_pdf,
    make_pdf,
    make_placed_pdf,
    make_unmapped_cid_pdf,
    seed_text,
)

TITLE = "令和2年度第9回情報公開・個人情報保護運営審議会議事録（要点記録）"
# The seed has 329 LF characters and no final terminator, so it has 330 lines.
SEED_LINES = 330


@pytest.fixture(scope="module")
def seed_doc() -> RawDocument:
    return read_document(SEED)


def assert_one_line_error(exc: InputError, path: str) -> str:
    message = str(exc)
    assert message.startswith(f"{path}: ") or message.startswith(f"{path}:{exc.line}: ")
    assert "\n" not in message and "\r" not in message
    assert exc.path == path
    return message


# --- the seed ------------------------------------------------------------------------------


def test_seed_reads_as_utf8_text(seed_doc: RawDocument) -> None:
    assert seed_doc.format == "text"
    assert seed_doc.path == str(SEED)
    assert seed_doc.name == "tama_2020-12-15_r02-09_minutes.txt"
    assert seed_doc.sha256 == SEED_SHA256
    assert seed_doc.size == SEED.stat().st_size
    assert seed_doc.encoding == "utf-8"
    assert seed_doc.encoding_confidence == "strict"
    assert seed_doc.pages is None
    assert len(seed_doc.lines) == SEED_LINES
    assert seed_doc.lines[0] == "" and seed_doc.lines[1] == ""
    assert seed_doc.lines[2] == TITLE
    assert seed_doc.lines[-1] == "榎中和子"  # no final line terminator
    # Lines are kept as they are in the file: tabs inside lines survive, no terminators.
    assert any("\t" in line for line in seed_doc.lines)
    assert not any(ch in line for line in seed_doc.lines for ch in "\r\n")


def test_path_is_kept_as_given(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.txt").write_bytes("議事録\n".encode())
    doc = read_document("./m.txt")
    assert doc.path == "./m.txt"
    assert doc.name == "m.txt"
    assert doc.lines == ("議事録",)


# --- encodings and line ends -----------------------------------------------------------------


def _mixed_line_ends(text: str) -> bytes:
    ends = ["\r\n", "\n", "\r"]
    lines = text.split("\n")
    joined = "".join(line + ends[i % 3] for i, line in enumerate(lines[:-1])) + lines[-1]
    return joined.encode("utf-8")


VARIANTS = {
    "cp932": (lambda t: t.encode("cp932"), "cp932", "strict"),
    "euc-jp": (encode_euc_jp, "euc-jp", "strict"),
    "utf-8-sig": (lambda t: t.encode("utf-8-sig"), "utf-8-sig", "bom"),
    "utf-16-le": (lambda t: t.encode("utf-16"), "utf-16", "bom"),  # native order with BOM
    "utf-16-be": (lambda t: b"\xfe\xff" + t.encode("utf-16-be"), "utf-16", "bom"),
    "crlf": (lambda t: t.replace("\n", "\r\n").encode("utf-8"), "utf-8", "strict"),
    "cr": (lambda t: t.replace("\n", "\r").encode("utf-8"), "utf-8", "strict"),
    "mixed": (_mixed_line_ends, "utf-8", "strict"),
    "cp932-crlf-final": (
        lambda t: (t.replace("\n", "\r\n") + "\r\n").encode("cp932"),
        "cp932",
        "strict",
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_seed_variants_give_identical_lines(variant: str, seed_doc: RawDocument, tmp_path) -> None:
    encode, encoding, confidence = VARIANTS[variant]
    data = encode(seed_text())
    path = tmp_path / f"seed-{variant}.txt"
    path.write_bytes(data)
    doc = read_document(path)
    assert doc.lines == seed_doc.lines
    assert doc.encoding == encoding
    assert doc.encoding_confidence == confidence
    assert doc.size == len(data)
    assert doc.sha256 != SEED_SHA256


def test_python_euc_jp_cannot_encode_the_seed() -> None:
    # Why the tests use the Windows flavour of EUC-JP (see fixtures_reading.encode_euc_jp).
    with pytest.raises(UnicodeEncodeError):
        seed_text().encode("euc_jp")


def test_euc_jp_windows_extensions_and_standard_bytes() -> None:
    text = "①②Ⅲ㍉ 髙橋・山﨑 ～ ｶﾅ"
    decoded = decode_bytes(encode_euc_jp(text), "x.txt")
    assert decoded == Decoded(text, "euc-jp", "strict")
    # Standard EUC-JP bytes (as written by Python / iconv) read the same as Python's codec,
    # except the few JIS cells where CP932 chose other code points (〜 -> ～ here).
    standard = "令和２年の議事録〜確定".encode("euc_jp")
    assert decode_bytes(standard, "x.txt").text == "令和２年の議事録～確定"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("a\nb\n", ("a", "b")),
        ("a\nb", ("a", "b")),
        ("a\n\n", ("a", "")),
        ("\n\na", ("", "", "a")),
        ("a\r\n\r\nb\r\n", ("a", "", "b")),
        ("a\r\rb", ("a", "", "b")),
        ("a\n\r\nb\rc", ("a", "", "b", "c")),
        ("a\r\n", ("a",)),
        ("a\r", ("a",)),
        ("a\fb\u2028c\u2029d\x85e\x0bf\n", ("a\fb\u2028c\u2029d\x85e\x0bf",)),
        ("  indented\t \n\u3000全角 ", ("  indented\t ", "\u3000全角 ")),
        ("", ()),
    ],
)
def test_split_lines(data: str, expected: tuple[str, ...]) -> None:
    assert split_lines(data) == expected


_LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=8
)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(_LINE_TEXT, min_size=1, max_size=8),
    ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=8, max_size=8),
    final=st.booleans(),
)
def test_split_lines_round_trips_any_line_ends(
    lines: list[str], ends: list[str], final: bool
) -> None:
    terminated = len(lines) if final else len(lines) - 1
    text = "".join(line + (ends[i] if i < terminated else "") for i, line in enumerate(lines))
    # "\r" ending an empty line followed by "\n" is one CRLF: the text cannot tell them apart.
    assume(len(re.findall(r"\r\n|\r|\n", text)) == terminated)
    # An empty last line without a terminator is just the end of the previous line.
    expected = tuple(lines) if final or lines[-1] != "" else tuple(lines[:-1])
    assert split_lines(text) == expected


def test_form_feed_stays_inside_its_line() -> None:
    doc = document_from_bytes("第1ページ\f第2ページ\n次の行\n".encode(), "ff.txt")
    assert doc.lines == ("第1ページ\f第2ページ", "次の行")


def test_pure_ascii_is_utf8_strict() -> None:
    assert decode_bytes(b"Minutes\r\nno Japanese here\n", "a.txt") == Decoded(
        "Minutes\r\nno Japanese here\n", "utf-8", "strict"
    )


def test_euc_jp_that_also_decodes_as_cp932_is_scored() -> None:
    text = "議事録"
    data = encode_euc_jp(text)
    data.decode("cp932")  # precondition: the CP932 reading exists (and is noise: ｵﾄｻ...)
    assert decode_bytes(data, "e.txt") == Decoded(text, "euc-jp", "scored")


def test_utf8_that_also_decodes_as_cp932_is_scored() -> None:
    text = "委員"
    data = text.encode("utf-8")
    assert data.decode("cp932") != text  # precondition: a (wrong) CP932 reading exists
    assert decode_bytes(data, "u.txt") == Decoded(text, "utf-8", "scored")


def _weighed_one_by_one(text: str) -> float:
    """score_japanese as its docstring defines it: every non-ASCII character weighed alone."""
    weights = [_char_weight(ch) for ch in text if ord(ch) >= 0x80]
    return sum(weights) / len(weights) if weights else 1.0


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.sampled_from("aZ 1。あア漢櫻ｱ①※～\u0080\ufffd\ue000¢£¬‖−é丂\U00020000\U000f0000")
        | st.characters(),
        max_size=40,
    )
)
def test_score_japanese_weighs_every_character(text: str) -> None:
    assert score_japanese(text) == _weighed_one_by_one(text)


def test_score_japanese_full_weight_run_holds_exactly_the_weight_one_characters() -> None:
    run = _full_weight_run()
    for cp in [*range(0x80, 0x10000), 0x20000, 0x2A6D6, 0xF0000]:
        assert (run.fullmatch(chr(cp)) is not None) == (_weight(chr(cp)) == 1.0), hex(cp)


def test_every_seed_line_alone_decodes_correctly_in_every_encoding() -> None:
    lines = [line for line in seed_text().split("\n") if line.strip()]
    for encode in (encode_euc_jp, lambda t: t.encode("cp932"), lambda t: t.encode("utf-8")):
        for line in lines:
            assert decode_bytes(encode(line), "line.txt").text == line


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b" \r\n\t\n  ", "empty file"),
        ("\u3000\n".encode("cp932"), "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (b"\xff\xfe", "empty file"),
        (PNG_HEADER + b"\x00" * 64, "binary data, not text minutes"),
        (b"abc\x01\x02\x03\x04def" * 10, "binary data, not text minutes"),
        ("(1) 議事録\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (b"\xff\xfe" + "a\x00b".encode("utf-16-le"), "binary data, not text minutes"),
        (b"\xff\xfe\x00\x00" + "a".encode("utf-32-le"), "UTF-32 text is not supported"),
        (b"\xef\xbb\xbf\xe8\xad\xb0\xff", "not valid UTF-8"),
        (b"\x1b$B5D;vO?\x1b(B\n", "ISO-2022-JP"),
        (b"minutes \x81 \xfe text", "cannot decode as utf-8, cp932 or euc-jp"),
        (b"caf\xe9 au lait, cr\xe8me br\xfbl\xe9e\n", "cannot decode as utf-8, cp932 or euc-jp"),
        (b"\xe0\xa1\xe0\xa2", "ambiguous encoding"),
        (b"minutes \x80\xff\x80 text", "decodes only as cp932 but does not look like Japanese"),
    ],
)
def test_unreadable_bytes_raise_input_error(data: bytes, reason: str, tmp_path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_document(path)
    message = assert_one_line_error(info.value, str(path))
    assert reason in message


def test_undecodable_error_names_candidates_and_positions() -> None:
    with pytest.raises(InputError) as info:
        decode_bytes(b"minutes \x81 \xfe text", "raw/x.txt")
    message = assert_one_line_error(info.value, "raw/x.txt")
    for name in ("utf-8:", "cp932:", "euc-jp:"):
        assert name in message
    assert "at byte 8" in message or "at byte 9" in message


def test_ambiguous_error_lists_scores() -> None:
    with pytest.raises(InputError) as info:
        decode_bytes(b"\xe0\xa1\xe0\xa2", "amb.txt")
    message = str(info.value)
    assert re.search(r"cp932 \(score 0\.\d\d\)", message)
    assert re.search(r"euc-jp \(score 0\.\d\d\)", message)
    assert "utf-8 does not decode" in message


def test_missing_file_raises_input_error(tmp_path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(InputError) as info:
        read_document(path)
    assert "cannot read file" in assert_one_line_error(info.value, str(path))


def test_input_error_format_and_pickling() -> None:
    error = InputError("raw/a.txt", "first\nsecond\r\n  third", line=12)
    assert str(error) == "raw/a.txt:12: first second third"
    assert (error.path, error.reason, error.line) == ("raw/a.txt", "first second third", 12)
    assert str(InputError("a.txt", "empty file")) == "a.txt: empty file"
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == str(error) and clone.line == 12


# --- PDF -------------------------------------------------------------------------------------


def _seed_pdf_pages() -> list[list[str]]:
    # Short seed lines (tabs are not drawable text in a PDF) for two pages.
    lines = [line for line in seed_text().split("\n") if line.strip() and "\t" not in line]
    lines = [line for line in lines if len(line) <= 40]
    return [lines[:8], lines[8:14]]


@pytest.fixture(scope="module")
def seed_pdf() -> bytes:
    return make_pdf(_seed_pdf_pages())


def test_pdf_lines_with_page_numbers(seed_pdf: bytes) -> None:
    pages = _seed_pdf_pages()
    expected = [(number, line) for number, lines in enumerate(pages, 1) for line in lines]
    assert any(line == TITLE for _, line in expected)
    assert extract_pdf_lines(seed_pdf, "m.pdf") == expected


@pytest.mark.parametrize("font", JAPANESE_FONTS)
def test_pdf_japanese_comes_back_exactly(font: str) -> None:
    # Every distinct character of the seed, 30 to a line, over two pages.
    chars = sorted({ch for ch in seed_text() if not ch.isspace()})
    lines = ["".join(chars[i : i + 30]) for i in range(0, len(chars), 30)]
    got = extract_pdf_lines(make_pdf([lines[:12], lines[12:]], font=font), "f.pdf")
    # The one lossy character: FULLWIDTH TILDE U+FF5E is drawn as an Adobe-Japan1 CID that
    # pdfminer maps back to WAVE DASH U+301C (the normaliser must treat them alike).
    expected = [line.replace("～", "〜") for line in lines]
    assert "～" in "".join(lines)
    assert got == [(1 if i < 12 else 2, line) for i, line in enumerate(expected)]


def test_pdf_line_order_and_letter_spacing() -> None:
    data = make_placed_pdf(
        [
            (56, 700, "三行目（先に描画）", 0),
            (56, 732, "一行目", 0),
            (56, 716, "二行目", 0),
            (56, 684, "字間一ポイント", 1),
            (56, 668, "字間六ポイント", 6),
            (56, 652, "全角\u3000空白", 0),
            (56, 636, "左の列", 0),
            (300, 636, "右の列", 0),
        ]
    )
    assert [line for _, line in extract_pdf_lines(data, "o.pdf")] == [
        "一行目",
        "二行目",
        "三行目（先に描画）",  # lines come in page order (top to bottom), not drawing order
        "字間一ポイント",
        "字 間 六 ポ イ ン ト",  # gaps > 3 pt become spaces
        "全角 空白",  # U+3000 comes back as an ASCII space
        "左の列 右の列",  # side-by-side text shares one line
    ]


def test_pdf_document_is_detected_by_magic_not_extension(seed_pdf: bytes, tmp_path) -> None:
    path = tmp_path / "minutes.txt"
    path.write_bytes(seed_pdf)
    doc = read_document(path)
    assert doc.format == "pdf"
    assert doc.encoding is None and doc.encoding_confidence is None
    assert doc.pages is not None and len(doc.pages) == len(doc.lines)
    assert set(doc.pages) == {1, 2}
    assert doc.lines[0] == _seed_pdf_pages()[0][0]
    assert doc.size == len(seed_pdf)

    text_named_pdf = tmp_path / "minutes.pdf"
    text_named_pdf.write_bytes("議事録\n".encode())
    assert read_document(text_named_pdf).format == "text"


def test_pdf_without_text_layer_raises(tmp_path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_drawing_only_pdf())
    with pytest.raises(InputError) as info:
        read_document(path)
    message = assert_one_line_error(info.value, str(path))
    assert message.endswith("PDF has no text layer (scanned image?)")


def test_pdf_without_unicode_mapping_raises() -> None:
    with pytest.raises(InputError) as info:
        extract_pdf_lines(make_unmapped_cid_pdf(), "cid.pdf")
    assert "(cid:N)" in assert_one_line_error(info.value, "cid.pdf")


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\nthis is not a pdf at all\n", b"%PDF-", None],
    ids=["garbage", "header-only", "truncated"],
)
def test_broken_pdf_raises_one_line(data: bytes | None, seed_pdf: bytes) -> None:
    data = seed_pdf[: len(seed_pdf) // 2] if data is None else data
    with pytest.raises(InputError) as info:
        document_from_bytes(data, "broken.pdf")
    message = assert_one_line_error(info.value, "broken.pdf")
    assert message.startswith("broken.pdf: cannot read PDF: ")
    assert len(message) > len("broken.pdf: cannot read PDF: ")
