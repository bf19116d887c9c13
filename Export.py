"""What the library exports are made from: one `ExportEntry` per backed-up document, their order and citation
keys, the files to link and the notes to carry. The formats themselves are BibtexExport's and RisExport's;
both are pure and deterministic, independent of input order: entries are sorted by (created, id) and get
their keys from `CitationKeys`. Where each Mendeley field goes is in docs/EXPORT.md.
"""

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from CitationKeys import assign_keys
from DocumentFields import paragraphs, people, plain_text, text, texts


@dataclass(frozen=True)
class ExportEntry:
    """One document of the export, as the backup knows it."""

    document: Mapping[str, Any]  # the Mendeley API's JSON for the document with view=all
    file_paths: Sequence[str]  # backed-up files, '/'-separated, relative to the export's folder
    annotations: Sequence[Mapping[str, Any]] = ()  # the document's annotations (API JSON)
    # original file path -> its annotated copy (`<stem> (annotated).pdf` beside it), for those that have one
    annotated_copies: Mapping[str, str] = field(default_factory=dict)
    folder_ids: Sequence[str] = ()  # the Mendeley folders holding the document

    def linked_files(self) -> list[str]:
        """The files to link, each original preceded by its annotated copy when it has one."""
        return [path for original in self.file_paths
                for path in (self.annotated_copies.get(original), original) if path]


# ---------------------------------------------------------------- order and keys


def position(document: Mapping[str, Any]) -> tuple[str, str]:
    """Where a document goes: oldest first, by (created, id)."""
    return text(document.get("created")), text(document.get("id"))


def _content(entry: ExportEntry) -> str:
    """What orders entries that share a position, so that even duplicates always sort the same."""
    return json.dumps([entry.document, list(entry.file_paths), list(entry.annotations)], sort_keys=True,
                      ensure_ascii=False, default=str)


def keyed_entries(entries: Iterable[ExportEntry]) -> list[tuple[str, ExportEntry]]:
    """The entries oldest first, each with its citation key. Only entries sharing a position are compared by
    content (a backed-up library has none: its ids are distinct), as serialising every document costs more than
    the whole sort."""
    ordered: list[ExportEntry] = []
    for _, group in itertools.groupby(sorted(entries, key=lambda e: position(e.document)),
                                      key=lambda e: position(e.document)):
        same = list(group)
        ordered.extend(sorted(same, key=_content) if len(same) > 1 else same)
    return list(zip(assign_keys([entry.document for entry in ordered]), ordered, strict=True))


# ---------------------------------------------------------------- values both formats write alike

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def visible(value: str) -> str:
    """A text without control characters (white space apart), which no reader wants."""
    return _CONTROL.sub("", value)


def contributors(document: Mapping[str, Any], role: str) -> list[tuple[str, str]]:
    """The document's authors, editors or translators as (last, first) to write: `people`, without control
    characters; a person whose last name was nothing else keeps the first name as the name."""
    found = [(visible(last).strip(), visible(first).strip()) for last, first in people(document, role)]
    return [(last, first) if last else (first, "") for last, first in found if last or first]



def institution(document: Mapping[str, Any]) -> str:
    """`Department, Institution`: where Zotero and JabRef keep one publishing body, the department with it."""
    return ", ".join(texts([document.get("department"), document.get("institution")]))


def place(document: Mapping[str, Any]) -> str:
    """`City, Country`, as Zotero's own Mendeley import writes a place."""
    return ", ".join(texts([document.get("city"), document.get("country")]))


def work_type(document: Mapping[str, Any]) -> tuple[str, str]:
    """(the kind of work, as Zotero's thesis, report or web page type holds it; Mendeley's `user_context` when
    that is a second, different value). A working paper, which both formats export as a report, says so."""
    genre, context = text(document.get("genre")), text(document.get("user_context"))
    kind = genre or context or ("Working paper" if text(document.get("type")) == "working_paper" else "")
    return kind, context if genre and context and context != genre else ""


# ---------------------------------------------------------------- notes

ANNOTATION_LABELS = {"note": "Note", "sticky_note": "Sticky note", "highlight": "Highlight"}


def annotation_note(annotation: Mapping[str, Any]) -> str:
    """`Sticky note (page 3): text`, the text's paragraphs kept; empty for an annotation without text."""
    body = plain_text(text(annotation.get("text")))
    if not body:
        return ""
    kind = text(annotation.get("type"))
    positions = annotation.get("positions")
    first = positions[0] if isinstance(positions, list) and positions else None
    page = first.get("page") if isinstance(first, Mapping) else None
    where = f" (page {page})" if type(page) is int and kind != "note" else ""
    return f"{ANNOTATION_LABELS.get(kind, 'Annotation')}{where}: {body}"


def document_note(entry: ExportEntry) -> str:
    """The document's own note as plain text, paragraphs separated by blank lines."""
    return "\n\n".join(paragraphs(plain_text(text(entry.document.get("notes")))))


def annotation_notes(entry: ExportEntry) -> list[str]:
    """The texts of the document's annotations, one note each, by (created, id)."""
    ordered = sorted(
        (a for a in entry.annotations if isinstance(a, Mapping)),
        key=lambda a: (text(a.get("created")), text(a.get("id")), text(a.get("text"))),
    )
    return [note for note in map(annotation_note, ordered) if note]


def notes(entry: ExportEntry) -> list[str]:
    """Every note of the document: its own, then its annotations'."""
    own = document_note(entry)
    return ([own] if own else []) + annotation_notes(entry)
