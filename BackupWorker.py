"""Backs up one library (the user's own, or one group) into one backup folder, in one direction:
check → snapshot → plan → guard → apply → remove → exports → advance. Knows nothing of the command line.
"""

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from AnnotatedCopies import DROP, MAKE, AnnotatedCopies, ProfileNames
from Applier import LIBRARY, Applier, Failure, LibraryResult, item_name
from BackupFolder import BIBTEX_FILE, FOLDERS_FILE, RIS_FILE, BackupFolder
from Config import BackupOptions
from DocumentInfo import BackupState
from LibraryExport import update_exports
from MendeleyApi import MendeleyApi
from Naming import Pattern, parse_pattern
from Planner import MISSING, MOVED, NEW, REMOVED, RESIZED, TOUCHED, UPDATED, Plan, Planner
from RemoteLibrary import ListedDocuments, Snapshot, fetch_snapshot
from RestoreJournal import refuse_unfinished_restore
from Timestamps import format_time
from Transfers import Concurrency

log = logging.getLogger(__name__)

# The next incremental listing starts this long before the server's clock at the start of this one, so a
# change committed while the listing ran, or stamped by a server whose clock lags, is still seen.
CUTOFF_OVERLAP = timedelta(seconds=60)
# A run that would remove this many documents or fewer is never held back by --max-delete: deleting the last
# documents of a small library is an everyday change (the original reports it as `0 new / 1 removed`).
MASS_DELETION_FLOOR = 5
# How many of the removals held back a run names.
NAMED = 5


def doubtful_files(folder: BackupFolder, state: BackupState) -> dict[str, dict[str, str]]:
    """Every backed-up file whose size and mtime (one stat each, no hashing) are not the state's: by document id and
    file id, MISSING (or not a plain file), RESIZED or TOUCHED. Files not yet checked by their hash (a backup of the
    original tool) are left out: a full listing checks them anyway."""
    found: dict[str, dict[str, str]] = {}
    with folder.signatures() as signature:
        for doc_id, entry in state.entries.items():
            for file_id, record in entry.files.items():
                if record.sha1 is None:
                    continue
                now = signature(f"{entry.path}/{record.name}")
                if now != (record.size, record.mtime_ns):
                    found.setdefault(doc_id, {})[file_id] = \
                        MISSING if now is None else RESIZED if now[0] != record.size else TOUCHED
    return found


def write_outdated_exports(folder: BackupFolder, state: BackupState, label: str,
                           folders: Mapping[str, Mapping[str, Any]] | None = None) -> Failure | None:
    """Write library.bib and library.ris when documents changed or one of them is missing, with the folder tree
    `folders` (the state's by default); the failure, if any."""
    if not state.exports_outdated and folder.has(BIBTEX_FILE) and folder.has(RIS_FILE):
        return None
    try:
        with folder.fatal_errors():
            update_exports(folder, state.entries, (), state.folders if folders is None else folders)
        state.set_exports_outdated(False)
    except OSError as error:
        log.error("%s: could not write the exports: %s", label, error)
        return Failure(item_name(label, "exports"), str(error))
    return None


