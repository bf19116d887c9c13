"""The export cache (ExportCache.py, LibraryExport.update_exports): exports updated from the cache plus what
changed are byte for byte the exports a cold build writes; unchanged documents are not read again; a damaged
or outdated cache is rebuilt."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import ExportCache
from BackupFolder import BIBTEX_FILE, EXPORT_CACHE, RIS_FILE, AtomicWriter, BackupFolder
from DocumentInfo import Entry, FileRecord, document_info_json
from LibraryExport import update_exports
from tests.export_readers import jabref_groups, read_ris

FOLDERS = {"f1": {"id": "f1", "name": "Thesis"}, "f2": {"id": "f2", "name": "Methods; misc", "parent_id": "f1"}}


class Backup:
    """A backup folder with documents written as the backup writes them (info.json), and its state entries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.writer = AtomicWriter(root / ".tmp")
        self.writer.temp_dir.mkdir(parents=True, exist_ok=True)
        self.folder = BackupFolder(root, self.writer)
        self.entries: dict[str, Entry] = {}

    def put(self, number: int, version: int = 1, folders: tuple[str, ...] = (), **fields: Any) -> str:
        doc_id = f"00000000-0000-0000-0000-{number:012d}"
        path = f"Doe/{number}"
        document = {"id": doc_id, "created": f"2020-01-{number % 28 + 1:02d}T00:00:00.000Z", "type": "journal",
                    "title": f"Paper {number}", "authors": [{"first_name": "J", "last_name": "Doe"}], "year": 2020,
                    "last_modified": f"2021-01-01T00:00:{version:02d}.000Z", **fields}
        (self.root / path).mkdir(parents=True, exist_ok=True)
        (self.root / path / "paper.pdf").write_bytes(b"%PDF-1.4\n")
        self.writer.write_json(self.root / path / "info.json", document_info_json(document, {"file1": "paper.pdf"}))
        self.entries[doc_id] = Entry(path=path, last_modified=document["last_modified"], created=document["created"],
                                     files={"file1": FileRecord(name="paper.pdf")}, folder_uuids=list(folders))
        return doc_id

    def export(self, changed: frozenset[str] = frozenset()) -> tuple[bytes, bytes]:
        update_exports(self.folder, self.entries, changed, FOLDERS)
        return (self.root / BIBTEX_FILE).read_bytes(), (self.root / RIS_FILE).read_bytes()

    def cold(self) -> tuple[bytes, bytes]:
        """The exports a build from nothing writes, in a copy of the backup without the cache."""
        copy = Backup(self.root.parent / (self.root.name + "-cold"))
        shutil.rmtree(copy.root, ignore_errors=True)
        shutil.copytree(self.root, copy.root, ignore=shutil.ignore_patterns(EXPORT_CACHE, ".tmp"))
        copy.writer.temp_dir.mkdir(exist_ok=True)
        copy.entries = self.entries
        return copy.export()


@pytest.fixture
def backup(tmp_path: Path) -> Backup:
    made = Backup(tmp_path / "backup")
    for number in range(30):
        made.put(number, folders=("f1",) if number % 3 else ("f2",))
    return made


def test_an_incremental_update_writes_what_a_cold_build_writes(backup: Backup) -> None:
    first = backup.export()
    assert first == backup.cold()
    changed = backup.put(5, version=2, title="Paper five, revised")
    removed = next(iter(backup.entries))
    del backup.entries[removed]
    added = backup.put(40, folders=("f1", "f2"))
    backup.entries[backup.put(7)].folder_uuids = ["f2"]  # moved between folders, nothing else
    second = backup.export(frozenset({changed, removed}))
    assert second != first
    assert second == backup.cold()
    bib = second[0].decode()
    assert "Paper five, revised" in bib and "Paper 0}" not in bib and "Paper 40" in bib
    groups = dict(jabref_groups(bib))
    assert set(groups) == {("Thesis",), ("Thesis", "Methods; misc")}
    assert len(groups[("Thesis", "Methods; misc")]) == 11 and added.endswith("40")
    assert len(read_ris(second[1].decode())) == 30


def test_unchanged_documents_are_not_read_again(backup: Backup) -> None:
    backup.export()
    untouched = backup.entries[backup.put(3)]
    (backup.root / untouched.path / "info.json").write_text("{}")  # had it been read again, Paper 3 would vanish
    changed = backup.put(4, version=2, title="Paper four, revised")
    bib, ris = backup.export(frozenset({changed}))
    assert "title = {Paper 3}" in bib.decode() and "TI  - Paper 3\n" in ris.decode()
    assert "Paper four, revised" in bib.decode()


def test_a_new_own_key_takes_its_key_back_from_a_generated_one(backup: Backup) -> None:
    backup.export()
    backup.put(50, citation_key="Doe2020Paper")  # the key the oldest document was given
    bib, _ = backup.export()
    assert (bib, _) == backup.cold()
    text = bib.decode()
    assert "@article{Doe2020Paper,\n  author = {Doe, J},\n  title = {Paper 50}" in text
    assert text.count("@article{Doe2020Paper,") == 1


@pytest.mark.parametrize("damage", ["garbage", "other version"])
def test_a_damaged_or_outdated_cache_is_rebuilt(backup: Backup, damage: str) -> None:
    first = backup.export()
    cache = backup.root / EXPORT_CACHE
    if damage == "garbage":
        cache.write_bytes(b"not a database at all" * 100)
    else:  # made by another version of the export code: its texts may differ from what this one writes
        with sqlite3.connect(cache) as db:
            db.execute("UPDATE meta SET value = 'another' WHERE name = 'version'")
            db.execute("UPDATE texts SET bib = 'stale', ris = 'stale'")
        db.close()
    assert backup.export() == first
    assert backup.export() == first


def test_keys_kept_a_few_at_a_time_are_those_kept_at_once(backup: Backup, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first export changes every key: they are written to the cache in batches, while the rows are read."""
    for number in range(1, 12):
        backup.put(number, **({"citation_key": "Shared"} if number % 3 == 0 else {}))
    at_once = backup.cold()
    monkeypatch.setattr(ExportCache, "KEYS_AT_ONCE", 2)
    few = backup.export()
    assert few == at_once
    keys = re.findall(r"^@\w+\{([^,]+),", few[0].decode(), re.MULTILINE)
    assert len(keys) == len(set(keys)) and "Shared" in keys and "Shareda" in keys
