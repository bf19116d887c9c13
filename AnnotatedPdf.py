"""Annotated copies of backed-up PDFs: a file's Mendeley highlights and sticky notes drawn into a copy of it as
real PDF annotations, so that Zotero, JabRef or any PDF reader shows them after a move away from Mendeley.

Pure: the PDF's bytes and the API's annotation JSON in, the copy's bytes and at most one warning out. The caller
writes the copy atomically beside the original (never touched) and logs the warning with the document's name.

Choices where the issue is silent:
- Positions are used as the page's default user space, unchanged: the space `/Rect` and `/QuadPoints` live in,
  and the one Zotero's Mendeley importer hands to its PDF reader. They are not shifted by a MediaBox or CropBox
  that does not start at 0,0, nor turned for `/Rotate`: readers turn annotations with their page, so a highlight
  stays on its words either way. Nothing recorded about the real service says Mendeley measured otherwise.
- A highlight whose boxes lie on several pages (one that runs over a page break) becomes one `/Highlight` on each
  of those pages; a PDF annotation belongs to one page.
- A sticky note's point is the top-left corner of its 22 x 22 pt icon, the corner readers pin an icon at; the box
  is then moved inside the page's CropBox. Notes are flagged NoZoom and NoRotate, as readers make their own notes,
  so the icon stays upright on a rotated page.
- No appearance streams: current readers draw `/Highlight` and `/Text` annotations from their entries (Poppler's
  pdftoppm was seen doing so here; pdf.js, which Zotero's reader is built on, and PDFium make them the same way).
- A well-formed PDF gets an incremental update (pypdf's `incremental=True`): the copy is the original's bytes
  unchanged followed by the new objects, so the copy is small and a signature still covers what it signed. A PDF
  pypdf reads only by repairing it is written whole from the repaired reading, with a warning saying so.
- An encrypted PDF gets no copy: a copy of it would either need its encryption redone or drop it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from Naming import collision_key, fit_component, numbered, split_extension
from Timestamps import parse_time

# pypdf (with the cryptography it loads) is imported by the functions that draw, not here: it takes 15 MB and a
# tenth of a second at start, which only a run that makes annotated copies needs to pay.
if TYPE_CHECKING:
    from pypdf.generic import DictionaryObject

# pypdf logs a warning for every oddity it works around in a damaged file; the one warning this module returns is
# what the user sees instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)

COPY_SUFFIX = " (annotated)"
PDF_EXTENSION = ".pdf"
PDF_MAGIC = b"%PDF-"
PDF_MIME_TYPES = ("application/pdf", "application/x-pdf")
# Readers accept the header anywhere in the first 1024 bytes (some files start with junk a server prepended).
MAGIC_WINDOW = 1024
DRAWN_TYPES = ("highlight", "sticky_note")  # a `note` is the document's note, not drawn on a page
NOTE_ICON_SIZE = 22.0
DEFAULT_RGB = (255, 255, 0)  # Mendeley's yellow, for an annotation without a usable colour
# Far beyond any page (14,400 pt is the largest a PDF may have): such a number is damage, not a position.
MAX_COORDINATE = 1e6
# Part of the fingerprint: raise it when what is drawn changes, so that every copy is rewritten once.
DRAWING_VERSION = 1

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 with x1 <= x2 and y1 <= y2


@dataclass(frozen=True)
class AnnotatedCopy:
    """The outcome of one copy: its bytes (None when no copy can be made) and at most one warning line."""

    content: bytes | None
    warning: str | None = None


@dataclass(frozen=True)
class _Mark:
    """One annotation (the `number`th drawn on the file) on one page (counted from 1): its boxes there, and the
    API's record it came from."""

    number: int
    page: int
    boxes: tuple[Box, ...]
    source: Mapping[str, Any]


def annotated_name(file_name: str, taken: Iterable[str] = ()) -> str:
    """The copy's name: `paper.pdf` -> `paper (annotated).pdf`; a name without `.pdf` gets ` (annotated).pdf` after
    it whole. Cut to the 255-byte limit as every name in the backup is, the suffix kept; not one of `taken` (the
    folder's other names, compared as a case-insensitive file system would): `paper (annotated) (2).pdf` then."""
    stem, extension = split_extension(file_name)
    if extension.lower() != PDF_EXTENSION:
        stem, extension = file_name, PDF_EXTENSION
    # Naming's own fitting rule, so the copy's name is cut exactly as the tool cuts any name.
    name = fit_component(stem + extension, COPY_SUFFIX, keep_extension=True)
    used = {collision_key(other) for other in taken}
    candidate, number = name, 2
    while collision_key(candidate) in used:
        candidate, number = numbered(name, number, keep_extension=True), number + 1
    return candidate


