"""Carries out a plan in a backup folder.

Two phases. The first only adds: it downloads, moves and writes documents, and a document's entry in the
state is updated only once its folder is complete. The second removes (documents the server lost, files no
longer attached, annotations deleted) and runs only when the first had no error, so a bad day on the network
never costs a backed-up byte. Files a document no longer has are remembered in the state as pending
removals until a successful run deletes them.
"""

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from DocumentInfo import (
    ANNOTATIONS_FILE,
    DOCUMENT_INFO,
    AtomicWriter,
    BackupState,
    Entry,
    FileRecord,
    document_info_json,
    read_annotations,
    read_document_info,
)
from LocalFiles import ensure_folder, fsync_dir, inside, prune_folders, remove_file, sha1_of, signature
from MendeleyApi import MendeleyApi
from Naming import collision_key
from Planner import DocumentPlan, FilePlan, Removal

log = logging.getLogger(__name__)


class NotOursError(OSError):
    """A file stands where the backup wants to write, and the backup did not put it there."""


class Applier:
    def __init__(self, root: Path, api: MendeleyApi, writer: AtomicWriter, state: BackupState, lock: threading.Lock,
                 on_bytes: Callable[[int], None]) -> None:
        self._root = root
        self._api = api
        self._writer = writer
        self._state = state
        self._on_bytes = on_bytes
        self.lock = lock  # guards the state, which download threads update
        self._owned = {collision_key(path) for path in _owned_paths(state)}

    # Phase one ------------------------------------------------------------------------------------------

    def apply_document(self, plan: DocumentPlan) -> bool:
        """Bring one document's folder to the plan; True when a file had to be fetched or replaced."""
        with self.lock:
            entry = self._state.entries.get(plan.doc_id)
        source = plan.old_path or plan.path
        folder = ensure_folder(self._root, plan.path)
        fetched = False
        records: dict[str, FileRecord] = {}
        for file_plan in plan.files:
            records[file_plan.file_id], downloaded = self._place(file_plan, source, plan.path)
            fetched = fetched or downloaded
        annotations = self._write_annotations(plan, entry, source, folder)
        document = plan.document if plan.document is not None else \
            read_document_info(inside(self._root, source))[0] or {"id": plan.doc_id}
        self._writer.write_json(folder / DOCUMENT_INFO, document_info_json(document, {
            file_id: record.name for file_id, record in records.items()}))
        if plan.moves:
            for name in (DOCUMENT_INFO, ANNOTATIONS_FILE):
                remove_file(self._root, f"{plan.old_path}/{name}")
            prune_folders(self._root, str(plan.old_path))
        fsync_dir(folder)
        with self.lock:
            self._state.pending.extend(f"{source}/{record.name}" for record in plan.removed_files.values())
            self._state.entries[plan.doc_id] = Entry(
                path=plan.path, last_modified=plan.last_modified, files=records, folder_uuids=plan.folder_uuids,
                annotations=annotations, trashed=plan.trashed, created=plan.created)
            self._owned.update(collision_key(f"{plan.path}/{record.name}") for record in records.values())
        return fetched

    def _place(self, plan: FilePlan, source: str, target: str) -> tuple[FileRecord, bool]:
        """Put one file in place: move or keep the backup's copy when it is good, fetch it otherwise."""
        destination_path = f"{target}/{plan.name}"
        destination = inside(self._root, destination_path)
        expected = (plan.sha1 or "").lower() or None
        if plan.local:
            origin = inside(self._root, f"{source}/{plan.local.name}")
            if origin != destination and origin.is_file() and not origin.is_symlink():
                if destination.exists() and collision_key(destination_path) not in self._owned:
                    raise NotOursError(f"{destination} is in the way and was not written by mendeley-backup")
                os.replace(origin, destination)
                self._own(destination_path)  # the backup's own copy, moved: a wrong one is replaced like any of ours
            elif origin != destination and not origin.exists() and destination.is_file():
                self._own(destination_path)  # moved here by a run killed before it could save the state
            current = signature(destination)
            if current and not plan.needs_download and plan.local.sha1 and \
                    current == (plan.local.size, plan.local.mtime_ns):
                return FileRecord(plan.name, plan.local.sha1, *current), False
        if destination.is_file():
            found = sha1_of(destination)
            wanted = expected or (plan.local.sha1 if plan.local else None)
            if found and found == wanted:
                return self._record(plan.name, found, destination), False
            if collision_key(destination_path) not in self._owned:
                raise NotOursError(f"{destination} is in the way and was not written by mendeley-backup")
        temporary = self._writer.temp_path(plan.name)
        try:
            found = self._api.download(plan.file_id, temporary, plan.size, expected, self._on_bytes)
            self._writer.install(temporary, destination)
        finally:
            temporary.unlink(missing_ok=True)
        return self._record(plan.name, found, destination), True

    def _own(self, path: str) -> None:
        with self.lock:
            self._owned.add(collision_key(path))

    @staticmethod
    def _record(name: str, sha1: str, path: Path) -> FileRecord:
        size, mtime_ns = signature(path) or (None, None)
        return FileRecord(name, sha1, size, mtime_ns)

    def _write_annotations(self, plan: DocumentPlan, entry: Entry | None, source: str, folder: Path) -> dict[str, str]:
        """Add and update the document's annotations (removals wait for phase two); their ids and times."""
        held = read_annotations(inside(self._root, source)) if entry and entry.annotations else []
        merged = {str(item.get("id")): item for item in held}
        merged.update({str(item.get("id")): item for item in plan.annotation_upserts})
        if plan.annotation_upserts or (plan.moves and merged):
            self._writer.write_json(folder / ANNOTATIONS_FILE, _ordered(merged.values()))
        return {annotation_id: str(item.get("last_modified") or "") for annotation_id, item in merged.items()}

    # Phase two ------------------------------------------------------------------------------------------

    def remove_document(self, removal: Removal) -> None:
        entry = removal.entry
        for name in [record.name for record in entry.files.values()] + [DOCUMENT_INFO, ANNOTATIONS_FILE]:
            remove_file(self._root, f"{entry.path}/{name}")
        prune_folders(self._root, entry.path)
        with self.lock:
            self._state.entries.pop(removal.doc_id, None)

    def pending_files(self) -> list[str]:
        """Files no document has any more, waiting for a run without errors to delete them."""
        with self.lock:
            return sorted(set(self._state.pending))

    def remove_pending_file(self, path: str) -> None:
        remove_file(self._root, path)
        prune_folders(self._root, path.rsplit("/", 1)[0])
        with self.lock:
            self._state.pending = [pending for pending in self._state.pending if pending != path]

    def remove_annotations(self, plan: DocumentPlan) -> None:
        entry = self._state.entries.get(plan.doc_id)
        if entry is None or not plan.annotation_removals:
            return
        folder = inside(self._root, entry.path)
        kept = [item for item in read_annotations(folder) if str(item.get("id")) not in plan.annotation_removals]
        if kept:
            self._writer.write_json(folder / ANNOTATIONS_FILE, _ordered(kept))
        else:
            remove_file(self._root, f"{entry.path}/{ANNOTATIONS_FILE}")
        with self.lock:
            for annotation_id in plan.annotation_removals:
                entry.annotations.pop(annotation_id, None)


def _ordered(annotations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(annotations, key=lambda item: (str(item.get("created") or ""), str(item.get("id"))))


def _owned_paths(state: BackupState) -> Iterable[str]:
    """Every file path the state says the backup wrote."""
    for entry in state.entries.values():
        for record in entry.files.values():
            yield f"{entry.path}/{record.name}"
        yield f"{entry.path}/{DOCUMENT_INFO}"
        yield f"{entry.path}/{ANNOTATIONS_FILE}"
    yield from state.pending
