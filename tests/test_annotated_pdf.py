"""AnnotatedPdf: real multi-page PDFs made here with pypdf, annotated copies written by the module (pypdf), and read
back with another library, pdfminer.six: each highlight's page, rectangle, colour and quadrilaterals, each sticky
note's page, position and text, the original untouched, and one warning (never an exception) for what cannot be
drawn."""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text
from pypdf import PdfWriter
from pypdf.annotations import Link
from pypdf.generic import DictionaryObject, NameObject, NumberObject, RectangleObject, StreamObject

from AnnotatedPdf import (
    NOTE_ICON_SIZE,
    AnnotatedCopy,
    annotated_name,
    annotations_for_file,
    copy_fingerprint,
    is_pdf,
    make_annotated_copy,
)
from Naming import MAX_COMPONENT_BYTES, safe_file_name
from tests.tool import assert_safe_component

AUTHORS = {"profile-jane": "Jane Doe", "profile-omar": "Omar Ñúñez"}


# ---------------------------------------------------------------- making PDFs and annotations

def make_pdf(pages: int = 3, media_box: tuple[float, float, float, float] = (0, 0, 612, 792),
             crop_box: tuple[float, float, float, float] | None = None, rotate: int = 0,
             link_on_first_page: bool = False, password: str | None = None) -> bytes:
    """A small valid PDF: each page shows `Page N` in Helvetica through its own content stream."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for number in range(1, pages + 1):
        page = writer.add_blank_page(media_box[2] - media_box[0], media_box[3] - media_box[1])
        page.mediabox = RectangleObject(media_box)
        if crop_box:
            page.cropbox = RectangleObject(crop_box)
        if rotate:
            page[NameObject("/Rotate")] = NumberObject(rotate)
        content = StreamObject()
        content.set_data(f"BT /F1 24 Tf {media_box[0] + 72} {media_box[3] - 90} Td (Page {number}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    if link_on_first_page:
        writer.add_annotation(0, Link(rect=(72, 72, 144, 90), url="https://example.org/"))
    if password:
        writer.encrypt(password, algorithm="AES-256")
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def box(page: int, x1: float, y1: float, x2: float, y2: float) -> dict[str, Any]:
    return {"top_left": {"x": x1, "y": y1}, "bottom_right": {"x": x2, "y": y2}, "page": page}


def highlight(file_hash: str, annotation_id: str, *positions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": annotation_id, "type": "highlight", "filehash": file_hash, "positions": list(positions),
            "color": {"r": 255, "g": 235, "b": 59}, "profile_id": "profile-jane", "privacy_level": "private",
            "created": "2021-03-04T05:06:07.000Z", "last_modified": "2022-08-09T10:11:12.000Z",
            "document_id": "doc-1", **fields}


def sticky_note(file_hash: str, annotation_id: str, page: int, x: float, y: float, text: str,
                **fields: Any) -> dict[str, Any]:
    return {"id": annotation_id, "type": "sticky_note", "filehash": file_hash, "positions": [box(page, x, y, x, y)],
            "text": text, "color": {"r": 0, "g": 128, "b": 255}, "profile_id": "profile-omar",
            "created": "2020-01-02T03:04:05.000Z", "last_modified": "2020-01-02T03:04:05.000Z",
            "document_id": "doc-1", **fields}


def five_annotations(file_hash: str) -> list[dict[str, Any]]:
    """Three highlights (one of two lines) and two sticky notes over the three pages."""
    return [
        highlight(file_hash, "h-1", box(1, 72, 702, 300, 690)),
        highlight(file_hash, "h-2", box(2, 300.5, 520.25, 72.5, 508), box(2, 72, 506, 250, 494),
                  color={"r": 255, "g": 0, "b": 0}, text="two lines", profile_id="profile-omar"),
        highlight(file_hash, "h-3", box(3, 100, 100, 200, 88), color={"r": 0, "g": 200, "b": 0},
                  profile_id="someone-unknown"),
        sticky_note(file_hash, "s-1", 1, 400, 600, "Check this ü"),
        sticky_note(file_hash, "s-2", 3, 50, 300, "Second note"),
    ]


# ---------------------------------------------------------------- reading back with pdfminer.six

def read_back(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """Every annotation of the PDF as pdfminer reads it (page counted from 1), and the page count."""
    document = PDFDocument(PDFParser(BytesIO(data)))
    found = []
    page_count = 0
    for number, page in enumerate(PDFPage.create_pages(document), start=1):
        page_count = number
        for reference in resolve1(page.annots) or []:
            annotation = resolve1(reference)
            found.append({"page": number, **{key: plain(resolve1(value)) for key, value in annotation.items()
                                             if key != "P"}})
    return found, page_count


def plain(value: Any) -> Any:
    """pdfminer's objects as plain Python: names as `/Name`, strings decoded as PDF text strings."""
    if isinstance(value, PSLiteral):
        return "/" + str(value.name)
    if isinstance(value, bytes):
        return decode_text(value)
    if isinstance(value, list):
        return [plain(resolve1(item)) for item in value]
    if isinstance(value, dict):
        return {key: plain(resolve1(item)) for key, item in value.items()}
    return value


