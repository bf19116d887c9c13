"""Backs up one library (the user's own, or one group) into one backup folder, in one direction:
snapshot → plan → guard → apply → remove → exports → advance. Knows nothing of the command line.
"""

import logging
from datetime import timedelta

from Applier import Applier, LibraryResult
from BackupFolder import BIBTEX_FILE, FOLDERS_FILE, RIS_FILE, BackupFolder
from Config import BackupOptions
from DocumentInfo import BackupState
from Errors import MassDeletionError
from LibraryExport import write_exports
from MendeleyApi import MendeleyApi
from Naming import Pattern, parse_pattern
from Planner import MOVED, NEW, REMOVED, UPDATED, Plan, Planner
from RemoteLibrary import Snapshot, fetch_snapshot
from Timestamps import format_time
from Transfers import Concurrency

log = logging.getLogger(__name__)

# The next incremental listing starts this long before the server's clock at the start of this one, so a
# change committed while the listing ran, or stamped by a server whose clock lags, is still seen.
CUTOFF_OVERLAP = timedelta(seconds=60)


class BackupWorker:
    def __init__(self, api: MendeleyApi, folder: BackupFolder, state: BackupState, options: BackupOptions,
                 transfers: Concurrency, group_id: str | None = None, label: str = "library") -> None:
        self._api = api
        self._transfers = transfers
        self._folder = folder
        self._state = state
        self._options = options
        self._group_id = group_id
        self._label = label

    def run(self) -> LibraryResult:
        pattern = parse_pattern(self._state.pattern)
        if self._options.verify:
            self._verify_local_copies()
        snapshot = self._snapshot(pattern)
        plan = Planner(self._state, pattern, self._options.keep_trashed, self._folder.path_chars).plan(
            snapshot, self._folder.documents(self._state))
        self._check_mass_deletion(plan)
        self._log_plan(plan)
        if self._options.dry_run:
            return LibraryResult(counts=plan.counts, annotation_changes=plan.annotation_changes,
                                 plan_lines=[f"{self._label}: {line}" for line in plan.describe()])
        if plan.documents or plan.removals:
            self._state.set_exports_outdated(True)  # checkpointed: a run killed before the exports leaves them
        applier = Applier(self._folder, self._api, self._state, self._transfers, self._options.progress,
                          self._label)
        result = applier.apply(plan)
        if result.failures:
            log.warning("%s: %d document(s) could not be backed up; removals are postponed to a run without errors",
                        self._label, len(result.failures))
        else:
            applier.remove(plan, result)
        self._write_folder_tree(snapshot)
        # The exports read every document again: let the listing and the plan go first, so that a large library
        # is not held in memory twice.
        snapshot = snapshot.without_items()
        del plan
        self._write_exports(result)
        self._advance(snapshot, succeeded=not result.failures)
        self._folder.save_state(self._state)
        return result

    def _snapshot(self, pattern: Pattern) -> Snapshot:
        state = self._state
        full = self._full_listing_due()
        log.info("%s: %s", self._label, "listing the whole library" if full or not state.cutoff else
                 f"listing what changed since {format_time(state.cutoff)}")
        return fetch_snapshot(self._api, self._group_id, state.cutoff, full, pattern.uses_folders, state.entries)

    def _full_listing_due(self) -> bool:
        """A full listing is the safety net under incremental runs: asked for, first run, or every N days."""
        state, options = self._state, self._options
        if options.full or options.verify or state.from_original or not state.cutoff or not state.last_full_listing:
            return True
        return state.cutoff - state.last_full_listing >= timedelta(days=options.full_every_days)

    def _check_mass_deletion(self, plan: Plan) -> None:
        """Only removals delete backed-up documents (those kept from the trash included); moving a document to
        the kept trash deletes nothing, however many are moved."""
        held = len(self._state.entries)
        removed = len(plan.removals)
        limit = held * self._options.max_delete_percent / 100
        if held and removed > limit and not self._options.force:
            raise MassDeletionError(
                f"{self._label}: this run would remove {removed} of {held} backed-up documents, more than "
                f"--max-delete {self._options.max_delete_percent:g}%; nothing was changed. If they really were "
                f"deleted in Mendeley, run again with --force")

    def _log_plan(self, plan: Plan) -> None:
        counts = plan.counts
        log.info("%s: %d document(s) to add, %d to update, %d to move, %d to remove; %d file(s) to download",
                 self._label, counts[NEW], counts[UPDATED], counts[MOVED], counts[REMOVED],
                 sum(file.needs_download for doc_plan in plan.documents for file in doc_plan.files))

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

    def _write_exports(self, result: LibraryResult) -> None:
        """Write library.bib and library.ris when documents changed or one of them is missing."""
        if not self._state.exports_outdated and self._folder.has(BIBTEX_FILE) and self._folder.has(RIS_FILE):
            return
        try:
            with self._folder.fatal_errors():
                write_exports(self._folder, self._state)
            self._state.set_exports_outdated(False)
        except OSError as error:
            log.error("%s: could not write the exports: %s", self._label, error)
            result.failures.append(f"exports: {error}")

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
