"""`library.ris`: RIS records for the backed-up library, written with rispy's writer.

RIS is line-based and some readers end a value at any line break, so line breaks (and the spaces around them)
inside a value become one space. The tags follow what Zotero's RIS translator reads, type by type (the table
in docs/EXPORT.md): a value for which the type has no tag in Zotero goes in an `M2` line `Label: value`,
which Zotero appends to the item's Extra field (`PMID: …`, `arXiv: …`, `Citation Key: …`).

Zotero reads every value but notes (`N1`) and abstracts (`AB`) as HTML when it holds `<` or `&`: it keeps the
text of the parsed HTML and folds runs of spaces. A value that would change by that is written HTML-escaped
(`R&D` stays as it is; `<storage> tags` becomes `&lt;storage&gt; tags`). Attachment paths (`L1`) that would
change are percent-encoded instead: Zotero reads a path as a URI relative to the RIS file first, which
decodes them, and as a plain relative path next, which keeps every other path as it is. Notes are written as
plain text when they are one line of plain text, as HTML paragraphs otherwise, so that Zotero keeps their
paragraphs; each note is one `N1`, which Zotero makes a note of its own.
"""

import html
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import rispy

from DocumentFields import identifier, iso_date, keywords_and_tags, month_number, text, texts
from Export import ExportEntry, contributors, institution, keyed_entries, notes, place, work_type

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
    "television_broadcast": "VIDEO",  # Zotero: videoRecording (no RIS type reaches its tvBroadcast)
    "encyclopedia_article": "ENCYC",
}  # generic and anything unknown: GEN (Zotero makes it a journal article)

# Zotero's field for each value, by RIS type; a type missing from a table has no field for that value.
SOURCE_TAGS = {"JOUR": "T2", "MGZN": "T2", "NEWS": "T2", "CHAP": "T2", "ENCYC": "T2", "ELEC": "T2", "GEN": "T2",
               "CASE": "T2", "CONF": "C3"}  # publicationTitle, bookTitle, …, websiteTitle; CONF: proceedingsTitle
SERIES_TAGS = {"BOOK": "T2", "RPRT": "T2", "COMP": "T2", "CHAP": "T3", "CONF": "T3", "JOUR": "T3", "GEN": "T3"}
SERIES_EDITOR_TAGS = {"BOOK": "A2", "RPRT": "A2", "CHAP": "A3", "CONF": "A3", "ENCYC": "A3"}
CODE_TAGS = {"BILL": "T2", "STAT": "T2"}
NUMBER_TAGS = {"RPRT": "SN", "PAT": "SN", "BILL": "M1", "STAT": "M1", "HEAR": "M1", "CASE": "SV"}
GENRE_TAGS = {"THES": "M3", "RPRT": "M3", "ELEC": "M3", "MPCT": "C4"}
MEDIUM_TAGS = {"MPCT": "C5", "VIDEO": "C5"}
PLACE_TAGS = {"CONF": "C1", **dict.fromkeys(("JOUR", "MGZN", "ELEC", "CASE", "STAT", "BILL", "GEN"), "")}  # else CY
NO_VOLUME = frozenset({"ELEC", "PAT"})  # Zotero reads VL on a web page as an access year
ISSUE_TYPES = frozenset({"JOUR", "MGZN", "GEN"})
PAGE_RANGE_TYPES = frozenset({"JOUR", "MGZN", "NEWS", "CHAP", "CONF", "ENCYC", "RPRT", "PAT", "STAT", "HEAR", "GEN"})
PAGE_COUNT_TYPES = frozenset({"BOOK", "THES", "CASE", "BILL"})  # SP is numPages, firstPage, codePages: kept whole
NO_EDITION = frozenset({"BILL", "HEAR", "STAT"})  # ET is their session
ISSN_TYPES = frozenset({"JOUR", "MGZN", "NEWS", "GEN"})
ISBN_TYPES = frozenset({"BOOK", "CHAP", "CONF", "COMP", "ENCYC", "VIDEO"})
PUBLISHER_IS_INSTITUTION = frozenset({"THES", "RPRT"})  # PB is the university, the institution
EXTRA = "M2"  # Zotero appends each M2 line to Extra
KEY_MARK = "\x00"  # where a record's key goes, in the text the export cache keeps

_LINE_BREAK = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]\s*")
_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1f\x7f]")  # NUL is KEY_MARK, which values never hold
_MARKUP = re.compile(r"<[A-Za-z/!?]")


def ris_value(value: str) -> str:
    """A value on one line: each line break, with the spaces around it, becomes one space."""
    return _LINE_BREAK.sub(" ", _CONTROL.sub("", value)).strip()


