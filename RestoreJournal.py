"""The journal of a restore into one library (the user's own, or a group): what of the backup has been made in the
account, so that a restore killed at any moment, then run again, makes nothing twice.

Each object is recorded before it is made (its new id unknown, `null`) and again once it is made (its new id, or
`"done"` for a step that makes no object: filing a document in a folder, moving it to the trash). A step recorded
without its id may or may not have happened when the run died: the next run looks for the object by its content
before making it. Every change is written at once, atomically, through the backup folder's writer.

A document leaves the journal once the backup's state, saved, holds it under its new id (`prune`); so the
journal holds only the documents in flight, and the file stays small however large the library. Until then its
folder may already carry the new ids (its info.json and annotations.json are rewritten just before the state
takes it under them): what the journal holds of it tells a later run which are which. It is removed
when the restore of its library is complete; while it is there, a plain backup of the folder refuses to run.

    {"format": 1, "started": "<the server's clock when the restore began>",
     "folders": {"<backed-up folder id>": "<new id>" | null},
     "documents": {"<backed-up document id>": {"since": "<the server's clock as making it began>",
                   "document": {"<backed-up document id>": "<new id>" | null},
                   "files": {"<backed-up file id>": "<new id>" | null}, "folders": {"<folder id>": "done" | null},
                   "annotations": {"<backed-up id>": "<new id>" | null}, "trash": {"trash": "done" | null}}}}
"""

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from BackupFolder import RESTORE_JOURNAL, BackupFolder
from Errors import BackupFolderError, UnfinishedRestoreError
from MendeleyApi import MendeleyApi
from Timestamps import format_time, parse_time

log = logging.getLogger(__name__)

JOURNAL_FORMAT = 1
DONE = "done"
# The kinds of step: a folder of the tree; a document, its files, its folders, its annotations, its move to the trash.
FOLDER = "folders"
DOCUMENT, FILE, MEMBERSHIP, ANNOTATION, TRASH = "document", "files", "folders", "annotations", "trash"


@dataclass(frozen=True)
class Step:
    """One object a restore makes: of the document `document` (a backed-up id; None for a folder of the tree),
    of a kind, for the backed-up object `key`."""

    document: str | None
    kind: str
    key: str


def folder_step(folder_id: str) -> Step:
    return Step(None, FOLDER, folder_id)


def document_step(doc_id: str) -> Step:
    return Step(doc_id, DOCUMENT, doc_id)


def refuse_unfinished_restore(folder: BackupFolder) -> None:
    """A backup of a library whose restore has not finished would remove the documents not restored yet (the account
    does not list them): it refuses to run."""
    if folder.has(RESTORE_JOURNAL):
        raise UnfinishedRestoreError(
            f"A restore of {folder.root} into a Mendeley account has not finished; run mendeley-backup --restore "
            f"again to finish it. A backup now would remove what is not restored yet, so it does not run (to back "
            f"up anyway and let those documents go, delete {folder.path(RESTORE_JOURNAL)})")


