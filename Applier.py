"""Carries out a plan in a backup folder, and owns what happens when part of it fails.

Two phases. `apply` only adds: it downloads, moves and writes documents in parallel (with the annotated copies of
their PDFs, which AnnotatedCopies decides and makes), and a document's entry in the state is recorded only once its
folder is complete; the state is checkpointed every few seconds. `remove` deletes (documents the server lost, files
no longer attached, annotations deleted) and is called only when `apply` had no error, so a bad day on the network
never costs a backed-up byte.

Error policy: a document that fails (the API, or a file in the way) is named and the others go on; a lost login, a
full disk or a read-only folder stops the run once the documents in flight are done and the state is saved.
"""

import itertools
import logging
import pickle
import queue
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from tqdm import tqdm

from AnnotatedCopies import AnnotatedCopies
from BackupFolder import BackupFolder
from DocumentInfo import ANNOTATIONS_FILE, DOCUMENT_INFO, NONE_HELD, BackupState, Entry, FileRecord
from Errors import ApiError, BackupError, BackupFolderError, LoginError, NotOursError
from Planner import REMOVED, UPDATED, DocumentPlan, FilePlan, Plan, Removal
from Transfers import Concurrency

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2.0
# A checkpoint of a large library's state takes a while itself: the next waits at least this many times as long, so
# that checkpoints never take more than a small share of the run.
CHECKPOINT_SPACING = 20

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


LIBRARY = "library"  # the label of the user's own library; a group's is `group <name>`


def item_name(label: str, what: str) -> str:
    """How a failed item is named: a document folder (or `exports`) of the user's library as it is, one of a
    group's after the group."""
    return what if label == LIBRARY else f"{label}: {what}"


@dataclass(frozen=True)
class Failure:
    """An item a run could not back up (the next run tries it again), and why."""

    item: str
    error: str


@dataclass
class LibraryResult:
    """What a run did (or, in a dry run, would do): the summary's counts, the items that failed, the removals held
    back by --max-delete, and the totals of what the backup holds and what was downloaded."""

    counts: Counter[str] = field(default_factory=Counter)
    annotation_changes: int = 0
    failures: list[Failure] = field(default_factory=list)
    plan_lines: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # folders of documents whose removal was held back
    documents: int = 0  # documents the backup holds at the end, every file of them checked
    files: int = 0
    bytes_downloaded: int = 0

    def with_totals(self, state: BackupState) -> "LibraryResult":
        """This result of one library's run, with the totals of what its backup now holds."""
        self.documents = len(state.entries)
        self.files = sum(len(entry.files) for entry in state.entries.values())
        return self

    def add(self, other: "LibraryResult") -> None:
        self.counts.update(other.counts)
        self.annotation_changes += other.annotation_changes
        self.failures.extend(other.failures)
        self.plan_lines.extend(other.plan_lines)
        self.held_back.extend(other.held_back)
        self.documents += other.documents
        self.files += other.files
        self.bytes_downloaded += other.bytes_downloaded


class FileSource(Protocol):
    """Where the Applier gets files from: MendeleyApi (or a test's stand-in)."""

    def download(self, file_id: str, destination: BinaryIO, size: int | None, sha1: str | None,
                 on_bytes: Callable[[int], Any]) -> str: ...


