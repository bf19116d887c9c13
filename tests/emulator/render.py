"""Objects as the API's JSON: documents per view, files, folders, annotations, groups."""

from __future__ import annotations

from typing import Any

from .clock import iso
from .models import (
    BIB_FIELDS,
    CLIENT_FLAGS,
    CORE_FIELDS,
    PATENT_FIELDS,
    TAGS_FIELDS,
    Annotation,
    Document,
    File,
    Folder,
    Group,
)
from .state import Library

_VIEW_FIELDS: dict[str, tuple[str, ...]] = {
    "core": CORE_FIELDS,
    "bib": CORE_FIELDS + BIB_FIELDS,
    "client": CORE_FIELDS,
    "tags": CORE_FIELDS + TAGS_FIELDS,
    "patent": CORE_FIELDS + PATENT_FIELDS,
    "all": CORE_FIELDS + BIB_FIELDS + TAGS_FIELDS + PATENT_FIELDS + ("notes",),
}


def document(lib: Library, doc: Document, view: str = "core", *, with_files: bool = False) -> dict[str, Any]:
    """A document in one view. Empty fields are left out, as the real service does."""
    out: dict[str, Any] = {"id": doc.id}
    fields = doc.fields
    for name in _VIEW_FIELDS[view]:
        value = fields.get(name)
        if value is not None:
            out[name] = value
    out["profile_id"] = doc.profile_id
    if doc.group_id is not None:
        out["group_id"] = doc.group_id
    out["created"] = iso(doc.created)
    out["last_modified"] = iso(doc.last_modified)
    if view in ("client", "all"):
        # The client view's flags are always present, false unless set.
        for flag in CLIENT_FLAGS:
            out[flag] = bool(fields.get(flag, False))
        out["file_attached"] = bool(doc.file_ids)
    if view == "all":
        out["folder_uuids"] = sorted(doc.folder_ids)
    if with_files:
        out["files"] = [listed_file(lib.files[f]) for f in doc.file_ids]
    return out


def listed_file(file: File) -> dict[str, Any]:
    """A file as embedded in a `document-with-files-list` listing."""
    out = {"id": file.id, "file_name": file.file_name, "mime_type": file.mime_type, "size": file.size,
           "filehash": file.filehash}
    if file.show_created:
        out["created"] = iso(file.created)
    return out


def file(file: File) -> dict[str, Any]:
    out = {"id": file.id, "document_id": file.document_id, "mime_type": file.mime_type,
           "file_name": file.file_name, "filehash": file.filehash, "size": file.size}
    if file.show_created:
        out["created"] = iso(file.created)
    return out


def folder(folder: Folder) -> dict[str, Any]:
    out: dict[str, Any] = {"id": folder.id, "name": folder.name}
    if folder.parent_id is not None:
        out["parent_id"] = folder.parent_id
    if folder.group_id is not None:
        out["group_id"] = folder.group_id
    out["created"] = iso(folder.created)
    out["modified"] = iso(folder.modified)
    return out


def annotation(ann: Annotation) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ann.id, "type": ann.type}
    for name in ("color", "text", "positions"):
        if ann.fields.get(name) is not None:
            out[name] = ann.fields[name]
    out["created"] = iso(ann.created)
    out["last_modified"] = iso(ann.last_modified)
    out["privacy_level"] = ann.fields.get("privacy_level", "private")
    if ann.fields.get("filehash") is not None:
        out["filehash"] = ann.fields["filehash"]
    out["document_id"] = ann.document_id
    out["profile_id"] = ann.profile_id
    return out


def group(group: Group) -> dict[str, Any]:
    return {"id": group.id, **group.fields, "created": iso(group.created)}
