"""`library.bib`: BibTeX entries for the backed-up library, written with bibtexparser's model and writer.

Text stays UTF-8 (biber, JabRef, Zotero and pybtex read UTF-8); only the ten LaTeX specials `# $ % & ~ _ ^ \\ { }`
are escaped, with pylatexenc's replacements for them. Braces are the one exception: pylatexenc writes `\\{`, which
BibTeX and pybtex count as a brace all the same, so a value whose braces do not nest gets `{\\textbraceleft}` and
`{\\textbraceright}` instead. An `@` starting a line is written `{@}`. Verbatim fields (doi, url, eprint, isbn, issn,
pmid, ...) are written as they are, since biber reads them verbatim; only what no reader could parse is
percent-encoded. `file` is JabRef's field, which Zotero's BibTeX import reads too: see `jabref_file_field`.

Which Mendeley field goes to which BibTeX field, type by type, and where Zotero's BibTeX translator and JabRef
put it on import, is the table in docs/EXPORT.md; the choices below follow it. Zotero reads one value per
field name (the last one written wins), so a value Zotero would lose to another is written in a field of its
own name for JabRef (which keeps every field). Personal notes go to `annote`, the annotations' texts to
`comment` (no bibliography style prints them; Zotero imports each field as a note of its own).
"""

import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from bibtexparser import BibtexFormat, Library, write_string
from bibtexparser.middlewares import default_unparse_stack
from bibtexparser.model import Block, Entry, Field, ImplicitComment
from pylatexenc.latexencode import RULE_DICT, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

from DocumentFields import identifier, iso_date, keywords_and_tags, month_number, text, texts
from Export import (
    ExportEntry,
    annotation_notes,
    contributors,
    document_note,
    institution,
    keyed_entries,
    place,
    visible,
    work_type,
)
from JabRefGroups import groups_comments

log = logging.getLogger(__name__)

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


def bibtex_names(names: Sequence[tuple[str, str]]) -> str:
    return " and ".join(bibtex_name(last, first) for last, first in names)


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
        item = "{" * openers + ":" + jabref_path(path) + ":" + jabref_path(kind) + "}" * closers
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
    "encyclopedia_article": "inreference",  # Zotero: encyclopediaArticle; JabRef: biblatex's type
    "conference_proceedings": "inproceedings",
    "thesis": "phdthesis",  # mastersthesis when its genre says so: see bibtex_type
    "report": "techreport",
    "working_paper": "techreport",
    "patent": "patent",  # biblatex, JabRef and Zotero know it; classic BibTeX styles fall back to misc
    "web_page": "online",  # Zotero: webpage (misc would be a Zotero document)
    "computer_program": "software",  # Zotero: computerProgram
    "film": "movie",  # Zotero: film
    "television_broadcast": "video",  # Zotero: videoRecording, its nearest type that BibTeX reaches
    "statute": "legislation",  # Zotero: bill, its one legal type that BibTeX reaches besides case
    "bill": "legislation",
    "case": "jurisdiction",  # Zotero: case
}  # hearing, generic and anything unknown: misc (Zotero: document)
# The field Zotero reads as the container's title (publicationTitle, bookTitle, proceedingsTitle, …).
SOURCE_FIELDS = {"article": "journal", "incollection": "booktitle", "inproceedings": "booktitle",
                 "inreference": "booktitle", "online": "booktitle", "jurisdiction": "journal"}