def zotero_safe(value: str) -> str:
    """A one-line value that Zotero's HTML reading gives back unchanged (see the module docstring)."""
    html_read = "&" in value or "<" in value  # Zotero parses it, folding its runs of spaces
    risky = html_read and ("  " in value or html.unescape(value) != value or _MARKUP.search(value))
    return html.escape(re.sub(" {2,}", " ", value), quote=False) if risky else value


def attachment_path(path: str) -> str:
    """A file's path as `L1`: as it is, unless Zotero's HTML reading would change it; then percent-encoded."""
    flat = ris_value(path)
    return quote(flat, safe="/") if zotero_safe(flat) != flat else flat


def note_value(note: str) -> str:
    """A note as `N1`: one line of plain text as it is; otherwise HTML paragraphs, line breaks as `<br/>`."""
    if "\n" not in note and not re.search(r"[<>&]", note) and note == ris_value(note):
        return note
    paragraphs = [p for p in re.split(r"\n\s*\n", note) if p.strip()]
    return "".join("<p>" + "<br/>".join(html.escape(ris_value(line), quote=False) for line in p.splitlines()
                                        if line.strip()) + "</p>" for p in paragraphs)


def ris_pages(pages: str) -> tuple[str, str]:
    """(start, end) of `4-8`, `4–8` or `4 -- 8`; (pages, '') when there is no range."""
    start, _, end = re.sub(r"\s*[-\u2013\u2014]+\s*", "-", pages, count=1).partition("-")
    return start, end


def ris_date(year: str, month: int | None, day: int | None) -> str:
    """RIS's `YYYY/MM/DD/` (parts may be empty); empty without a year and month."""
    if not (year and month):
        return ""
    return f"{year}/{month:02d}/{day:02d}/" if day else f"{year}/{month:02d}//"


