"""The objects of a Mendeley library, and the field lists of the API reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The reference's "Core document attributes" that a client may write (id, profile_id, group_id,
# created and last_modified are set by the server).
CORE_FIELDS = ("title", "type", "abstract", "source", "year", "authors", "identifiers", "keywords")
BIB_FIELDS = (
    "pages", "volume", "issue", "websites", "month", "publisher", "day", "city", "edition",
    "institution", "series", "chapter", "revision", "editors", "accessed", "citation_key",
    "source_type", "language", "short_title", "reprint_edition", "genre", "country", "translators",
    "series_editor", "code", "medium", "user_context", "department",
)  # fmt: skip
CLIENT_FLAGS = ("read", "starred", "authored", "confirmed", "hidden")
TAGS_FIELDS = ("tags",)
PATENT_FIELDS = ("patent_owner", "patent_application_number", "patent_legal_status")
# `notes` is not in the reference but the real service returns it with view=all (see the contract).
EXTRA_FIELDS = ("notes",)
WRITABLE_FIELDS = frozenset(
    CORE_FIELDS + BIB_FIELDS + CLIENT_FLAGS + TAGS_FIELDS + PATENT_FIELDS + EXTRA_FIELDS
)
# Fields a client may send back unchanged (e.g. a document it read) that the server ignores.
READ_ONLY_FIELDS = frozenset(
    ("id", "profile_id", "created", "last_modified", "file_attached", "folder_uuids", "files")
)
VIEWS = ("core", "bib", "client", "tags", "patent", "all")

DOCUMENT_TYPES = frozenset((
    "journal", "book", "generic", "book_section", "conference_proceedings", "working_paper",
    "report", "web_page", "thesis", "magazine_article", "statute", "patent", "newspaper_article",
    "computer_program", "hearing", "television_broadcast", "encyclopedia_article", "case", "film",
    "bill",
))  # fmt: skip
IDENTIFIER_TYPES = frozenset(("arxiv", "doi", "isbn", "issn", "pmid", "scopus", "ssrn"))
ANNOTATION_TYPES = ("note", "highlight", "sticky_note")
PRIVACY_LEVELS = frozenset(("private", "group", "public"))
# Maximum lengths (characters) from the reference, enforced on create and update.
MAX_LENGTHS = {
    "title": 255, "abstract": 10_000, "source": 255, "revision": 255, "pages": 50, "volume": 10,
    "issue": 255, "publisher": 255, "city": 255, "institution": 255, "series": 255, "chapter": 10,
    "citation_key": 255, "source_type": 255, "language": 255, "short_title": 50,
    "reprint_edition": 10, "edition": 10, "genre": 255, "country": 255, "series_editor": 255, "code": 255,
    "medium": 255, "user_context": 255, "department": 255, "patent_owner": 255,
    "patent_application_number": 255, "patent_legal_status": 255,
}  # fmt: skip


@dataclass(slots=True)
class Document:
    id: str
    created: int
    last_modified: int
    profile_id: str
    group_id: str | None
    fields: dict[str, Any]
    trashed: bool = False
    file_ids: list[str] = field(default_factory=list)
    folder_ids: set[str] = field(default_factory=set)
    annotation_ids: set[str] = field(default_factory=set)


@dataclass(slots=True)
class File:
    id: str
    document_id: str
    file_name: str
    mime_type: str
    size: int
    filehash: str
    created: int
    # Uploaded bytes are kept as they came; seeded ones are regenerated from a seed when served.
    content: bytes | None = None
    content_seed: int = 0
    # A seeded real PDF (for annotated documents): its page count and format (pdfs.PAGE_FORMATS); 0 pages: none.
    pdf_pages: int = 0
    pdf_format: int = 0
    # The recordings show file objects without `created`; seeding leaves it out of some (it still orders them).
    show_created: bool = True


@dataclass(slots=True)
class Folder:
    id: str
    name: str
    parent_id: str | None
    group_id: str | None
    created: int
    modified: int
    document_ids: dict[str, None] = field(default_factory=dict)


@dataclass(slots=True)
class Annotation:
    id: str
    type: str
    created: int
    last_modified: int
    document_id: str
    profile_id: str
    fields: dict[str, Any]


@dataclass(slots=True)
class Group:
    id: str
    created: int
    fields: dict[str, Any]


@dataclass(slots=True)
class Deletion:
    """A permanently deleted document, file or annotation, for the `deleted_since` lists."""

    id: str
    at: int
    group_id: str | None
    document_id: str | None = None
