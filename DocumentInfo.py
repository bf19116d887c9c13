"""The on-disk formats of a backup, kept compatible with the original tool so that its backup folders carry on, and
the state of one backed-up library as the run keeps it in memory. No file I/O here: BackupFolder reads and writes.

- The state file (`<backup>/info.json`): `{"last_backup_time": ISO-8601, "documents": {id: relative folder},
  "pattern": "..."}` plus this tool's own keys (`format`, `entries`, `last_run`, ...), which the original ignores.
- A document folder's `info.json`: `{"document": <the API's JSON for view=all>, "files": {file id: file name}}`, plus
  this tool's own `annotated_copies` (`{file id: {"name": copy name, "fingerprint": what it was made from}}`) where
  annotated PDF copies are made.
- A document folder's `annotations.json`: the document's annotations, the API's JSON, ordered by (created, id).
"""

import gc
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from bidict import bidict

from Naming import collision_key
from Timestamps import format_time, parse_time

DOCUMENT_INFO = "info.json"
ANNOTATIONS_FILE = "annotations.json"
# The files every document folder holds besides the document's own.
DOCUMENT_FOLDER_FILES = (DOCUMENT_INFO, ANNOTATIONS_FILE)
STATE_FORMAT = 3  # 3: a document to a line (see DOCUMENTS_LINE); 2 read as well


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
class CopyRecord:
    """An annotated copy of one of a document's PDFs (AnnotatedCopies), beside it: its name, what it was made from
    (AnnotatedPdf.copy_fingerprint), and its SHA-1, size and mtime as written."""

    name: str
    fingerprint: str
    sha1: str
    size: int | None = None
    mtime_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "fingerprint": self.fingerprint, "sha1": self.sha1, "size": self.size,
                "mtime_ns": self.mtime_ns}


# What most entries hold none of (annotations, annotated copies), one for all rather than an empty dict for each: a
# large library's state holds a hundred thousand entries. Read-only, so that no entry's can change through another's.
NONE_HELD: Mapping[str, Any] = MappingProxyType({})


