"""Unit tests of Applier: plans made by the real Planner from hand-made snapshots, carried out in a real BackupFolder
in a temporary folder against a fake API that serves given bytes and records what it was asked for."""

from __future__ import annotations

import errno
import hashlib
import inspect
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

import pytest

from Applier import Applier, Failure, LibraryResult
from BackupFolder import LOCK_FILE, STATE_FILE, TEMP_DIR, BackupFolder
from DocumentInfo import FileRecord
from Errors import ApiError, FolderUnwritableError, LoginError
from MendeleyApi import MendeleyApi
from Planner import MOVED, NEW, REMOVED, UPDATED, Plan, Planner
from RemoteLibrary import Snapshot
from tests.test_planner import NEW_TIME, OLD, PATTERN, document, remote_file
from Transfers import Concurrency


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


class FakeApi:
    """MendeleyApi's `download`: writes the bytes given for a file and records each call; raises the error given
    for a file instead."""

    def __init__(self, content: dict[str, bytes]) -> None:
        self.content = content
        self.errors: dict[str, Exception] = {}
        self.calls: list[tuple[str, str | None]] = []

    def download(self, file_id: str, destination: BinaryIO, size: int | None, sha1: str | None,
                 on_bytes: Callable[[int], None] = lambda _: None) -> str:
        self.calls.append((file_id, sha1))
        if file_id in self.errors:
            raise self.errors[file_id]
        destination.write(self.content[file_id])
        on_bytes(len(self.content[file_id]))
        return hashlib.sha1(self.content[file_id]).hexdigest()

    def downloaded(self) -> list[str]:
        return sorted(file_id for file_id, _ in self.calls)


class Backup:
    """A backup folder open for a run, with its state, and the fake API it downloads from."""

    def __init__(self, folder: BackupFolder, content: dict[str, bytes]) -> None:
        self.folder = folder
        self.root = folder.root
        self.state = folder.open_state(PATTERN.text, pattern_given=False)
        folder.begin(self.state)
        self.api = FakeApi(content)
        self.listing: Mapping[str, dict[str, Any]] = {}

    def plan(self, snapshot: Snapshot) -> Plan:
        self.listing = snapshot.documents
        return Planner(self.state, PATTERN, keep_trashed=False).plan(snapshot, self.folder.documents(self.state))

    def applier(self, jobs: int = 2) -> Applier:
        """The Applier of the plan made last, which reads listed documents from its snapshot."""
        return Applier(self.folder, self.api, self.state, Concurrency(jobs), progress=False, label="library",
                       listing=self.listing)

    def run(self, snapshot: Snapshot, jobs: int = 2) -> tuple[Plan, LibraryResult]:
        """Both phases, as a run does them: the removals only when the first had no failure."""
        plan = self.plan(snapshot)
        applier = self.applier(jobs)
        result = applier.apply(plan)
        if not result.failures:
            applier.remove(plan, result)
        return plan, result

    def saved_documents(self) -> dict[str, str]:
        """The documents the state file on disk lists."""
        return dict(json.loads((self.root / STATE_FILE).read_text())["documents"])

    def files(self) -> dict[str, bytes]:
        """Every file of the backup but the run's own, by relative path."""
        own = {self.root / STATE_FILE, self.root / LOCK_FILE}
        return {str(path.relative_to(self.root)): path.read_bytes() for path in sorted(self.root.rglob("*"))
                if path.is_file() and path not in own and TEMP_DIR not in path.parts}


CONTENT = {"f1": b"%PDF-1.4 one\n" * 50, "f2": b"notes\n" * 20, "f3": b"%PDF-1.4 three\n" * 30,
           **{f"g{number}": f"%PDF-1.4 g{number}\n".encode() * 10 for number in range(1, 7)}}


def attached(file_id: str, name: str, created: str = OLD) -> dict[str, Any]:
    """A file of a document, as the API lists it, with the size and hash of CONTENT[file_id]."""
    return {**remote_file(file_id, name, sha=sha1(CONTENT[file_id]).upper(), created=created),
            "size": len(CONTENT[file_id])}


