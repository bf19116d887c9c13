"""Library export: the text of `library.bib` (BibTeX) and `library.ris` (RIS) for the backed-up library.

Pure functions, no I/O: the backup worker writes the returned strings itself. Both texts are
deterministic and independent of input order: entries are sorted by (created, id) (then by their
whole content, so even duplicates sort the same) and get their keys from `CitationKeys`.

Choices (details in the docstrings below):
- BibTeX is written with bibtexparser's model and writer. Text stays UTF-8 (biber, JabRef, Zotero and
  pybtex read UTF-8); only the ten LaTeX specials `# $ % & ~ _ ^ \\ { }` are escaped, with pylatexenc's
  replacements for them. Braces are the one exception: pylatexenc writes `\\{`, which BibTeX and pybtex
  count as a brace all the same, so a value whose braces do not nest gets `{\\textbraceleft}` and
  `{\\textbraceright}` instead. An `@` starting a line is written `{@}`.
- Verbatim fields (doi, url, eprint, isbn, issn, pmid, …) are written as they are, since biber reads
  them verbatim; only what no reader could parse (braces that do not nest, …) is percent-encoded.
- `file` is JabRef's field, which Zotero's BibTeX import reads too: see `jabref_file_field`.
- Personal notes go to `annote` (no bibliography style prints it; Zotero imports it as a note): the
  document's notes as plain text, then the text of its annotations, by (created, id).
- RIS is written with rispy's writer and field names. RIS is line-based and some readers end a value
  at any line break, so line breaks (and the spaces around them) inside a value become one space.
"""

import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import rispy
from bibtexparser import BibtexFormat, Library, write_string
from bibtexparser.middlewares import default_unparse_stack
from bibtexparser.model import Block, Entry, Field, ImplicitComment
from pylatexenc.latexencode import RULE_DICT, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

from CitationKeys import assign_keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportEntry:
    """One document of the export, as the backup worker knows it."""

    document: Mapping[str, Any]  # the Mendeley API's JSON for the document with view=all
    file_paths: Sequence[str]  # backed-up files, '/'-separated, relative to the export's folder
    annotations: Sequence[Mapping[str, Any]] = ()  # the document's annotations (API JSON)


# ---------------------------------------------------------------- order and keys


def _position(entry: ExportEntry) -> tuple[str, str]:
    """Where an entry goes: oldest first, by (created, id)."""
    return text(entry.document.get("created")), text(entry.document.get("id"))


def _content(entry: ExportEntry) -> tuple[str, tuple[str, ...], str]:
    """What orders entries that share a position, so that even duplicates always sort the same."""
    return (
        json.dumps(entry.document, sort_keys=True, ensure_ascii=False, default=str),
        tuple(entry.file_paths),
        json.dumps(list(entry.annotations), sort_keys=True, ensure_ascii=False, default=str),
    )


def keyed_entries(entries: Iterable[ExportEntry]) -> list[tuple[str, ExportEntry]]:
    """The entries oldest first, each with its citation key. Only entries sharing a position are compared by
    content (a backed-up library has none: its ids are distinct), as serialising every document costs more than
    the whole sort."""
    ordered: list[ExportEntry] = []
    for _, group in itertools.groupby(sorted(entries, key=_position), key=_position):
        same = list(group)
        ordered.extend(sorted(same, key=_content) if len(same) > 1 else same)
    return list(zip(assign_keys([entry.document for entry in ordered]), ordered, strict=True))


# ---------------------------------------------------------------- reading the document JSON


def text(value: Any) -> str:
    """A field's text: strings stripped, numbers as digits; null, booleans and anything else empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def texts(value: Any) -> list[str]:
    """A list field's non-empty texts without repeats (a lone string counts as a list of one)."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    return list(dict.fromkeys(t for t in map(text, items) if t))


def persons(document: Mapping[str, Any], role: str) -> list[tuple[str, str]]:
    """(last, first) of each person in `authors`/`editors`/`translators`; a lone first name is the last."""
    found = []
    people = document.get(role)
    for person in people if isinstance(people, list | tuple) else ():
        if isinstance(person, Mapping):
            last, first = text(person.get("last_name")), text(person.get("first_name"))
            if last or first:
                found.append((last, first) if last else (first, ""))
    return found


def identifier(document: Mapping[str, Any], name: str) -> str:
    identifiers = document.get("identifiers")
    return text(identifiers.get(name)) if isinstance(identifiers, Mapping) else ""


