"""--relayout: every document's folder moves to its place under a new pattern, with its files, info.json and
annotations, and nothing is downloaded or asked of the server.

The new pattern is recorded in the state at once, with the moves marked pending (`relayout_pending`), and each
document's new folder as it is complete: a relayout stopped half-way is finished by the next run, a relayout or a
plain backup (which also fetches again a file it finds missing). The moves are planned by Planner.relayout and
carried out by the Applier, as any move of a run is.
"""

import logging
from dataclasses import replace

from Applier import LIBRARY, Applier, Failure, LibraryResult, item_name
from BackupFolder import STATE_FILE, BackupFolder
from BackupWorker import write_outdated_exports
from Config import BackupOptions, Settings
from DocumentInfo import ANNOTATIONS_FILE, DOCUMENT_INFO, BackupState
from Errors import BackupFolderError
from MendeleyApi import MendeleyApi
from Naming import parse_pattern
from Planner import Planner
from Transfers import Concurrency

log = logging.getLogger(__name__)

# Moves are local renames: a few at once is all the disk needs.
MOVING_JOBS = 4


def relayout_backup(settings: Settings) -> LibraryResult:
    """The whole backup under `settings.pattern`: the user's library, then each group it holds."""
    options = settings.backup
    with BackupFolder.opened(settings.output_dir, options.dry_run) as folder:
        state = folder.load_state()
        if state is None:
            raise BackupFolderError(f"{folder.root} holds no backup to lay out again (it has no {STATE_FILE}); "
                                    f"run a backup into it first")
        if state.from_original:
            raise BackupFolderError(f"The backup in {folder.root} was written by the original mendeley-backup and "
                                    f"its files are not checked yet; run mendeley-backup once without --relayout first")
        libraries: list[tuple[BackupFolder, BackupState, str]] = [(folder, state, LIBRARY)]
        for _, group_folder in folder.held_groups(state):
            group_state = group_folder.load_state()
            if group_state is not None:
                libraries.append((group_folder, group_state, f"group {group_folder.root.name}"))
        result = LibraryResult()
        for library_folder, library_state, label in libraries:
            done = relayout_library(library_folder, library_state, options, label, None, settings.pattern)
            if not options.dry_run:
                failure = write_outdated_exports(library_folder, library_state, label)
                if failure:
                    done.failures.append(failure)
                library_folder.save_state(library_state)
            result.add(done.with_totals(library_state))
        return result


def relayout_library(folder: BackupFolder, state: BackupState, options: BackupOptions, label: str,
                     api: MendeleyApi | None, pattern: str | None = None) -> LibraryResult:
    """Move one library's documents to their places under `pattern`, or under the state's own pattern when a
    relayout is pending. With no `api`, a file that is missing cannot be fetched: its document stays where it is,
    and the relayout stays pending. A document whose info.json cannot be read stays where it is too, until a full
    listing gives its metadata again and moves it (that does not keep the relayout pending)."""
    if pattern is not None and pattern != state.pattern:
        log.info("%s: moving every document to its place under the pattern %r (it was %r)", label, pattern,
                 state.pattern)
        state.change_pattern(pattern)
        if not options.dry_run:
            folder.save_state(state)  # a rerun, of either kind, finishes the moves
    if not state.relayout_pending:
        return LibraryResult()
    _find_moved_documents(folder, state, options.dry_run)
    plan, unreadable = Planner(state, parse_pattern(state.pattern), options.keep_trashed).relayout(
        folder.documents(state))
    result = LibraryResult()
    for doc_id in unreadable:
        path = state.entries[doc_id].path
        log.error("%s: %s: its info.json cannot be read, so its place under the pattern is not known; it stays "
                  "where it is until a full listing (--full) moves it", label, path)
        result.failures.append(Failure(item_name(label, path), "its info.json cannot be read"))
    if options.dry_run:
        result.add(LibraryResult(counts=plan.counts, plan_lines=[f"{label}: {line}" for line in plan.describe()]))
        return result
    if plan.documents:
        state.set_exports_outdated(True)
    moved = Applier(folder, api, state, Concurrency(MOVING_JOBS), options.progress, label).apply(plan)
    if not moved.failures:
        state.relaid_out()
    result.add(moved)
    folder.save_state(state)
    return result


def _find_moved_documents(folder: BackupFolder, state: BackupState, dry_run: bool) -> None:
    """A relayout killed after it moved some documents, before its state said so, left them in their new folders:
    found there (by their info.json, which a move writes after the files and before it leaves the old folder), they
    are taken as being where they are, with the file names that info.json gives, and what is left of their old
    folders goes."""
    lost = {doc_id for doc_id, entry in state.entries.items() if not folder.has(f"{entry.path}/{DOCUMENT_INFO}")}
    for doc_id, (path, file_names) in folder.find_documents(lost, state).items() if lost else ():
        entry = state.entries[doc_id]
        log.info("%s was moved to %s by a relayout that was stopped", entry.path, path)
        files = {file_id: replace(record, name=file_names.get(file_id, record.name))
                 for file_id, record in entry.files.items()}
        state.record(doc_id, replace(entry, path=path, files=files))
        if not dry_run:
            folder.remove_file(f"{entry.path}/{ANNOTATIONS_FILE}")
            folder.prune(entry.path)