def note(annotation_id: str, doc_id: str, created: str, modified: str = OLD) -> dict[str, Any]:
    return {"id": annotation_id, "document_id": doc_id, "type": "note", "text": annotation_id, "created": created,
            "last_modified": modified}


def full(*documents: dict[str, Any], annotations: tuple[dict[str, Any], ...] = ()) -> Snapshot:
    """A complete listing of the whole library."""
    return Snapshot(documents={item["id"]: item for item in documents}, full=True, trash_full=True,
                    annotations={item["id"]: item for item in annotations}, annotations_full=True)


def several(count: int) -> list[dict[str, Any]]:
    """`count` documents of one file each (g1...), created in that order."""
    return [document(f"d{number}", f"T {number}", created=f"2020-01-0{number}T00:00:00.000Z",
                     files=[attached(f"g{number}", f"paper {number}.pdf")]) for number in range(1, count + 1)]


@pytest.fixture
def backup(tmp_path) -> Iterator[Backup]:
    with BackupFolder.opened(tmp_path / "backup", dry_run=False) as folder:
        yield Backup(folder, CONTENT)


def test_a_new_document_is_downloaded_and_written_with_its_annotations(backup):
    listed = document("d1", "T 1", files=[attached("f1", "paper.pdf"), attached("f2", "notes.txt", created=NEW_TIME)])
    later, earlier = note("a2", "d1", "2024-02-01T00:00:00.000Z"), note("a1", "d1", "2024-03-01T00:00:00.000Z")
    _, result = backup.run(full(listed, annotations=(later, earlier)))
    assert (result.counts, result.annotation_changes, result.failures) == (Counter({NEW: 1}), 2, [])
    # The API was asked for each file once, with the hash it listed (in lower case, as downloads compare).
    assert sorted(backup.api.calls) == [("f1", sha1(CONTENT["f1"])), ("f2", sha1(CONTENT["f2"]))]
    folder = backup.root / "Doe" / "2024 - T 1"
    assert backup.files() == {"Doe/2024 - T 1/paper.pdf": CONTENT["f1"], "Doe/2024 - T 1/notes.txt": CONTENT["f2"],
                              "Doe/2024 - T 1/info.json": (folder / "info.json").read_bytes(),
                              "Doe/2024 - T 1/annotations.json": (folder / "annotations.json").read_bytes()}
    info = json.loads((folder / "info.json").read_text())
    assert info == {"document": {key: value for key, value in listed.items() if key != "files"},
                    "files": {"f1": "paper.pdf", "f2": "notes.txt"}}
    assert json.loads((folder / "annotations.json").read_text()) == [later, earlier]
    entry = backup.state.entry("d1")
    assert entry is not None and (entry.path, entry.last_modified, entry.created) == ("Doe/2024 - T 1", OLD, OLD)
    assert entry.files == {file_id: FileRecord(name, sha1(CONTENT[file_id]), (folder / name).stat().st_size,
                                               (folder / name).stat().st_mtime_ns)
                           for file_id, name in (("f1", "paper.pdf"), ("f2", "notes.txt"))}
    assert entry.annotations == {"a1": OLD, "a2": OLD}
    assert os.listdir(backup.root / TEMP_DIR) == []


def test_a_moved_document_s_files_are_moved_without_a_download(backup):
    backup.run(full(document("d1", "T 1", files=[attached("f1", "paper.pdf")]),
                    annotations=(note("a1", "d1", OLD),)))
    old = backup.root / "Doe" / "2024 - T 1" / "paper.pdf"
    inode = old.stat().st_ino
    backup.api.calls.clear()
    moved = document("d1", "T 1", author="Roe", modified=NEW_TIME, files=[attached("f1", "paper.pdf")])
    _, result = backup.run(full(moved, annotations=(note("a1", "d1", OLD),)))
    assert (result.counts, result.failures, backup.api.calls) == (Counter({MOVED: 1}), [], [])
    assert sorted(backup.files()) == ["Roe/2024 - T 1/annotations.json", "Roe/2024 - T 1/info.json",
                                      "Roe/2024 - T 1/paper.pdf"]
    new = backup.root / "Roe" / "2024 - T 1" / "paper.pdf"
    assert new.read_bytes() == CONTENT["f1"] and new.stat().st_ino == inode  # renamed, not copied
    assert not (backup.root / "Doe").exists()  # the old folder and its emptied parent are pruned
    assert json.loads((new.parent / "info.json").read_text())["document"]["authors"][0]["last_name"] == "Roe"
    assert backup.state.document_at("Roe/2024 - T 1") == "d1" and backup.state.document_at("Doe/2024 - T 1") is None