NUMBERED_TYPES = ("techreport", "patent")  # `number` is the report's or patent's number (Mendeley's revision)
ISSUE_TYPES = ("article", "inproceedings", "misc")  # where `number` is the issue (Zotero: issue)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Mendeley's flags as JabRef's special fields (Zotero has none).
JABREF_FLAGS = (("read", "readstatus", "read"), ("starred", "relevance", "relevant"),
                ("confirmed", "qualityassured", "qualityAssured"))


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
        value = visible(value)  # NUL marks the key in the export cache
        if value:
            fields.append(Field(name, encode(value)))

    def as_is(value: str) -> str:
        return value

    add("author", bibtex_names(contributors(doc, "authors")), as_is)
    add("editor", bibtex_names(contributors(doc, "editors")), as_is)
    add("translator", bibtex_names(contributors(doc, "translators")), as_is)
    add("title", text(doc.get("title")))
    add("shorttitle", text(doc.get("short_title")))
    source, code = text(doc.get("source")), text(doc.get("code"))
    if kind == "legislation":  # Zotero's bill keeps the code where others keep the journal
        add("journal", code)
        code = ""
    # howpublished: Zotero keeps it as `Published: …` in Extra (from 7 characters on), JabRef as it is
    add(SOURCE_FIELDS.get(kind, "howpublished"), source)
    add("code", code)
    add("series", text(doc.get("series")))
    add("series-editor", text(doc.get("series_editor")))
    add("edition", ", ".join(texts(doc.get("edition"))))
    add("volume", text(doc.get("volume")))
    issue, revision = text(doc.get("issue")), text(doc.get("revision"))
    if kind in NUMBERED_TYPES:
        add("number", revision)
        revision = ""
    elif kind in ISSUE_TYPES:
        add("number", issue)
        issue = ""
    add("issue", issue)  # a book's issue is no series number (Zotero reads `number` on a book as one)
    add("revision", revision)
    add("pages", text(doc.get("pages")))
    add("chapter", text(doc.get("chapter")))
    year, month, day = text(doc.get("year")), month_number(doc), month_number(doc, "day", 31)
    add("year", year)
    if month:
        fields.append(Field("month", MONTHS[month - 1], enclosing="no-enclosing"))
    if re.fullmatch(r"[0-9]{4}", year) and month and day:
        add("date", f"{year}-{month:02d}-{day:02d}")
    # A thesis has one publisher field in Zotero (university), which takes the last of publisher and
    # school: the school is written last.
    add("publisher", text(doc.get("publisher")))
    add("school" if kind.endswith("thesis") else "institution", institution(doc))
    if kind == "patent":
        add("address", text(doc.get("city")))
        add("nationality", text(doc.get("country")))  # Zotero: country
        add("holder", text(doc.get("patent_owner")))  # biblatex's and JabRef's field
        add("assignee", text(doc.get("patent_owner")))  # Zotero's
        add("application-number", text(doc.get("patent_application_number")))
        add("legal-status", text(doc.get("patent_legal_status")))
    else:
        add("address", place(doc))
    genre, context = work_type(doc)
    add("type", genre)
    add("user-context", context)
    add("medium", text(doc.get("medium")))
    add("reprint-edition", text(doc.get("reprint_edition")))
    add("source-type", text(doc.get("source_type")))
    add("language", text(doc.get("language")))
    for name in ("doi", "isbn", "issn", "pmid"):
        add(name, identifier(doc, name), verbatim)
    arxiv = identifier(doc, "arxiv")
    add("eprint", arxiv, verbatim)
    add("eprinttype", "arxiv" if arxiv else "")  # Zotero: `arXiv: …` in Extra
    add("archiveprefix", "arXiv" if arxiv else "")  # JabRef's and Mendeley's spelling of the same
    add("scopus", identifier(doc, "scopus"), verbatim)
    add("ssrn", identifier(doc, "ssrn"), verbatim)
    add("url", (texts(doc.get("websites")) or [""])[0], verbatim)  # BibTeX holds one; RIS holds all
    add("urldate", iso_date(text(doc.get("accessed"))))
    add("abstract", text(doc.get("abstract")))
    add("keywords", ", ".join(keywords_and_tags(doc)))
    add("mendeley-tags", ", ".join(texts(doc.get("tags"))))  # Mendeley's own field, for JabRef
    for flag, name, value in JABREF_FLAGS:
        add(name, value if doc.get(flag) is True else "")
    created = text(doc.get("created"))
    add("timestamp", iso_date(created) if re.match(r"\d{4}-\d{2}-\d{2}", created) else "")  # JabRef's date added
    add("date-added", created)
    add("annote", document_note(entry))
    add("comment", "\n\n".join(annotation_notes(entry)))
    add("file", jabref_file_field(entry.linked_files()), as_is)
    return fields


BIBTEX_LAYOUT = BibtexFormat()
BIBTEX_LAYOUT.indent = "  "
BIBTEX_LAYOUT.block_separator = "\n"
KEY_MARK = "\x00"  # where an entry's key goes, in the text the export cache keeps


def bibtex_block(block: Block) -> str:
    """One block of `library.bib` as bibtexparser writes it (no alignment spans blocks, so each is written
    alone). The library is built for this call only: the writer's middleware may work in place (no copy)."""
    return write_string(Library([block]), unparse_stack=default_unparse_stack(allow_inplace_modification=True),
                        bibtex_format=BIBTEX_LAYOUT)


def bibtex_entry_text(entry: ExportEntry, key: str = KEY_MARK) -> str:
    """One entry of `library.bib`; without a key, the text with `KEY_MARK` where the key goes."""
    return bibtex_block(Entry(bibtex_type(entry.document), key, bibtex_fields(entry)))


def bibtex_parts(entry_texts: Iterable[str], groups: Iterable[str] = ()) -> Iterator[str]:
    """`library.bib` piece by piece, so a large library is never held whole: a UTF-8 marker line (JabRef reads
    it), the entries, then the JabRef groups (the folder tree), as JabRef writes them, last."""
    yield bibtex_block(ImplicitComment("% Encoding: UTF-8"))
    for part in itertools.chain(entry_texts, groups):
        yield BIBTEX_LAYOUT.block_separator
        yield part


def bibtex_text(entries: Iterable[ExportEntry], folders: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The whole `library.bib`, in memory (for small libraries and tests; the backup streams it)."""
    keyed = keyed_entries(entries)
    members = [(key, entry.folder_ids) for key, entry in keyed]
    return "".join(bibtex_parts((bibtex_entry_text(entry, key) for key, entry in keyed),
                                groups_comments(folders or {}, members)))
