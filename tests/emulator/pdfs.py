"""Real, valid, small multi-page PDFs for seeded documents that have highlights or sticky notes.

pypdf writes the documents: a few pages of A4 or US Letter, each with a little visible text (Helvetica, a
standard font, so nothing is embedded). To keep seeding a large library fast, pypdf makes one template
per (page count, page format, size); each file's bytes are that template with its own 16 hex digits in a
fixed-width slot of the text, so every file differs (its own SHA-1) while every offset in the PDF, and so
its cross-reference table, stays valid. A template smaller than the seeded `file_size` is padded to it
with a comment inside the last page's content stream (its `/Length` counts it), so sizes stay as asked.

Annotations are placed on these pages in PDF user space: points, origin at the bottom left, `page` from 1.
"""

from __future__ import annotations

import io
from functools import lru_cache

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

# (width, height) in points: A4 and US Letter.
PAGE_FORMATS: tuple[tuple[float, float], ...] = ((595.0, 842.0), (612.0, 792.0))
MIN_PAGES, MAX_PAGES = 2, 5
SLOT = "0" * 16  # the per-file digits, written as 16 hex digits
_MARK = b"(Emulator document "


def _page_text(number: int, pages: int, height: float, padding: int) -> bytes:
    lines = [
        f"BT /F1 18 Tf 72 {height - 96:.0f} Td (Emulator document {SLOT}) Tj ET",
        f"BT /F1 11 Tf 72 {height - 130:.0f} Td (Page {number} of {pages}. Synthetic text for highlights and "
        f"sticky notes.) Tj ET",
        f"BT /F1 11 Tf 72 {height - 150:.0f} Td (The quick brown fox jumps over the lazy dog.) Tj ET",
    ]
    text = "\n".join(lines).encode("latin-1") + b"\n"
    return text + (b"%" + b" " * (padding - 2) + b"\n" if padding >= 2 else b"")


def _build(pages: int, fmt: int, padding: int) -> bytes:
    width, height = PAGE_FORMATS[fmt]
    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width, height)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        stream = DecodedStreamObject()
        stream.set_data(_page_text(number, pages, height, padding if number == pages else 0))
        page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@lru_cache(maxsize=64)
def template(pages: int, fmt: int, size: int) -> bytes:
    """The PDF of `pages` pages of format `fmt`, at least `size` bytes (exactly, when it can be padded)."""
    data = _build(pages, fmt, 0)
    padding = size - len(data)
    for _ in range(4):  # the padding changes /Length's digits, hence the size: settle in a few rounds
        if padding < 2:
            break
        data = _build(pages, fmt, padding)
        if len(data) == size:
            break
        padding += size - len(data)
    return data


def pdf_bytes(seed: int, pages: int, fmt: int, size: int) -> bytes:
    """A seeded file's bytes: the template with the seed's digits in every page's slot."""
    digits = f"{seed & (2**64 - 1):016x}".encode()
    return template(pages, fmt, size).replace(_MARK + SLOT.encode(), _MARK + digits)
