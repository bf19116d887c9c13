"""One backup folder, and the only code that knows what is on disk in it: every name the backup uses, safe paths
inside it, the lock that keeps one run at a time, atomic writing, and loading and saving the state. The formats of
the files themselves are DocumentInfo's.

    backup/                      BackupFolder.opened(root): lock, temporary folder, fatal errors as one line
      info.json                  the state (STATE_FILE)
      folders.json               the Mendeley folder tree
      library.bib, library.ris   the exports
      .mendeley-backup.lock      one run at a time
      .mendeley-backup-tmp/      every file is written here first, then renamed into place
      .mendeley-backup-restore.json  while a --restore is unfinished: what it has created (RestoreJournal)
      .trash/...                 documents kept from the Mendeley trash
      groups/<name>/...          each group: a BackupFolder of its own, sharing the lock and the writer
      <document folder>/         info.json, annotations.json and the document's files
"""

import contextlib
import errno
import itertools
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bidict import ValueDuplicationError

from DocumentInfo import (
    ANNOTATIONS_FILE,
    DOCUMENT_INFO,
    BackupState,
    CopyRecord,
    Entry,
    StateText,
    annotations_from_json,
    document_info_from_json,
    document_info_json,
    is_state_json,
    legacy_entry,
    ordered_annotations,
    state_from_json,
    state_from_lines,
)
from Errors import BackupFolderError, FolderLockedError, FolderUnwritableError, NotABackupError, UnsafePathError
from LocalFiles import (
    ensure_folder,
    fsync_dir,
    inside,
    inside_text,
    prune_folders,
    remove_file,
    sha1_of,
    signature,
    signatures_under,
)
from LockFile import LockFile
from Naming import MAX_PATH_CHARS, collision_key, numbered, safe_folder_name, shortened

log = logging.getLogger(__name__)

STATE_FILE = "info.json"
COPY_PIECE_BYTES = 1 << 20
TEMP_BUFFER_BYTES = 1 << 16
TEMP_DIR = ".mendeley-backup-tmp"
LOCK_FILE = ".mendeley-backup.lock"
FOLDERS_FILE = "folders.json"
GROUPS_FOLDER = "groups"
GROUP_NAME_CHARS = 50  # a new group folder's name is cut to this, to leave the group's documents room
TRASH_FOLDER = ".trash"
BIBTEX_FILE = "library.bib"
RIS_FILE = "library.ris"
EXPORT_CACHE = ".mendeley-backup-export.cache"  # an SQLite database
EXPORT_CACHE_JOURNAL = EXPORT_CACHE + "-journal"  # SQLite's, while the cache is written
RESTORE_JOURNAL = ".mendeley-backup-restore.json"
# Names at the top of a backup that belong to the backup itself, never to a document.
RESERVED_TOP_NAMES = (STATE_FILE, GROUPS_FOLDER, TRASH_FOLDER, BIBTEX_FILE, RIS_FILE, FOLDERS_FILE, TEMP_DIR, LOCK_FILE,
                      EXPORT_CACHE, EXPORT_CACHE_JOURNAL, RESTORE_JOURNAL)
# What a run itself puts in a folder before the state file exists.
RUN_OWN_FILES = frozenset({LOCK_FILE, TEMP_DIR})

# Errors after which no further write can succeed: the run stops instead of failing item after item.
FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM})
FATAL_REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                 errno.EROFS: "the backup folder is on a read-only file system"}