def by_name(annotations: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for annotation in annotations:
        grouped.setdefault(annotation.get("NM", ""), []).append(annotation)
    return grouped


def near(values: list[float], expected: list[float], within: float = 1) -> bool:
    """Coordinates within 1 pt."""
    return len(values) == len(expected) and all(abs(a - b) <= within for a, b in zip(values, expected, strict=True))


def same_colour(values: list[float], rgb: tuple[int, int, int]) -> bool:
    """A PDF colour (0 to 1 a channel) that is the API's r, g, b (0 to 255), far closer than one step (1/255)."""
    return near(values, [channel / 255 for channel in rgb], within=0.0001)


def copy_of(data: bytes, annotations: list[dict[str, Any]]) -> AnnotatedCopy:
    return make_annotated_copy(data, sha1(data), annotations, AUTHORS)


# ---------------------------------------------------------------- what is drawn

def test_highlights_read_back_by_another_library_with_page_rectangle_colour_and_quadpoints() -> None:
    original = make_pdf(pages=3)
    result = copy_of(original, five_annotations(sha1(original)))
    assert result.warning is None
    annotations, page_count = read_back(result.content)
    assert page_count == 3
    drawn = by_name(annotations)

    (first,) = drawn["h-1"]
    assert first["page"] == 1 and first["Subtype"] == "/Highlight" and first["Type"] == "/Annot"
    assert near(first["Rect"], [72, 690, 300, 702])
    assert near(first["QuadPoints"], [72, 702, 300, 702, 72, 690, 300, 690])
    assert same_colour(first["C"], (255, 235, 59))
    assert first["T"] == "Jane Doe"
    assert first["CreationDate"] == "D:20210304050607+00'00'" and first["M"] == "D:20220809101112+00'00'"
    assert "Contents" not in first

    (second,) = drawn["h-2"]  # two boxes, given with x1 > x2: normalised, one quadrilateral each
    assert second["page"] == 2
    assert near(second["Rect"], [72, 494, 300.5, 520.25])
    assert near(second["QuadPoints"], [72.5, 520.25, 300.5, 520.25, 72.5, 508, 300.5, 508,
                                       72, 506, 250, 506, 72, 494, 250, 494])
    assert same_colour(second["C"], (255, 0, 0))
    assert second["T"] == "Omar Ñúñez" and second["Contents"] == "two lines"

    (third,) = drawn["h-3"]
    assert third["page"] == 3 and near(third["Rect"], [100, 88, 200, 100]) and same_colour(third["C"], (0, 200, 0))
    assert "T" not in third  # a profile whose name is not known: no author rather than an id


def test_sticky_notes_read_back_as_note_icons_at_their_point_with_their_text() -> None:
    original = make_pdf(pages=3)
    annotations, _ = read_back(copy_of(original, five_annotations(sha1(original))).content)
    drawn = by_name(annotations)
    for name, page, x, y, text in (("s-1", 1, 400, 600, "Check this ü"), ("s-2", 3, 50, 300, "Second note")):
        (note,) = drawn[name]
        assert note["page"] == page and note["Subtype"] == "/Text" and note["Name"] == "/Note"
        assert note["Contents"] == text and note["T"] == "Omar Ñúñez"
        assert near(note["Rect"], [x, y - NOTE_ICON_SIZE, x + NOTE_ICON_SIZE, y])  # the point is its top-left corner
        assert same_colour(note["C"], (0, 128, 255))


@pytest.mark.parametrize(("x", "y", "expected"), [
    (611, 791, [590, 770, 612, 792]),  # the top-right corner: pushed left and down
    (-40, 5, [0, 0, 22, 22]),  # beyond the bottom-left corner: pushed in
    (300, 400, [300, 378, 322, 400]),  # inside: left where it is
])
def test_a_sticky_note_box_is_kept_on_the_page(x: float, y: float, expected: list[float]) -> None:
    original = make_pdf(pages=1)
    result = copy_of(original, [sticky_note(sha1(original), "s", 1, x, y, "edge")])
    ((note,), _) = read_back(result.content)
    assert near(note["Rect"], expected)


def test_offset_and_rotated_pages_take_positions_as_user_space_and_keep_notes_inside_the_crop_box() -> None:
    original = make_pdf(pages=2, media_box=(100, 200, 712, 992), crop_box=(150, 250, 650, 950), rotate=90)
    file_hash = sha1(original)
    result = copy_of(original, [highlight(file_hash, "h", box(2, 180, 900, 400, 880)),
                                sticky_note(file_hash, "inside", 1, 300, 600, "in"),
                                sticky_note(file_hash, "outside", 1, 10, 10, "out")])
    assert result.warning is None
    drawn = by_name(read_back(result.content)[0])
    assert near(drawn["h"][0]["Rect"], [180, 880, 400, 900])  # not shifted by the box origin, not turned
    assert near(drawn["inside"][0]["Rect"], [300, 578, 322, 600])
    assert near(drawn["outside"][0]["Rect"], [150, 250, 172, 272])  # the crop box's corner, not the media box's
    assert drawn["inside"][0]["F"] & 16  # NoRotate: the icon stays upright on the turned page


def test_a_sticky_note_is_one_icon_at_its_first_usable_point() -> None:
    original = make_pdf(pages=2)
    note = sticky_note(sha1(original), "s", 1, 0, 0, "one icon")
    note["positions"] = [{"page": 1, "top_left": None}, box(2, 300, 400, 300, 400), box(1, 100, 100, 100, 100)]
    ((drawn,), _) = read_back(copy_of(original, [note]).content)
    assert drawn["page"] == 2 and near(drawn["Rect"], [300, 378, 322, 400])


def test_a_colour_out_of_range_is_clamped_and_a_missing_one_is_yellow() -> None:
    original = make_pdf(pages=1)
    file_hash = sha1(original)
    result = copy_of(original, [highlight(file_hash, "loud", box(1, 1, 2, 3, 4), color={"r": 300, "g": -5, "b": 12.5}),
                                highlight(file_hash, "plain", box(1, 1, 2, 3, 4), color=None)])
    drawn = by_name(read_back(result.content)[0])
    assert near(drawn["loud"][0]["C"], [1, 0, 12.5 / 255], within=0.0001)
    assert same_colour(drawn["plain"][0]["C"], (255, 255, 0))


def test_a_highlight_over_a_page_break_is_drawn_on_both_pages() -> None:
    original = make_pdf(pages=3)
    result = copy_of(original, [highlight(sha1(original), "h", box(1, 72, 80, 500, 68), box(2, 72, 702, 300, 690))])
    parts = by_name(read_back(result.content)[0])["h"]
    assert [(part["page"], len(part["QuadPoints"])) for part in parts] == [(1, 8), (2, 8)]


def test_annotations_of_another_file_and_the_document_note_are_not_drawn() -> None:
    original = make_pdf(pages=2)
    other = sha1(b"another file")
    mine = highlight(sha1(original), "mine", box(1, 72, 702, 300, 690))
    result = copy_of(original, [mine, highlight(other, "theirs", box(1, 72, 600, 300, 590)),
                                {"id": "note", "type": "note", "text": "document note", "filehash": sha1(original)},
                                sticky_note(other, "their-note", 2, 100, 100, "not mine")])
    assert [annotation["NM"] for annotation in read_back(result.content)[0]] == ["mine"]
    assert make_annotated_copy(original, sha1(original), [highlight(other, "theirs", box(1, 1, 2, 3, 4))]) == \
        AnnotatedCopy(None, None)


def test_a_pdf_with_annotations_of_its_own_keeps_them() -> None:
    original = make_pdf(pages=2, link_on_first_page=True)
    result = copy_of(original, [highlight(sha1(original), "h", box(1, 72, 702, 300, 690))])
    annotations, _ = read_back(result.content)
    assert [(annotation["page"], annotation["Subtype"]) for annotation in annotations] == \
        [(1, "/Link"), (1, "/Highlight")]
    assert annotations[0]["A"]["URI"] == "https://example.org/"


# ---------------------------------------------------------------- the original, the copy's bytes

def test_the_original_is_unchanged_and_a_well_formed_one_gets_an_incremental_update(tmp_path: Path) -> None:
    original = make_pdf(pages=3)
    path = tmp_path / "paper.pdf"
    path.write_bytes(original)
    before = sha1(original)
    result = make_annotated_copy(path, before, five_annotations(before), AUTHORS)
    assert path.read_bytes() == original and sha1(path.read_bytes()) == before
    assert result.warning is None and result.content != original
    assert result.content.startswith(original)  # the original's bytes, then the update
    assert sha1(result.content) != before


def test_the_same_input_gives_the_same_bytes() -> None:
    original = make_pdf(pages=3)
    first = copy_of(original, five_annotations(sha1(original)))
    assert copy_of(original, list(reversed(five_annotations(sha1(original))))) == first


def test_bytes_that_are_not_the_named_file_give_no_copy_and_a_warning() -> None:
    original = make_pdf(pages=1)
    other_hash = sha1(b"the file the annotations were made on")
    result = make_annotated_copy(original, other_hash, [highlight(other_hash, "h", box(1, 72, 702, 300, 690))])
    assert result.content is None and other_hash in result.warning


# ---------------------------------------------------------------- what cannot be drawn: one warning, no exception

def test_an_encrypted_pdf_gives_one_warning_and_no_copy() -> None:
    original = make_pdf(pages=2, password="secret")
    result = copy_of(original, five_annotations(sha1(original)))
    assert result.content is None
    assert "encrypted" in result.warning and "\n" not in result.warning


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_truncated_pdf_gives_one_warning_and_no_exception(keep: float) -> None:
    truncated = make_pdf(pages=3)
    truncated = truncated[:int(len(truncated) * keep)]
    result = copy_of(truncated, five_annotations(sha1(truncated)))
    assert result.content is None
    assert result.warning and "\n" not in result.warning and "no annotated copy" in result.warning


def test_a_damaged_but_readable_pdf_is_rewritten_whole_with_one_warning() -> None:
    original = make_pdf(pages=2, link_on_first_page=True)
    start = original.rindex(b"startxref")
    damaged = original[:start] + b"startxref\n7\n%%EOF\n"  # the cross-reference table is not where it says
    result = copy_of(damaged, [highlight(sha1(damaged), "h", box(2, 72, 702, 300, 690))])
    assert "errors" in result.warning and "\n" not in result.warning
    annotations, page_count = read_back(result.content)
    assert page_count == 2
    assert [(annotation["page"], annotation["Subtype"]) for annotation in annotations] == \
        [(1, "/Link"), (2, "/Highlight")]


def test_annotations_on_missing_pages_are_left_out_with_one_warning_naming_the_pages() -> None:
    original = make_pdf(pages=3)
    file_hash = sha1(original)
    result = copy_of(original, [highlight(file_hash, "h", box(2, 72, 702, 300, 690)),
                                highlight(file_hash, "far", box(9, 72, 702, 300, 690)),
                                sticky_note(file_hash, "farther", 12, 10, 10, "gone")])
    assert [annotation["NM"] for annotation in read_back(result.content)[0]] == ["h"]
    assert result.warning == ("left out of the annotated copy: 2 on pages it lacks (9, 12; it has 3), "
                              "of 3 annotations")


def test_when_no_annotation_fits_there_is_no_copy_and_one_warning() -> None:
    original = make_pdf(pages=1)
    file_hash = sha1(original)
    result = copy_of(original, [highlight(file_hash, "far", box(4, 72, 702, 300, 690)),
                                highlight(file_hash, "nowhere", {"page": 1, "top_left": {"x": "a"}})])
    assert result == AnnotatedCopy(None, "no annotated copy: 1 on pages it lacks (4; it has 1), "
                                         "1 with no usable position, of 2 annotations")


def test_an_annotation_with_no_usable_position_gives_one_warning_and_no_copy() -> None:
    original = make_pdf(pages=1)
    result = copy_of(original, [highlight(sha1(original), "h", box(0, 1, 2, 3, 4), {"page": 1})])
    assert result == AnnotatedCopy(None, "no annotated copy: 1 with no usable position, of 1 annotation")


def test_a_file_that_is_not_a_pdf_gives_one_warning() -> None:
    page = b"<html><body>Sign in</body></html>"
    result = make_annotated_copy(page, sha1(page), [highlight(sha1(page), "h", box(1, 1, 2, 3, 4))])
    assert result == AnnotatedCopy(None, "the file is not a PDF; no annotated copy")


# ---------------------------------------------------------------- hostile input, a little fuzzing

VALID = make_pdf(pages=3, link_on_first_page=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(min_size=1, max_size=8)), min_size=1,
                max_size=6),
       st.one_of(st.none(), st.integers(16, len(VALID))))
