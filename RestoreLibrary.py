"""Restores one backed-up library (the user's own, or one group) into the account logged in, in one direction:
list the account → folder tree → documents in parallel (state checkpoints, journal) → the backup made the account's.

What is restored: every document the backup holds whose id the account does not list (in the library or its
trash); documents the account lists are left alone, and so is everything else in it. Nothing in the account is
ever deleted or changed, only added to. Folders are made where the account has none at the same path.

Once every document is restored the backup folder is the backup of the account: its state, info.json,
annotations.json and folders.json carry the account's ids and times, document folders that the pattern now puts
elsewhere (a pattern with %id) are moved as a backup run would, the exports are written again, and the cut-off
is put where the account's next incremental listing must begin. A plain backup of the account then finds
nothing to do.
"""

import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tqdm import tqdm

from Applier import LIBRARY, Applier, Failure, item_name, run_as_completed
from BackupFolder import FOLDERS_FILE, BackupFolder
from BackupWorker import CUTOFF_OVERLAP, write_outdated_exports
from Config import BackupOptions
from DocumentInfo import BackupState, Entry
from Errors import ApiError, BackupError, BackupFolderError, LoginError
from MendeleyApi import MendeleyApi
from Naming import parse_pattern, render_path
from PathAllocator import fits_folder
from Planner import MOVED, Planner, folder_path
from RemoteLibrary import Snapshot
from RestoreContent import folder_paths
from RestoreDocument import DocumentRestorer, RestoreContext, Restored, ServerClock
from RestoreJournal import RestoreJournal, folder_step
from Transfers import Concurrency

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2.0
# The summary's counts.
DOCUMENTS, FILES, FOLDERS, ANNOTATIONS, LEFT_ALONE = "documents", "files", "folders", "annotations", "left alone"