class BackupWorker:
    def __init__(self, api: MendeleyApi, folder: BackupFolder, state: BackupState, options: BackupOptions,
                 transfers: Concurrency, group_id: str | None = None, label: str = LIBRARY) -> None:
        self._api = api
        self._transfers = transfers
        self._folder = folder
        self._state = state
        self._options = options
        self._group_id = group_id
        self._label = label

    def run(self) -> LibraryResult:
        """Back the library up; the state is checkpointed on the way, and saved at the end by the caller (with the
        record of the run, for the user's library: one write of a state that may be megabytes)."""
        refuse_unfinished_restore(self._folder)
        # The listing is kept on disk, in the backup's temporary folder once there is one (a new backup's is made
        # only once the server has answered).
        temp_dir = self._folder.writer.temp_dir
        with ListedDocuments(temp_dir if temp_dir.is_dir() else None) as listed:
            return self._run(listed)

    def _run(self, listed: ListedDocuments) -> LibraryResult:
        pattern = parse_pattern(self._state.pattern)
        if self._options.verify:
            self._verify_local_copies()
            doubts: dict[str, dict[str, str]] = {}
            snapshot = self._snapshot(pattern, listed)
        else:
            # The stat of every file waits on the disk, the listings on the server: the one runs while the other does.
            with ThreadPoolExecutor(1, thread_name_prefix="stat-check") as checker:
                checked = checker.submit(self._check_local_copies)
                snapshot = self._snapshot(pattern, listed)
                doubts = checked.result()
        if not self._options.dry_run:
            self._folder.begin(self._state)  # a new backup's folder is made only now that the server has answered
        plan = Planner(self._state, pattern, self._options.keep_trashed, self._folder.path_chars).plan(
            snapshot, self._folder.documents(self._state), doubts)
        held_back = self._hold_back_mass_deletion(plan)
        self._log_plan(plan)
        copies = AnnotatedCopies(self._folder, self._state, self._label,
                                 MAKE if self._options.annotated_pdfs else DROP, ProfileNames(self._api),
                                 self._options.verify)
        if self._options.dry_run:
            lines = plan.describe() + copies.describe(plan)
            return LibraryResult(
                counts=plan.counts, annotation_changes=plan.annotation_changes, held_back=held_back,
                plan_lines=[f"{self._label}: {line}" for line in lines]).with_totals(self._state)
        folder_tree = snapshot.folders if snapshot.folders_complete else self._state.folders
        if plan.documents or plan.removals or folder_tree != self._state.folders:
            # Checkpointed: a run killed before the exports leaves them to the next. A renamed folder moves no
            # document (without %folder) but changes the exports' groups.
            self._state.set_exports_outdated(True)
        applier = Applier(self._folder, self._api, self._state, self._transfers, self._options.progress,
                          self._label, listing=snapshot.documents, copies=copies)
        result = applier.apply(plan)
        if result.failures:
            log.warning("%s: %d document(s) could not be backed up; removals are postponed to a run without errors",
                        self._label, len(result.failures))
        else:
            applier.remove(plan, result)
        result.held_back = held_back
        self._write_folder_tree(snapshot)
        # The exports read every document again: let the listing and the plan go first, so that a large library
        # is not held in memory twice.
        snapshot = snapshot.without_items()
        del plan, applier
        listed.close()
        failure = write_outdated_exports(self._folder, self._state, self._label, folder_tree)
        if failure:
            result.failures.append(failure)
        # Removals held back must be seen again by the next run: the cut-off stays where it was.
        self._advance(snapshot, succeeded=not result.failures and not held_back)
        return result.with_totals(self._state)

    def _snapshot(self, pattern: Pattern, listed: ListedDocuments) -> Snapshot:
        state = self._state
        full = self._full_listing_due()
        log.info("%s: %s", self._label, "listing the whole library" if full or not state.cutoff else
                 f"listing what changed since {format_time(state.cutoff)}")
        return fetch_snapshot(self._api, self._group_id, state.cutoff, full, pattern.uses_folders, state.entries,
                              listed, self._options.progress, self._label)

    def _full_listing_due(self) -> bool:
        """A full listing is the safety net under incremental runs: asked for, first run, or every N days."""
        state, options = self._state, self._options
        if options.full or options.verify or state.from_original or not state.cutoff or not state.last_full_listing:
            return True
        return state.cutoff - state.last_full_listing >= timedelta(days=options.full_every_days)

    def _hold_back_mass_deletion(self, plan: Plan) -> list[str]:
        """Past --max-delete (and more than a few documents), take the removals out of the plan and name them; the
        rest of the run goes on. Only removals delete backed-up documents (those kept from the trash included);
        moving a document to the kept trash deletes nothing, however many are moved."""
        held = len(self._state.entries)
        removed = len(plan.removals)
        limit = held * self._options.max_delete_percent / 100
        if self._options.force or removed <= max(limit, MASS_DELETION_FLOOR):
            return []
        held_back = [removal.entry.path for removal in plan.removals]
        plan.removals = []
        more = f" and {len(held_back) - NAMED} more" if len(held_back) > NAMED else ""
        log.warning("%s: the removal of %d of %d backed-up documents is held back, more than --max-delete %g%% (%s%s); "
                    "the rest of the run goes on. If they really were deleted in Mendeley, run again with --force, "
                    "or with a larger --max-delete", self._label, removed, held,
                    self._options.max_delete_percent, "; ".join(held_back[:NAMED]), more)
        return held_back

    def _log_plan(self, plan: Plan) -> None:
        counts = plan.counts
        log.info("%s: %d document(s) to add, %d to update, %d to move, %d to remove; %d file(s) to download",
                 self._label, counts[NEW], counts[UPDATED], counts[MOVED], counts[REMOVED],
                 sum(file.needs_download for doc_plan in plan.documents for file in doc_plan.files))

    def _check_local_copies(self) -> dict[str, dict[str, str]]:
        """Every plain run: a stat of each backed-up file; one gone or changed is checked and fetched again."""
        doubts = doubtful_files(self._folder, self._state)
        for doc_id, files in doubts.items():
            entry = self._state.entries[doc_id]
            for file_id, doubt in files.items():
                path = self._folder.path(f"{entry.path}/{entry.files[file_id].name}")
                if doubt == TOUCHED:
                    log.info("%s: %s has another modification time than when it was backed up; checking it",
                             self._label, path)
                else:
                    log.warning("%s: %s is %s; it will be fetched again", self._label, path,
                                "missing" if doubt == MISSING else "of another size than when it was backed up")
        return doubts

    def _verify_local_copies(self) -> None:
        """For --verify: hash every file the backup holds; a missing or damaged copy is fetched again."""
        for doc_id, entry in self._state.entries.items():
            if not self._folder.has_document_info(entry.path):
                self._state.mark_legacy(doc_id)
            for file_id, record in entry.files.items():
                path = f"{entry.path}/{record.name}"
                actual = self._folder.sha1(path)
                if actual != record.sha1:
                    log.warning("%s: %s is missing or damaged; it will be fetched again", self._label,
                                self._folder.path(path))
                self._state.checked_file(doc_id, file_id, actual, self._folder.signature(path))

    def _write_folder_tree(self, snapshot: Snapshot) -> None:
        if snapshot.folders_complete and (snapshot.folders != self._state.folders
                                          or not self._folder.has(FOLDERS_FILE)):
            self._folder.write_folder_tree(snapshot.folders)

    def _advance(self, snapshot: Snapshot, succeeded: bool) -> None:
        """Move the incremental cut-off to the server's clock, and take the folder tree as the one the documents'
        folders follow (a rename the run failed to carry out is tried again from it), only when the run missed
        nothing."""
        if not succeeded or snapshot.incomplete:
            return
        self._state.follow_folders(snapshot.folders)
        server_time = snapshot.server_time or snapshot.newest_change
        if server_time is not None:
            self._state.advance(server_time - CUTOFF_OVERLAP,
                                full_listing_at=server_time if snapshot.full and snapshot.trash_full else None)