def test_broken_bytes_never_raise(changes: list[tuple[int, bytes]], cut: int | None) -> None:
    data = bytearray(VALID)
    for offset, replacement in changes:
        data[offset:offset + len(replacement)] = replacement
    data = bytes(data[:cut])
    result = copy_of(data, five_annotations(sha1(data)))
    assert isinstance(result, AnnotatedCopy)
    assert result.content is not None or result.warning  # no copy always says why
    assert result.warning is None or "\n" not in result.warning


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children,
                                                                                max_size=4)), max_leaves=12)
points = st.one_of(json_values, st.fixed_dictionaries({"x": json_values, "y": json_values}),
                   st.fixed_dictionaries({"x": st.floats(-1e7, 1e7), "y": st.floats(-1e7, 1e7)}))
positions = st.one_of(json_values, st.lists(st.one_of(json_values, st.fixed_dictionaries(
    {"top_left": points, "bottom_right": points, "page": st.one_of(json_values, st.integers(-2, 5))})), max_size=4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries(
    {"type": st.sampled_from(["highlight", "sticky_note", "note", None]), "positions": positions,
     "color": st.one_of(json_values, st.fixed_dictionaries({"r": json_values, "g": json_values, "b": json_values})),
     "text": json_values, "created": st.one_of(json_values, st.just("2020-01-01T00:00:00Z")),
     "last_modified": json_values, "id": json_values, "profile_id": st.sampled_from(["profile-jane", None, 7])}),
    max_size=6))
