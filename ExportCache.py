"""The export cache: each document's rendered BibTeX entry and RIS record, kept in an SQLite file in the
backup, so that a run rewrites `library.bib` and `library.ris` from the cache plus what changed instead of
reading and rendering every document again.

Per document it keeps what the export needs without the document: its position (created, id), the key it
wants (and whether that is its own), the entry and record with a mark where the key goes, the folders that
hold it, a fingerprint of what they were rendered from, and the key it was last given. Keys are assigned over
the whole library from the cached wanted keys alone, so a new key costs no rendering. Everything is read back
in order with database cursors: a library of any size is never held in memory. The entries are kept in export
order, their large texts apart (in the order they were rendered, which the caller makes the export order) so
that the key assignment reads little and each pass reads its table in one sweep; a covering index by
document id serves the comparison with the state.

The cache is derived data. It is rebuilt when missing, unreadable, or made by another version of the export
code (its `version`, a hash of the export modules' source); a run killed while it is updated leaves it as it
was before the update (SQLite's transactions).
"""

import contextlib
import errno
import hashlib
import logging
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import BibtexExport
import CitationKeys
import DocumentFields
import Export
import JabRefGroups
import RisExport
from CitationKeys import KeyAssigner

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    created TEXT NOT NULL, doc_id TEXT NOT NULL, fingerprint TEXT NOT NULL, folders TEXT NOT NULL,
    wanted TEXT NOT NULL, own INTEGER NOT NULL, label TEXT NOT NULL, assigned TEXT NOT NULL DEFAULT '',
    text_id INTEGER NOT NULL, PRIMARY KEY (created, doc_id)) WITHOUT ROWID;
CREATE UNIQUE INDEX entries_by_id ON entries (doc_id, fingerprint, folders, created);
CREATE TABLE texts (id INTEGER PRIMARY KEY, bib TEXT NOT NULL, ris TEXT NOT NULL);
CREATE TABLE members (doc_id TEXT NOT NULL, folder_id TEXT NOT NULL, PRIMARY KEY (doc_id, folder_id))
    WITHOUT ROWID;