class AtomicWriter:
    """Writes files atomically: a temporary file in `temp_dir` (on the targets' file system) created with its final
    mode before any byte is written, renamed over the target once complete. A run killed at any moment leaves either
    the old or the new file, and at most a leftover temporary file.

    Durability: a file written `durable` is fsynced, and so is its folder after the rename, before the call returns.
    The files of documents are written otherwise, since thousands of fsyncs cost more than the downloads: their
    writes and renames are made durable together by `barrier()`, which the state's saving calls first, so that a
    state on disk never names a file a power cut could take. Where the OS can flush everything at once (`os.sync`,
    POSIX) that is one call; elsewhere each file is fsynced before its rename and `barrier()` fsyncs their folders.

    Files get the user's umask (0644 under umask 022); a `private` writer's files are 0600 whatever the umask (the
    token file is as good as a password).
    """

    def __init__(self, temp_dir: Path, private: bool = False) -> None:
        self.temp_dir = temp_dir
        self._mode = 0o600 if private else 0o666
        self.group_commit = hasattr(os, "sync")
        self._lock = threading.Lock()
        self._unsynced_folders: set[Path] = set()
        self._unsynced = False

    def temp_file(self, hint: str) -> tuple[Path, BinaryIO]:
        """A fresh temporary file in the temporary folder, created and open for writing (the caller fills, closes and
        installs it, or removes it)."""
        while True:
            path = self.temp_dir / f".{hint[:40]}.{secrets.token_hex(6)}.part"
            try:
                return path, open(path, "xb", buffering=TEMP_BUFFER_BYTES, opener=self._create)
            except FileExistsError:
                continue

    def _create(self, path: str, flags: int) -> int:
        return os.open(path, flags, self._mode)

    def write_json(self, target: Path, data: Any, indent: int | None = 2, durable: bool = True) -> None:
        """`data` as UTF-8 JSON; `indent=None` writes it on one line, which Python's C encoder does several times
        faster (it matters for the state of a large library)."""
        separators = (",", ":") if indent is None else None
        text = json.dumps(data, indent=indent, separators=separators, ensure_ascii=False) + "\n"
        # A lone surrogate (which a JSON string may escape) has no UTF-8: it is written as JSON's own \udxxx escape.
        self.write_chunks(target, [text.encode("utf-8", "backslashreplace")], durable)

    def write_chunks(self, target: Path, chunks: Iterable[bytes], durable: bool = True) -> None:
        """The file made of `chunks`, made as they are written, so that a large file is never held whole."""
        with self.replacing(target, durable) as out:
            for chunk in chunks:
                out.write(chunk)

    @contextlib.contextmanager
    def replacing(self, target: Path, durable: bool = True) -> Iterator[BinaryIO]:
        """A temporary file open for writing, installed over `target` once the block completes; a block that raises
        leaves `target` as it was and no temporary file behind."""
        temporary, out = self.temp_file(target.name)
        try:
            with out:
                yield out
            self.install(temporary, target, durable)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def install(self, temporary: Path, target: Path, durable: bool = True) -> None:
        """Rename a complete temporary file over `target`, durably now or at the next `barrier()`."""
        if durable or not self.group_commit:
            _fsync_file(temporary)
        os.replace(temporary, target)
        if durable:
            fsync_dir(target.parent)
        else:
            self.renamed_into(target.parent)

    def renamed_into(self, folder: Path) -> None:
        """A file was renamed into `folder`, to be made durable by the next `barrier()`."""
        with self._lock:
            self._unsynced = True
            if not self.group_commit:  # os.sync makes every folder durable at once
                self._unsynced_folders.add(folder)

    def barrier(self) -> None:
        """Make every write and rename since the last barrier durable."""
        with self._lock:
            folders, self._unsynced_folders = self._unsynced_folders, set()
            unsynced, self._unsynced = self._unsynced, False
        if not unsynced:
            return
        if self.group_commit:
            os.sync()
        else:
            for folder in folders:
                fsync_dir(folder)


def _fsync_file(path: Path) -> None:
    handle = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def is_fatal(error: OSError) -> bool:
    return error.errno in FATAL_ERRNOS and not isinstance(error, UnsafePathError)


@contextlib.contextmanager
def fatal_errors(root: Path) -> Iterator[None]:
    """Turn an error after which no write can succeed (a full disk, a read-only folder) into the one-line error that
    stops the run; other file-system errors pass through, to fail one item."""
    try:
        yield
    except OSError as error:
        if not is_fatal(error):
            raise
        reason = FATAL_REASONS.get(error.errno or 0, "the backup folder cannot be written")
        raise FolderUnwritableError(f"Stopped: {reason} ({root}); nothing already backed up was lost, "
                                    f"rerun once the problem is fixed") from error


