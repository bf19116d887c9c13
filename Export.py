"""What the library exports are made from: one `ExportEntry` per backed-up document, their order and citation keys,
and how the document's JSON is read (names, identifiers, dates, notes). The formats themselves are BibtexExport's
and RisExport's; both are pure and deterministic, independent of input order: entries are sorted by (created, id)
and get their keys from `CitationKeys`.
"""

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from CitationKeys import assign_keys


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
