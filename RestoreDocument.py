"""Restores one backed-up document into the account: the document from its saved metadata, each file with its
bytes, its place in each of its folders, its annotations, its move to the trash if it was there; then its folder in
the backup is rewritten for the new ids (info.json, annotations.json) and its new entry of the state is made.

Every step goes through the journal (made at most once), and the backup's own copy is checked before anything is
sent: a file whose bytes no longer have the SHA-1 the backup recorded is not uploaded.
"""

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from BackupFolder import BackupFolder
from DocumentInfo import Entry, FileRecord
from Errors import UnrestorableError
from MendeleyApi import MendeleyApi
from RestoreContent import annotation_body, document_body, media_type, same_annotation, same_document
from RestoreJournal import ANNOTATION, DONE, FILE, MEMBERSHIP, TRASH, RestoreJournal, Step, document_step
from Timestamps import parse_time

log = logging.getLogger(__name__)

# How far before a step began the account is searched for what it may have made: the server's clock is known
# only to the second, and estimated from our own between its answers.
LOOK_BACK = timedelta(seconds=60)
# Documents of the same content are made one at a time, so that a search by content never takes one made for
# another backed-up document; this many locks, chosen by the content's hash, keep that cheap.
CONTENT_LOCKS = 64


class ServerClock:
    """The server's clock, from the `Date` of one of its answers and ours since."""

    def __init__(self, server_time: datetime | None) -> None:
        local = datetime.now(timezone.utc)
        self._offset = (server_time - local) if server_time else timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset


@dataclass
class Restored:
    """One document restored: its new id and entry, the file copies it no longer needs, and what this run made."""

    new_id: str
    entry: Entry
    leaving: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)  # as the account lists it, with its files
    files: int = 0
    annotations: int = 0


