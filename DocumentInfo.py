"""The on-disk formats of a backup, kept compatible with the original tool so that its backup folders carry on, and
the state of one backed-up library as the run keeps it in memory. No file I/O here: BackupFolder reads and writes.

- The state file (`<backup>/info.json`): `{"last_backup_time": ISO-8601, "documents": {id: relative folder},
  "pattern": "..."}` plus this tool's own keys (`format`, `entries`, `last_run`, ...), which the original ignores.
- A document folder's `info.json`: `{"document": <the API's JSON for view=all>, "files": {file id: file name}}`.
- A document folder's `annotations.json`: the document's annotations, the API's JSON, ordered by (created, id).
"""

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from bidict import bidict

from Naming import collision_key
from Timestamps import format_time, parse_time

DOCUMENT_INFO = "info.json"
ANNOTATIONS_FILE = "annotations.json"
# The files every document folder holds besides the document's own.
DOCUMENT_FOLDER_FILES = (DOCUMENT_INFO, ANNOTATIONS_FILE)
STATE_FORMAT = 2

Item = TypeVar("Item")

# How a backup run ended, as `--status` tells it.
RUN_SUCCEEDED, RUN_PARTIAL, RUN_STOPPED = "succeeded", "partial", "stopped"



@dataclass(slots=True)
class FileRecord:
    """A file of a document as the backup holds it; `sha1` is None until checked (backups of the original)."""

    name: str
    sha1: str | None = None
    size: int | None = None
    mtime_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha1": self.sha1, "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass(slots=True)
class Entry:
    """A backed-up document: where it is and what of it the backup holds.

    `last_modified` is the server's timestamp of the version fully written. `legacy` marks a document of a
    backup the original tool wrote: its info.json is rewritten whole and its files' hashes are checked once.
    """

    path: str
    last_modified: str | None = None
    files: dict[str, FileRecord] = field(default_factory=dict)
    folder_uuids: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)  # annotation id -> its last_modified
    trashed: bool = False
    created: str = ""
    legacy: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"last_modified": self.last_modified, "created": self.created,
                                "files": {file_id: record.to_json() for file_id, record in self.files.items()}}
        if self.folder_uuids:
            data["folder_uuids"] = self.folder_uuids
        if self.annotations:
            data["annotations"] = self.annotations
        if self.trashed:
            data["trashed"] = True
        return data

    def file_paths(self) -> Iterator[str]:
        """The backup-relative paths of the document's files."""
        return (f"{self.path}/{record.name}" for record in self.files.values())


@dataclass(frozen=True)
class RunRecord:
    """How the last backup run went (the state's `last_run`): when it started, how it ended, what failed."""

    started: datetime
    seconds: float
    outcome: str  # RUN_SUCCEEDED, RUN_PARTIAL (some items failed, or removals were held back) or RUN_STOPPED
    exit_status: int
    failures: tuple[tuple[str, str], ...] = ()  # (item, why)
    held_back: int = 0  # removals held back by --max-delete
    error: str | None = None  # what stopped it

    def to_json(self) -> dict[str, Any]:
        return {"started": format_time(self.started), "seconds": round(self.seconds, 3), "outcome": self.outcome,
                "exit_status": self.exit_status, "failures": [{"item": item, "error": why} for item, why in
                                                               self.failures],
                "held_back": self.held_back, "error": self.error}

    @staticmethod
    def from_json(data: Any) -> "RunRecord | None":
        """The record a state file holds; None for none, or one this version cannot read."""
        started = parse_time(data.get("started")) if isinstance(data, dict) else None
        if started is None:
            return None
        try:
            return RunRecord(
                started=started, seconds=float(data.get("seconds") or 0), outcome=str(data.get("outcome")),
                exit_status=int(data.get("exit_status") or 0), held_back=int(data.get("held_back") or 0),
                failures=tuple((str(item.get("item")), str(item.get("error"))) for item in data.get("failures") or []
                               if isinstance(item, dict)),
                error=data.get("error"))
        except (TypeError, ValueError):
            return None