@dataclass(slots=True)
class Entry:
    """A backed-up document: where it is and what of it the backup holds.

    `last_modified` is the server's timestamp of the version fully written. `legacy` marks a document of a
    backup the original tool wrote: its info.json is rewritten whole and its files' hashes are checked once.
    """

    path: str
    last_modified: str | None = None
    files: dict[str, FileRecord] = field(default_factory=dict)
    folder_uuids: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=lambda: NONE_HELD)  # annotation id -> its last_modified
    trashed: bool = False
    created: str = ""
    legacy: bool = False
    copies: Mapping[str, CopyRecord] = field(default_factory=lambda: NONE_HELD)  # file id -> its annotated copy
    # The AnnotatedPdf.DRAWING_VERSION its copies were last decided with; 0: not since --annotated-pdfs was on.
    copies_drawing: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"last_modified": self.last_modified, "created": self.created,
                                "files": {file_id: record.to_json() for file_id, record in self.files.items()}}
        if self.folder_uuids:
            data["folder_uuids"] = self.folder_uuids
        if self.annotations:
            data["annotations"] = self.annotations
        if self.trashed:
            data["trashed"] = True
        if self.copies or self.copies_drawing:
            data["annotated"] = {"drawing": self.copies_drawing,
                                 "copies": {file_id: copy.to_json() for file_id, copy in self.copies.items()}}
        return data

    def file_paths(self) -> Iterator[str]:
        """The backup-relative paths of the document's files."""
        return (f"{self.path}/{record.name}" for record in self.files.values())

    def copy_paths(self) -> Iterator[str]:
        """The backup-relative paths of the annotated copies of its files."""
        return (f"{self.path}/{copy.name}" for copy in self.copies.values())


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
        self.entries: dict[str, Entry] = dict(entries or {})
        self.folders: dict[str, dict[str, Any]] = dict(folders or {})  # the folder tree documents follow
        self.groups: bidict[str, str] = bidict(groups or {})  # group id <-> its folder (top-level state only)
        self.pending: set[str] = set(pending)  # files no longer wanted, deleted by the next successful run
        self.from_original = from_original  # loaded from a backup the original tool wrote
        self.exports_outdated = exports_outdated  # documents changed since the exports were written
        self.relayout_pending = relayout_pending  # the pattern changed (--relayout); not every folder follows it yet
        self.last_run = last_run  # how the last backup run went (top-level state only)
        # Document id <-> its folder, made in one go (bidict's checks cost tens of microseconds a call).
        self._folder_of: bidict[str, str] = bidict((doc_id, entry.path) for doc_id, entry in self.entries.items())
        # Counts the changes to the entries: while it stands still, the state file's documents' lines need not be
        # encoded again (see StateText).
        self.entries_revision = 0
        self._lock = threading.Lock()

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
                                      any(collision_key(record.name) == key for record in entry.files.values()) or
                                      any(collision_key(copy.name) == key for copy in entry.copies.values())):
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
            # An annotated copy made again where one waited for removal (the annotations came back before a run
            # without errors removed it) stays.
            self.pending.difference_update(entry.copy_paths())
            self.pending.update(leaving)

    def forget(self, doc_id: str) -> None:
        """A document is gone from the backup."""
        with self._lock:
            self.entries.pop(doc_id, None)
            self._folder_of.pop(doc_id, None)
            self.entries_revision += 1

    def removed_pending(self, path: str) -> None:
        with self._lock:
            self.pending.discard(path)

    def forget_annotations(self, doc_id: str, annotation_ids: Iterable[str]) -> None:
        with self._lock:
            entry = self.entries.get(doc_id)
            if entry is not None:
                gone = set(annotation_ids)
                entry.annotations = {annotation_id: changed for annotation_id, changed in entry.annotations.items()
                                     if annotation_id not in gone} or NONE_HELD
                self.entries_revision += 1

    def checked_file(self, doc_id: str, file_id: str, sha1: str | None, signature: tuple[int, int] | None) -> None:
        """What a re-hash (--verify) found of a backed-up file: a wrong or missing one is fetched again."""
        with self._lock:
            record = self.entries[doc_id].files[file_id]
            record.sha1 = sha1 or ""
            record.size, record.mtime_ns = signature or (None, None)
            self.entries_revision += 1

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
        self.entries_revision += 1

    # The state file -----------------------------------------------------------------------------------

    def text(self) -> "StateText":
        """The state file's text, its documents' lines in pieces, so that a large library's state is never held
        twice in memory. It is laid out a document to a line (see `state_from_lines`), so that it is read back a
        line at a time too. The entries are taken under the lock as they are: download threads replace entries
        whole, never change one in place, while a checkpoint is written."""
        with self._lock:
            entries = list(self.entries.items())
            head: dict[str, Any] = {
                "format": STATE_FORMAT, "last_backup_time": format_time(self.cutoff) if self.cutoff else None,
                "pattern": self.pattern,
                "last_full_listing": format_time(self.last_full_listing) if self.last_full_listing else None}
            tail: dict[str, Any] = {"folders": self.folders, "groups": dict(self.groups),
                                    "pending_removals": sorted(self.pending),
                                    "exports_outdated": self.exports_outdated,
                                    "relayout_pending": self.relayout_pending,
                                    "last_run": self.last_run.to_json() if self.last_run is not None else None}
            revision = self.entries_revision
        present = {key: value for key, value in tail.items() if value}
        return StateText(head=_compact(head)[:-1] + ",\n", documents=_documents_lines(entries),
                         tail="}" + (("," + _compact(present)[1:]) if present else "}") + "\n", revision=revision)


@dataclass(frozen=True)
class StateText:
    """A state file's text in three parts: the head, the documents' lines (the "documents" and "entries" members,
    nearly all of a large library's state) and the tail; `revision`, the `entries_revision` of the state when its
    documents' lines were taken. Saved again at the same revision, those lines are the ones already on disk."""

    head: str
    documents: Iterator[str]
    tail: str
    revision: int


def _documents_lines(entries: list[tuple[str, Entry]]) -> Iterator[str]:
    yield DOCUMENTS_LINE
    yield from _folder_lines(entries)
    yield "},\n" + ENTRIES_LINE
    yield from _member_lines((doc_id, entry.to_json()) for doc_id, entry in entries)


# The state file's layout (format 3): valid JSON, one member of "documents" and of "entries" to a line.
#   {"format":3,"last_backup_time":...,"pattern":...,"last_full_listing":...,
#   "documents":{
#   "<id>":"<folder>",          (every member but the last ends in a comma)
#   },
#   "entries":{
#   "<id>":{...},
#   },"folders":{...},...}      (the entries' closing brace, then this tool's other keys)
DOCUMENTS_LINE = '"documents":{\n'
ENTRIES_LINE = '"entries":{\n'
# One encoder for every piece (json.dumps with options makes a new one at each call).
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_one_to_a_line = json.JSONEncoder(ensure_ascii=False, separators=(",\n", ":")).encode
FOLDER_LINES_AT_ONCE = 1000


