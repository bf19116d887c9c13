"""Backs up one library (the user's own, or one group) into one folder: ask the server what changed, plan,
check the plan is sane, apply it, save the state. Knows nothing of the command line.
"""

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from Applier import Applier
from DocumentInfo import (
    DOCUMENT_INFO,
    FOLDERS_FILE,
    STATE_FILE,
    AtomicWriter,
    BackupState,
    read_document_info,
    read_json,
)
from Errors import ApiError, BackupError, LoginError
from LibraryExport import write_exports
from LocalFiles import fatal_error, inside, is_fatal, sha1_of, signature
from MendeleyApi import MendeleyApi
from Naming import parse_pattern
from Planner import MOVED, NEW, REMOVED, UPDATED, DocumentPlan, Plan, Planner, documents_to_reread
from RemoteLibrary import Snapshot, fetch_snapshot
from Timestamps import format_time

log = logging.getLogger(__name__)

# The next incremental listing starts this long before the server's clock at the start of this one, so a
# change committed while the listing ran, or stamped by a server whose clock lags, is still seen.
CUTOFF_OVERLAP = timedelta(seconds=60)
CHECKPOINT_SECONDS = 2.0

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 4
    dry_run: bool = False
    full: bool = False
    full_every_days: float = 7.0
    verify: bool = False
    max_delete_percent: float = 50.0
    force: bool = False
    keep_trashed: bool = False
    progress: bool = False


@dataclass
class LibraryResult:
    counts: Counter[str] = field(default_factory=Counter)
    annotation_changes: int = 0
    failures: list[str] = field(default_factory=list)
    plan_lines: list[str] = field(default_factory=list)

    def add(self, other: "LibraryResult") -> None:
        self.counts.update(other.counts)
        self.annotation_changes += other.annotation_changes
        self.failures.extend(other.failures)
        self.plan_lines.extend(other.plan_lines)


class MassDeletionError(BackupError):
    """A run would remove more of the backup than the user allows."""