@dataclass
class RestoreResult:
    """What a restore did (or, in a dry run, would do): the summary's counts, the items that failed, and the bytes
    uploaded."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    plan_lines: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0

    def add(self, other: "RestoreResult") -> None:
        self.counts.update(other.counts)
        self.failures.extend(other.failures)
        self.plan_lines.extend(other.plan_lines)
        self.bytes_uploaded += other.bytes_uploaded


@dataclass
class Account:
    """What the account holds of one library before the restore."""

    present: set[str]  # ids of its documents, in the library or in the trash
    folders: dict[str, dict[str, Any]]
    server_time: datetime | None  # the server's clock as the listing began


class LibraryRestore:
    def __init__(self, api: MendeleyApi, writer: MendeleyApi, folder: BackupFolder, state: BackupState,
                 options: BackupOptions, transfers: Concurrency, group_id: str | None = None,
                 label: str = LIBRARY) -> None:
        """`api` reads the account, `writer` (on a write session) adds to it; `transfers`: how many documents are
        restored at once, learnt over the whole restore."""
        self._api = api
        self._writer = writer
        self._folder = folder
        self._state = state
        self._options = options
        self._transfers = transfers
        self._group_id = group_id
        self._label = label
        self._result = RestoreResult()
        self._bytes_lock = threading.Lock()

    def run(self) -> RestoreResult:
        account = self._account()
        journal = RestoreJournal.open(self._folder, self._options.dry_run)
        journal.start(account.server_time or ServerClock(None).now())
        todo = sorted(((doc_id, entry) for doc_id, entry in self._state.entries.items()
                       if doc_id not in account.present), key=lambda item: (item[1].created, item[0]))
        self._result.counts[LEFT_ALONE] = len(self._state.entries) - len(todo)
        missing = {doc_id for doc_id, _ in todo}
        # A journal's document the state holds under its new id (or that the account lists again) is done with.
        journal.prune(doc_id for doc_id in journal.documents() if doc_id not in missing)
        tree = self._backed_up_tree()
        if self._options.dry_run:
            self._describe(tree, account, todo)
            return self._result
        folder_ids = self._restore_folders(journal, tree, account)
        context = RestoreContext(self._api, self._writer, journal, self._folder, self._group_id,
                                 ServerClock(account.server_time), folder_ids, set(tree),
                                 held=lambda doc_id: self._state.entry(doc_id) is not None)
        restored = self._restore_documents(DocumentRestorer(context), journal, todo, context)
        if not journal.exists:
            return self._result  # nothing was missing from the account: nothing to do
        if restored:
            self._state.set_exports_outdated(True)
        if not self._result.failures:
            self._finish(journal)
        failure = write_outdated_exports(self._folder, self._state, self._label)
        if failure:
            self._result.failures.append(failure)
        self._folder.save_state(self._state)
        if not self._result.failures:
            journal.remove()
        return self._result

    # The account and the backup ---------------------------------------------------------------------------------

    def _account(self) -> Account:
        """The account's documents (library and trash) and folders; a listing shorter than the server announced
        could make the restore copy a document the account does hold, so it stops the restore of the library."""
        documents = self._api.documents(self._group_id)
        trash = self._api.trash(self._group_id)
        folders = self._api.folders(self._group_id)
        for what, listing in (("documents", documents), ("trash", trash), ("folders", folders)):
            if not listing.complete:
                raise ApiError(f"{self._label}: the account's {what} listing held {len(listing.items)} items where "
                               f"the server announced {listing.expected_count}; nothing was restored, run again")
        present = {str(item.get("id")) for item in documents.items + trash.items}
        return Account(present, {str(item["id"]): item for item in folders.items if item.get("id")},
                       documents.server_time)

    def _backed_up_tree(self) -> dict[str, dict[str, Any]]:
        """The folder tree the backup holds: the state's, or (a backup whose last run did not finish) folders.json."""
        if self._state.folders or not self._folder.has(FOLDERS_FILE):
            return dict(self._state.folders)
        path = self._folder.path(FOLDERS_FILE)
        try:
            with open(path, encoding="utf-8") as handle:
                listed = json.load(handle)
        except (OSError, ValueError) as error:
            raise BackupFolderError(f"Cannot read the backed-up folder tree {path}: {error}") from error
        return {str(item["id"]): item for item in listed if isinstance(item, dict) and item.get("id")}

    def _describe(self, tree: dict[str, dict[str, Any]], account: Account, todo: list[tuple[str, Entry]]) -> None:
        """A dry run: the lines of what the restore would make, and its counts."""
        lines = self._result.plan_lines
        existing = set(folder_paths(account.folders).values())
        for path in folder_paths(tree).values():
            if path not in existing:
                lines.append(f"{self._label}: would create folder: {'/'.join(path)}")
                self._result.counts[FOLDERS] += 1
        for _, entry in todo:
            annotations = len(self._folder.read_annotations(entry.path))
            where = ", into the trash" if entry.trashed else ""
            lines.append(f"{self._label}: would restore: {entry.path} ({len(entry.files)} file(s), "
                         f"{annotations} annotation(s){where})")
            self._result.counts.update({DOCUMENTS: 1, FILES: len(entry.files), ANNOTATIONS: annotations})

    # Folders ----------------------------------------------------------------------------------------------------

    def _restore_folders(self, journal: RestoreJournal, tree: dict[str, dict[str, Any]],
                         account: Account) -> dict[str, str]:
        """Each backed-up folder's id in the account: the folder at the same path there, or one made for it,
        parents first."""
        at_path = {path: folder_id for folder_id, path in reversed(folder_paths(account.folders).items())}
        mapped: dict[str, str] = {}
        for old_id, path in folder_paths(tree).items():
            if path in at_path:
                mapped[old_id] = at_path[path]
                continue
            parent = tree[old_id].get("parent_id")
            if parent in tree and parent not in mapped:
                continue  # its parent could not be made: named already
            try:
                new_id, made = self._make_folder(journal, old_id, path, mapped.get(parent) if parent else None)
            except (ApiError, OSError) as error:
                self._failed(f"folder {'/'.join(path)}", error)
                continue
            mapped[old_id] = at_path[path] = new_id
            self._result.counts[FOLDERS] += made
        return mapped

    def _make_folder(self, journal: RestoreJournal, old_id: str, path: tuple[str, ...],
                     parent_id: str | None) -> tuple[str, bool]:
        with self._folder.fatal_errors():
            return journal.take(folder_step(old_id), self._writer,
                                lambda: str(self._writer.create_folder(path[-1], parent_id, self._group_id)["id"]),
                                lambda: self._folder_at(path), f"the folder {'/'.join(path)}")

    def _folder_at(self, path: tuple[str, ...]) -> str | None:
        folders = {str(item["id"]): item for item in self._api.folders(self._group_id).items if item.get("id")}
        return next((folder_id for folder_id, found in folder_paths(folders).items() if found == path), None)

    # Documents --------------------------------------------------------------------------------------------------

    def _restore_documents(self, restorer: DocumentRestorer, journal: RestoreJournal, todo: list[tuple[str, Entry]],
                           context: RestoreContext) -> int:
        """Restore the documents in parallel, each entry of the state replaced by the restored document's once it
        is complete; the state is checkpointed every few seconds, and the journal then lets those documents go.
        Raises the error that stopped the restore (a lost login, a full disk), after saving what was done."""
        transfers = self._transfers
        show = self._options.progress and bool(todo)
        total_bytes = sum(record.size or 0 for _, entry in todo for record in entry.files.values())
        done: list[str] = []
        restored = 0
        stop: BackupError | None = None
        stopping = threading.Event()

        def restore(item: tuple[str, Entry]) -> Restored:
            with transfers.slot():
                return restorer.restore(*item)

        with tqdm(total=len(todo), unit="doc", desc=self._label, disable=not show, leave=False) as bar, \
                tqdm(total=total_bytes, unit="B", unit_scale=True, desc="upload", leave=False,
                     disable=not show or not total_bytes) as uploaded, \
                ThreadPoolExecutor(transfers.ceiling, thread_name_prefix="restore") as pool:
            context.on_bytes = lambda count: self._uploaded(uploaded, count)
            last_checkpoint = time.monotonic()
            # Twice as many documents handed out as may be restored at once, as the Applier does.
            for finished in run_as_completed(pool, restore, todo, lambda: 2 * transfers.limit, CHECKPOINT_SECONDS,
                                             stopping):
                if finished is not None:
                    bar.update()
                    (old_id, entry), future = finished
                    try:
                        with self._folder.fatal_errors():
                            outcome = future.result()
                    except (LoginError, BackupFolderError) as error:
                        stop = stop or error
                        stopping.set()
                    except (ApiError, OSError) as error:
                        self._failed(entry.path, error)
                    else:
                        if entry.files:
                            transfers.completed()
                        self._adopt(old_id, outcome)
                        done.append(old_id)
                        restored += 1
                if time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS:
                    self._checkpoint(journal, done)
                    last_checkpoint = time.monotonic()
        self._checkpoint(journal, done)
        if stop:
            raise stop
        return restored

    def _uploaded(self, bar: tqdm, count: int) -> None:
        """Bytes of file content sent, by any restore thread."""
        with self._bytes_lock:
            self._result.bytes_uploaded += count
        bar.update(count)

    def _adopt(self, old_id: str, restored: Restored) -> None:
        """The state holds the restored document under its new id, in the same folder."""
        self._state.forget(old_id)
        self._state.record(restored.new_id, restored.entry, leaving=restored.leaving)
        self._result.counts.update({DOCUMENTS: 1, FILES: restored.files, ANNOTATIONS: restored.annotations})

    def _checkpoint(self, journal: RestoreJournal, done: list[str]) -> None:
        """Save the state; the journal lets the documents it now holds go."""
        if done:
            self._folder.save_state(self._state)
            journal.prune(done)
            done.clear()

    # The backup made the account's ------------------------------------------------------------------------------

    def _finish(self, journal: RestoreJournal) -> None:
        """Every document is restored: the folder tree is the account's, document folders the pattern now puts
        elsewhere move there, and the cut-off goes back to when the restore began, on the account's clock (or stays
        where it was, if earlier), so that the next run lists every restored document again and finds them
        unchanged."""
        folders = {str(item["id"]): item for item in self._api.folders(self._group_id).items if item.get("id")}
        if folders != self._state.folders or not self._folder.has(FOLDERS_FILE):
            self._folder.write_folder_tree(folders)
        if folders != self._state.folders:
            self._state.set_exports_outdated(True)  # the exports' groups are the folders
        self._state.follow_folders(folders)
        self._move_to_pattern(folders)
        started = journal.started
        if started is not None:
            cutoff = started - CUTOFF_OVERLAP
            self._state.advance(min(cutoff, self._state.cutoff) if self._state.cutoff else cutoff,
                                full_listing_at=None)

    def _move_to_pattern(self, folders: dict[str, dict[str, Any]]) -> None:
        """Move the document folders whose place under the pattern changed with the account's metadata (the new
        ids of %id, the names of %folder), through the planner and the applier, as a backup run would."""
        pattern = parse_pattern(self._state.pattern)
        listed: dict[str, dict[str, Any]] = {}
        for doc_id, entry in self._state.entries.items():
            document = self._folder.read_document(entry.path)[0] if not entry.trashed else {}
            if document and not fits_folder(entry.path, render_path(pattern, document,
                                                                    folder_path(entry.folder_uuids, folders))):
                listed[doc_id] = {**document, "files": [
                    {"id": file_id, "file_name": record.name, "filehash": record.sha1, "size": record.size}
                    for file_id, record in entry.files.items()]}
        if not listed:
            return
        snapshot = Snapshot(documents=listed, folders=folders, folders_complete=True,
                            memberships={doc_id: list(self._state.entries[doc_id].folder_uuids) for doc_id in listed})
        plan = Planner(self._state, pattern, self._options.keep_trashed, self._folder.path_chars).plan(
            snapshot, self._folder.documents(self._state))
        moved = Applier(self._folder, self._api, self._state, self._transfers, self._options.progress,
                        self._label, listing=listed).apply(plan)
        log.info("%s: %d document folder(s) moved to follow the pattern", self._label, moved.counts[MOVED])
        self._result.failures.extend(moved.failures)
        self._state.set_exports_outdated(True)

    def _failed(self, what: str, error: Exception) -> None:
        log.error("%s: %s: %s", self._label, what, error)
        self._result.failures.append(Failure(item_name(self._label, what), str(error)))