def test_a_file_no_longer_attached_is_deleted_only_by_the_removal_phase(backup):
    backup.run(full(document("d1", "T 1", files=[attached("f1", "paper.pdf"), attached("f2", "notes.txt")])))
    changed = document("d1", "T 1", modified=NEW_TIME, files=[attached("f1", "paper.pdf")])
    plan = backup.plan(Snapshot(documents={"d1": changed}))
    applier = backup.applier()
    result = applier.apply(plan)
    assert result.counts == Counter({UPDATED: 1})
    assert (backup.root / "Doe" / "2024 - T 1" / "notes.txt").read_bytes() == CONTENT["f2"]
    assert backup.state.pending_removals() == ["Doe/2024 - T 1/notes.txt"]
    applier.remove(plan, result)
    assert sorted(backup.files()) == ["Doe/2024 - T 1/info.json", "Doe/2024 - T 1/paper.pdf"]
    assert backup.state.pending_removals() == [] and result.failures == []


def test_a_good_copy_already_in_place_is_adopted_without_a_download(backup):
    folder = backup.root / "Doe" / "2024 - T 1"
    folder.mkdir(parents=True)
    (folder / "paper.pdf").write_bytes(CONTENT["f1"])  # left by a run killed before it saved the state
    _, result = backup.run(full(document("d1", "T 1", files=[attached("f1", "paper.pdf")])))
    assert (result.counts, result.failures, backup.api.calls) == (Counter({NEW: 1}), [], [])
    entry = backup.state.entry("d1")
    assert entry is not None and entry.files["f1"].sha1 == sha1(CONTENT["f1"])
    assert (folder / "paper.pdf").read_bytes() == CONTENT["f1"]


def test_a_file_in_the_way_that_the_backup_did_not_write_fails_only_its_document(backup):
    one, two = several(2)
    folder = backup.root / "Doe" / "2024 - T 1"
    folder.mkdir(parents=True)
    (folder / "paper 1.pdf").write_bytes(b"the user's own file")
    _, result = backup.run(full(one, two))
    assert result.counts == Counter({NEW: 1})
    assert len(result.failures) == 1 and result.failures[0].item == "Doe/2024 - T 1"
    assert "in the way and was not written by mendeley-backup" in result.failures[0].error
    assert (folder / "paper 1.pdf").read_bytes() == b"the user's own file"
    assert backup.api.downloaded() == ["g2"]
    assert backup.state.entry("d1") is None and backup.state.document_at("Doe/2024 - T 2") == "d2"
    assert (backup.root / "Doe" / "2024 - T 2" / "paper 2.pdf").read_bytes() == CONTENT["g2"]


def test_an_api_error_fails_one_document_only(backup):
    backup.api.errors["g2"] = ApiError("Could not download file g2: content answered 500")
    _, result = backup.run(full(*several(3)))
    assert result.counts == Counter({NEW: 2})
    assert result.failures == [Failure("Doe/2024 - T 2", "Could not download file g2: content answered 500")]
    assert sorted(backup.state.entries) == ["d1", "d3"]
    assert sorted(backup.files()) == ["Doe/2024 - T 1/info.json", "Doe/2024 - T 1/paper 1.pdf",
                                      "Doe/2024 - T 3/info.json", "Doe/2024 - T 3/paper 3.pdf"]
    assert os.listdir(backup.root / TEMP_DIR) == []