class Applier:
    def __init__(self, folder: BackupFolder, api: FileSource | None, state: BackupState, transfers: Concurrency,
                 progress: bool, label: str, listing: Mapping[str, dict[str, Any]] | None = None,
                 copies: AnnotatedCopies | None = None) -> None:
        """`api` None: a run that only moves what the backup holds (--relayout), where nothing may be fetched.
        `listing`: the listed documents' JSON, by id, for the documents the plan says were listed. `copies`: what
        becomes of the annotated copies of PDFs (by default they only move with their documents)."""
        self._folder = folder
        self._copies = copies or AnnotatedCopies(folder, state, label)
        self._api = api
        self._listing: Mapping[str, dict[str, Any]] = listing or {}
        self._state = state
        self._transfers = transfers
        self._progress = progress
        self._label = label
        self._on_bytes: Callable[[int], Any] = lambda _: None
        self._bytes_downloaded = 0
        self._bytes_lock = threading.Lock()
        self._moved_in: set[str] = set()  # files this run moved into place before their document is recorded
        self._moved_lock = threading.Lock()

    # Phase one ------------------------------------------------------------------------------------------

    def apply(self, plan: Plan) -> LibraryResult:
        """Bring every document of the plan to its folder, in parallel; counts what is done as it is done (not a
        failed document). Raises the error that stopped the run, after saving what was done.

        The plan's documents are handed out and let go one by one (a large library's plans are tens of megabytes):
        afterwards the plan keeps only those with annotations for the removal phase to remove."""
        result = LibraryResult()
        total_bytes = sum(file.size or 0 for doc in plan.documents for file in doc.files if file.needs_download)
        show = self._progress and bool(plan.documents)
        stop: BackupError | None = None
        with tqdm(total=len(plan.documents), unit="doc", desc=self._label, disable=not show, leave=False) as docs, \
                tqdm(total=total_bytes, unit="B", unit_scale=True, desc="download", leave=False,
                     disable=not show or not total_bytes) as downloaded, \
                ThreadPoolExecutor(self._transfers.ceiling, thread_name_prefix="download") as pool:
            self._on_bytes = partial(self._downloaded, downloaded)
            stopping = threading.Event()
            planned = {doc.doc_id for doc in plan.documents} | {gone.doc_id for gone in plan.removals}
            todo, plan.documents = plan.documents, [doc for doc in plan.documents if doc.annotation_removals]
            stop = self._run(pool, self._apply_in_slot, _handed_out(todo, self._folder.writer.temp_dir),
                             partial(self._collect, result, docs),
                             stopping)
            if stop is None:
                # Then the held documents whose annotated copies need a look although nothing of them changed.
                stop = self._run(pool, self._copies.refresh, self._copies.held_to_refresh(planned),
                                 partial(self._collect_refresh, result), stopping)
        result.bytes_downloaded = self._bytes_downloaded
        if stop:
            self._folder.save_state(self._state)
            raise stop
        return result

    def _downloaded(self, bar: tqdm, count: int) -> None:
        """Bytes of file content received, by any download thread."""
        with self._bytes_lock:
            self._bytes_downloaded += count
        bar.update(count)

    def _run(self, pool: ThreadPoolExecutor, work: Callable[[Item], Any], items: Iterable[Item],
             collect: Callable[[Item, Future[Any]], BackupError | None],
             stopping: threading.Event) -> BackupError | None:
        """Do `work` on each item in the pool, `collect` accounting for each as it is done, the state checkpointed
        every few seconds; the error that must stop the run, after which no further item starts."""
        stop: BackupError | None = None
        next_checkpoint = time.monotonic() + CHECKPOINT_SECONDS
        # Twice as many items handed out as may transfer at once: one waits while the other runs.
        for done in run_as_completed(pool, work, items, lambda: 2 * self._transfers.limit, CHECKPOINT_SECONDS,
                                     stopping):
            if done is not None:
                stop = collect(*done) or stop
                if stop:
                    stopping.set()
            if time.monotonic() >= next_checkpoint:
                started = time.monotonic()
                self._folder.save_state(self._state)
                next_checkpoint = time.monotonic() + max(CHECKPOINT_SECONDS, CHECKPOINT_SPACING * (
                    time.monotonic() - started))
        return stop

    def _outcome(self, future: Future[Outcome], where: str, result: LibraryResult) -> tuple[bool, BackupError | None]:
        """Whether an item's work succeeded, and the error that must stop the run, if it brought one; a failure of
        the item alone (the API, a file in the way) is named as `where` and counted."""
        try:
            with self._folder.fatal_errors():
                future.result()
        except (LoginError, BackupFolderError) as error:
            return False, error
        except (ApiError, OSError) as error:
            log.error("%s: %s: %s", self._label, where, error)
            result.failures.append(Failure(item_name(self._label, where), str(error)))
            return False, None
        return True, None

    def _collect(self, result: LibraryResult, bar: tqdm, doc_plan: DocumentPlan,
                 future: Future[bool]) -> BackupError | None:
        """Account for one finished document; the error that must stop the run, if it brought one."""
        bar.update()
        # Named where the document is still, if it was to move.
        done, stop = self._outcome(future, doc_plan.old_path or doc_plan.path, result)
        if not done:
            return stop
        fetched = future.result()
        if any(file.needs_download for file in doc_plan.files):
            self._transfers.completed()
        # A document counted as nothing was refreshed silently, unless the check found a damaged copy.
        counted = doc_plan.count_as or (UPDATED if fetched else None)
        if counted:
            result.counts[counted] += 1
        result.annotation_changes += len(doc_plan.annotation_upserts)
        return None

    def _collect_refresh(self, result: LibraryResult, doc_id: str, future: Future[None]) -> BackupError | None:
        """Account for the annotated copies of one held document brought up to date."""
        return self._outcome(future, self._state.entries[doc_id].path, result)[1]

    def _apply_in_slot(self, plan: DocumentPlan) -> bool:
        with self._transfers.slot():
            return self._apply_document(plan)

    def _apply_document(self, plan: DocumentPlan) -> bool:
        """Bring one document's folder to the plan; True when a file had to be fetched or replaced."""
        entry = self._state.entry(plan.doc_id)
        source = plan.old_path or plan.path
        self._folder.ensure_folder(plan.path)
        fetched = False
        records: dict[str, FileRecord] = {}
        for file_plan in plan.files:
            records[file_plan.file_id], downloaded = self._place(file_plan, source, plan.path)
            fetched = fetched or downloaded
        # A run killed while moving this document may have taken its info.json and annotations along already.
        held_at = plan.path if plan.moves and not self._folder.has(f"{source}/{DOCUMENT_INFO}") else source
        annotations = self._write_annotations(plan, entry, held_at)
        copies = self._copies.follow(entry, plan.path, records, [item for annotation_id, item in annotations.items()
                                                                 if annotation_id not in plan.annotation_removals])
        document = self._listing[plan.doc_id] if plan.listed else \
            self._folder.read_document(held_at)[0] or {"id": plan.doc_id}
        self._folder.write_document(plan.path, document,
                                    {file_id: record.name for file_id, record in records.items()}, copies.records,
                                    durable=False)
        if plan.moves:
            for name in (DOCUMENT_INFO, ANNOTATIONS_FILE):
                self._folder.remove_file(f"{plan.old_path}/{name}")
            self._folder.prune(str(plan.old_path))
        # Every file and rename above is made durable, all at once, before a state on disk names them.
        self._state.record(plan.doc_id, Entry(
            path=plan.path, last_modified=plan.last_modified, files=records, folder_uuids=plan.folder_uuids,
            annotations={annotation_id: str(item.get("last_modified") or "") for annotation_id, item in
                         annotations.items()} or NONE_HELD,
            trashed=plan.trashed, created=plan.created, copies=copies.records or NONE_HELD,
            copies_drawing=copies.drawing),
            leaving=itertools.chain((f"{source}/{record.name}" for record in plan.removed_files.values()),
                                    copies.leaving))
        return fetched

    def _place(self, plan: FilePlan, source: str, target: str) -> tuple[FileRecord, bool]:
        """Put one file in place: move or keep the backup's copy when it is good, fetch it otherwise."""
        destination = f"{target}/{plan.name}"
        expected = (plan.sha1 or "").lower() or None
        if plan.local:
            origin = f"{source}/{plan.local.name}"
            if origin != destination and self._folder.is_plain_file(origin):
                if self._folder.has(destination) and not self._is_ours(destination):
                    raise NotOursError(f"{self._folder.path(destination)} is in the way and was not written by "
                                       f"mendeley-backup")
                self._folder.move(origin, destination)
                self._mark_moved_in(destination)  # the backup's own copy: a wrong one is replaced like any of ours
            elif origin != destination and not self._folder.has(origin) and self._folder.is_plain_file(destination):
                self._mark_moved_in(destination)  # moved here by a run killed before it could save the state
            current = self._folder.signature(destination)
            if current and not plan.needs_download and plan.local.sha1 and plan.doubt is None and \
                    current == (plan.local.size, plan.local.mtime_ns):
                return FileRecord(plan.name, plan.local.sha1, *current), False
        if self._folder.is_plain_file(destination):
            found = self._folder.sha1(destination)
            wanted = expected or (plan.local.sha1 if plan.local else None)
            if found and found == wanted:
                return self._record(plan.name, found, destination), False
            if not self._is_ours(destination):
                raise NotOursError(f"{self._folder.path(destination)} is in the way and was not written by "
                                   f"mendeley-backup")
        if self._api is None:
            raise ApiError(f"its file {plan.name} is missing or damaged, and this run fetches nothing; a run without "
                           f"--relayout fetches it again")
        with self._folder.replacing(destination, durable=False) as out:
            found = self._api.download(plan.file_id, out, plan.size, expected, self._on_bytes)
        return self._record(plan.name, found, destination), True

    def _is_ours(self, path: str) -> bool:
        with self._moved_lock:
            if path in self._moved_in:
                return True
        return self._state.holds_file(path)

    def _mark_moved_in(self, path: str) -> None:
        with self._moved_lock:
            self._moved_in.add(path)

    def _record(self, name: str, sha1: str, path: str) -> FileRecord:
        size, mtime_ns = self._folder.signature(path) or (None, None)
        return FileRecord(name, sha1, size, mtime_ns)

    def _write_annotations(self, plan: DocumentPlan, entry: Entry | None, source: str) -> dict[str, dict[str, Any]]:
        """Add and update the document's annotations (removals wait for phase two); all of them by id."""
        held = self._folder.read_annotations(source) if entry and entry.annotations else []
        merged = {str(item.get("id")): item for item in held}
        merged.update({str(item.get("id")): item for item in plan.annotation_upserts})
        if plan.annotation_upserts or (plan.moves and merged):
            self._folder.write_annotations(plan.path, merged.values(), durable=False)
        return merged

    # Phase two ------------------------------------------------------------------------------------------

    def remove(self, plan: Plan, result: LibraryResult) -> None:
        """Only after every download and update of the run succeeded. Each removal stands alone: one refused (a
        symbolic link in the way) is reported and does not hold back the others. A full disk or read-only folder
        stops the run, after saving what was done."""
        try:
            for removal in plan.removals:
                if self._removing(removal.entry.path, result, self._remove_document, removal):
                    result.counts[REMOVED] += 1
            for path in self._state.pending_removals():
                self._removing(path, result, self._remove_pending_file, path)
            for doc_plan in plan.documents:
                if doc_plan.annotation_removals and \
                        self._removing(doc_plan.path, result, self._remove_annotations, doc_plan):
                    result.annotation_changes += len(doc_plan.annotation_removals)
        except BackupFolderError:
            self._folder.save_state(self._state)
            raise

    def _removing(self, what: str, result: LibraryResult, removal: Callable[[Item], None], subject: Item) -> bool:
        """Carry out one removal; False when it was refused."""
        try:
            with self._folder.fatal_errors():
                removal(subject)
        except OSError as error:
            log.error("%s: could not remove %s: %s", self._label, what, error)
            result.failures.append(Failure(item_name(self._label, what), f"could not remove: {error}"))
            return False
        return True

    def _remove_document(self, removal: Removal) -> None:
        entry = removal.entry
        for name in [*(record.name for record in entry.files.values()), *(copy.name for copy in entry.copies.values()),
                     DOCUMENT_INFO, ANNOTATIONS_FILE]:
            self._folder.remove_file(f"{entry.path}/{name}")
        self._folder.prune(entry.path)
        self._state.forget(removal.doc_id)

    def _remove_pending_file(self, path: str) -> None:
        self._folder.remove_file(path)
        self._folder.prune(path.rsplit("/", 1)[0])
        self._state.removed_pending(path)

    def _remove_annotations(self, plan: DocumentPlan) -> None:
        entry = self._state.entry(plan.doc_id)
        if entry is None:
            return
        kept = [item for item in self._folder.read_annotations(entry.path)
                if str(item.get("id")) not in plan.annotation_removals]
        self._folder.write_annotations(entry.path, kept)
        self._state.forget_annotations(plan.doc_id, plan.annotation_removals)