def test_hostile_annotation_json_never_raises(annotations: list[dict[str, Any]]) -> None:
    file_hash = sha1(VALID)
    annotations = [{**annotation, "filehash": file_hash} for annotation in annotations]
    result = copy_of(VALID, annotations)
    drawable = annotations_for_file(annotations, file_hash)
    assert (result == AnnotatedCopy(None, None)) == (not drawable)
    if result.content is not None:
        assert read_back(result.content)[1] == 3
    assert len(copy_fingerprint(file_hash, annotations, AUTHORS)) == 40


def test_a_lone_surrogate_in_a_text_does_not_stop_the_copy() -> None:
    original = make_pdf(pages=1)
    result = copy_of(original, [sticky_note(sha1(original), "s", 1, 100, 100, "broken \ud800 text")])
    ((note,), _) = read_back(result.content)
    assert note["Contents"].startswith("broken ") and note["Contents"].endswith(" text")


# ---------------------------------------------------------------- the copy's name, what is a PDF, the fingerprint

@pytest.mark.parametrize(("name", "expected"), [
    ("paper.pdf", "paper (annotated).pdf"),
    ("Paper.PDF", "Paper (annotated).PDF"),
    ("paper", "paper (annotated).pdf"),
    ("report.v2", "report.v2 (annotated).pdf"),
    ("Doe 2020 - A study. Of things.pdf", "Doe 2020 - A study. Of things (annotated).pdf"),
])
def test_the_copy_is_named_after_the_original(name: str, expected: str) -> None:
    assert annotated_name(name) == expected