class BackupState:
    """The state of one backed-up library (the user's own, or one group), changed only through its methods.

    Download threads record documents as they complete while the run checkpoints the state: every method takes
    the state's own lock. `entries` may be read freely by the single-threaded planning code. Each document's
    folder is indexed both ways (a bidict), so that a folder's document is found at once and two documents can
    never be recorded in one folder.
    """

    def __init__(self, pattern: str, cutoff: datetime | None = None, last_full_listing: datetime | None = None,
                 entries: Mapping[str, Entry] | None = None, folders: Mapping[str, dict[str, Any]] | None = None,
                 groups: Mapping[str, str] | None = None, pending: Iterable[str] = (), from_original: bool = False,
                 exports_outdated: bool = False, relayout_pending: bool = False,
                 last_run: RunRecord | None = None) -> None:
        self.pattern = pattern
        self.cutoff = cutoff  # `last_backup_time`: where the next incremental listing starts
        self.last_full_listing = last_full_listing
        self.entries: dict[str, Entry] = {}
        self.folders: dict[str, dict[str, Any]] = dict(folders or {})  # the folder tree documents follow
        self.groups: bidict[str, str] = bidict(groups or {})  # group id <-> its folder (top-level state only)
        self.pending: set[str] = set(pending)  # files no longer wanted, deleted by the next successful run
        self.from_original = from_original  # loaded from a backup the original tool wrote
        self.exports_outdated = exports_outdated  # documents changed since the exports were written
        self.relayout_pending = relayout_pending  # the pattern changed (--relayout); not every folder follows it yet
        self.last_run = last_run  # how the last backup run went (top-level state only)
        self._folder_of: bidict[str, str] = bidict()  # document id <-> its folder
        self._lock = threading.Lock()
        for doc_id, entry in (entries or {}).items():
            self._index(doc_id, entry)

    # Reading ------------------------------------------------------------------------------------------

    def entry(self, doc_id: str) -> Entry | None:
        with self._lock:
            return self.entries.get(doc_id)

    def document_at(self, folder: str) -> str | None:
        """The id of the document whose folder is `folder`, if any."""
        with self._lock:
            return self._folder_of.inverse.get(folder)

    def holds_file(self, path: str) -> bool:
        """Whether the backup put the file at `path` there: a document's file or its folder's own files, or a
        file waiting to be removed."""
        folder, _, name = path.rpartition("/")
        key = collision_key(name)
        with self._lock:
            doc_id = self._folder_of.inverse.get(folder)
            entry = self.entries.get(doc_id) if doc_id is not None else None
            if entry is not None and (name in DOCUMENT_FOLDER_FILES or
                                      any(collision_key(record.name) == key for record in entry.files.values())):
                return True
            return path in self.pending

    def pending_removals(self) -> list[str]:
        with self._lock:
            return sorted(self.pending)

    # Changing -----------------------------------------------------------------------------------------

    def record(self, doc_id: str, entry: Entry, leaving: Iterable[str] = ()) -> None:
        """A document's folder is complete as `entry` says; `leaving` are files it no longer has, deleted in the
        removal phase of a run without errors."""
        with self._lock:
            self._index(doc_id, entry)
            self.pending.update(leaving)

    def forget(self, doc_id: str) -> None:
        """A document is gone from the backup."""
        with self._lock:
            self.entries.pop(doc_id, None)
            self._folder_of.pop(doc_id, None)

    def removed_pending(self, path: str) -> None:
        with self._lock:
            self.pending.discard(path)

    def forget_annotations(self, doc_id: str, annotation_ids: Iterable[str]) -> None:
        with self._lock:
            entry = self.entries.get(doc_id)
            for annotation_id in annotation_ids if entry else ():
                entry.annotations.pop(annotation_id, None)  # type: ignore[union-attr]

    def checked_file(self, doc_id: str, file_id: str, sha1: str | None, signature: tuple[int, int] | None) -> None:
        """What a re-hash (--verify) found of a backed-up file: a wrong or missing one is fetched again."""
        with self._lock:
            record = self.entries[doc_id].files[file_id]
            record.sha1 = sha1 or ""
            record.size, record.mtime_ns = signature or (None, None)

    def mark_legacy(self, doc_id: str) -> None:
        """The document's info.json is missing or unreadable: it is rewritten whole, as for an original backup."""
        with self._lock:
            self.entries[doc_id].legacy = True

    def set_exports_outdated(self, outdated: bool) -> None:
        with self._lock:
            self.exports_outdated = outdated

    def set_group_folder(self, group_id: str, folder: str) -> None:
        """A group's folder; one another group holds raises (the caller gives each group a distinct one)."""
        with self._lock:
            self.groups[group_id] = folder

    def move_group(self, old_id: str, new_id: str) -> None:
        """A group's folder now belongs to the group `new_id`: a restore put it into another account's group of the
        same name."""
        with self._lock:
            self.groups[new_id] = self.groups.pop(old_id)

    def change_pattern(self, pattern: str) -> None:
        """--relayout: the documents' folders follow `pattern` from now on; moves are pending until `relaid_out`."""
        with self._lock:
            self.pattern = pattern
            self.relayout_pending = True

    def relaid_out(self) -> None:
        """Every document's folder follows the pattern."""
        with self._lock:
            self.relayout_pending = False

    def record_run(self, record: RunRecord) -> None:
        with self._lock:
            self.last_run = record

    def follow_folders(self, folders: Mapping[str, dict[str, Any]]) -> None:
        """The folder tree documents' folders follow from now on (a rename not yet carried out is tried again)."""
        with self._lock:
            self.folders = dict(folders)

    def advance(self, cutoff: datetime, full_listing_at: datetime | None) -> None:
        """A run missed nothing: the next one lists what changed from `cutoff`; `full_listing_at`, when the run
        listed the whole library."""
        with self._lock:
            self.cutoff = cutoff
            self.from_original = False
            if full_listing_at is not None:
                self.last_full_listing = full_listing_at

    def _index(self, doc_id: str, entry: Entry) -> None:
        self._folder_of[doc_id] = entry.path  # a folder another document holds raises (a bug), changing nothing
        self.entries[doc_id] = entry

    # The state file -----------------------------------------------------------------------------------

    def json_chunks(self) -> Iterator[str]:
        """The state file's JSON, on one line, in pieces, so that a large library's state is never held twice in
        memory. The entries are taken under the lock as they are: download threads replace entries whole, never
        change one in place, while a checkpoint is written."""
        with self._lock:
            entries = list(self.entries.items())
            head: dict[str, Any] = {
                "last_backup_time": format_time(self.cutoff) if self.cutoff else None,
                "pattern": self.pattern, "format": STATE_FORMAT,
                "last_full_listing": format_time(self.last_full_listing) if self.last_full_listing else None}
            tail: dict[str, Any] = {"folders": self.folders, "groups": dict(self.groups),
                                    "pending_removals": sorted(self.pending),
                                    "exports_outdated": self.exports_outdated,
                                    "relayout_pending": self.relayout_pending,
                                    "last_run": self.last_run.to_json() if self.last_run is not None else None}
        yield _compact(head)[:-1]
        yield ',"documents":{'
        yield from _members((doc_id, entry.path) for doc_id, entry in entries)
        yield '},"entries":{'
        yield from _members((doc_id, entry.to_json()) for doc_id, entry in entries)
        yield "}"
        present = {key: value for key, value in tail.items() if value}
        yield ("," + _compact(present)[1:]) if present else "}"