class BackupWorker:
    def __init__(self, api: MendeleyApi, root: Path, writer: AtomicWriter, state: BackupState, options: RunOptions,
                 group_id: str | None = None, label: str = "library") -> None:
        self._api = api
        self._root = root
        self._writer = writer
        self._state = state
        self._options = options
        self._group_id = group_id
        self._label = label
        self._lock = threading.Lock()  # guards the state while download threads update it
        self._applier: Applier | None = None

    def run(self) -> LibraryResult:
        state, options = self._state, self._options
        pattern = parse_pattern(state.pattern)
        if options.verify:
            self._verify_local_copies()
        full = self._full_listing_due()
        log.info("%s: %s", self._label, "listing the whole library" if full or not state.cutoff else
                 f"listing what changed since {format_time(state.cutoff)}")
        snapshot = fetch_snapshot(self._api, self._group_id, state.cutoff, full, pattern.uses_folders, state.entries)
        reread = {doc_id: read_document_info(inside(self._root, state.entries[doc_id].path))[0]
                  for doc_id in documents_to_reread(state.entries, snapshot, state.folders, pattern)}
        plan = Planner(state.entries, pattern, options.keep_trashed, state.pending).plan(snapshot, reread)
        self._check_mass_deletion(plan)
        counts = plan.counts
        log.info("%s: %d document(s) to add, %d to update, %d to move, %d to remove; %d file(s) to download",
                 self._label, counts[NEW], counts[UPDATED], counts[MOVED], counts[REMOVED],
                 sum(file.needs_download for doc_plan in plan.documents for file in doc_plan.files))
        if options.dry_run:
            return LibraryResult(counts=counts, annotation_changes=plan.annotation_changes,
                                 plan_lines=[f"{self._label}: {line}" for line in plan.describe()])
        result = LibraryResult()  # counts what is done as it is done: not a failed document, nor a postponed removal
        if plan.documents or plan.removals:
            self._state.exports_outdated = True  # checkpointed: a run killed before the exports leaves them to the next
        result.failures = self._apply(plan, result)
        if result.failures:
            log.warning("%s: %d document(s) could not be backed up; removals are postponed to a run without errors",
                        self._label, len(result.failures))
        else:
            self._remove(plan, result)
        self._write_folders(snapshot)
        # The exports read every document again: let the listing and the plan go first, so that a large library
        # is not held in memory twice.
        snapshot = snapshot.without_items()
        del plan, reread
        self._write_exports(result)
        self._advance(snapshot, succeeded=not result.failures)
        self.save_state()
        return result

    # Deciding ---------------------------------------------------------------------------------------------

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

    def _verify_local_copies(self) -> None:
        """For --verify: hash every file the backup holds; a missing or damaged copy is fetched again."""
        for entry in self._state.entries.values():
            if read_json(inside(self._root, entry.path) / DOCUMENT_INFO) is None:
                entry.legacy = True
            for record in entry.files.values():
                path = inside(self._root, f"{entry.path}/{record.name}")
                actual = sha1_of(path)
                if actual != record.sha1:
                    log.warning("%s: %s is missing or damaged; it will be fetched again", self._label, path)
                record.sha1 = actual or ""
                record.size, record.mtime_ns = signature(path) or (None, None)

    # Doing ------------------------------------------------------------------------------------------------

    def _apply(self, plan: Plan, result: LibraryResult) -> list[str]:
        """Phase one, in parallel; the state is checkpointed as documents complete. A full disk, a read-only
        folder or a lost login stops the run after saving what is done."""
        failures: list[str] = []
        total_bytes = sum(file.size or 0 for doc in plan.documents for file in doc.files if file.needs_download)
        show = self._options.progress and bool(plan.documents)
        with tqdm(total=len(plan.documents), unit="doc", desc=self._label, disable=not show, leave=False) as docs, \
                tqdm(total=total_bytes, unit="B", unit_scale=True, desc="download", leave=False,
                     disable=not show or not total_bytes) as downloaded, \
                ThreadPoolExecutor(self._options.jobs, thread_name_prefix="download") as pool:
            self._applier = Applier(self._root, self._api, self._writer, self._state, self._lock, downloaded.update)
            last_checkpoint = time.monotonic()
            stop: BackupError | None = None
            stopping = threading.Event()
            for done in _as_completed(pool, self._applier.apply_document, plan.documents, 2 * self._options.jobs,
                                      CHECKPOINT_SECONDS, stopping):
                if done is not None:
                    docs.update()
                    stop = self._collect(done[1], done[0], result, failures) or stop
                    if stop:
                        stopping.set()
                if time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS:
                    self.save_state()
                    last_checkpoint = time.monotonic()
            if stop:
                self.save_state()
                raise stop
        return failures

    def _collect(self, future: Future[bool], doc_plan: DocumentPlan, result: LibraryResult,
                 failures: list[str]) -> BackupError | None:
        """Account for one finished document; the error that must stop the run, if it brought one."""
        error = future.exception()
        if error is None:
            # A document counted as nothing was refreshed silently, unless the check found a damaged copy.
            counted = doc_plan.count_as or (UPDATED if future.result() else None)
            if counted:
                result.counts[counted] += 1
            result.annotation_changes += len(doc_plan.annotation_upserts)
            return None
        if isinstance(error, LoginError):
            return error
        if isinstance(error, OSError) and is_fatal(error):
            return fatal_error(error, self._root)
        if isinstance(error, (ApiError, OSError)):
            log.error("%s: %s: %s", self._label, doc_plan.path, error)
            failures.append(f"{doc_plan.path}: {error}")
            return None
        raise error

    def _remove(self, plan: Plan, result: LibraryResult) -> None:
        """Phase two: only after every download and update of the run succeeded. Each removal stands alone:
        one refused (a symbolic link in the way) is reported and does not hold back the others."""
        applier = self._applier or Applier(self._root, self._api, self._writer, self._state, self._lock, lambda _: None)
        for removal in plan.removals:
            if self._removing(removal.entry.path, result, applier.remove_document, removal):
                result.counts[REMOVED] += 1
        for path in applier.pending_files():
            self._removing(path, result, applier.remove_pending_file, path)
        for doc_plan in plan.documents:
            if doc_plan.annotation_removals and self._removing(doc_plan.path, result, applier.remove_annotations,
                                                               doc_plan):
                result.annotation_changes += len(doc_plan.annotation_removals)

    def _removing(self, what: str, result: LibraryResult, removal: Callable[[Item], None], subject: Item) -> bool:
        """Carry out one removal; False when it was refused. A full disk or read-only folder stops the run."""
        try:
            removal(subject)
        except OSError as error:
            if is_fatal(error):
                self.save_state()
                raise fatal_error(error, self._root) from error
            log.error("%s: could not remove %s: %s", self._label, what, error)
            result.failures.append(f"{what}: could not remove: {error}")
            return False
        return True

    def _write_folders(self, snapshot: Snapshot) -> None:
        if not snapshot.folders_complete or (snapshot.folders == self._state.folders
                                             and (self._root / FOLDERS_FILE).exists()):
            return
        folders = sorted(snapshot.folders.values(), key=lambda folder: str(folder.get("id")))
        self._writer.write_json(self._root / FOLDERS_FILE, folders)

    def _write_exports(self, result: LibraryResult) -> None:
        try:
            write_exports(self._root, self._state, self._writer, force=self._state.exports_outdated)
            self._state.exports_outdated = False
        except OSError as error:
            if is_fatal(error):
                raise fatal_error(error, self._root) from error
            log.error("%s: could not write the exports: %s", self._label, error)
            result.failures.append(f"exports: {error}")

    def _advance(self, snapshot: Snapshot, succeeded: bool) -> None:
        """Move the incremental cut-off to the server's clock, and take the folder tree as the one the documents'
        folders follow (a rename the run failed to carry out is tried again from it), only when the run missed
        nothing."""
        if not succeeded or snapshot.incomplete:
            return
        self._state.folders = snapshot.folders
        server_time: datetime | None = snapshot.server_time or snapshot.newest_change
        if server_time is None:
            return
        self._state.cutoff = server_time - CUTOFF_OVERLAP
        self._state.from_original = False
        if snapshot.full and snapshot.trash_full:
            self._state.last_full_listing = server_time

    def save_state(self) -> None:
        with self._lock:
            data = self._state.to_json()
        self._writer.write_json(self._root / STATE_FILE, data, indent=None)


def _as_completed(pool: ThreadPoolExecutor, work: Callable[[Item], Outcome], items: Iterable[Item], window: int,
                  tick_s: float, stopping: threading.Event) -> Iterator[tuple[Item, Future[Outcome]] | None]:
    """Run `work` on each item in `pool`, at most `window` at a time; yield each (item, its future) as it
    completes, and None whenever `tick_s` passes without one. Once `stopping` is set no further item starts;
    those already running are still waited for.

    Items are handed to the pool as others finish, and each announces itself on a queue: the cost per item
    stays constant, where waiting on every future of a large library costs time in proportion to its size."""
    finished: queue.SimpleQueue[tuple[Item, Future[Outcome]]] = queue.SimpleQueue()
    waiting = iter(items)
    running = 0
    while True:
        while running < window and not stopping.is_set() and (item := next(waiting, None)) is not None:
            pool.submit(work, item).add_done_callback(lambda future, item=item: finished.put((item, future)))
            running += 1
        if not running:
            return
        try:
            done = finished.get(timeout=tick_s)
        except queue.Empty:
            yield None
            continue
        running -= 1
        yield done