def test_a_long_name_is_cut_to_the_byte_limit_keeping_the_suffix() -> None:
    name = safe_file_name("é" * 200 + ".pdf")
    copy = annotated_name(name)
    assert len(copy.encode()) <= MAX_COMPONENT_BYTES and copy.endswith("é (annotated).pdf")
    assert_safe_component(copy)


def test_the_copy_name_avoids_the_folders_other_names_case_insensitively() -> None:
    assert annotated_name("paper.pdf", ["paper.pdf", "PAPER (Annotated).pdf"]) == "paper (annotated) (2).pdf"
    assert annotated_name("paper.pdf", ["paper (annotated).pdf", "paper (annotated) (2).pdf"]) == \
        "paper (annotated) (3).pdf"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_backed_up_name_gives_a_safe_distinct_copy_name(text: str) -> None:
    name = safe_file_name(text)
    copy = annotated_name(name, [name])
    assert copy != name and " (annotated)" in copy and copy.lower().endswith(".pdf")
    assert len(copy.encode()) <= MAX_COMPONENT_BYTES
    assert_safe_component(copy)


@pytest.mark.parametrize(("name", "mime_type", "head", "expected"), [
    ("paper.pdf", None, None, True),
    ("paper.PDF", None, None, True),
    ("paper", "application/pdf", None, True),
    ("paper", "application/pdf; charset=binary", None, True),
    ("notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", None, False),
    ("scan", None, None, False),
    ("paper.pdf", "application/pdf", b"<!DOCTYPE html><html>", False),  # the bytes decide
    ("download", "application/octet-stream", b"\r\n%PDF-1.7\n%\xe2\xe3", True),
])
def test_what_is_a_pdf(name: str, mime_type: str | None, head: bytes | None, expected: bool) -> None:
    assert is_pdf(name, mime_type, head) is expected