def month_number(document: Mapping[str, Any], field: str = "month", top: int = 12) -> int | None:
    value = document.get(field)
    digits = re.fullmatch(r"[0-9]{1,2}", text(value))
    number = int(digits.group()) if digits and not isinstance(value, bool) else 0
    return number if 1 <= number <= top else None


def iso_date(value: str) -> str:
    """`YYYY-MM-DD` from an ISO-8601 date or timestamp; other text as it is."""
    match = re.match(r"\d{4}-\d{2}-\d{2}", value)
    return match.group() if match else value


class _HtmlText(HTMLParser):
    BLOCKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, ())

    def handle_startendtag(self, tag: str, attrs: Any) -> None:  # `<br/>`: one break, not two
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(note: str) -> str:
    """Mendeley's HTML-ish note text as plain text (tags dropped, block ends as line breaks);
    text that holds no tag or entity is returned unchanged."""
    if not re.search(r"<[A-Za-z/!][^>]*>|&#?\w+;", note):
        return note.strip()
    parser = _HtmlText()
    parser.feed(note)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


ANNOTATION_LABELS = {"note": "Note", "sticky_note": "Sticky note", "highlight": "Highlight"}


def annotation_note(annotation: Mapping[str, Any]) -> str:
    """`Sticky note (page 3): text`; empty for an annotation without text."""
    body = plain_text(text(annotation.get("text")))
    if not body:
        return ""
    kind = text(annotation.get("type"))
    positions = annotation.get("positions")
    first = positions[0] if isinstance(positions, list) and positions else None
    page = first.get("page") if isinstance(first, Mapping) else None
    where = f" (page {page})" if type(page) is int and kind != "note" else ""
    return f"{ANNOTATION_LABELS.get(kind, 'Annotation')}{where}: {body}"


def note_paragraphs(entry: ExportEntry) -> list[str]:
    """The document's notes, then its annotations' texts by (created, id)."""
    ordered = sorted(
        (a for a in entry.annotations if isinstance(a, Mapping)),
        key=lambda a: (text(a.get("created")), text(a.get("id")), text(a.get("text"))),
    )
    paragraphs = [plain_text(text(entry.document.get("notes")))] + [annotation_note(a) for a in ordered]
    return [p for p in paragraphs if p]


def keywords_and_tags(document: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys(texts(document.get("keywords")) + texts(document.get("tags"))))


# ---------------------------------------------------------------- BibTeX values

LATEX_SPECIALS = "#$%&~_^\\{}"
_LATEX_SPECIAL = re.compile("[" + re.escape(LATEX_SPECIALS) + "]")
_LINE_START_AT = re.compile(r"^(\s*)@", re.MULTILINE)
_ESCAPED_BRACE = re.compile(r"\\[{}]")
MAX_BRACE_DEPTH = 8  # pybtex refuses more than 100 nested braces; keep far below that


def latex_table(encoder: UnicodeToLatexEncoder) -> dict[int, str]:
    """The encoder's replacement for each LaTeX special. pylatexenc replaces one character at a time
    and protects a replacement without looking at its neighbours, so translating with this table
    gives the encoder's own output, in a fraction of its time (it walks the text in Python)."""
    return {ord(c): encoder.unicode_to_latex(c) for c in LATEX_SPECIALS}