def ris_names(names: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{last}, {first}" if first else last for last, first in names]


class _Record:
    """A record's lines in the order they are added, each tag's values in a list."""

    def __init__(self) -> None:
        self.tags: dict[str, list[str]] = {}

    def add(self, tag: str, *values: str) -> None:
        for value in values:
            value = value.replace(KEY_MARK, "")  # the mark is the key's alone
            if value:
                self.tags.setdefault(tag, []).append(value)

    def add_to(self, tags: Mapping[str, str], kind: str, label: str, value: str, default: str = "") -> None:
        """`value` under the type's tag (or `default`), or as an Extra line `label: value` without one."""
        tag = tags.get(kind, default)
        if tag:
            self.add(tag, value)
        else:
            self.extra(label, value)

    def key(self, key: str) -> None:
        """The record's key: its `ID`, and Zotero's citation key in Extra."""
        self.tags["ID"] = [key]
        self.tags.setdefault(EXTRA, []).insert(0, f"Citation Key: {key}")

    def extra(self, label: str, value: str) -> None:
        if value:
            self.add(EXTRA, f"{label}: {value}")


def ris_lines(entry: ExportEntry, key: str = KEY_MARK) -> dict[str, list[str]]:
    """The record's tags (rispy's writer takes them in this order) for one document."""
    doc = entry.document
    kind = RIS_TYPES.get(text(doc.get("type")), "GEN")
    record = _Record()
    record.add("TY", kind)
    record.add("TI", text(doc.get("title")))
    record.add("ST", text(doc.get("short_title")))
    record.add("AU", *ris_names(contributors(doc, "authors")))
    record.add("ED", *ris_names(contributors(doc, "editors")))  # Zotero: editor whatever the type; JabRef: editor
    record.add("A4", *ris_names(contributors(doc, "translators")))  # Zotero: translator
    record.add_to(SERIES_EDITOR_TAGS, kind, "Series editor", text(doc.get("series_editor")))
    record.add_to(SOURCE_TAGS, kind, "Publication", text(doc.get("source")))
    record.add_to(CODE_TAGS, kind, "Code", text(doc.get("code")))
    record.add_to(SERIES_TAGS, kind, "Series", text(doc.get("series")))
    year = text(doc.get("year"))
    record.add("PY", year)
    record.add("DA", ris_date(year, month_number(doc), month_number(doc, "day", 31)))
    record.add_to({} if kind in NO_VOLUME else {kind: "VL"}, kind, "Volume", text(doc.get("volume")))
    record.add_to({kind: "IS"} if kind in ISSUE_TYPES else {}, kind, "Issue", text(doc.get("issue")))
    pages = text(doc.get("pages"))
    if kind in PAGE_RANGE_TYPES:
        record.add("SP", ris_pages(pages)[0])
        record.add("EP", ris_pages(pages)[1])
    else:
        record.add_to({kind: "SP"} if kind in PAGE_COUNT_TYPES else {}, kind, "Pages", pages)
    record.extra("Chapter", text(doc.get("chapter")))
    record.add_to({} if kind in NO_EDITION else {kind: "ET"}, kind, "Edition", ", ".join(texts(doc.get("edition"))))
    record.add_to(NUMBER_TAGS, kind, "Number", text(doc.get("revision")))
    publisher, body = text(doc.get("publisher")), institution(doc)
    if kind in PUBLISHER_IS_INSTITUTION and body:
        record.add("PB", body)
        record.extra("Publisher", publisher)
    elif kind == "PAT":
        record.add("PB", text(doc.get("patent_owner")))  # Zotero: assignee
        record.extra("Publisher", publisher)
        record.extra("Institution", body)
    else:
        record.add("PB", publisher)
        record.extra("Institution", body)
    if kind == "PAT":
        record.add("CY", text(doc.get("city")))
        record.add("C3", text(doc.get("country")))  # Zotero: country
        record.add("M1", text(doc.get("patent_application_number")))  # Zotero: applicationNumber
        record.add("C6", text(doc.get("patent_legal_status")))  # Zotero: legalStatus
    else:
        record.add_to(PLACE_TAGS, kind, "Place", place(doc), default="CY")
    genre, context = work_type(doc)
    record.add_to(GENRE_TAGS, kind, "Type", genre)
    record.extra("Format", context)
    record.add_to(MEDIUM_TAGS, kind, "Medium", text(doc.get("medium")))
    record.add_to({} if kind == "COMP" else {kind: "LA"}, kind, "Language", text(doc.get("language")))
    record.add("DO", identifier(doc, "doi"))
    isbn, issn = identifier(doc, "isbn"), identifier(doc, "issn")
    record.add_to({kind: "SN"} if kind in ISBN_TYPES else {}, kind, "ISBN", isbn)
    record.add_to({kind: "SN"} if kind in ISSN_TYPES else {}, kind, "ISSN", issn)
    for label, name in (("PMID", "pmid"), ("arXiv", "arxiv"), ("Scopus", "scopus"), ("SSRN", "ssrn")):
        record.extra(label, identifier(doc, name))
    websites = texts(doc.get("websites"))
    record.add("UR", *websites[:1])  # Zotero keeps one URL, JabRef the last one given
    for url in websites[1:]:
        record.extra("URL", url)
    record.add("Y2", iso_date(text(doc.get("accessed"))).replace("-", "/"))
    record.add("AB", text(doc.get("abstract")))
    record.add("KW", *keywords_and_tags(doc))
    record.extra("Reprint edition", text(doc.get("reprint_edition")))
    record.extra("Source type", text(doc.get("source_type")))
    record.key(key)
    record.add("N1", *map(note_value, notes(entry)))
    record.add("L1", *map(attachment_path, entry.linked_files()))
    late = (EXTRA, "N1", "L1")  # Extra lines, notes and files close the record
    order = ["TY", "ID", *(tag for tag in record.tags if tag not in ("TY", "ID", *late)), *late]
    return {tag: [value_for(tag, value) for value in record.tags[tag]] for tag in order if tag in record.tags}


def value_for(tag: str, value: str) -> str:
    """A value as its tag is written: notes and paths are made ready by their own rules."""
    if tag in ("N1", "L1"):
        return value
    flat = ris_value(value)
    return flat if tag == "AB" else zotero_safe(flat)


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the `1.`, `2.` line it puts before each record, which some readers
    (Zotero among them) could take for the continuation of a value."""

    def set_header(self, count: int) -> str:
        return ""


RIS_TAGS = sorted(set(rispy.TAG_KEY_MAPPING) | {"ED", "M2", "SV"})  # tags of the RIS spec rispy does not name
# Records are given by tag: each tag maps to itself (rispy looks labels up in lower case).
TAG_MAPPING = {tag: tag.lower() for tag in RIS_TAGS}


def ris_record_text(entry: ExportEntry, key: str = KEY_MARK) -> str:
    """One record of `library.ris`; without a key, the text with `KEY_MARK` where the key goes."""
    lines = ris_lines(entry, key)
    kind = lines.pop("TY")[0]
    record: dict[str, Any] = {"type_of_reference": kind, **lines}
    return rispy.dumps([record], implementation=_RisWriter, mapping={**TAG_MAPPING, "TY": "type_of_reference"},
                       list_tags=RIS_TAGS)


def ris_parts(record_texts: Iterable[str]) -> Iterator[str]:
    """`library.ris` piece by piece: the records, a blank line between them (as rispy separates them)."""
    for number, part in enumerate(record_texts):
        if number:
            yield "\n"
        yield part


def ris_text(entries: Iterable[ExportEntry]) -> str:
    """The whole `library.ris`, in memory (for small libraries and tests; the backup streams it)."""
    return "".join(ris_parts(ris_record_text(entry, key) for key, entry in keyed_entries(entries)))
