"""What a backup folder holds on disk and how it is written: the state file, each document's `info.json`
and `annotations.json`, all written atomically (temporary file, fsync, rename, fsync of the folder).

Formats, kept compatible with the original tool so that its backup folders carry on:
- `<backup>/info.json`, the state: `{"last_backup_time": ISO-8601, "documents": {id: relative folder},
  "pattern": "..."}` plus this tool's own keys (`format`, `entries`, ...) which the original ignores.
- `<document folder>/info.json`: `{"document": <the API's JSON for view=all>, "files": {file id: file name}}`.
- `<document folder>/annotations.json`: the document's annotations, the API's JSON, ordered by (created, id).
"""

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from Errors import BackupFolderError
from LocalFiles import fsync_dir
from Timestamps import format_time, parse_time

log = logging.getLogger(__name__)

STATE_FILE = "info.json"
DOCUMENT_INFO = "info.json"
ANNOTATIONS_FILE = "annotations.json"
TEMP_DIR = ".mendeley-backup-tmp"
FOLDERS_FILE = "folders.json"
GROUPS_FOLDER = "groups"
STATE_FORMAT = 2


@dataclass
class FileRecord:
    """A file of a document as the backup holds it; `sha1` is None until checked (backups of the original)."""

    name: str
    sha1: str | None = None
    size: int | None = None
    mtime_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha1": self.sha1, "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass
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


@dataclass
class BackupState:
    """The state file of one backed-up library (the user's own, or one group)."""

    pattern: str
    cutoff: datetime | None = None  # `last_backup_time`: where the next incremental listing starts
    last_full_listing: datetime | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # group id -> its folder (top-level state only)
    pending: list[str] = field(default_factory=list)  # files no longer wanted, deleted by the next successful run
    from_original: bool = False  # loaded from a backup the original tool wrote
    exports_outdated: bool = False  # documents changed since library.bib and library.ris were last written

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "last_backup_time": format_time(self.cutoff) if self.cutoff else None,
            "documents": {doc_id: entry.path for doc_id, entry in self.entries.items()},
            "pattern": self.pattern,
            "format": STATE_FORMAT,
            "last_full_listing": format_time(self.last_full_listing) if self.last_full_listing else None,
            "entries": {doc_id: entry.to_json() for doc_id, entry in self.entries.items()},
        }
        if self.folders:
            data["folders"] = self.folders
        if self.groups:
            data["groups"] = self.groups
        if self.pending:
            data["pending_removals"] = self.pending
        if self.exports_outdated:
            data["exports_outdated"] = True
        return data


def state_from_json(data: Any, root: Path) -> BackupState:
    """Read a state file's JSON, this tool's or the original's (whose documents are read from their info.json)."""
    if not isinstance(data, dict) or not isinstance(data.get("documents"), dict) or not data.get("pattern"):
        raise BackupFolderError(f"{root / STATE_FILE} is not a mendeley-backup state file")
    state = BackupState(pattern=str(data["pattern"]), cutoff=parse_time(data.get("last_backup_time")),
                        last_full_listing=parse_time(data.get("last_full_listing")),
                        folders=dict(data.get("folders") or {}), groups=dict(data.get("groups") or {}),
                        pending=[str(path) for path in data.get("pending_removals") or []],
                        exports_outdated=bool(data.get("exports_outdated")))
    entries = data.get("entries")
    state.from_original = not isinstance(entries, dict)
    for doc_id, path in data["documents"].items():
        raw = entries.get(doc_id) if isinstance(entries, dict) else None
        state.entries[doc_id] = _entry_from_json(str(path), raw) if isinstance(raw, dict) else \
            _entry_from_document_info(root, str(path))
    return state


def _entry_from_json(path: str, raw: dict[str, Any]) -> Entry:
    files = {file_id: FileRecord(name=str(record.get("name")), sha1=record.get("sha1"), size=record.get("size"),
                                 mtime_ns=record.get("mtime_ns"))
             for file_id, record in (raw.get("files") or {}).items() if isinstance(record, dict)}
    return Entry(path=path, last_modified=raw.get("last_modified"), files=files,
                 folder_uuids=list(raw.get("folder_uuids") or []), annotations=dict(raw.get("annotations") or {}),
                 trashed=bool(raw.get("trashed")), created=str(raw.get("created") or ""))