def _handed_out(items: list[Item], directory: Path) -> Iterator[Item]:
    """Each item of `items`, in order, from a temporary file in `directory` (the system's if it is not there): the
    list lets go of them all before the first is handed out. A first backup's plan holds every document of the
    library, over a kilobyte each; let go at once, their memory serves the state's entries that replace them (let
    go one by one as each is done, it was scattered among them, and a hundred thousand documents took both)."""
    with tempfile.TemporaryFile(dir=directory if directory.is_dir() else None) as kept:
        count = len(items)
        items.reverse()
        while items:
            pickle.dump(items.pop(), kept, pickle.HIGHEST_PROTOCOL)  # each pickled, and read back, alone
        kept.seek(0)
        for _ in range(count):
            yield pickle.load(kept)  # what this very function wrote, in a file only it has open


def run_as_completed(pool: ThreadPoolExecutor, work: Callable[[Item], Outcome], items: Iterable[Item],
                     window: Callable[[], int], tick_s: float,
                     stopping: threading.Event) -> Iterator[tuple[Item, Future[Outcome]] | None]:
    """Run `work` on each item in `pool`, at most `window()` at a time; yield each (item, its future) as it
    completes, and None whenever `tick_s` passes without one. Once `stopping` is set no further item starts;
    those already running are still waited for.

    Items are handed to the pool as others finish, and each announces itself on a queue: the cost per item
    stays constant, where waiting on every future of a large library costs time in proportion to its size."""
    finished: queue.SimpleQueue[tuple[Item, Future[Outcome]]] = queue.SimpleQueue()
    waiting = iter(items)
    running = 0
    while True:
        while running < window() and not stopping.is_set() and (item := next(waiting, None)) is not None:
            pool.submit(work, item).add_done_callback(partial(_announce, finished, item))
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


def _announce(finished: "queue.SimpleQueue[tuple[Item, Future[Outcome]]]", item: Item, future: Future[Outcome]) -> None:
    finished.put((item, future))