@dataclass
class RestoreContext:
    """What every document of one library's restore shares."""

    api: MendeleyApi  # reading
    writer: MendeleyApi  # writing (HttpSession.make_write_session)
    journal: RestoreJournal
    folder: BackupFolder
    group_id: str | None
    clock: ServerClock
    folder_ids: dict[str, str]  # backed-up folder id -> the account's
    tree: set[str]  # the backed-up folder ids
    held: Callable[[str], bool]  # whether the backup's state holds a document id
    on_bytes: Callable[[int], Any] = lambda _: None
    _content_locks: list[threading.Lock] = field(default_factory=lambda: [threading.Lock()
                                                                         for _ in range(CONTENT_LOCKS)])

    def content_lock(self, body: dict[str, Any]) -> threading.Lock:
        key = hashlib.sha1(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8", "replace"))
        return self._content_locks[int(key.hexdigest(), 16) % CONTENT_LOCKS]


class DocumentRestorer:
    """Restores documents of one library; one instance serves every download thread."""

    def __init__(self, context: RestoreContext) -> None:
        self._context = context

    def restore(self, old_id: str, entry: Entry) -> Restored:
        """Make the document again, or finish what an earlier run began; rewrite its folder in the backup."""
        context = self._context
        saved, _ = context.folder.read_document(entry.path)
        if not saved:
            raise UnrestorableError(f"its {entry.path}/info.json is missing or unreadable")
        files = self._checked_files(entry)
        new_id = self._document(old_id, document_body(saved, context.group_id))
        restored = Restored(new_id, entry)
        new_files: dict[str, FileRecord] = {}
        hashes: dict[str, str] = {}
        for old_file, record in files:
            if record.sha1 in hashes:
                log.warning("%s/%s has the same bytes as %s, which a document can hold only once; its copy goes",
                            entry.path, record.name, hashes[record.sha1])
                restored.leaving.append(f"{entry.path}/{record.name}")
                continue
            new_file, made = self._file(old_id, new_id, old_file, record, entry.path)
            new_files[new_file] = record
            hashes[str(record.sha1)] = record.name
            restored.files += made
        folder_ids = self._file_into_folders(old_id, new_id, entry)
        restored.annotations = self._annotations(old_id, new_id, entry, set(hashes))
        if entry.trashed:
            self._take(Step(old_id, TRASH, TRASH), lambda: self._trash(new_id), lambda: self._in_trash(new_id),
                       f"the move of {entry.path} to the trash")
        return self._rebased(restored, new_files, folder_ids)

    # The steps --------------------------------------------------------------------------------------------------

    def _document(self, old_id: str, body: dict[str, Any]) -> str:
        context = self._context
        step = document_step(old_id)
        with context.content_lock(body):
            return self._take(step, lambda: str(context.writer.create_document(body)["id"]),
                              lambda: self._find_document(old_id, body), f"the document {body.get('title')!r}",
                              since=context.clock.now())[0]

    def _file(self, old_id: str, new_id: str, old_file: str, record: FileRecord, path: str) -> tuple[str, bool]:
        def upload() -> str:
            data = self._bytes(path, record)
            made = self._context.writer.upload_file(new_id, record.name, media_type(record.name, data[:8]), data)
            if str(made.get("filehash") or "").lower() != record.sha1:
                raise UnrestorableError(f"the account's copy of {path}/{record.name} has the SHA-1 "
                                        f"{made.get('filehash')}, not the backup's {record.sha1}")
            self._context.on_bytes(len(data))
            return str(made["id"])

        def find() -> str | None:
            taken = self._context.journal.made_ids(old_id, FILE)
            return next((str(item["id"]) for item in (self._context.api.document(new_id) or {}).get("files") or []
                         if str(item.get("filehash") or "").lower() == record.sha1 and str(item["id"]) not in taken),
                        None)

        return self._take(Step(old_id, FILE, old_file), upload, find, f"the file {path}/{record.name}")

    def _file_into_folders(self, old_id: str, new_id: str, entry: Entry) -> list[str]:
        """File the document in each of its folders of the tree; their ids in the account."""
        context = self._context
        filed = []
        for old_folder in entry.folder_uuids:
            if old_folder not in context.tree:
                log.info("%s: its folder %s is not in the backed-up folder tree; left out", entry.path, old_folder)
                continue
            new_folder = context.folder_ids.get(old_folder)
            if new_folder is None:
                raise UnrestorableError("one of its folders could not be made")
            self._membership(Step(old_id, MEMBERSHIP, old_folder), new_id, new_folder, entry.path)
            filed.append(new_folder)
        return filed

    def _membership(self, step: Step, new_id: str, folder_id: str, path: str) -> None:
        def find() -> str | None:
            document = self._context.api.document_record(new_id) or {}
            return DONE if folder_id in (document.get("folder_uuids") or []) else None

        self._take(step, lambda: self._add(folder_id, new_id), find, f"the filing of {path} in a folder")

    def _annotations(self, old_id: str, new_id: str, entry: Entry, hashes: set[str]) -> int:
        """Make each annotation the backup holds of the document again; how many this run made. One that is already
        the account's (a run killed after rewriting annotations.json for the new ids) is done."""
        made = self._context.journal.made_ids(old_id, ANNOTATION)
        return sum(self._annotation(Step(old_id, ANNOTATION, str(saved.get("id"))), new_id,
                                    annotation_body(saved, new_id, hashes), f"a {saved.get('type')} of {entry.path}")
                   for saved in self._context.folder.read_annotations(entry.path) if str(saved.get("id")) not in made)

    def _annotation(self, step: Step, new_id: str, body: dict[str, Any], what: str) -> bool:
        context = self._context

        def find() -> str | None:
            taken = context.journal.made_ids(str(step.document), ANNOTATION)
            return next((str(item["id"]) for item in context.api.annotations(document_id=new_id).items
                         if str(item.get("id")) not in taken and same_annotation(body, item)), None)

        return self._take(step, lambda: str(context.writer.create_annotation(body)["id"]), find, what)[1]

    # Finding what a step may have made --------------------------------------------------------------------------

    def _find_document(self, old_id: str, body: dict[str, Any]) -> str | None:
        """The account's document that a step begun at `since` made from `body`, if there is one: made since then,
        held by no other backed-up document, with every field sent."""
        context = self._context
        since = (context.journal.since(old_id) or context.clock.now()) - LOOK_BACK
        taken = context.journal.made_documents()
        listed = context.api.documents(context.group_id, modified_since=since).items
        for document in sorted(listed, key=lambda item: (str(item.get("created")), str(item.get("id")))):
            new_id, created = str(document.get("id")), parse_time(document.get("created"))
            if new_id in taken or context.held(new_id) or (created is not None and created < since):
                continue
            if same_document(body, document):
                return new_id
        return None

    def _in_trash(self, new_id: str) -> str | None:
        return DONE if self._context.api.document_record(new_id, trashed=True) is not None else None

    def _add(self, folder_id: str, new_id: str) -> str:
        self._context.writer.add_to_folder(folder_id, new_id)
        return DONE

    def _trash(self, new_id: str) -> str:
        self._context.writer.trash_document(new_id)
        return DONE

    def _take(self, step: Step, create: Callable[[], str], find: Callable[[], str | None], what: str,
              since: datetime | None = None) -> tuple[str, bool]:
        return self._context.journal.take(step, self._context.writer, create, find, what, since)

    # The backup's side ------------------------------------------------------------------------------------------

    def _checked_files(self, entry: Entry) -> list[tuple[str, FileRecord]]:
        """The document's files as the backup holds them, each checked against the SHA-1 the backup recorded (one
        of a backup of the original tool, never checked, gets its SHA-1 now)."""
        checked = []
        for file_id, record in entry.files.items():
            found = self._context.folder.sha1(f"{entry.path}/{record.name}")
            if found is None or (record.sha1 and found != record.sha1.lower()):
                raise UnrestorableError(f"its file {entry.path}/{record.name} is missing or damaged (its SHA-1 is "
                                        f"not the one backed up); run a backup with --verify against the account "
                                        f"it came from")
            checked.append((file_id, FileRecord(record.name, found, record.size, record.mtime_ns)))
        return checked

    def _bytes(self, path: str, record: FileRecord) -> bytes:
        """A file's bytes, as backed up (checked again: they are read again to be sent)."""
        data = self._context.folder.path(f"{path}/{record.name}").read_bytes()
        if hashlib.sha1(data).hexdigest() != record.sha1:
            raise UnrestorableError(f"its file {path}/{record.name} changed while it was being restored")
        return data

    def _rebased(self, restored: Restored, files: dict[str, FileRecord], folder_ids: list[str]) -> Restored:
        """Rewrite the document's folder in the backup for what the account now holds: its info.json (the account's
        record, new ids), its annotations.json; and make its entry for the state."""
        context, entry = self._context, restored.entry
        new_id = restored.new_id
        document = context.api.document_record(new_id, trashed=entry.trashed)
        if document is None:
            raise UnrestorableError("the account no longer lists the document just restored")
        annotations = context.api.annotations(document_id=new_id).items
        signatures = {file_id: context.folder.signature(f"{entry.path}/{record.name}") for file_id, record in
                      files.items()}
        with context.folder.fatal_errors():
            context.folder.write_document(entry.path, document, {file_id: record.name for file_id, record in
                                                                 files.items()})
            context.folder.write_annotations(entry.path, annotations)
        restored.document = document
        restored.entry = Entry(
            path=entry.path, last_modified=document.get("last_modified"), created=str(document.get("created") or ""),
            files={file_id: FileRecord(record.name, record.sha1, *(signatures[file_id] or (None, None)))
                   for file_id, record in files.items()},
            folder_uuids=tuple(sorted(str(folder_id) for folder_id in document.get("folder_uuids", folder_ids))),
            annotations={str(item["id"]): str(item.get("last_modified") or "") for item in annotations},
            trashed=entry.trashed)
        return restored