NESTED_TABLE = latex_table(UnicodeToLatexEncoder(conversion_rules=["defaults"]))
BRACE_FREE_TABLE = latex_table(
    UnicodeToLatexEncoder(
        conversion_rules=[
            UnicodeToLatexConversionRule(
                RULE_DICT, {ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright"}
            ),
            "defaults",
        ]
    )
)


def braces_nest(value: str, max_depth: int = MAX_BRACE_DEPTH) -> bool:
    """Whether every `}` closes an earlier `{`, every `{` is closed, and nesting stays shallow."""
    depth = 0
    for brace in re.findall(r"[{}]", value):
        depth += 1 if brace == "{" else -1
        if depth < 0 or depth > max_depth:
            return False
    return depth == 0


def latex_escape(value: str) -> str:
    """Text for a BibTeX field: the LaTeX specials escaped (see the module docstring), UTF-8 kept.
    An `@` that starts a line is braced, `{@}`: bibtexparser would read it as a new entry's start."""
    if _LATEX_SPECIAL.search(value):
        value = value.translate(NESTED_TABLE if braces_nest(value) else BRACE_FREE_TABLE)
    return _LINE_START_AT.sub(r"\1{@}", value) if "@" in value else value


def braces_are_safe(value: str) -> bool:
    """Whether every reader counts the braces of a value alike, and finds them nested: BibTeX and
    pybtex count a brace after a backslash, bibtexparser and JabRef take it for an escaped one."""
    return braces_nest(value) and not _ESCAPED_BRACE.search(value)


def verbatim(value: str) -> str:
    """A verbatim field (DOI, URL, …) as it is, unless its braces are not safe (see above): then they
    are percent-encoded, the one form of them BibTeX can carry (and a valid one in URLs and DOIs)."""
    if not braces_are_safe(value):
        value = re.sub(r"[{}]", lambda m: quote(m.group()), value)
    if value.endswith("\\"):  # it would stand before the value's closing brace
        value = value[:-1] + quote("\\")
    return _LINE_START_AT.sub(r"\1%40", value) if "@" in value else value  # `@` starting a line: see above


def bibtex_name(last: str, first: str) -> str:
    """`Last, First`, or `Last` alone. A part that BibTeX would split wrongly is braced: one holding a
    comma or the word `and`/`others`, and a last name with spaces but no first name (an organisation)."""

    def braced(part: str, whole_if_spaced: bool) -> str:
        risky = "," in part or re.search(r"(?i)(^|\s)(and|others)(\s|$)", part)
        return (
            "{" + latex_escape(part) + "}"
            if risky or (whole_if_spaced and " " in part)
            else latex_escape(part)
        )

    last_tex = braced(" ".join(last.split()), whole_if_spaced=not first)
    return last_tex + ", " + braced(" ".join(first.split()), whole_if_spaced=False) if first else last_tex


def bibtex_names(people: Sequence[tuple[str, str]]) -> str:
    return " and ".join(bibtex_name(last, first) for last, first in people)


def jabref_path(path: str) -> str:
    """A path as JabRef's `file` field holds it: `\\`, `:` and `;` backslash-escaped. So is each
    whitespace character that follows another: BibTeX readers fold a run of whitespace into one
    space, and Mendeley's file names do hold double spaces; JabRef's and Zotero's readers of the
    field drop the backslash before any character."""
    escaped = re.sub(r"([\\:;]|(?<=\n)@)", r"\\\1", path)  # and `@` after a line break: see latex_escape
    return re.sub(r"(?<=\s)(\s)", r"\\\1", escaped)


def unmatched_braces(value: str) -> tuple[int, int]:
    """(closing braces without an opening one before them, opening braces never closed)."""
    depth = stray_closers = 0
    for brace in re.findall(r"[{}]", value):
        if brace == "{":
            depth += 1
        elif depth:
            depth -= 1
        else:
            stray_closers += 1
    return stray_closers, depth


def jabref_file_field(paths: Sequence[str]) -> str:
    """JabRef's `file` field: `description:path:TYPE` items joined by `;`, with paths escaped by
    `jabref_path` and TYPE the extension in capitals (`PDF`); the description is left empty.

    BibTeX needs the braces of a value to nest, and paths made from titles may hold a stray one;
    escaping does not hide a brace from BibTeX. Such an item gets the braces that balance it in its
    own description (`{`, before the path) or after its type (`}`), so the path itself is kept whole:
    readers then show a description `{` or a type `PDF}`, a small price for a working link."""
    items = []
    for path in paths:
        openers, closers = unmatched_braces(path)
        kind = PurePosixPath(path).suffix.lstrip(".").upper()
        item = "{" * openers + ":" + jabref_path(path) + ":" + kind + "}" * closers
        if braces_are_safe(item):
            items.append(item)
        else:  # nested deeper than MAX_BRACE_DEPTH, or a backslash before a brace (not in the backup's names)
            log.warning("file %r left out of library.bib: its braces cannot be written safely", path)
    return ";".join(items)


# ---------------------------------------------------------------- BibTeX entries

BIBTEX_TYPES = {
    "journal": "article",
    "magazine_article": "article",
    "newspaper_article": "article",
    "book": "book",
    "book_section": "incollection",
    "encyclopedia_article": "incollection",
    "conference_proceedings": "inproceedings",
    "thesis": "phdthesis",  # mastersthesis when its genre says so: see bibtex_type
    "report": "techreport",
    "working_paper": "techreport",
    "patent": "patent",  # biblatex, JabRef and Zotero know it; classic BibTeX styles fall back to misc
}  # everything else (generic, web_page, computer_program, statute, bill, case, hearing, film, …): misc
SOURCE_FIELDS = {"article": "journal", "incollection": "booktitle", "inproceedings": "booktitle"}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def bibtex_type(document: Mapping[str, Any]) -> str:
    kind = BIBTEX_TYPES.get(text(document.get("type")), "misc")
    genre = (text(document.get("genre")) + " " + text(document.get("user_context"))).casefold()
    return "mastersthesis" if kind == "phdthesis" and "master" in genre else kind


def bibtex_fields(entry: ExportEntry) -> list[Field]:
    """The entry's fields in a fixed order; empty ones left out."""
    doc = entry.document
    kind = bibtex_type(doc)
    fields: list[Field] = []

    def add(name: str, value: str, encode: Callable[[str], str] = latex_escape) -> None:
        if value:
            fields.append(Field(name, encode(value)))

    def as_is(value: str) -> str:
        return value

    add("author", bibtex_names(persons(doc, "authors")), as_is)
    add("editor", bibtex_names(persons(doc, "editors")), as_is)
    add("translator", bibtex_names(persons(doc, "translators")), as_is)
    add("title", text(doc.get("title")))
    add("shorttitle", text(doc.get("short_title")))
    add(SOURCE_FIELDS.get(kind, "howpublished"), text(doc.get("source")))
    add("series", text(doc.get("series")))
    add("edition", ", ".join(texts(doc.get("edition"))))
    add("volume", text(doc.get("volume")))
    add("number", text(doc.get("issue")) or text(doc.get("revision")))
    add("pages", text(doc.get("pages")))
    add("chapter", text(doc.get("chapter")))
    year, month, day = text(doc.get("year")), month_number(doc), month_number(doc, "day", 31)
    add("year", year)
    if month:
        fields.append(Field("month", MONTHS[month - 1], enclosing="no-enclosing"))
    if re.fullmatch(r"[0-9]{4}", year) and month and day:
        add("date", f"{year}-{month:02d}-{day:02d}")
    add("publisher", text(doc.get("publisher")))
    add("address", text(doc.get("city")))
    add("school" if kind.endswith("thesis") else "institution", text(doc.get("institution")))
    add("holder", text(doc.get("patent_owner")))
    add("type", text(doc.get("genre")))
    add("language", text(doc.get("language")))
    for name in ("doi", "isbn", "issn", "pmid"):
        add(name, identifier(doc, name), verbatim)
    arxiv = identifier(doc, "arxiv")
    add("eprint", arxiv, verbatim)
    add("eprinttype", "arxiv" if arxiv else "")
    add("archiveprefix", "arXiv" if arxiv else "")
    add("scopus", identifier(doc, "scopus"), verbatim)
    add("ssrn", identifier(doc, "ssrn"), verbatim)
    add("url", (texts(doc.get("websites")) or [""])[0], verbatim)  # BibTeX holds one; RIS holds all
    add("urldate", iso_date(text(doc.get("accessed"))))
    add("abstract", text(doc.get("abstract")))
    add("keywords", ", ".join(keywords_and_tags(doc)))
    add("mendeley-tags", ", ".join(texts(doc.get("tags"))))  # Mendeley's own field; Zotero reads it
    add("annote", "\n\n".join(note_paragraphs(entry)))
    add("file", jabref_file_field(entry.file_paths), as_is)
    return fields


def bibtex_entry(key: str, entry: ExportEntry) -> Entry:
    return Entry(bibtex_type(entry.document), key, bibtex_fields(entry))


BIBTEX_LAYOUT = BibtexFormat()
BIBTEX_LAYOUT.indent = "  "
BIBTEX_LAYOUT.block_separator = "\n"


def bibtex_block(block: Block) -> str:
    """One block of `library.bib` as bibtexparser writes it (no alignment spans blocks, so each is written
    alone). The library is built for this call only: the writer's middleware may work in place (no copy)."""
    return write_string(Library([block]), unparse_stack=default_unparse_stack(allow_inplace_modification=True),
                        bibtex_format=BIBTEX_LAYOUT)


def bibtex_parts(keyed: Iterable[tuple[str, ExportEntry]]) -> Iterator[str]:
    """`library.bib` piece by piece, so a large library is never held whole: a UTF-8 marker line (JabRef reads
    it), then one entry per document."""
    yield bibtex_block(ImplicitComment("% Encoding: UTF-8"))
    for key, entry in keyed:
        yield BIBTEX_LAYOUT.block_separator
        yield bibtex_block(bibtex_entry(key, entry))


def bibtex_text(entries: Sequence[ExportEntry]) -> str:
    """The whole `library.bib`."""
    return "".join(bibtex_parts(keyed_entries(entries)))


# ---------------------------------------------------------------- RIS

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