def _entry_from_document_info(root: Path, path: str) -> Entry:
    """An entry for a document of an original backup: its files by name, hashes unknown, to be checked."""
    document, files = read_document_info(root / path)
    return Entry(path=path, last_modified=document.get("last_modified"), created=str(document.get("created") or ""),
                 files={file_id: FileRecord(name=str(name)) for file_id, name in files.items()}, legacy=True)


def read_document_info(folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The document JSON and the file names of a document folder's info.json; empty when unreadable."""
    data = read_json(folder / DOCUMENT_INFO)
    if not isinstance(data, dict):
        return {}, {}
    document = data.get("document") if isinstance(data.get("document"), dict) else {}
    files = data.get("files") if isinstance(data.get("files"), dict) else {}
    return document, files


def read_annotations(folder: Path) -> list[dict[str, Any]]:
    data = read_json(folder / ANNOTATIONS_FILE)
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable (which is logged)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("Could not read %s: %s", path, error)
        return None


def load_state(root: Path) -> BackupState | None:
    """The backup's state, or None when the folder has none yet."""
    path = root / STATE_FILE
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise BackupFolderError(f"Cannot read the backup state {path}: {error}") from error
    return state_from_json(data, root)


def document_info_json(document: Mapping[str, Any], file_names: Mapping[str, str]) -> dict[str, Any]:
    """A document folder's info.json: the API's document JSON, whole, and the files by id."""
    return {"document": {key: value for key, value in document.items() if key != "files"},
            "files": dict(file_names)}


class AtomicWriter:
    """Writes files atomically: a temporary file in the backup's own temporary folder, flushed and fsynced,
    renamed over the target, then the target's folder fsynced. A run killed at any moment leaves either the
    old or the new file, and at most a leftover in the temporary folder, which the next run empties.
    """

    def __init__(self, temp_dir: Path) -> None:
        self.temp_dir = temp_dir

    def prepare(self) -> None:
        """Create the temporary folder, removing what a killed run left in it."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.temp_dir.iterdir():
            if leftover.is_file() and not leftover.is_symlink():
                log.info("Removing %s, left by an interrupted run", leftover.name)
                leftover.unlink()

    def finish(self) -> None:
        """Remove the temporary folder once nothing is in it."""
        with contextlib.suppress(OSError):
            self.temp_dir.rmdir()

    def temp_path(self, hint: str) -> Path:
        """A fresh, empty temporary file in the temporary folder (the caller fills and renames it)."""
        handle, name = tempfile.mkstemp(prefix=hint[:40] + ".", suffix=".part", dir=self.temp_dir)
        os.close(handle)
        return Path(name)

    def write_json(self, target: Path, data: Any, indent: int | None = 2) -> None:
        """`data` as UTF-8 JSON; `indent=None` writes it on one line, which Python's C encoder does several times
        faster (it matters for the state of a large library, written every few seconds)."""
        separators = (",", ":") if indent is None else None
        text = json.dumps(data, indent=indent, separators=separators, ensure_ascii=False) + "\n"
        # A lone surrogate (which a JSON string may escape) has no UTF-8: it is written as JSON's own \udxxx escape.
        self.write_bytes(target, text.encode("utf-8", "backslashreplace"))

    def write_bytes(self, target: Path, data: bytes, mode: int | None = None) -> None:
        self.write_chunks(target, [data], mode)

    def write_chunks(self, target: Path, chunks: Iterable[bytes], mode: int | None = None) -> None:
        """Like `write_bytes`, from chunks made as they are written, so that a large file is never held whole."""
        temporary = self.temp_path(target.name)
        try:
            with open(temporary, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if mode is not None:
                os.chmod(temporary, mode)
            self.install(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)

    @staticmethod
    def install(temporary: Path, target: Path) -> None:
        """Rename a complete, fsynced temporary file over `target` and make the rename durable."""
        os.replace(temporary, target)
        fsync_dir(target.parent)