def is_pdf(file_name: str, mime_type: str | None = None, head: bytes | None = None) -> bool:
    """Whether a file is a PDF: its first bytes decide when given (a `.pdf` that is an HTML error page is not one),
    otherwise its mime type or its name's extension."""
    if head is not None:
        return PDF_MAGIC in head[:MAGIC_WINDOW]
    if isinstance(mime_type, str) and mime_type.split(";")[0].strip().lower() in PDF_MIME_TYPES:
        return True
    return split_extension(file_name)[1].lower() == PDF_EXTENSION


def annotations_for_file(annotations: Iterable[Any], file_sha1: str) -> list[Mapping[str, Any]]:
    """The highlights and sticky notes made on the file with this SHA-1 (the API's `filehash`), in a stable order:
    by creation time, then id. Empty means the file needs no annotated copy."""
    key = _hash_key(file_sha1)
    chosen = [annotation for annotation in annotations
              if isinstance(annotation, Mapping) and annotation.get("type") in DRAWN_TYPES
              and key and _hash_key(annotation.get("filehash")) == key]
    return sorted(chosen, key=lambda annotation: (str(annotation.get("created") or ""), str(annotation.get("id"))))


def copy_fingerprint(file_sha1: str, annotations: Iterable[Any], authors: Mapping[str, str] | None = None) -> str:
    """What a copy is made from, as 40 hex digits to keep in the document's info.json: the file's SHA-1 and, for each
    annotation drawn on it, its id, last_modified and author name. A different fingerprint means: write it again."""
    basis = [DRAWING_VERSION, _hash_key(file_sha1),
             [[annotation.get("id"), annotation.get("last_modified"), _author(annotation, authors or {})]
              for annotation in annotations_for_file(annotations, file_sha1)]]
    return hashlib.sha1(json.dumps(basis, default=str, separators=(",", ":")).encode()).hexdigest()


def make_annotated_copy(pdf: bytes | Path, file_sha1: str, annotations: Iterable[Any],
                        authors: Mapping[str, str] | None = None) -> AnnotatedCopy:
    """The annotated copy of one backed-up PDF, with the highlights and sticky notes of `annotations` (the API's
    JSON, any document's: those of other files are ignored) whose `filehash` is `file_sha1`; `authors` maps
    profile ids to the names written as each annotation's author.

    Never raises on what the file or the JSON hold: a PDF that cannot be read, is encrypted, or lacks a page an
    annotation names gives a copy with what fits, or none, and one warning line. Reading a `Path` may raise OSError.
    No annotation to draw gives no copy and no warning.
    """
    data = pdf.read_bytes() if isinstance(pdf, Path) else bytes(pdf)
    chosen = annotations_for_file(annotations, file_sha1)
    if not chosen:
        return AnnotatedCopy(None)
    if hashlib.sha1(data).hexdigest() != _hash_key(file_sha1):
        return AnnotatedCopy(None, f"the file is not the one with SHA-1 {_hash_key(file_sha1)} its annotations "
                                   "belong to; no annotated copy")
    if PDF_MAGIC not in data[:MAGIC_WINDOW]:
        return AnnotatedCopy(None, "the file is not a PDF; no annotated copy")
    marks, unusable = _marks(chosen)
    if not marks:
        return AnnotatedCopy(None, f"no annotated copy: {unusable} with no usable position, of {_count(len(chosen))}")
    try:
        return _draw(data, marks, len(chosen), unusable, authors or {}, damage=None)
    except Exception as error:  # pypdf raises all kinds of errors on hostile files: read it forgivingly then
        damage = _reason(error)
    try:
        return _draw(data, marks, len(chosen), unusable, authors or {}, damage=damage)
    except Exception as error:  # none may stop the run
        return AnnotatedCopy(None, f"the PDF cannot be read or annotated ({_reason(error)}); no annotated copy")