class RestoreJournal:
    """One library's journal; safe to use from several threads."""

    def __init__(self, folder: BackupFolder, data: dict[str, Any], write: bool) -> None:
        self._folder = folder
        self._data = data
        self._write = write  # False in a dry run: nothing is written
        self._lock = threading.Lock()

    @staticmethod
    def open(folder: BackupFolder, dry_run: bool) -> "RestoreJournal":
        """The library's journal: the one an unfinished restore left, or a new one (written once it has something
        to say)."""
        data: Any = {"format": JOURNAL_FORMAT, "folders": {}, "documents": {}}
        path = folder.path(RESTORE_JOURNAL)
        if path.exists():
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
            except (OSError, ValueError) as error:
                raise BackupFolderError(f"Cannot read the restore journal {path}: {error}") from error
            if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
                raise BackupFolderError(f"{path} is not a restore journal this version of mendeley-backup reads")
            log.info("Carrying on with the unfinished restore recorded in %s", path)
        return RestoreJournal(folder, data, write=not dry_run)

    # The restore as a whole -------------------------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        """Whether an unfinished restore of this library left the journal (or this run has written it)."""
        return self._folder.has(RESTORE_JOURNAL)

    @property
    def started(self) -> datetime | None:
        with self._lock:
            return parse_time(self._data.get("started"))

    def start(self, server_time: datetime) -> None:
        """The server's clock as this restore begins, unless an earlier, unfinished one already said when it began
        (kept in memory until there is something else to write)."""
        with self._lock:
            self._data.setdefault("started", format_time(server_time))

    def remove(self) -> None:
        """The restore of the library is complete."""
        with self._lock:
            if self._write:
                self._folder.remove_file(RESTORE_JOURNAL)

    # Steps ------------------------------------------------------------------------------------------------------

    def take(self, step: Step, writer: MendeleyApi, create: Callable[[], str], find: Callable[[], str | None],
             what: str, since: datetime | None = None) -> tuple[str, bool]:
        """The new id of the step's object, made at most once however often the restore is killed and run again;
        and whether this run took the step (False: an earlier run had). The step is recorded before its request
        and its id after; begun but without an id, the object is looked for (`find`) before it is made again."""
        begun, known = self.lookup(step)
        if known is not None:
            return known, False
        if begun:
            log.info("Making %s was begun by a run that stopped: looking for it in the account first", what)
        else:
            self.intend(step, since)
        new_id = writer.created_once(create, find, check_first=begun, what=what)
        self.made(step, new_id)
        return new_id, True

    def lookup(self, step: Step) -> tuple[bool, str | None]:
        """Whether the step was begun, and the new id it made (None: not begun, or perhaps made by a run that
        died)."""
        with self._lock:
            slot = self._slot(step, create=False)
            return (slot is not None and step.key in slot), (slot or {}).get(step.key)

    def intend(self, step: Step, since: datetime | None = None) -> None:
        """Record, durably, that the step is about to be taken; `since`: the server's time now, from which to look
        for the object should the run die before it is answered."""
        with self._lock:
            if since is not None and step.document is not None:
                self._documents().setdefault(step.document, {})["since"] = format_time(since)
            slot = self._slot(step, create=True)
            assert slot is not None
            slot[step.key] = None
            self._save()

    def made(self, step: Step, new_id: str) -> None:
        """Record, durably, the id the step made."""
        with self._lock:
            slot = self._slot(step, create=True)
            assert slot is not None
            slot[step.key] = new_id
            self._save()

    def since(self, doc_id: str) -> datetime | None:
        """The server's time when making the document began."""
        with self._lock:
            return parse_time(self._documents().get(doc_id, {}).get("since"))

    def made_ids(self, doc_id: str, kind: str) -> set[str]:
        """The new ids that one document's steps of a kind have made."""
        with self._lock:
            return _ids(self._documents().get(doc_id, {}).get(kind))

    def made_documents(self) -> set[str]:
        """The new ids of every document the journal holds."""
        with self._lock:
            return {new for record in self._documents().values() for new in _ids(record.get(DOCUMENT))}

    # Documents --------------------------------------------------------------------------------------------------

    def documents(self) -> list[str]:
        """The backed-up ids of the documents the journal holds."""
        with self._lock:
            return list(self._documents())

    def prune(self, doc_ids: Iterable[str]) -> None:
        """The saved state holds these documents under their new ids: the journal can let them go."""
        with self._lock:
            documents = self._documents()
            gone = [doc_id for doc_id in doc_ids if documents.pop(doc_id, None) is not None]
            if gone:
                self._save()

    # Plumbing ---------------------------------------------------------------------------------------------------

    def _documents(self) -> dict[str, dict[str, Any]]:
        return self._data.setdefault("documents", {})

    def _slot(self, step: Step, create: bool) -> dict[str, Any] | None:
        if step.document is None:
            return self._data.setdefault("folders", {})
        record = self._documents().get(step.document)
        if record is None:
            if not create:
                return None
            record = self._documents()[step.document] = {}
        return record.setdefault(step.kind, {}) if create else record.get(step.kind)

    def _save(self) -> None:
        if self._write:
            self._folder.writer.write_json(self._folder.path(RESTORE_JOURNAL), self._data, indent=None)


def _ids(slot: dict[str, Any] | None) -> set[str]:
    return {value for value in (slot or {}).values() if value and value != DONE}