def test_the_fingerprint_changes_exactly_when_the_copy_would() -> None:
    file_hash = sha1(VALID)
    annotations = five_annotations(file_hash)
    fingerprint = copy_fingerprint(file_hash, annotations, AUTHORS)
    assert len(fingerprint) == 40 and int(fingerprint, 16) >= 0
    unchanged = [*reversed(annotations), highlight(sha1(b"other"), "other-file", box(1, 1, 2, 3, 4)),
                 {"id": "note", "type": "note", "filehash": file_hash, "text": "the document note"}]
    assert copy_fingerprint(file_hash.upper(), unchanged, AUTHORS) == fingerprint
    edited = [dict(annotations[0], last_modified="2030-01-01T00:00:00.000Z"), *annotations[1:]]
    added = [*annotations, highlight(file_hash, "h-new", box(1, 1, 2, 3, 4))]
    renamed = {**AUTHORS, "profile-jane": "Jane Roe"}
    others = {copy_fingerprint(file_hash, edited, AUTHORS), copy_fingerprint(file_hash, added, AUTHORS),
              copy_fingerprint(file_hash, annotations[1:], AUTHORS), copy_fingerprint(file_hash, annotations, renamed),
              copy_fingerprint(sha1(b"new version"), [dict(a, filehash=sha1(b"new version")) for a in annotations],
                               AUTHORS)}
    assert fingerprint not in others and len(others) == 5