class RunLock:
    """One run at a time per backup folder: a lock on a file in it, which the operating system releases when its
    process dies, however it dies, so a lock left by a killed run is simply taken over by the next one."""

    def __init__(self, root: Path) -> None:
        self._lock = LockFile(root / LOCK_FILE)

    def __enter__(self) -> "RunLock":
        if not self._lock.acquire():
            raise FolderLockedError(f"Another mendeley-backup run (process {self._lock.holder()}) is working on "
                                    f"{self._lock.path.parent}; try again once it has finished")
        if not self._lock.real:
            log.warning("This system cannot lock files: make sure that no other run works on %s at the same time",
                        self._lock.path.parent)
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def file_identity(path: Path) -> tuple[int, int, int]:
    """A file's size, modification time and inode: another file, or the same one changed, has other ones."""
    status = path.stat()
    return status.st_size, status.st_mtime_ns, status.st_ino


@dataclass(frozen=True)
class StateOnDisk:
    """Where the documents' lines of the state file on disk lie (from byte `start` to `end`), as `state` was read
    from it or last wrote it, at its entries' `revision`; and the file's identity then."""

    state: BackupState
    revision: int
    start: int
    end: int
    identity: tuple[int, int, int]

    def holds(self, state: BackupState, text: StateText, path: Path) -> bool:
        """Whether the file at `path` still holds the documents' lines of `text`."""
        try:
            return state is self.state and text.revision == self.revision and file_identity(path) == self.identity
        except OSError:  # gone: written whole again
            return False

    def documents(self, path: Path) -> Iterator[bytes]:
        """The documents' lines, read from the file in pieces."""
        with open(path, "rb") as source:
            source.seek(self.start)
            left = self.end - self.start
            while left:
                piece = source.read(min(left, COPY_PIECE_BYTES))
                if not piece:
                    raise OSError(errno.EIO, f"{path} was cut short while it was copied")
                left -= len(piece)
                yield piece