@pytest.mark.parametrize(("error", "raised"), [
    (LoginError("Mendeley refused the login"), LoginError),
    (OSError(errno.ENOSPC, "No space left on device"), FolderUnwritableError),
])
def test_a_lost_login_or_a_full_disk_stops_the_run_with_the_state_saved(backup, error, raised):
    backup.api.errors["g2"] = error
    with pytest.raises(raised) as stopped:
        plan = backup.plan(full(*several(6)))
        backup.applier(jobs=1).apply(plan)
    assert stopped.value is error or stopped.value.__cause__ is error
    saved = backup.saved_documents()
    # Saved: the documents completed, each with its files; not the one that failed, nor those never started.
    assert "d1" in saved and "d2" not in saved
    assert saved == {doc_id: entry.path for doc_id, entry in backup.state.entries.items()}
    for doc_id, path in saved.items():
        number = doc_id[1:]
        assert (backup.root / path / f"paper {number}.pdf").read_bytes() == CONTENT[f"g{number}"]
    assert len(backup.api.calls) < 6, "the run went on after it was stopped"
    assert os.listdir(backup.root / TEMP_DIR) == []


def test_removal_deletes_documents_the_server_lost_and_prunes_their_folders(backup):
    one, two, three = several(3)
    two["authors"] = [{"last_name": "Roe"}]
    backup.run(full(one, two, three))
    _, result = backup.run(Snapshot(deleted_ids={"d1", "d2"}))
    assert (result.counts, result.failures) == (Counter({REMOVED: 2}), [])
    assert sorted(backup.files()) == ["Doe/2024 - T 3/info.json", "Doe/2024 - T 3/paper 3.pdf"]
    assert not (backup.root / "Roe").exists() and not (backup.root / "Doe" / "2024 - T 1").exists()
    assert sorted(backup.state.entries) == ["d3"]


def test_one_refused_removal_does_not_hold_back_the_others(backup, tmp_path):
    one, two = several(2)
    two["authors"] = [{"last_name": "Roe"}]
    backup.run(full(one, two))
    # The user moved Doe/ away and left a link to it: nothing is deleted through the link.
    elsewhere = tmp_path / "elsewhere"
    (backup.root / "Doe").rename(elsewhere)
    (backup.root / "Doe").symlink_to(elsewhere, target_is_directory=True)
    plan = backup.plan(Snapshot(deleted_ids={"d1", "d2"}))
    applier = backup.applier()
    result = applier.apply(plan)
    applier.remove(plan, result)
    assert result.counts == Counter({REMOVED: 1})
    assert len(result.failures) == 1 and result.failures[0].item == "Doe/2024 - T 1"
    assert result.failures[0].error.startswith("could not remove: ")
    assert not (backup.root / "Roe").exists()
    assert (elsewhere / "2024 - T 1" / "paper 1.pdf").read_bytes() == CONTENT["g1"]
    assert (backup.root / "Doe").is_symlink() and sorted(backup.state.entries) == ["d1"]


def test_annotations_are_added_in_the_first_phase_and_removed_in_the_second(backup):
    backup.run(full(document("d1", "T 1"), annotations=(note("a1", "d1", "2024-01-01"),
                                                        note("a2", "d1", "2024-02-01"))))
    snapshot = Snapshot(annotations={"a3": note("a3", "d1", "2024-03-01", modified=NEW_TIME)},
                        deleted_annotation_ids={"a1"})
    plan = backup.plan(snapshot)
    applier = backup.applier()
    result = applier.apply(plan)
    path = backup.root / "Doe" / "2024 - T 1" / "annotations.json"
    assert (result.counts, result.annotation_changes) == (Counter({UPDATED: 1}), 1)
    assert [item["id"] for item in json.loads(path.read_text())] == ["a1", "a2", "a3"]
    applier.remove(plan, result)
    assert result.annotation_changes == 2
    assert [item["id"] for item in json.loads(path.read_text())] == ["a2", "a3"]
    entry = backup.state.entry("d1")
    assert entry is not None and entry.annotations == {"a2": OLD, "a3": NEW_TIME}
    assert backup.api.calls == []


def test_the_fake_api_downloads_as_the_real_client_is_called():
    """The fake stands in for MendeleyApi.download: a change of the real signature shows here."""
    assert list(inspect.signature(FakeApi.download).parameters) == list(
        inspect.signature(MendeleyApi.download).parameters)