def _draw(data: bytes, marks: Sequence[_Mark], total: int, unusable: int, authors: Mapping[str, str],
          damage: str | None) -> AnnotatedCopy:
    """Read the PDF strictly and append an incremental update or, once the strict reading failed with `damage`,
    read it forgivingly and write it whole; raises whatever pypdf raises."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(BytesIO(data), strict=damage is None)
    if reader.is_encrypted:
        return AnnotatedCopy(None, "the PDF is encrypted; no annotated copy")
    writer = PdfWriter(reader, incremental=True) if damage is None else PdfWriter(clone_from=reader)
    page_count = len(writer.pages)
    drawn = {mark.number for mark in marks if mark.page <= page_count}
    left_out = {mark.number for mark in marks if mark.page > page_count} - drawn
    for mark in marks:
        if mark.page <= page_count:
            page = writer.pages[mark.page - 1]
            annotation = (_highlight(mark) if mark.source.get("type") == "highlight"
                          else _sticky_note(mark, _crop_box(page)))
            writer.add_annotation(page, _with_common_entries(annotation, mark.source, authors))
    problems = [f"the PDF has errors ({damage}); the copy is rebuilt from what could be read"] if damage else []
    skipped = []
    if left_out:
        pages = ", ".join(str(page) for page in sorted({mark.page for mark in marks if mark.page > page_count}))
        skipped.append(f"{len(left_out)} on pages it lacks ({pages}; it has {page_count})")
    if unusable:
        skipped.append(f"{unusable} with no usable position")
    if skipped:
        prefix = "left out of the annotated copy" if drawn else "no annotated copy"
        problems.append(f"{prefix}: {', '.join(skipped)}, of {_count(total)}")
    if not drawn:
        return AnnotatedCopy(None, "; ".join(problems))
    output = BytesIO()
    writer.write(output)
    return AnnotatedCopy(output.getvalue(), "; ".join(problems) or None)


def _marks(annotations: Sequence[Mapping[str, Any]]) -> tuple[list[_Mark], int]:
    """What to draw, page by page, and how many annotations have no usable position."""
    marks: list[_Mark] = []
    unusable = 0
    for number, annotation in enumerate(annotations):
        positions = annotation.get("positions")
        placed = [found for found in map(_position, positions if isinstance(positions, list) else []) if found]
        if annotation.get("type") == "sticky_note":
            placed = placed[:1]  # a point: the first usable one
        by_page: dict[int, list[Box]] = {}
        for page, box in placed:
            by_page.setdefault(page, []).append(box)
        if not by_page:
            unusable += 1
        marks.extend(_Mark(number, page, tuple(boxes), annotation) for page, boxes in by_page.items())
    return marks, unusable


def _position(position: Any) -> tuple[int, Box] | None:
    """`(page, box)` of one of the API's positions, the box normalised; None for anything unusable."""
    if not isinstance(position, Mapping):
        return None
    page = position.get("page")
    if isinstance(page, float) and page.is_integer():
        page = int(page)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        return None
    corners = [_point(position.get("top_left")), _point(position.get("bottom_right"))]
    if None in corners:
        return None
    (x1, y1), (x2, y2) = corners  # type: ignore[misc]
    return page, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _point(point: Any) -> tuple[float, float] | None:
    if not isinstance(point, Mapping):
        return None
    numbers = [float(value) for value in (point.get("x"), point.get("y"))
               if isinstance(value, (int, float)) and not isinstance(value, bool)
               and math.isfinite(value) and abs(value) <= MAX_COORDINATE]
    return (numbers[0], numbers[1]) if len(numbers) == 2 else None


def _highlight(mark: _Mark) -> DictionaryObject:
    """A `/Highlight` with one quadrilateral per box (in the corner order readers expect: top left, top right,
    bottom left, bottom right) and `/Rect` enclosing them all."""
    from pypdf.annotations import Highlight
    from pypdf.constants import AnnotationFlag
    from pypdf.generic import ArrayObject, FloatObject, NameObject, TextStringObject

    quad_points = ArrayObject(FloatObject(value) for x1, y1, x2, y2 in mark.boxes
                              for value in (x1, y2, x2, y2, x1, y1, x2, y1))
    rect = (min(box[0] for box in mark.boxes), min(box[1] for box in mark.boxes),
            max(box[2] for box in mark.boxes), max(box[3] for box in mark.boxes))
    annotation = Highlight(rect=rect, quad_points=quad_points)
    annotation.flags = AnnotationFlag.PRINT
    text = _text(mark.source.get("text"))
    if text.strip():
        annotation[NameObject("/Contents")] = TextStringObject(text)
    return annotation