_compact = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
MEMBERS_PER_CHUNK = 1000


def _members(pairs: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """The members of a JSON object, `"key":value,...`, a thousand at a time (the C encoder's speed, in pieces)."""
    first = True
    for chunk in batched(pairs, MEMBERS_PER_CHUNK):
        yield ("" if first else ",") + _compact(dict(chunk))[1:-1]
        first = False


def batched(items: Iterable[Item], size: int) -> Iterator[tuple[Item, ...]]:
    """Successive tuples of `size` items (itertools.batched, which Python 3.12 brings)."""
    iterator = iter(items)
    while chunk := tuple(itertools.islice(iterator, size)):
        yield chunk


def is_state_json(data: Any) -> bool:
    """Whether JSON is a state file's, this tool's or the original's."""
    return isinstance(data, dict) and isinstance(data.get("documents"), dict) and bool(data.get("pattern"))


def state_from_json(data: dict[str, Any], read_legacy_entry: Callable[[str], Entry]) -> BackupState:
    """Read a state file's JSON (see `is_state_json`); the documents of an original backup, which records only
    their folders, come from `read_legacy_entry(folder)`, which reads the folder's info.json. Raises ValueError
    naming the first of this tool's own keys that is damaged."""
    entries = data.get("entries")
    own = _checked(entries if isinstance(entries, dict) else {}, dict, "entries")
    held: dict[str, Entry] = {}
    for doc_id, path in _checked(data["documents"], str, "documents").items():
        raw = own.get(doc_id)
        held[doc_id] = _entry_from_json(path, raw) if isinstance(raw, dict) else read_legacy_entry(path)
    pending = data.get("pending_removals") or []
    if not (isinstance(pending, list) and all(isinstance(item, str) for item in pending)):
        raise ValueError("pending_removals is damaged")
    return BackupState(
        pattern=str(data["pattern"]), cutoff=parse_time(data.get("last_backup_time")),
        last_full_listing=parse_time(data.get("last_full_listing")), entries=held,
        folders=_checked(data.get("folders") or {}, dict, "folders"),
        groups=_checked(data.get("groups") or {}, str, "groups"), pending=pending,
        from_original=not isinstance(entries, dict), exports_outdated=bool(data.get("exports_outdated")),
        relayout_pending=bool(data.get("relayout_pending")), last_run=RunRecord.from_json(data.get("last_run")))


def _checked(value: Any, kind: type, what: str) -> dict[str, Any]:
    """`value` when it is a JSON object whose values are all of `kind`; ValueError otherwise."""
    if not (isinstance(value, dict) and all(isinstance(item, kind) for item in value.values())):
        raise ValueError(f"{what} is damaged")
    return value


def _entry_from_json(path: str, raw: dict[str, Any]) -> Entry:
    records = _checked(raw.get("files") or {}, dict, "the files of the document in " + path)
    folder_uuids = raw.get("folder_uuids") or []
    if not (isinstance(folder_uuids, list) and all(isinstance(item, str) for item in folder_uuids)):
        raise ValueError(f"the folders of the document in {path} are damaged")
    files = {file_id: FileRecord(name=str(record.get("name")), sha1=record.get("sha1"), size=record.get("size"),
                                 mtime_ns=record.get("mtime_ns"))
             for file_id, record in records.items()}
    return Entry(path=path, last_modified=raw.get("last_modified"), files=files, folder_uuids=folder_uuids,
                 annotations=_checked(raw.get("annotations") or {}, str, "the annotations of the document in " + path),
                 trashed=bool(raw.get("trashed")), created=str(raw.get("created") or ""))


def legacy_entry(path: str, document: Mapping[str, Any], file_names: Mapping[str, str]) -> Entry:
    """An entry for a document of an original backup: its files by name, hashes unknown, to be checked."""
    return Entry(path=path, last_modified=document.get("last_modified"), created=str(document.get("created") or ""),
                 files={file_id: FileRecord(name=str(name)) for file_id, name in file_names.items()}, legacy=True)


def document_info_json(document: Mapping[str, Any], file_names: Mapping[str, str]) -> dict[str, Any]:
    """A document folder's info.json: the API's document JSON, whole, and the files by id."""
    return {"document": {key: value for key, value in document.items() if key != "files"},
            "files": dict(file_names)}


def document_info_from_json(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The document JSON and the file names of a document folder's info.json; empty when it is not one."""
    if not isinstance(data, dict):
        return {}, {}
    document, files = data.get("document"), data.get("files")
    return (document if isinstance(document, dict) else {}), (files if isinstance(files, dict) else {})


def annotations_from_json(data: Any) -> list[dict[str, Any]]:
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def ordered_annotations(annotations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Annotations in annotations.json's order: by (created, id)."""
    return sorted(annotations, key=lambda item: (str(item.get("created") or ""), str(item.get("id"))))
