"""`library.ris`: RIS records for the backed-up library, written with rispy's writer and field names.

RIS is line-based and some readers end a value at any line break, so line breaks (and the spaces around them)
inside a value become one space.
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import rispy

from Export import (
    ExportEntry,
    identifier,
    iso_date,
    keyed_entries,
    keywords_and_tags,
    month_number,
    note_paragraphs,
    persons,
    text,
    texts,
)

RIS_TYPES = {
    "journal": "JOUR",
    "book": "BOOK",
    "book_section": "CHAP",
    "conference_proceedings": "CONF",  # JabRef's RIS import knows CONF; Zotero reads CONF and CPAPER alike
    "thesis": "THES",
    "report": "RPRT",
    "working_paper": "RPRT",
    "patent": "PAT",
    "web_page": "ELEC",
    "magazine_article": "MGZN",
    "newspaper_article": "NEWS",
    "computer_program": "COMP",
    "statute": "STAT",
    "hearing": "HEAR",
    "bill": "BILL",
    "case": "CASE",
    "film": "MPCT",
    "television_broadcast": "VIDEO",
    "encyclopedia_article": "ENCYC",
}  # generic and anything unknown: GEN
RIS_NOTE_IDENTIFIERS = (("arXiv", "arxiv"), ("Scopus", "scopus"), ("SSRN", "ssrn"))
_LINE_BREAK = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]\s*")


def ris_value(value: str) -> str:
    """A value on one line: each line break, with the spaces around it, becomes one space."""
    return _LINE_BREAK.sub(" ", value).strip()


def ris_pages(pages: str) -> tuple[str, str]:
    """(start, end) of `4-8`, `4–8` or `4 -- 8`; (pages, '') when there is no range."""
    start, _, end = re.sub(r"\s*[-\u2013\u2014]+\s*", "-", pages, count=1).partition("-")
    return start, end


def ris_date(year: str, month: int | None, day: int | None) -> str:
    """RIS's `YYYY/MM/DD/` (parts may be empty); empty without a year and month."""
    if not (year and month):
        return ""
    return f"{year}/{month:02d}/{day:02d}/" if day else f"{year}/{month:02d}//"


def ris_names(people: Sequence[tuple[str, str]]) -> list[str]:
    return [f"{last}, {first}" if first else last for last, first in people]


def ris_record(key: str, entry: ExportEntry) -> dict[str, Any]:
    """rispy's record (its field names, see `rispy.TAG_KEY_MAPPING`) for one document."""
    doc = entry.document
    kind = RIS_TYPES.get(text(doc.get("type")), "GEN")
    start_page, end_page = ris_pages(text(doc.get("pages")))
    year = text(doc.get("year"))
    # RIS has no tag for these: they go in a note line each, `arXiv: 1234.5678`.
    other_ids = [(label, identifier(doc, name)) for label, name in RIS_NOTE_IDENTIFIERS]
    record: dict[str, Any] = {
        "type_of_reference": kind,
        "id": key,
        "title": text(doc.get("title")),
        "short_title": text(doc.get("short_title")),
        "authors": ris_names(persons(doc, "authors")),
        "secondary_authors": ris_names(persons(doc, "editors")),  # A2: the editor in RIS's types
        "subsidiary_authors": ris_names(persons(doc, "translators")),  # A4: the translator
        "secondary_title": text(doc.get("source")),
        "journal_name": text(doc.get("source")) if kind == "JOUR" else "",
        "tertiary_title": text(doc.get("series")),
        "year": year,
        "date": ris_date(year, month_number(doc), month_number(doc, "day", 31)),
        "volume": text(doc.get("volume")),
        "number": text(doc.get("issue")),
        "start_page": start_page,
        "end_page": end_page,
        "section": text(doc.get("chapter")),
        "edition": ", ".join(texts(doc.get("edition"))),
        "note": text(doc.get("revision")),
        "publisher": text(doc.get("publisher")) or text(doc.get("institution")),
        "place_published": text(doc.get("city")),
        "type_of_work": text(doc.get("genre")),
        "language": text(doc.get("language")),
        "doi": identifier(doc, "doi"),
        "issn": [i for i in (identifier(doc, "isbn"), identifier(doc, "issn")) if i],  # SN holds both
        "accession_number": identifier(doc, "pmid"),
        "urls": texts(doc.get("websites")),
        "access_date": iso_date(text(doc.get("accessed"))).replace("-", "/"),
        "abstract": text(doc.get("abstract")),
        "keywords": keywords_and_tags(doc),
        "notes": note_paragraphs(entry) + [f"{label}: {value}" for label, value in other_ids if value],
        "file_attachments1": list(entry.file_paths),
    }
    flat = {
        name: [v for v in map(ris_value, value) if v] if isinstance(value, list) else ris_value(value)
        for name, value in record.items()
    }
    return {name: value for name, value in flat.items() if value}


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the `1.`, `2.` line it puts before each record, which some readers
    (Zotero among them) could take for the continuation of a value."""

    def set_header(self, count: int) -> str:
        return ""


RIS_LIST_TAGS = [*rispy.LIST_TYPE_TAGS, "SN", "L1"]


def ris_parts(keyed: Iterable[tuple[str, ExportEntry]]) -> Iterator[str]:
    """`library.ris` piece by piece: one record per document, one `L1` line per backed-up file, a blank line
    between records (as rispy separates them)."""
    for number, (key, entry) in enumerate(keyed):
        if number:
            yield "\n"
        yield rispy.dumps([ris_record(key, entry)], implementation=_RisWriter, list_tags=RIS_LIST_TAGS)


def ris_text(entries: Sequence[ExportEntry]) -> str:
    """The whole `library.ris`."""
    return "".join(ris_parts(keyed_entries(entries)))