def _folder_lines(entries: list[tuple[str, Entry]]) -> Iterator[str]:
    """The members of "documents", a document's folder to a line, written a thousand at a time: their values are
    strings, so the item separators are the only line breaks in the JSON of any number of them."""
    for start in range(0, len(entries), FOLDER_LINES_AT_ONCE):
        batch = {doc_id: entry.path for doc_id, entry in entries[start:start + FOLDER_LINES_AT_ONCE]}
        yield ("" if start == 0 else ",\n") + _one_to_a_line(batch)[1:-1]
    if entries:
        yield "\n"


def _member_lines(pairs: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """The members of a JSON object, one to a line, each but the last ending in a comma."""
    first = True
    for key, value in pairs:
        yield ("" if first else ",\n") + _compact({key: value})[1:-1]
        first = False
    if not first:
        yield "\n"


def is_state_json(data: Any) -> bool:
    """Whether JSON is a state file's, this tool's or the original's."""
    return isinstance(data, dict) and isinstance(data.get("documents"), dict) and bool(data.get("pattern"))


def state_from_lines(lines: Iterator[bytes], read_legacy_entry: Callable[[str], Entry]
                     ) -> tuple[BackupState, tuple[int, int] | None]:
    """Read a state file laid out a document to a line (format 3, see DOCUMENTS_LINE), a line at a time, so that a
    large library's state is never parsed whole into memory; with the state, where its documents' lines lie in the
    file (from and to which byte), or None if they do not hold every entry. Raises ValueError when the text is not
    laid out so (the caller then reads it whole, as JSON of any format)."""
    first = _next(lines)
    head = _lines_json(b"{" + first.removeprefix(b"{").removesuffix(b",\n") + b"}")
    if not isinstance(head, dict) or head.get("format") != STATE_FORMAT or _next(lines) != DOCUMENTS_LINE.encode():
        raise ValueError("not laid out a document to a line")
    # The entries hold no reference cycles: the collector's passes over a heap that grows by a hundred thousand
    # of them would cost as much as reading them. Once read, they are put out of its sight (gc.freeze) for the
    # same reason: each of its full passes later in the run would walk them all again, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        documents, length = _documents_section(lines)
        entries_line = _next(lines)
        if entries_line != ENTRIES_LINE.encode():
            raise ValueError("no entries where they belong")
        length += len(DOCUMENTS_LINE) + len(entries_line)
        data: dict[str, Any] = {**head, "documents": documents}
        held: dict[str, Entry] = {}
        for line in lines:
            if line.startswith(b"}"):
                rest = line.strip()[1:]
                data.update(_lines_json(b"{" + rest[1:] if rest.startswith(b",") else b"{}"))
                break
            length += len(line)
            doc_id, raw = _member(line)
            path = documents.get(doc_id)
            if not isinstance(path, str) or not isinstance(raw, dict):
                raise ValueError("an entry is damaged")
            held[doc_id] = _entry_from_json(path, raw)
        else:
            raise ValueError("the state ends early")
        state = state_from_json({**data, "entries": {}}, read_legacy_entry, held)
        gc.freeze()
        whole = len(held) == len(documents) == len(state.entries)
        return state, (len(first), len(first) + length) if whole else None
    finally:
        if collecting:
            gc.enable()


def _documents_section(lines: Iterator[bytes]) -> tuple[dict[str, Any], int]:
    """The "documents" member's lines, up to its closing line, as one object (read in one go: its lines are short,
    and one parse of them all costs a tenth of a parse each), and their length with the closing line."""
    members = []
    for line in lines:
        if line == b"},\n":
            break
        members.append(line)
    else:
        raise ValueError("the state ends early")
    text = b"".join(members)
    documents = _lines_json(b"{" + text + b"}")
    if not isinstance(documents, dict):
        raise ValueError("the documents are damaged")
    return documents, len(text) + len(b"},\n")


def _next(lines: Iterator[bytes]) -> bytes:
    line = next(lines, None)
    if line is None:
        raise ValueError("the state ends early")
    return line


_DECODER = json.JSONDecoder()


def _member(line: bytes) -> tuple[str, Any]:
    """The one member of an object that `line` holds, `"key":value,`."""
    text = line.decode("utf-8", "surrogatepass")
    try:
        key, end = _DECODER.raw_decode(text)
        if not isinstance(key, str) or text[end] != ":":
            raise ValueError("a line holds no member")
        value, end = _DECODER.raw_decode(text, end + 1)
    except IndexError:
        raise ValueError("a line holds no member") from None
    if text[end:].strip() not in ("", ","):
        raise ValueError("a line holds more than a member")
    return key, value


def _lines_json(text: bytes) -> Any:
    return json.loads(text.decode("utf-8", "surrogatepass"))


def state_from_json(data: dict[str, Any], read_legacy_entry: Callable[[str], Entry],
                    read_entries: Mapping[str, Entry] | None = None) -> BackupState:
    """Read a state file's JSON (see `is_state_json`); the documents of an original backup, which records only
    their folders, come from `read_legacy_entry(folder)`, which reads the folder's info.json. Raises ValueError
    naming the first of this tool's own keys that is damaged. `read_entries`: entries `state_from_lines` has read
    already."""
    entries = data.get("entries")
    own = _checked(entries if isinstance(entries, dict) else {}, dict, "entries")
    documents = _checked(data["documents"], str, "documents")
    held: Mapping[str, Entry]
    if read_entries is not None and len(read_entries) == len(documents):
        held = read_entries  # `state_from_lines` read one for each document: nothing more to read
    else:
        held = {}
        for doc_id, path in documents.items():
            raw = own.get(doc_id)
            already = read_entries.get(doc_id) if read_entries is not None else None
            held[doc_id] = already if already is not None else \
                _entry_from_json(path, raw) if isinstance(raw, dict) else read_legacy_entry(path)
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
    if not isinstance(value, dict) or not _values_are(value, kind):
        raise ValueError(f"{what} is damaged")
    return value


def _entry_from_json(path: str, raw: dict[str, Any]) -> Entry:
    records = raw.get("files") or {}
    folder_uuids = raw.get("folder_uuids") or ()
    annotations = raw.get("annotations") or NONE_HELD
    annotated = raw.get("annotated") or {}
    copies: Any = (annotated.get("copies") or {}) if isinstance(annotated, dict) else None
    # Checked in one expression, named part by part only when it fails: a state is read a hundred thousand entries
    # at a time.
    if not (_values_are(records, dict) and _strings(folder_uuids) and _values_are(annotations, str)
            and _values_are(copies, dict) and isinstance(annotated.get("drawing") or 0, int)):
        raise ValueError(_damaged_part(path, records, folder_uuids, annotations, copies))
    return Entry(path=path, last_modified=raw.get("last_modified"),
                 files={file_id: FileRecord(str(record.get("name")), record.get("sha1"), record.get("size"),
                                            record.get("mtime_ns"))
                        for file_id, record in records.items()},
                 folder_uuids=tuple(folder_uuids), annotations=annotations, trashed=bool(raw.get("trashed")),
                 created=str(raw.get("created") or ""),
                 copies={file_id: _copy_from_json(copy, path) for file_id, copy in copies.items()} or NONE_HELD,
                 copies_drawing=annotated.get("drawing") or 0)


def _strings(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def _values_are(value: Any, kind: type) -> bool:
    return value is NONE_HELD or (isinstance(value, dict) and all(isinstance(item, kind) for item in value.values()))


def _damaged_part(path: str, records: Any, folder_uuids: Any, annotations: Any, copies: Any) -> str:
    """What `_entry_from_json` found damaged in the entry of the document in `path`."""
    if not _values_are(records, dict):
        return f"the files of the document in {path} are damaged"
    if not _strings(folder_uuids):
        return f"the folders of the document in {path} are damaged"
    if not _values_are(annotations, str):
        return f"the annotations of the document in {path} are damaged"
    return f"the annotated copies of the document in {path} are damaged"


def _copy_from_json(raw: dict[str, Any], path: str) -> CopyRecord:
    if not all(isinstance(raw.get(key), str) for key in ("name", "fingerprint", "sha1")):
        raise ValueError(f"the annotated copies of the document in {path} are damaged")
    return CopyRecord(name=raw["name"], fingerprint=raw["fingerprint"], sha1=raw["sha1"], size=raw.get("size"),
                      mtime_ns=raw.get("mtime_ns"))


def legacy_entry(path: str, document: Mapping[str, Any], file_names: Mapping[str, str]) -> Entry:
    """An entry for a document of an original backup: its files by name, hashes unknown, to be checked."""
    return Entry(path=path, last_modified=document.get("last_modified"), created=str(document.get("created") or ""),
                 files={file_id: FileRecord(name=str(name)) for file_id, name in file_names.items()}, legacy=True)


def document_info_json(document: Mapping[str, Any], file_names: Mapping[str, str],
                       copies: Mapping[str, CopyRecord] | None = None) -> dict[str, Any]:
    """A document folder's info.json: the API's document JSON, whole, the files by id and, where there are any, the
    annotated copies of files by the original's id (the original tool reads only the first two keys)."""
    info: dict[str, Any] = {"document": {key: value for key, value in document.items() if key != "files"},
                            "files": dict(file_names)}
    if copies:
        info["annotated_copies"] = {file_id: {"name": copy.name, "fingerprint": copy.fingerprint}
                                    for file_id, copy in copies.items()}
    return info


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
