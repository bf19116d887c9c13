"""Unit tests of BackupFolder in a temporary folder: opening a backup for a run (lock, temporary folder, refusal of a
folder that is not a backup), the state on disk, document and group folders, atomic writing and fatal errors."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from BackupFolder import LOCK_FILE, STATE_FILE, TEMP_DIR, AtomicWriter, BackupFolder, fatal_errors
from DocumentInfo import BackupState, Entry, FileRecord
from Errors import BackupFolderError, FolderLockedError, FolderUnwritableError, NotABackupError, UnsafePathError
from tests.tool import state_json, state_text

PATTERN = "%authors/%year - %title"
SHA = "a" * 40


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tree(root: Path) -> list[str]:
    """Every path under `root`, relative, sorted."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.fixture
def folder(tmp_path) -> Iterator[BackupFolder]:
    """A new backup's folder, made as a run makes it once the server has answered."""
    with BackupFolder.opened(tmp_path / "backup", dry_run=False) as opened:
        opened.begin(BackupState(PATTERN))
        yield opened


@pytest.fixture
def umask() -> Iterator[Any]:
    """Set the process's umask for one test; the old one is put back."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


# Opening a folder for a run ----------------------------------------------------------------------------------


def test_opened_creates_the_folder_with_its_lock_and_temporary_folder_and_tidies_up(tmp_path):
    root = tmp_path / "new" / "backup"
    with BackupFolder.opened(root, dry_run=False) as folder:
        assert folder.root == root and not root.exists()  # a new backup is made only once the server answered
        folder.begin(BackupState(PATTERN))
        assert tree(root) == sorted([LOCK_FILE, STATE_FILE, TEMP_DIR])
        assert (root / LOCK_FILE).read_text().split() == [str(os.getpid())]
        assert folder.writer.temp_dir == root / TEMP_DIR
    assert tree(root) == [LOCK_FILE, STATE_FILE]


def test_opened_removes_what_a_killed_run_left_in_the_temporary_folder(tmp_path):
    root = tmp_path / "backup"
    (root / TEMP_DIR).mkdir(parents=True)
    (root / STATE_FILE).write_text(json.dumps({"documents": {}, "pattern": PATTERN}))
    (root / TEMP_DIR / ".paper.pdf.0123456789ab.part").write_bytes(b"half a download")
    with BackupFolder.opened(root, dry_run=False):
        assert os.listdir(root / TEMP_DIR) == []
    assert tree(root) == [LOCK_FILE, STATE_FILE]


def test_a_second_open_of_a_locked_folder_names_the_holder_and_leaves_its_files(tmp_path):
    root = tmp_path / "backup"
    with BackupFolder.opened(root, dry_run=False) as folder:
        folder.begin(BackupState(PATTERN))
        in_flight, out = folder.writer.temp_file("paper.pdf")
        out.close()
        message = rf"\(process {os.getpid()}\) is working on {re.escape(str(root))};"
        with pytest.raises(FolderLockedError, match=message), \
                BackupFolder.opened(root, dry_run=False):
            pass
        assert in_flight.exists() and (root / LOCK_FILE).read_text().split() == [str(os.getpid())]
        in_flight.unlink()
    with BackupFolder.opened(root, dry_run=False):  # released with the first
        pass


def test_a_dry_run_creates_nothing(tmp_path):
    root = tmp_path / "backup"
    with BackupFolder.opened(root, dry_run=True) as folder:
        state = folder.open_state(PATTERN, pattern_given=True)
        assert state.pattern == PATTERN and state.entries == {}
    assert not root.exists()
    root.mkdir()
    with BackupFolder.opened(root, dry_run=True) as folder:
        folder.open_state(PATTERN, pattern_given=True)
    assert os.listdir(root) == []


def test_a_folder_with_other_content_and_no_state_is_refused_untouched(tmp_path):
    root = tmp_path / "home"
    (root / "Documents").mkdir(parents=True)
    (root / "notes.txt").write_bytes(b"mine")
    for dry_run in (False, True):
        with pytest.raises(NotABackupError, match=r"not empty .* 'Documents'"), \
                BackupFolder.opened(root, dry_run) as folder:
            folder.open_state(PATTERN, pattern_given=False)
    assert tree(root) == ["Documents", "notes.txt"]
    assert (root / "notes.txt").read_bytes() == b"mine"


def test_a_folder_a_killed_first_run_left_before_its_state_is_taken(tmp_path):
    root = tmp_path / "backup"
    (root / TEMP_DIR).mkdir(parents=True)
    (root / LOCK_FILE).write_text("12345\n")
    with BackupFolder.opened(root, dry_run=False) as folder:
        folder.begin(folder.open_state(PATTERN, pattern_given=False))
    assert tree(root) == [LOCK_FILE, STATE_FILE]


def test_a_backup_folder_that_cannot_be_created_is_one_error(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(BackupFolderError, match="Cannot create the backup folder"), \
            BackupFolder.opened(tmp_path / "file" / "backup", dry_run=False) as folder:
        folder.begin(BackupState(PATTERN))


def test_a_full_disk_during_a_run_is_one_line(tmp_path):
    with pytest.raises(FolderUnwritableError, match="the disk is full"), \
            BackupFolder.opened(tmp_path / "backup", dry_run=False) as folder:
        folder.begin(BackupState(PATTERN))
        raise OSError(errno.ENOSPC, "No space left on device")
    assert tree(tmp_path / "backup") == [LOCK_FILE, STATE_FILE]


# The state ---------------------------------------------------------------------------------------------------


def test_a_new_state_is_written_at_once(folder):
    state = folder.open_state(PATTERN, pattern_given=False)
    assert state.pattern == PATTERN and not state.from_original
    data = read_json(folder.root / STATE_FILE)
    assert (data["documents"], data["pattern"], data["last_backup_time"]) == ({}, PATTERN, None)


def test_an_existing_state_is_loaded_and_keeps_its_pattern(folder, caplog):
    stored = BackupState("%title", cutoff=datetime(2024, 5, 1, tzinfo=timezone.utc))
    stored.record("d1", Entry(path="T", files={"f1": FileRecord("paper.pdf", SHA, 3, 4)}))
    folder.save_state(stored)
    with caplog.at_level(logging.WARNING):
        assert state_json(folder.open_state(PATTERN, pattern_given=False)) == state_json(stored)
    assert caplog.records == []
    with caplog.at_level(logging.WARNING):
        state = folder.open_state(PATTERN, pattern_given=True)
    assert state.pattern == "%title"
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "'%title'" in caplog.text and repr(PATTERN) in caplog.text
    assert read_json(folder.root / STATE_FILE)["pattern"] == "%title"


def test_a_state_saved_is_loaded_whole(folder):
    state = BackupState(PATTERN, cutoff=datetime(2024, 5, 1, 12, tzinfo=timezone.utc),
                        last_full_listing=datetime(2024, 4, 1, tzinfo=timezone.utc),
                        folders={"f": {"id": "f", "name": "Papers"}}, groups={"g1": "groups/Lab"},
                        pending=["Doe/2024 - T/old.pdf"], exports_outdated=True)
    state.record("d1", Entry(path="Doe/2024 - T", last_modified="2024-01-01T00:00:00.000Z",
                             files={"f1": FileRecord("paper.pdf", SHA, 10, 123)}, folder_uuids=("f",),
                             annotations={"a1": "2024-01-02T00:00:00.000Z"}, created="2023-01-01T00:00:00.000Z"))
    state.record("d2", Entry(path=".trash/Roe/2020 - U", trashed=True))
    folder.save_state(state)
    loaded = folder.load_state()
    assert loaded is not None
    assert state_json(loaded) == state_json(state)
    assert (loaded.cutoff, loaded.last_full_listing) == (state.cutoff, state.last_full_listing)
    assert (loaded.exports_outdated, loaded.from_original, loaded.pending_removals()) == (
        True, False, ["Doe/2024 - T/old.pdf"])
    assert loaded.entry("d1") == state.entry("d1") and loaded.document_at(".trash/Roe/2020 - U") == "d2"
    assert dict(loaded.groups) == {"g1": "groups/Lab"}


def saved_library(folder: BackupFolder, documents: int = 40) -> BackupState:
    """A state of `documents` entries with hostile folder names, saved, and loaded back as a run loads it."""
    state = BackupState(PATTERN, cutoff=datetime(2024, 5, 1, 12, tzinfo=timezone.utc))
    for number in range(documents):
        state.record(f"d{number}", Entry(path=f'Müller "{number}"\nline \\ {number}', last_modified="2024-01-01",
                                         files={"f1": FileRecord(f"{number}.pdf", SHA, number, 1)}))
    folder.save_state(state)
    loaded = folder.load_state()
    assert loaded is not None
    return loaded


def test_a_state_saved_with_no_entry_changed_copies_its_documents_lines_and_reads_back_as_it_is(folder, monkeypatch):
    state = saved_library(folder)
    state.advance(datetime(2024, 6, 1, tzinfo=timezone.utc), full_listing_at=None)
    state.follow_folders({"f": {"id": "f", "name": "Papers"}})
    # No entry is encoded again: the lines on disk are copied.
    monkeypatch.setattr(Entry, "to_json", lambda entry: pytest.fail("an unchanged entry was encoded again"))
    folder.save_state(state)
    folder.save_state(state)  # and again, from the file the first save wrote
    monkeypatch.undo()
    assert (folder.root / STATE_FILE).read_text(encoding="utf-8") == state_text(state)
    loaded = folder.load_state()
    assert loaded is not None and state_json(loaded) == state_json(state)
    assert loaded.cutoff == datetime(2024, 6, 1, tzinfo=timezone.utc) and loaded.folders == state.folders


@pytest.mark.parametrize("change", ["record", "forget", "annotations", "checked"])
def test_a_state_saved_after_an_entry_changed_writes_the_change(folder, change):
    state = saved_library(folder)
    if change == "record":
        state.record("d3", Entry(path="Roe/2020 - U", files={"f9": FileRecord("new.pdf", SHA, 5, 2)}))
    elif change == "forget":
        state.forget("d3")
    elif change == "annotations":
        state.record("d3", Entry(path="Roe/2020 - U", annotations={"a1": "t", "a2": "t"}))
        folder.save_state(state)
        state.forget_annotations("d3", ["a1"])
    else:
        state.checked_file("d3", "f1", "0" * 40, (7, 8))
    expected = state_text(state)
    folder.save_state(state)
    assert (folder.root / STATE_FILE).read_text(encoding="utf-8") == expected
    loaded = folder.load_state()
    assert loaded is not None and state_json(loaded) == state_json(state)


def test_a_state_file_changed_by_someone_else_since_it_was_read_is_written_whole(folder):
    state = saved_library(folder)
    (folder.root / STATE_FILE).write_text("{}", encoding="utf-8")
    folder.save_state(state)
    assert (folder.root / STATE_FILE).read_text(encoding="utf-8") == state_text(state)
    (folder.root / STATE_FILE).unlink()
    folder.save_state(state)
    assert (folder.root / STATE_FILE).read_text(encoding="utf-8") == state_text(state)


def test_another_state_saved_in_the_folder_is_written_whole(folder):
    saved_library(folder)
    other = BackupState(PATTERN)
    other.record("x", Entry(path="Other/2021 - X"))
    folder.save_state(other)
    assert (folder.root / STATE_FILE).read_text(encoding="utf-8") == state_text(other)


def test_no_state_file_is_no_state(tmp_path):
    with BackupFolder.opened(tmp_path / "backup", dry_run=False) as folder:
        assert folder.load_state() is None


def test_a_state_the_original_tool_wrote_gives_legacy_entries(tmp_path):
    root = tmp_path / "backup"
    (root / "Doe" / "2024 - T").mkdir(parents=True)
    (root / "Doe" / "2024 - T" / "paper.pdf").write_bytes(b"%PDF")
    info = {"document": {"id": "d1", "title": "T", "last_modified": "2024-01-15T11:43:24.123000+00:00",
                         "created": "2023-02-01T00:00:00+00:00"}, "files": {"f1": "paper.pdf"}}
    (root / "Doe" / "2024 - T" / "info.json").write_text(json.dumps(info, indent=4))
    (root / "Roe" / "2023 - U").mkdir(parents=True)  # its info.json lost
    original = {"last_backup_time": "2024-05-01T12:00:00.123456", "pattern": PATTERN,
                "documents": {"d1": "Doe/2024 - T", "d2": "Roe/2023 - U"}}
    (root / STATE_FILE).write_text(json.dumps(original, indent=4))
    with BackupFolder.opened(root, dry_run=False) as folder:
        state = folder.open_state("%title", pattern_given=False)
    assert state.from_original and state.pattern == PATTERN
    assert state.cutoff == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert state.entries == {
        "d1": Entry(path="Doe/2024 - T", last_modified="2024-01-15T11:43:24.123000+00:00",
                    created="2023-02-01T00:00:00+00:00", files={"f1": FileRecord("paper.pdf")}, legacy=True),
        "d2": Entry(path="Roe/2023 - U", legacy=True)}
    assert read_json(root / STATE_FILE) == original  # loading writes nothing


def test_a_state_naming_one_folder_for_two_documents_is_refused(folder):
    (folder.root / STATE_FILE).write_text(json.dumps({"pattern": PATTERN, "documents": {"d1": "T", "d2": "T"}}))
    with pytest.raises(BackupFolderError, match="names one folder for two documents"):
        folder.load_state()


@pytest.mark.parametrize("text", ["{", "", "[]", '"info"', "{}", '{"documents": {"d1": "T"}}',
                                  '{"documents": ["T"], "pattern": "%title"}', '{"documents": {}, "pattern": ""}',
                                  '{"document": {"id": "d1"}, "files": {}}'])
def test_json_that_is_not_a_state_is_refused(folder, text):
    (folder.root / STATE_FILE).write_text(text)
    with pytest.raises(BackupFolderError, match=STATE_FILE):
        folder.open_state(PATTERN, pattern_given=False)
    assert (folder.root / STATE_FILE).read_text() == text


@pytest.mark.parametrize("damage", [{"folders": ["f"]}, {"entries": {"d1": {"folder_uuids": 5}}},
                                    {"entries": {"d1": {"files": ["f1"]}}}, {"groups": "groups/Lab"},
                                    {"pending_removals": "old.pdf"}])
def test_a_state_whose_own_keys_are_damaged_is_refused(folder, damage):
    """Fails today: the damaged key escapes as a TypeError, ValueError or AttributeError (a traceback), not as the
    one-line BackupFolderError the entry point reports: state_from_json reads the tool's own keys unchecked. A
    string of pending removals is even taken letter by letter, as files to delete at the top of the backup."""
    (folder.root / STATE_FILE).write_text(json.dumps({"pattern": PATTERN, "documents": {"d1": "T"}, **damage}))
    with pytest.raises(BackupFolderError, match=STATE_FILE):
        folder.load_state()


# Document folders --------------------------------------------------------------------------------------------


def test_a_document_written_is_read_back(folder):
    folder.ensure_folder("Doe/2024 - T")
    folder.write_document("Doe/2024 - T", {"id": "d1", "title": "T", "files": [{"id": "f1"}]}, {"f1": "paper.pdf"})
    assert read_json(folder.root / "Doe" / "2024 - T" / "info.json") == {
        "document": {"id": "d1", "title": "T"}, "files": {"f1": "paper.pdf"}}
    assert folder.read_document("Doe/2024 - T") == ({"id": "d1", "title": "T"}, {"f1": "paper.pdf"})
    assert folder.has_document_info("Doe/2024 - T") and not folder.has_document_info("Roe/2024 - T")


def test_an_unreadable_info_json_reads_as_empty(folder, caplog):
    folder.ensure_folder("Doe/2024 - T")
    (folder.root / "Doe" / "2024 - T" / "info.json").write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert folder.read_document("Doe/2024 - T") == ({}, {})
    assert "Could not read" in caplog.text


def test_write_annotations_orders_them_and_removes_the_file_when_none_are_left(folder):
    folder.ensure_folder("Doe/2024 - T")
    annotations = [{"id": "b", "created": "2024-02-01T00:00:00.000Z"}, {"id": "c", "created": "2023-01-01T00:00:00Z"},
                   {"id": "a", "created": "2024-02-01T00:00:00.000Z"}]
    folder.write_annotations("Doe/2024 - T", annotations)
    path = folder.root / "Doe" / "2024 - T" / "annotations.json"
    assert [item["id"] for item in read_json(path)] == ["c", "a", "b"]
    assert folder.read_annotations("Doe/2024 - T") == read_json(path)
    folder.write_annotations("Doe/2024 - T", [])
    assert not path.exists() and folder.read_annotations("Doe/2024 - T") == []
    folder.write_annotations("Doe/2024 - T", [])  # none, and no file: nothing to do


def test_documents_are_read_from_disk_when_looked_up(folder):
    state = BackupState(PATTERN, entries={"d1": Entry(path="Doe/2024 - T"), "d2": Entry(path="Roe/2024 - U")})
    folder.ensure_folder("Doe/2024 - T")
    documents = folder.documents(state)
    assert (len(documents), sorted(documents)) == (2, ["d1", "d2"])
    # Written after the view was made: what a lookup returns is what is on disk at that moment.
    folder.write_document("Doe/2024 - T", {"id": "d1", "title": "T"}, {})
    assert documents["d1"] == {"id": "d1", "title": "T"}
    assert documents["d2"] == {}  # no info.json
    with pytest.raises(KeyError):
        documents["d3"]


@pytest.mark.parametrize("relative", ["../outside", "/etc", "Doe//T", ""])
def test_paths_outside_the_folder_are_refused(folder, relative):
    with pytest.raises(UnsafePathError):
        folder.path(relative)


# Groups ------------------------------------------------------------------------------------------------------


def test_a_group_gets_its_own_folder_under_groups(folder):
    state = BackupState(PATTERN)
    group = folder.group(state, "g1", "Lab: Papers", dry_run=False)
    assert group.root == folder.root / "groups" / "Lab_ Papers" and group.root.is_dir()
    assert group.writer is folder.writer
    assert dict(state.groups) == {"g1": "groups/Lab_ Papers"}
    assert folder.group(state, "g1", "Lab: Papers", dry_run=False).root == group.root


def test_a_renamed_group_s_folder_is_moved(folder):
    state = BackupState(PATTERN)
    old = folder.group(state, "g1", "Lab", dry_run=False)
    (old.root / "Doe").mkdir()
    (old.root / "Doe" / "paper.pdf").write_bytes(b"kept")
    renamed = folder.group(state, "g1", "Lab 2024", dry_run=False)
    assert tree(folder.root / "groups") == ["Lab 2024", "Lab 2024/Doe", "Lab 2024/Doe/paper.pdf"]
    assert (renamed.root / "Doe" / "paper.pdf").read_bytes() == b"kept"
    assert dict(state.groups) == {"g1": "groups/Lab 2024"}


def test_groups_whose_names_collide_case_insensitively_get_distinct_folders(folder):
    state = BackupState(PATTERN)
    assert folder.group(state, "g1", "Lab", dry_run=False).root.name == "Lab"
    assert folder.group(state, "g2", "LAB", dry_run=False).root.name == "LAB (2)"
    assert folder.group(state, "g3", "lab", dry_run=False).root.name == "lab (3)"
    assert dict(state.groups) == {"g1": "groups/Lab", "g2": "groups/LAB (2)", "g3": "groups/lab (3)"}
    assert sorted(os.listdir(folder.root / "groups")) == ["LAB (2)", "Lab", "lab (3)"]


def test_a_group_in_a_dry_run_creates_and_records_nothing(folder):
    state = BackupState(PATTERN)
    assert folder.group(state, "g1", "Lab", dry_run=True).root == folder.root / "groups" / "Lab"
    assert not (folder.root / "groups").exists() and dict(state.groups) == {}


# Atomic writing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mask", "private", "expected"), [(0o022, False, 0o644), (0o077, False, 0o600),
                                                          (0o000, True, 0o600), (0o022, True, 0o600)])
def test_a_written_file_s_mode(tmp_path, umask, mask, private, expected):
    umask(mask)
    writer = AtomicWriter(tmp_path, private=private)
    writer.write_chunks(tmp_path / "file", [b"content"])
    assert (tmp_path / "file").read_bytes() == b"content" and mode_of(tmp_path / "file") == expected
    assert os.listdir(tmp_path) == ["file"]


def test_a_private_file_is_private_before_its_first_byte_and_its_rename(tmp_path, umask):
    umask(0)
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    (tmp_path / "token").write_bytes(b"old")
    seen: list[tuple[str, int, bytes]] = []

    def chunks() -> Iterator[bytes]:
        for part in (b"sec", b"ret"):
            [temporary] = temp_dir.iterdir()
            seen.append((temporary.name, mode_of(temporary), (tmp_path / "token").read_bytes()))
            yield part

    AtomicWriter(temp_dir, private=True).write_chunks(tmp_path / "token", chunks())
    assert [(mode, target) for _, mode, target in seen] == [(0o600, b"old"), (0o600, b"old")]
    assert seen[0][0].startswith(".token.") and seen[0][0].endswith(".part")
    assert (tmp_path / "token").read_bytes() == b"secret" and mode_of(tmp_path / "token") == 0o600
    assert os.listdir(temp_dir) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    (tmp_path / "file").write_bytes(b"old")

    def chunks() -> Iterator[bytes]:
        yield b"half"
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError, match="Input/output error"):
        AtomicWriter(temp_dir).write_chunks(tmp_path / "file", chunks())
    assert (tmp_path / "file").read_bytes() == b"old" and os.listdir(temp_dir) == []


def test_json_is_written_as_utf_8_even_with_a_lone_surrogate(tmp_path):
    writer = AtomicWriter(tmp_path)
    writer.write_json(tmp_path / "a.json", {"title": "Ünïcode \ud800"})
    assert (tmp_path / "a.json").read_bytes() == '{\n  "title": "Ünïcode \\ud800"\n}\n'.encode()
    writer.write_json(tmp_path / "b.json", {"a": [1, 2]}, indent=None)
    assert (tmp_path / "b.json").read_bytes() == b'{"a":[1,2]}\n'


# Fatal errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "reason"), [(errno.ENOSPC, "the disk is full"),
                                                (errno.EROFS, "read-only file system"),
                                                (errno.EDQUOT, "quota is exceeded")])
def test_an_error_after_which_nothing_can_be_written_stops_the_run(tmp_path, number, reason):
    error = OSError(number, os.strerror(number))
    with pytest.raises(FolderUnwritableError, match=reason) as raised, fatal_errors(tmp_path):
        raise error
    assert str(tmp_path) in str(raised.value) and raised.value.__cause__ is error


@pytest.mark.parametrize("error", [OSError(errno.ENOENT, "No such file or directory"),
                                   OSError(errno.EIO, "Input/output error"), FileExistsError(errno.EEXIST, "exists"),
                                   UnsafePathError("refusing the path '..'"), OSError("no errno")])
def test_other_file_system_errors_pass_through(tmp_path, error):
    with pytest.raises(OSError) as raised, fatal_errors(tmp_path):
        raise error
    assert raised.value is error


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_state_saved_is_laid_out_a_document_to_a_line_and_read_back_so(folder, monkeypatch, count):
    """Read a line at a time (never parsed whole: json.load is not called), whatever its names hold."""
    state = BackupState(PATTERN, pending=["x/y.pdf"])
    names = ['Doe/2024 - "T"', "Wei\u00df/1963 - \u2028 line separator", "\u738b/\udc80 surrogate"]
    for number in range(count):
        state.record(f"d{number}", Entry(path=names[number], last_modified="2024-01-01T00:00:00.000Z",
                                         files={"f": FileRecord(f"{names[number][-4:]}.pdf", SHA, 1, 2)}))
    folder.save_state(state)
    lines = (folder.root / STATE_FILE).read_bytes().split(b"\n")
    assert len(lines) == 6 + 2 * count  # head, "documents", members, "},", "entries", members, closing, ""
    monkeypatch.setattr(json, "load", lambda *args, **kwargs: pytest.fail("the state was parsed whole"))
    loaded = folder.load_state()
    assert loaded is not None and state_json(loaded) == state_json(state)


def test_a_state_of_the_earlier_format_on_one_line_is_still_read(folder):
    earlier = {"last_backup_time": "2024-05-01T12:00:00.000Z", "documents": {"d1": "Doe/2024 - T"},
               "pattern": PATTERN, "format": 2, "last_full_listing": None,
               "entries": {"d1": {"last_modified": "2024-01-01T00:00:00.000Z", "created": "",
                                  "files": {"f1": {"name": "paper.pdf", "sha1": SHA, "size": 10, "mtime_ns": 1}}}}}
    (folder.root / STATE_FILE).write_text(json.dumps(earlier, separators=(",", ":")))
    loaded = folder.load_state()
    assert loaded is not None and not loaded.from_original
    assert loaded.entry("d1") == Entry(path="Doe/2024 - T", last_modified="2024-01-01T00:00:00.000Z",
                                       files={"f1": FileRecord("paper.pdf", SHA, 10, 1)})
