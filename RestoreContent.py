"""What a restore sends to make each object again from what the backup holds, and how an object it made is
recognised by its content: the bodies of the write calls, their comparison with what the server lists, the media
type of a file, and the paths of the folder tree. Pure: no I/O.
"""

import mimetypes
from collections.abc import Iterable, Mapping
from typing import Any

# The document attributes a client writes, from the API reference's tables ("Core document attributes" and
# "Additional document attributes"); the server sets the rest (id, profile_id, created, last_modified,
# file_attached; group_id is given only to make a document in a group). `notes` is not in the reference, but the
# real service returns it with view=all and takes it back (see the emulator's contract).
WRITABLE_DOCUMENT_FIELDS = (
    "title", "type", "abstract", "source", "year", "authors", "identifiers", "keywords",
    "month", "day", "revision", "pages", "volume", "issue", "websites", "publisher", "city", "edition", "institution",
    "series", "chapter", "editors", "accessed", "tags", "read", "starred", "authored", "confirmed", "hidden",
    "citation_key", "source_type", "language", "short_title", "reprint_edition", "genre", "country", "translators",
    "series_editor", "code", "medium", "user_context", "department",
    "patent_owner", "patent_application_number", "patent_legal_status",
    "notes",
)  # fmt: skip
PEOPLE_FIELDS = ("authors", "editors", "translators")
# A person, as the reference describes one.
PERSON_FIELDS = ("last_name", "first_name")
# What an annotation's creator gives (the reference's example body, and `type`, which the listing shows and the
# service takes); the server sets id, created, last_modified and profile_id.
ANNOTATION_FIELDS = ("type", "text", "color", "positions", "privacy_level", "filehash")
DEFAULT_MEDIA_TYPE = "application/octet-stream"


def document_body(saved: Mapping[str, Any], group_id: str | None) -> dict[str, Any]:
    """The POST /documents body that makes the saved document (its view=all JSON) again: its writable fields that
    have a value, people as the reference's person objects; in the group `group_id`, if given."""
    body: dict[str, Any] = {}
    for name in WRITABLE_DOCUMENT_FIELDS:
        value = saved.get(name)
        if value is None:
            continue
        body[name] = _people(value) if name in PEOPLE_FIELDS else value
    # The reference requires a title, but the service holds documents without one (made from a file it could not
    # read, say): such a one is sent with an empty title, which the pattern names `Untitled` as before.
    body.setdefault("title", "")
    if group_id:
        body["group_id"] = group_id
    return body


def annotation_body(saved: Mapping[str, Any], document_id: str, file_hashes: Iterable[str]) -> dict[str, Any]:
    """The POST /annotations body that makes the saved annotation again on the document `document_id`. Its filehash
    (the file a highlight or sticky note is on) is kept when one of the document's restored files has it; one that
    names a file the backup does not hold is left out, for the server to give."""
    body = {name: saved[name] for name in ANNOTATION_FIELDS if saved.get(name) is not None}
    if body.get("filehash") not in set(file_hashes):
        body.pop("filehash", None)
    return {"document_id": document_id, **body}


def same_document(body: Mapping[str, Any], listed: Mapping[str, Any]) -> bool:
    """Whether a listed document is the one `body` makes: every field sent has the value sent (a missing field and
    an empty one are alike: the service leaves empty fields out)."""
    return all(_normal(name, listed.get(name)) == _normal(name, value) for name, value in body.items())


def same_annotation(body: Mapping[str, Any], listed: Mapping[str, Any]) -> bool:
    """Whether a listed annotation is the one `body` makes: same document, type, text, colour, positions,
    privacy and, when one was sent, file."""
    return all(listed.get(name) == value for name, value in body.items())


def media_type(file_name: str, head: bytes) -> str:
    """The media type to upload a file with (the backup does not keep the server's): from the name's extension,
    else a PDF by its first bytes, else unknown binary."""
    guessed = mimetypes.guess_type(file_name, strict=False)[0]
    if guessed:
        return guessed
    return "application/pdf" if head.startswith(b"%PDF") else DEFAULT_MEDIA_TYPE


def folder_paths(folders: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Each folder's path of names from the top (`("Parent", "Child")`), parents before their children. A folder
    whose parent is not in the tree (or that is its own ancestor) starts a path of its own."""
    paths: dict[str, tuple[str, ...]] = {}
    for folder_id in folders:
        names: list[str] = []
        seen: set[str] = set()
        current = folder_id
        while current in folders and current not in seen:
            seen.add(current)
            names.insert(0, str(folders[current].get("name") or ""))
            current = str(folders[current].get("parent_id") or "")
        paths[folder_id] = tuple(names)
    return dict(sorted(paths.items(), key=lambda item: (len(item[1]), item[1], item[0])))


def _people(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [{key: person[key] for key in PERSON_FIELDS if person.get(key) is not None}
            if isinstance(person, Mapping) else person for person in value]


def _normal(name: str, value: Any) -> Any:
    """A field's value for comparison: people as their names, empty values as None."""
    if name in PEOPLE_FIELDS:
        value = _people(value)
    return None if value in (None, "", [], {}) else value