def _sticky_note(mark: _Mark, crop: Box | None) -> DictionaryObject:
    """A `/Text` note icon whose top-left corner is the note's point, its box kept inside the page's CropBox."""
    from pypdf.annotations import Text
    from pypdf.constants import AnnotationFlag
    from pypdf.generic import NameObject

    x, _, _, top = mark.boxes[0]
    if crop:
        left, bottom, right, crop_top = crop
        # Where the page is smaller than the icon, the box sits on the page's lower-left corner.
        x = max(left, min(x, right - NOTE_ICON_SIZE))
        top = max(bottom + NOTE_ICON_SIZE, min(top, crop_top))
    annotation = Text(rect=(x, top - NOTE_ICON_SIZE, x + NOTE_ICON_SIZE, top), text=_text(mark.source.get("text")))
    annotation[NameObject("/Name")] = NameObject("/Note")
    annotation.flags = AnnotationFlag.PRINT | AnnotationFlag.NO_ZOOM | AnnotationFlag.NO_ROTATE
    return annotation


def _with_common_entries(annotation: DictionaryObject, source: Mapping[str, Any],
                         authors: Mapping[str, str]) -> DictionaryObject:
    """Colour, author, dates and the Mendeley id (as `/NM`, the annotation's name) of either kind."""
    from pypdf.generic import ArrayObject, FloatObject, NameObject, TextStringObject

    annotation[NameObject("/Type")] = NameObject("/Annot")
    annotation[NameObject("/C")] = ArrayObject(FloatObject(round(channel / 255, 4)) for channel in _rgb(source))
    if isinstance(source.get("id"), str):
        annotation[NameObject("/NM")] = TextStringObject(_text(source["id"]))
    author = _author(source, authors)
    if author:
        annotation[NameObject("/T")] = TextStringObject(author)
    for key, field in (("/CreationDate", "created"), ("/M", "last_modified")):
        moment = parse_time(source.get(field))
        if moment:
            annotation[NameObject(key)] = TextStringObject(moment.strftime("D:%Y%m%d%H%M%S+00'00'"))
    return annotation


def _rgb(source: Mapping[str, Any]) -> tuple[float, float, float]:
    colour = source.get("color")
    if not isinstance(colour, Mapping):
        return DEFAULT_RGB
    channels = [float(value) for value in (colour.get(name) for name in ("r", "g", "b"))
                if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)]
    if len(channels) != 3:
        return DEFAULT_RGB
    red, green, blue = (min(255.0, max(0.0, value)) for value in channels)
    return red, green, blue


def _crop_box(page: Any) -> Box | None:
    """The page's visible area (its CropBox, else its MediaBox, as pypdf resolves them), None if unreadable."""
    try:
        box = page.cropbox
        left, bottom, right, top = (float(value) for value in (box.left, box.bottom, box.right, box.top))
    except Exception:  # a damaged box only costs the note its clamping
        return None
    if not all(math.isfinite(value) for value in (left, bottom, right, top)):
        return None
    return min(left, right), min(bottom, top), max(left, right), max(bottom, top)


def _author(source: Mapping[str, Any], authors: Mapping[str, str]) -> str:
    profile_id = source.get("profile_id")
    name = authors.get(profile_id) if isinstance(profile_id, str) else None
    return _text(name).strip() if isinstance(name, str) else ""


def _text(value: Any) -> str:
    """Text for a PDF string: a JSON string may carry lone surrogates, which no PDF encoding can hold."""
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else ""


def _hash_key(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _count(annotations: int) -> str:
    return f"{annotations} annotation" + ("" if annotations == 1 else "s")


def _reason(error: BaseException) -> str:
    text = re.sub(r"\s+", " ", str(error)).strip() or type(error).__name__
    return text if len(text) <= 100 else text[:99] + "…"
