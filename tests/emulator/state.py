"""The library state: every document, file, folder, annotation and group, behind one lock.

Endpoints take `library.lock` around a whole request's reads and changes. Lists are kept in
`(created, id)` order (the default listing order) so a page needs no sort; lookups are by id.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from sortedcontainers import SortedKeyList

from .clock import Clock
from .errors import ApiError, missing_group, not_found
from .models import Annotation, Deletion, Document, File, Folder, Group


def _created_key(item: Any) -> tuple[int, str]:
    return (item.created, item.id)


class Library:
    """One user's library plus the groups they belong to."""

    def __init__(self, clock: Clock, profile: dict[str, Any]) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.profile = profile
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.documents: dict[str, Document] = {}
            self.document_order = SortedKeyList(key=_created_key)
            self.files: dict[str, File] = {}
            self.file_order = SortedKeyList(key=_created_key)
            self.folders: dict[str, Folder] = {}
            self.folder_order = SortedKeyList(key=_created_key)
            self.annotations: dict[str, Annotation] = {}
            self.annotation_order = SortedKeyList(key=_created_key)
            self.groups: dict[str, Group] = {}
            self.deleted_documents: list[Deletion] = []
            self.deleted_files: list[Deletion] = []
            self.deleted_annotations: list[Deletion] = []

    @property
    def profile_id(self) -> str:
        return self.profile["id"]

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def id_taken(self, id_: str) -> bool:
        return any(id_ in m for m in (self.documents, self.files, self.folders, self.annotations, self.groups))

    # ----- lookups -------------------------------------------------------------------------------

    def document(self, id_: str, *, trashed: bool = False) -> Document:
        """A document in the library (or, with trashed=True, in the trash); 404 otherwise."""
        doc = self.documents.get(id_)
        if doc is None or doc.trashed != trashed:
            raise not_found("Document")
        return doc

    def group(self, id_: str) -> Group:
        group = self.groups.get(id_)
        if group is None:
            raise missing_group(id_)
        return group

    def check_group(self, group_id: str | None) -> None:
        if group_id is not None:
            self.group(group_id)

    def iter_documents(self, group_id: str | None, *, trashed: bool = False) -> Iterator[Document]:
        """Documents of the user's own library (group_id None) or of one group, in created order."""
        for doc in self.document_order:
            if doc.group_id == group_id and doc.trashed == trashed:
                yield doc

    def files_of(self, doc: Document) -> list[File]:
        return [self.files[f] for f in doc.file_ids]

    def file_group(self, file: File) -> str | None:
        return self.documents[file.document_id].group_id

    # ----- documents -----------------------------------------------------------------------------

    def add_document(self, doc: Document) -> Document:
        self.documents[doc.id] = doc
        self.document_order.add(doc)
        return doc

    def create_document(self, fields: dict[str, Any], group_id: str | None) -> Document:
        now = self.clock.stamp()
        doc = Document(self.new_id(), now, now, self.profile_id, group_id, fields)
        return self.add_document(doc)

    def touch(self, doc: Document) -> None:
        doc.last_modified = self.clock.stamp()

    def update_document(self, doc: Document, changes: dict[str, Any]) -> None:
        """Apply a PATCH: a null value clears the field."""
        for name, value in changes.items():
            if value is None:
                doc.fields.pop(name, None)
            else:
                doc.fields[name] = value
        self.touch(doc)

    def trash_document(self, doc: Document) -> None:
        doc.trashed = True
        self.touch(doc)

    def restore_document(self, doc: Document) -> None:
        # A guess: restoring is a change like any other, so it bumps last_modified; that makes a
        # restored document reappear in an incremental (modified_since) listing.
        doc.trashed = False
        self.touch(doc)

    def delete_document(self, doc: Document) -> None:
        """Permanent deletion: its files and annotations go too, and all three are recorded."""
        now = self.clock.stamp()
        for file_id in list(doc.file_ids):
            self._drop_file(self.files[file_id], now)
        for ann_id in sorted(doc.annotation_ids):
            self._drop_annotation(self.annotations[ann_id], now)
        for folder_id in doc.folder_ids:
            folder = self.folders.get(folder_id)
            if folder is not None:
                folder.document_ids.pop(doc.id, None)
        del self.documents[doc.id]
        self.document_order.remove(doc)
        self.deleted_documents.append(Deletion(doc.id, now, doc.group_id))

    # ----- files ---------------------------------------------------------------------------------

    def add_file(self, file: File, *, touch: bool = True, unique: bool = True) -> File:
        doc = self.documents[file.document_id]
        if unique and any(self.files[f].filehash == file.filehash for f in doc.file_ids):
            # The reference: "A document can only attach a file once — attempting to re-upload an
            # existing file to a document will generate a 400 Bad Request response."
            raise ApiError(400, "File already attached to this document")
        self.files[file.id] = file
        self.file_order.add(file)
        doc.file_ids.append(file.id)
        if touch:
            self.touch(doc)
        return file

    def delete_file(self, file: File) -> None:
        doc = self.documents[file.document_id]
        self._drop_file(file, self.clock.stamp())
        self.touch(doc)

    def _drop_file(self, file: File, now: int) -> None:
        doc = self.documents[file.document_id]
        doc.file_ids.remove(file.id)
        del self.files[file.id]
        self.file_order.remove(file)
        self.deleted_files.append(Deletion(file.id, now, doc.group_id, doc.id))

    # ----- folders -------------------------------------------------------------------------------

    def add_folder(self, folder: Folder) -> Folder:
        self.folders[folder.id] = folder
        self.folder_order.add(folder)
        return folder

    def folder(self, id_: str) -> Folder:
        folder = self.folders.get(id_)
        if folder is None:
            raise not_found("Folder")
        return folder

    def descendants(self, folder: Folder) -> list[Folder]:
        """The folder and every folder below it."""
        found = [folder]
        for parent in found:
            found.extend(f for f in self.folders.values() if f.parent_id == parent.id)
        return found

    def delete_folder(self, folder: Folder) -> None:
        # The reference says both that deleting a folder removes its descendants and that it does
        # not; we cascade (the brief's choice). Documents always stay in the library.
        for gone in self.descendants(folder):
            for doc_id in gone.document_ids:
                doc = self.documents.get(doc_id)
                if doc is not None:
                    doc.folder_ids.discard(gone.id)
            del self.folders[gone.id]
            self.folder_order.remove(gone)

    def file_into_folder(self, folder: Folder, doc: Document) -> None:
        # Not a change of the document: its last_modified stays (folders are a separate resource).
        folder.document_ids[doc.id] = None
        doc.folder_ids.add(folder.id)

    def take_out_of_folder(self, folder: Folder, doc: Document) -> None:
        folder.document_ids.pop(doc.id, None)
        doc.folder_ids.discard(folder.id)

    # ----- annotations ---------------------------------------------------------------------------

    def add_annotation(self, ann: Annotation) -> Annotation:
        self.annotations[ann.id] = ann
        self.annotation_order.add(ann)
        self.documents[ann.document_id].annotation_ids.add(ann.id)
        return ann

    def annotation(self, id_: str) -> Annotation:
        ann = self.annotations.get(id_)
        if ann is None:
            raise not_found("Annotation")
        return ann

    def delete_annotation(self, ann: Annotation) -> None:
        self._drop_annotation(ann, self.clock.stamp())

    def _drop_annotation(self, ann: Annotation, now: int) -> None:
        del self.annotations[ann.id]
        self.annotation_order.remove(ann)
        doc = self.documents[ann.document_id]
        doc.annotation_ids.discard(ann.id)
        group_id = doc.group_id
        self.deleted_annotations.append(Deletion(ann.id, now, group_id, ann.document_id))

    # ----- groups --------------------------------------------------------------------------------

    def add_group(self, group: Group) -> Group:
        self.groups[group.id] = group
        return group


def since(deletions: Iterable[Deletion], at_or_after: int | None, group_id: str | None) -> list[Deletion]:
    """Deletions of one scope at or after a time, in (time, id) order."""
    found = [
        d for d in deletions if d.group_id == group_id and (at_or_after is None or d.at >= at_or_after)
    ]
    found.sort(key=lambda d: (d.at, d.id))
    return found