class BackupFolder:
    """One backed-up library's folder: the backup's top folder, or a group's under `groups/<name>/`. Paths given to
    its methods are relative to it, `/`-separated, as the state records them."""

    def __init__(self, root: Path, writer: AtomicWriter, path_chars: int = MAX_PATH_CHARS,
                 created: bool = True) -> None:
        """`path_chars`: how long a new path in this folder may be, for a path from the backup's top to stay
        within MAX_PATH_CHARS. `created`: False for a new backup until `begin`."""
        self.root = root
        self._root_text = str(root)
        self.writer = writer
        self.path_chars = path_chars
        self._created = created
        # Download threads create document folders while others prune the ones they moved out of: one at a time, so
        # that a parent one thread has just found there is not removed, empty, by another before it is used.
        self._tree_lock = threading.Lock()
        self._resources: contextlib.ExitStack | None = None  # what the run holds of the folder: its lock
        self._state_on_disk: StateOnDisk | None = None

    @staticmethod
    @contextlib.contextmanager
    def opened(root: Path, dry_run: bool) -> Iterator["BackupFolder"]:
        """The backup folder at `root` for one run. An existing backup is locked and its temporary folder emptied of
        what a killed run left; a new one is made only by `begin`, once the server has answered, so that a wrong
        address or a lost network leaves nothing behind. A full disk or read-only folder, wherever it strikes, is one
        clear line. A dry run only reads: no folder, lock or temporary file is made."""
        folder = BackupFolder(root, AtomicWriter(root / TEMP_DIR), created=False)
        if dry_run:
            yield folder
            return
        folder.refuse_foreign()  # before the lock and the temporary folder are put in it
        with fatal_errors(root), contextlib.ExitStack() as resources:
            folder._resources = resources
            if (root / STATE_FILE).exists():
                folder._create()
            try:
                yield folder
            finally:
                folder._resources = None

    def begin(self, state: BackupState) -> None:
        """Make a new backup's folder, now that the server has answered: created, locked, and its state saved at once
        so that a killed first run resumes. A folder that exists already gets its state saved if it has none yet (a
        group's first run)."""
        if not self._created:
            if self._resources is None:
                raise RuntimeError("a backup folder is made only inside BackupFolder.opened, never in a dry run")
            self.refuse_foreign()  # something may have been put there while the server answered
            self._create()
            if (self.root / STATE_FILE).exists():
                raise FolderLockedError(f"Another mendeley-backup run started a backup in {self.root} meanwhile; "
                                        f"nothing was changed, run again once it has finished")
        if not (self.root / STATE_FILE).exists():
            self.save_state(state)

    def _create(self) -> None:
        """The folder, locked for this run, with an empty temporary folder that goes when the run ends."""
        assert self._resources is not None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BackupFolderError(f"Cannot create the backup folder {self.root}: {error.strerror}") from error
        self._resources.enter_context(RunLock(self.root))
        self._prepare_temp_dir()
        self._resources.callback(self._remove_temp_dir)
        self._created = True

    def _prepare_temp_dir(self) -> None:
        temp_dir = self.writer.temp_dir
        temp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in temp_dir.iterdir():
            if leftover.is_file() and not leftover.is_symlink():
                log.info("Removing %s, left by an interrupted run", leftover.name)
                leftover.unlink()

    def _remove_temp_dir(self) -> None:
        with contextlib.suppress(OSError):
            self.writer.temp_dir.rmdir()  # once nothing is in it

    def fatal_errors(self) -> contextlib.AbstractContextManager[None]:
        return fatal_errors(self.root)

    # Paths and files ----------------------------------------------------------------------------------

    def path(self, relative: str) -> Path:
        """The full path of `relative`, refusing anything that could point outside the folder."""
        return inside(self.root, relative)

    def ensure_folder(self, relative: str) -> Path:
        with self._tree_lock:
            return ensure_folder(self.root, relative, made_in=self.writer.renamed_into)

    def remove_file(self, relative: str) -> None:
        remove_file(self.root, relative)

    def prune(self, relative: str) -> None:
        """Remove a document folder and the parents it leaves empty."""
        with self._tree_lock:
            prune_folders(self.root, relative)

    def sha1(self, relative: str) -> str | None:
        return sha1_of(self.path(relative))

    def signature(self, relative: str) -> tuple[int, int] | None:
        return signature(inside_text(self._root_text, relative))

    def signatures(self) -> contextlib.AbstractContextManager[Callable[[str], tuple[int, int] | None]]:
        """`signature` for many files at once: the stat of every backed-up file."""
        return signatures_under(self.root)

    def replacing(self, relative: str, durable: bool = True) -> contextlib.AbstractContextManager[BinaryIO]:
        return self.writer.replacing(self.path(relative), durable)

    def write_chunks(self, relative: str, chunks: Iterable[bytes]) -> None:
        self.writer.write_chunks(self.path(relative), chunks)

    def has(self, relative: str) -> bool:
        return self.path(relative).exists()

    def is_plain_file(self, relative: str) -> bool:
        """A regular file, not a symbolic link to one."""
        path = self.path(relative)
        return path.is_file() and not path.is_symlink()

    def move(self, source: str, target: str) -> None:
        """Rename a file within the folder, made durable by the next state saved."""
        os.replace(self.path(source), self.path(target))
        self.writer.renamed_into(self.path(target).parent)

    # Documents ----------------------------------------------------------------------------------------

    def read_document(self, folder: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The document JSON and the file names of a document folder's info.json; empty when unreadable."""
        return document_info_from_json(self._read_json(f"{folder}/{DOCUMENT_INFO}"))

    def has_document_info(self, folder: str) -> bool:
        return self._read_json(f"{folder}/{DOCUMENT_INFO}") is not None

    def write_document(self, folder: str, document: Mapping[str, Any], file_names: Mapping[str, str],
                       copies: Mapping[str, CopyRecord] | None = None, durable: bool = True) -> None:
        self.writer.write_json(self.path(f"{folder}/{DOCUMENT_INFO}"), document_info_json(document, file_names, copies),
                               durable=durable)

    def read_annotations(self, folder: str) -> list[dict[str, Any]]:
        return annotations_from_json(self._read_json(f"{folder}/{ANNOTATIONS_FILE}"))

    def write_annotations(self, folder: str, annotations: Iterable[dict[str, Any]], durable: bool = True) -> None:
        """annotations.json, in its order; none at all removes the file."""
        ordered = ordered_annotations(annotations)
        if ordered:
            self.writer.write_json(self.path(f"{folder}/{ANNOTATIONS_FILE}"), ordered, durable=durable)
        else:
            self.remove_file(f"{folder}/{ANNOTATIONS_FILE}")

    def documents(self, state: BackupState) -> Mapping[str, dict[str, Any]]:
        """The backed-up documents' JSON by id, each read from its info.json when asked for."""
        return _DocumentsOnDisk(self, state)

    def find_documents(self, doc_ids: set[str], state: BackupState) -> dict[str, tuple[str, dict[str, str]]]:
        """Where the info.json of each of `doc_ids` is, among the document folders the state does not name (a run
        killed while moving documents leaves some in their new folders before the state says so): by id, the
        folder and the file names its info.json gives. Walks the whole folder: for the rare repair only."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for top, folders, files in os.walk(self.root):
            relative = Path(top).relative_to(self.root).as_posix()
            if relative == ".":
                folders[:] = [name for name in folders if name not in (TEMP_DIR, GROUPS_FOLDER)]
                continue
            if DOCUMENT_INFO not in files or state.document_at(relative) is not None:
                continue
            document, file_names = self.read_document(relative)
            if str(document.get("id")) in doc_ids:
                found[str(document["id"])] = (relative, file_names)
        return found

    def write_folder_tree(self, folders: Mapping[str, dict[str, Any]]) -> None:
        self.writer.write_json(self.path(FOLDERS_FILE),
                               sorted(folders.values(), key=lambda folder: str(folder.get("id"))))

    # The state ----------------------------------------------------------------------------------------

    def load_state(self) -> BackupState | None:
        """The backup's state, or None when the folder has none yet."""
        path = self.root / STATE_FILE
        if not path.exists():
            return None
        try:
            try:
                with open(path, "rb") as lines:  # this tool's own layout, a line at a time: a large state costs little
                    state, span = state_from_lines(iter(lines), self._legacy_entry)
                if span is not None:
                    self._state_on_disk = StateOnDisk(state, state.entries_revision, *span, file_identity(path))
                return state
            except ValueError:
                pass  # another layout (the original's, an older version's): read whole, below
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
            except (OSError, ValueError) as error:
                raise BackupFolderError(f"Cannot read the backup state {path}: {error}") from error
            if not is_state_json(data):
                raise BackupFolderError(f"{path} is not a mendeley-backup state file")
            return state_from_json(data, self._legacy_entry)
        except OSError as error:
            raise BackupFolderError(f"Cannot read the backup state {path}: {error.strerror or error}") from error
        except ValueDuplicationError as error:
            raise BackupFolderError(f"{path} names one folder for two documents ({error}); "
                                    f"it cannot be continued") from error
        except ValueError as error:
            raise BackupFolderError(f"{path} cannot be continued: {error}") from error

    def open_state(self, pattern: str, pattern_given: bool) -> BackupState:
        """The folder's state; a new one for an empty folder (saved by `begin`)."""
        state = self.load_state()
        if state is not None:
            if pattern_given and pattern != state.pattern:
                log.warning("The backup in %s was made with the pattern %r; ignoring the pattern %r (--relayout "
                            "moves the backup to it)", self.root, state.pattern, pattern)
            return state
        self.refuse_foreign()
        return BackupState(pattern=pattern)

    def save_state(self, state: BackupState) -> None:
        """Write the state file; its documents' lines, when no entry changed since they were read or last written,
        copied from the file on disk rather than encoded again (most of the time of an unchanged rerun's save)."""
        self.writer.barrier()  # every file the state names is on disk for good before it names them
        path = self.root / STATE_FILE
        text = state.text()
        # A lone surrogate (which a JSON string may escape) has no UTF-8: it is written as JSON's own \udxxx escape.
        head, tail = text.head.encode("utf-8", "backslashreplace"), text.tail.encode("utf-8", "backslashreplace")
        on_disk = self._state_on_disk
        documents = on_disk.documents(path) if on_disk is not None and on_disk.holds(state, text, path) else \
            (chunk.encode("utf-8", "backslashreplace") for chunk in text.documents)
        length = 0

        def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
            nonlocal length
            for chunk in chunks:
                length += len(chunk)
                yield chunk

        self._state_on_disk = None  # until the new file is in place
        self.writer.write_chunks(path, itertools.chain([head], counted(documents), [tail]))
        self._state_on_disk = StateOnDisk(state, text.revision, len(head), len(head) + length, file_identity(path))

    def refuse_foreign(self) -> None:
        """Refuse a folder with other content and no state: it is not a backup, and a run must neither treat its
        files as its own nor leave files of its own in it."""
        if not self.root.is_dir() or (self.root / STATE_FILE).exists():
            return
        strangers = sorted(name for name in os.listdir(self.root) if name not in RUN_OWN_FILES)
        if strangers:
            raise NotABackupError(f"{self.root} is not empty and holds no {STATE_FILE} of mendeley-backup "
                                  f"(it has {strangers[0]!r}); give an empty folder or an existing backup")

    def _legacy_entry(self, folder: str) -> Entry:
        return legacy_entry(folder, *self.read_document(folder))

    def _read_json(self, relative: str) -> Any:
        """A JSON file's content, or None when it is missing or unreadable (which is logged)."""
        path = self.path(relative)
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("Could not read %s: %s", path, error)
            return None

    # Groups -------------------------------------------------------------------------------------------

    def group(self, state: BackupState, group_id: str, name: str, dry_run: bool) -> "BackupFolder":
        """The folder of a group, `groups/<name>`, distinct from other groups' folders, following the group when it
        is renamed; it shares this folder's lock and writer."""
        whole = safe_folder_name(name)
        wanted = group_folder_name(name)
        current = state.groups.get(group_id)
        if current == f"{GROUPS_FOLDER}/{whole}":
            wanted = current  # named whole before names were cut: it stays
        candidate = wanted
        if current != wanted:
            taken = {collision_key(folder) for other, folder in state.groups.items() if other != group_id}
            number = 1
            while collision_key(candidate) in taken or (candidate != current and self.has(candidate)):
                number += 1
                candidate = f"{GROUPS_FOLDER}/{numbered(whole, number, False, GROUP_NAME_CHARS)}"
            if current is not None and candidate != current and not dry_run and self.path(current).is_dir():
                log.info("Group %s was renamed; moving %s to %s", name, current, candidate)
                self.path(current).rename(self.path(candidate))
            if not dry_run:
                state.set_group_folder(group_id, candidate)
        if not dry_run:
            self.path(candidate).mkdir(parents=True, exist_ok=True)
        return BackupFolder(self.path(candidate), self.writer, self.path_chars - len(candidate) - 1)

    def held_groups(self, state: BackupState) -> list[tuple[str, "BackupFolder"]]:
        """The groups this backup holds, by id, each with its folder, as the state records them (without asking the
        server); a group whose folder is gone is left out."""
        return sorted(((group_id, BackupFolder(self.path(relative), self.writer))
                       for group_id, relative in state.groups.items() if self.path(relative).is_dir()),
                      key=lambda held: held[1].root.name.casefold())


def group_folder_name(name: str) -> str:
    """`groups/<name>`: where a new backup of the group `name` goes, the name made safe and cut to GROUP_NAME_CHARS
    (an older backup's may have the whole name, and two groups of one name are told apart by ` (2)`)."""
    return f"{GROUPS_FOLDER}/{shortened(safe_folder_name(name), GROUP_NAME_CHARS, keep_extension=False)}"


class _DocumentsOnDisk(Mapping[str, dict[str, Any]]):
    """A read-only view of the backed-up documents' JSON; each is read from disk when it is looked up."""

    def __init__(self, folder: BackupFolder, state: BackupState) -> None:
        self._folder = folder
        self._state = state

    def __getitem__(self, doc_id: str) -> dict[str, Any]:
        entry = self._state.entry(doc_id)
        if entry is None:
            raise KeyError(doc_id)
        return self._folder.read_document(entry.path)[0]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._state.entries))

    def __len__(self) -> int:
        return len(self._state.entries)