CREATE INDEX members_folder ON members (folder_id);
"""
FOLDER_SEPARATOR = "\n"  # folder ids never hold one
KEYS_AT_ONCE = 1000


def code_version() -> str:
    """A hash of everything the cached texts depend on: the export modules' source and anyascii's version."""
    digest = hashlib.sha256(SCHEMA.encode())
    for module in (BibtexExport, RisExport, Export, CitationKeys, DocumentFields, JabRefGroups):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(metadata.version("anyascii").encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Rendered:
    """A document as the cache keeps it."""

    doc_id: str
    created: str
    fingerprint: str
    folders: Sequence[str]
    wanted: str
    own: bool
    label: str
    bib: str
    ris: str


def render(doc_id: str, entry: Export.ExportEntry, fingerprint: str) -> Rendered:
    document = entry.document
    wanted = CitationKeys.wanted_key(document)
    return Rendered(doc_id, DocumentFields.text(document.get("created")), fingerprint,
                    sorted(set(entry.folder_ids)), wanted.key, wanted.own, CitationKeys.describe(document),
                    BibtexExport.bibtex_entry_text(entry), RisExport.ris_record_text(entry))


@contextlib.contextmanager
def file_errors(path: Path) -> Iterator[None]:
    """SQLite's failures as the OSError the file system gave it, so that a full disk or a read-only backup folder
    stops the run as it does for any other file (SQLite reports them by message, not by errno)."""
    try:
        yield
    except sqlite3.OperationalError as error:
        message = str(error)
        if "full" in message:
            code = errno.ENOSPC
        elif "readonly" in message:
            code = errno.EROFS
        else:
            code = errno.EIO if os.access(path.parent, os.W_OK) else errno.EACCES
        raise OSError(code, f"export cache: {message}", str(path)) from error


class ExportCache:
    """One backup's export cache (see the module docstring); use as a context manager, and its methods within
    `file_errors`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with file_errors(path):
            self._db = self._open()

    def __enter__(self) -> "ExportCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def _open(self) -> sqlite3.Connection:
        version = code_version()
        db = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            found = db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
            if found and found[0] == version:
                return db
        except sqlite3.DatabaseError:  # no such table, or not a database at all
            pass
        if db is not None:
            db.close()
        log.info("Building the export cache %s", self.path)
        self.path.unlink(missing_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        db.executescript(SCHEMA)
        db.execute("INSERT INTO meta VALUES ('version', ?)", (version,))
        return db

    def begin(self) -> None:
        self._db.execute("BEGIN")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def sync(self, current: Iterable[tuple[str, str, Sequence[str]]], changed: frozenset[str]) -> list[str]:
        """Given the library's documents as (id, fingerprint, folder ids) in id order, remove the cached ones that
        are gone, update the folders of those that moved, and answer the ids to render again: new ones, changed
        ones (another fingerprint, or in `changed`)."""
        rows: Iterator[tuple[str, str, str, str]] = iter(
            self._db.execute("SELECT doc_id, fingerprint, folders, created FROM entries ORDER BY doc_id"))
        row = next(rows, None)
        stale: list[str] = []
        gone: list[tuple[str, str]] = []
        moved: list[tuple[str, Sequence[str]]] = []
        for doc_id, fingerprint, folders in current:
            while row is not None and row[0] < doc_id:
                gone.append((row[3], row[0]))
                row = next(rows, None)
            if row is None or row[0] != doc_id:
                stale.append(doc_id)
                continue
            if row[1] != fingerprint or doc_id in changed:
                stale.append(doc_id)
            elif row[2] != FOLDER_SEPARATOR.join(folders):
                moved.append((doc_id, folders))
            row = next(rows, None)
        gone.extend((created, doc_id) for doc_id, _, _, created in ([row] if row else []) + list(rows))
        for position in gone:
            self._remove(position)
        for doc_id, folders in moved:
            self._set_folders(doc_id, folders)
        log.debug("Export cache: %d document(s) to render, %d removed, %d moved between folders",
                  len(stale), len(gone), len(moved))
        return stale

    def put(self, rendered: Rendered) -> None:
        """Keep a document's rendered texts (new, or replacing the old ones)."""
        r = rendered
        old = self._db.execute("SELECT created FROM entries WHERE doc_id = ?", (r.doc_id,)).fetchone()
        if old:
            self._remove((old[0], r.doc_id))
        text_id = self._db.execute("INSERT INTO texts (bib, ris) VALUES (?, ?)", (r.bib, r.ris)).lastrowid
        self._db.execute("INSERT INTO entries (created, doc_id, fingerprint, folders, wanted, own, label, text_id) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (r.created, r.doc_id, r.fingerprint,
                                                             FOLDER_SEPARATOR.join(r.folders), r.wanted, int(r.own),
                                                             r.label, text_id))
        self._db.executemany("INSERT INTO members VALUES (?, ?)", ((r.doc_id, folder) for folder in r.folders))

    def _remove(self, position: tuple[str, str]) -> None:
        """Forget a document, given as (created, id)."""
        self._db.execute("DELETE FROM texts WHERE id = (SELECT text_id FROM entries WHERE created = ? AND doc_id = ?)",
                         position)
        self._db.execute("DELETE FROM entries WHERE created = ? AND doc_id = ?", position)
        self._db.execute("DELETE FROM members WHERE doc_id = ?", position[1:])

    def _set_folders(self, doc_id: str, folders: Sequence[str]) -> None:
        self._db.execute("UPDATE entries SET folders = ? WHERE doc_id = ?", (FOLDER_SEPARATOR.join(folders), doc_id))
        self._db.execute("DELETE FROM members WHERE doc_id = ?", (doc_id,))
        self._db.executemany("INSERT INTO members VALUES (?, ?)", ((doc_id, folder) for folder in folders))

    def assign_keys(self, rendered: Collection[str]) -> int:
        """Give every document its key (own keys first, then generated ones, each oldest first) and keep the
        keys that changed; how many did. Only the keys taken are held in memory. Two documents sharing their own
        key are warned about when one of them was `rendered` this run, not again on every run after."""
        assigner = KeyAssigner()
        changes: list[tuple[str, str]] = []
        changed = 0

        def keep(key: str, doc_id: str) -> None:
            """Keep a changed key, a thousand at a time: a first export changes every key of the library. The rows
            already read are the ones updated, without changing their place in the order being read."""
            nonlocal changed
            changes.append((key, doc_id))
            changed += 1
            if len(changes) >= KEYS_AT_ONCE:
                self._db.executemany("UPDATE entries SET assigned = ? WHERE doc_id = ?", changes)
                changes.clear()

        ordered = "ORDER BY created, doc_id"
        for doc_id, wanted, label, assigned in self._db.execute(
                f"SELECT doc_id, wanted, label, assigned FROM entries WHERE own {ordered}"):
            key, earlier = assigner.own(wanted, doc_id)
            if earlier and (doc_id in rendered or earlier in rendered):
                found = self._db.execute("SELECT label FROM entries WHERE doc_id = ?", (earlier,)).fetchone()
                CitationKeys.warn_shared(found[0] if found else earlier, label, wanted, key)
            if key != assigned:
                keep(key, doc_id)
        for doc_id, wanted, assigned in self._db.execute(
                f"SELECT doc_id, wanted, assigned FROM entries WHERE NOT own {ordered}"):
            key = assigner.generated(wanted)
            if key != assigned:
                keep(key, doc_id)
        self._db.executemany("UPDATE entries SET assigned = ? WHERE doc_id = ?", changes)
        return changed

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def texts(self, column: str) -> Iterator[str]:
        """Each document's `bib` or `ris` text with its key, in export order."""
        assert column in ("bib", "ris")
        mark = BibtexExport.KEY_MARK if column == "bib" else RisExport.KEY_MARK
        rows = self._db.execute(f"SELECT e.assigned, t.{column} FROM entries e JOIN texts t ON t.id = e.text_id "
                                "ORDER BY e.created, e.doc_id")
        for key, text in rows:
            yield text.replace(mark, key)

    def folder_keys(self, folder_id: str) -> list[str]:
        """The keys of a folder's documents, in export order."""
        return [key for (key,) in self._db.execute(
            "SELECT e.assigned FROM members m JOIN entries e ON e.doc_id = m.doc_id WHERE m.folder_id = ? "
            "ORDER BY e.created, e.doc_id", (folder_id,))]
