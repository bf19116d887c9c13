"""Unit tests of DocumentInfo: BackupState changes only through its methods, and the on-disk formats the original
tool's backups share are kept."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from bidict import ValueDuplicationError

from DocumentInfo import (
    BackupState,
    Entry,
    FileRecord,
    annotations_from_json,
    document_info_from_json,
    document_info_json,
    legacy_entry,
    ordered_annotations,
    state_from_lines,
)
from tests.tool import state_json, state_text

PATTERN = "%authors/%year - %title"
SHA = "a" * 40
CUTOFF = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)


def entry(path: str, **files: str) -> Entry:
    return Entry(path=path, last_modified="2024-01-01T00:00:00.000Z",
                 files={file_id: FileRecord(name, SHA, 10, 1) for file_id, name in files.items()})


def test_record_holds_a_document_at_its_folder_and_forget_lets_it_go():
    state = BackupState(PATTERN)
    state.record("d1", entry("Doe/2024 - T", f1="paper.pdf"))
    assert state.document_at("Doe/2024 - T") == "d1"
    assert state.entry("d1") is not None and state_json(state)["documents"] == {"d1": "Doe/2024 - T"}
    # Recorded again at a new folder (a move): the old folder is free.
    state.record("d1", entry("Roe/2024 - T", f1="paper.pdf"))
    assert (state.document_at("Doe/2024 - T"), state.document_at("Roe/2024 - T")) == (None, "d1")
    state.forget("d1")
    state.forget("never held")
    assert state.entry("d1") is None and state.document_at("Roe/2024 - T") is None
    assert state_json(state)["documents"] == {}
    state.record("d2", entry("Roe/2024 - T"))  # the folder may be another document's now
    assert state.document_at("Roe/2024 - T") == "d2"


def test_two_documents_recorded_in_one_folder_raise():
    state = BackupState(PATTERN)
    state.record("d1", entry("Doe/2024 - T"))
    with pytest.raises(ValueDuplicationError):
        state.record("d2", entry("Doe/2024 - T"))
    with pytest.raises(ValueDuplicationError):
        BackupState(PATTERN, entries={"d1": entry("Doe/2024 - T"), "d2": entry("Doe/2024 - T")})


def test_holds_file_knows_the_files_the_backup_put_there():
    state = BackupState(PATTERN, pending=["Old/2020 - X/gone.pdf"])
    state.record("d1", entry("Doe/2024 - T", f1="Paper.pdf"))
    held = ["Doe/2024 - T/Paper.pdf", "Doe/2024 - T/paper.PDF", "Doe/2024 - T/info.json",
            "Doe/2024 - T/annotations.json", "Old/2020 - X/gone.pdf"]
    not_held = ["Doe/2024 - T/other.pdf", "Doe/2024 - T/Paper.pdf.part", "Roe/2024 - T/Paper.pdf",
                "Doe/Paper.pdf", "Old/2020 - X/info.json", "info.json"]
    assert [state.holds_file(path) for path in held] == [True] * len(held)
    assert [state.holds_file(path) for path in not_held] == [False] * len(not_held)


def test_files_a_document_leaves_are_pending_until_removed():
    state = BackupState(PATTERN)
    state.record("d1", entry("Doe/2024 - T", f1="new.pdf"), leaving=["Doe/2024 - T/old.pdf", "Doe/2024 - T/b.pdf"])
    assert state.pending_removals() == ["Doe/2024 - T/b.pdf", "Doe/2024 - T/old.pdf"]
    assert state.holds_file("Doe/2024 - T/old.pdf")
    state.removed_pending("Doe/2024 - T/old.pdf")
    state.removed_pending("never pending")
    assert state.pending_removals() == ["Doe/2024 - T/b.pdf"]
    assert state_json(state)["pending_removals"] == ["Doe/2024 - T/b.pdf"]


def test_forget_annotations_drops_only_the_given_ones():
    state = BackupState(PATTERN)
    state.record("d1", Entry(path="Doe/2024 - T", annotations={"a1": "t1", "a2": "t2", "a3": "t3"}))
    state.forget_annotations("d1", ["a1", "a3", "a9"])
    state.forget_annotations("not held", ["a2"])
    assert state_json(state)["entries"]["d1"]["annotations"] == {"a2": "t2"}


def test_checked_file_records_what_a_rehash_found():
    state = BackupState(PATTERN)
    state.record("d1", entry("Doe/2024 - T", f1="a.pdf", f2="b.pdf"))
    state.checked_file("d1", "f1", "c" * 40, (20, 7))
    state.checked_file("d1", "f2", None, None)  # missing: fetched again by the next plan
    files = state_json(state)["entries"]["d1"]["files"]
    assert files == {"f1": {"name": "a.pdf", "sha1": "c" * 40, "size": 20, "mtime_ns": 7},
                     "f2": {"name": "b.pdf", "sha1": "", "size": None, "mtime_ns": None}}


def test_advance_moves_the_cutoff_and_the_full_listing_only_when_given():
    state = BackupState(PATTERN, from_original=True)
    state.advance(CUTOFF, full_listing_at=None)
    assert (state.cutoff, state.last_full_listing, state.from_original) == (CUTOFF, None, False)
    later = datetime(2024, 6, 1, tzinfo=timezone.utc)
    state.advance(later, full_listing_at=later)
    data = state_json(state)
    assert (data["last_backup_time"], data["last_full_listing"]) == ("2024-06-01T00:00:00.000Z",) * 2


def test_follow_folders_takes_a_copy_of_the_tree():
    tree = {"f": {"id": "f", "name": "Papers"}}
    state = BackupState(PATTERN)
    state.follow_folders(tree)
    tree["g"] = {"id": "g", "name": "Later"}
    assert state_json(state)["folders"] == {"f": {"id": "f", "name": "Papers"}}


def test_set_group_folder_refuses_a_folder_another_group_holds():
    state = BackupState(PATTERN)
    state.set_group_folder("g1", "groups/Lab")
    state.set_group_folder("g2", "groups/Lab (2)")
    with pytest.raises(ValueDuplicationError):
        state.set_group_folder("g2", "groups/Lab")
    state.set_group_folder("g1", "groups/Lab renamed")  # its own folder may change
    assert state_json(state)["groups"] == {"g1": "groups/Lab renamed", "g2": "groups/Lab (2)"}


def test_the_state_file_keeps_the_original_tools_three_keys_in_their_formats():
    state = BackupState(PATTERN, cutoff=CUTOFF)
    state.record("d1", entry("Doe/2024 - T", f1="paper.pdf"))
    state.record("d2", entry("Doe et al./2023 - U"))
    data = json.loads(json.dumps(state_json(state)))
    assert data["pattern"] == PATTERN
    assert data["documents"] == {"d1": "Doe/2024 - T", "d2": "Doe et al./2023 - U"}
    assert data["last_backup_time"] == "2024-05-01T12:00:00.250Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["last_backup_time"])
    assert state_json(BackupState(PATTERN))["last_backup_time"] is None
    # The tool's own keys stay out of the way when there is nothing to say.
    assert set(state_json(BackupState(PATTERN))) == {"last_backup_time", "documents", "pattern", "format",
                                                   "last_full_listing", "entries"}


def test_a_large_state_is_written_a_document_to_a_line_and_read_back_whole():
    """The folders are written a thousand to a piece: names with line breaks, quotes, backslashes, other scripts and
    a lone surrogate (a file name that was not UTF-8) must still give one folder to a line, and read back as
    written, across the pieces' boundaries."""
    names = ["Doe/2024 - T", 'Line\nbreak "quoted" \\ back', "Müller/Ελληνικά/日本", "bad \udce9 byte"]
    state = BackupState(PATTERN, cutoff=CUTOFF)
    for number in range(2_501):
        state.record(f"d{number}", Entry(path=f"{names[number % 4]} {number}", last_modified="2024-01-01T00:00:00.000Z",
                                         files={"f1": FileRecord(f"{number}.pdf", SHA, number, 1)},
                                         folder_uuids=("f",) if number % 2 else (), annotations={"a": "t"}))
    text = state_text(state).encode("utf-8", "backslashreplace")  # as BackupFolder.save_state
    lines = text.splitlines(keepends=True)
    documents = lines[lines.index(b'"documents":{\n') + 1:lines.index(b"},\n")]
    assert len(documents) == 2_501 and all(line.count(b'":"') == 1 for line in documents)
    back, span = state_from_lines(iter(lines), read_legacy_entry=lambda path: pytest.fail(path))
    assert back.entries == state.entries and back.cutoff == CUTOFF
    assert span is not None and text[:span[0]] == lines[0] and text[span[1]:] == lines[-1]


def test_document_info_json_holds_the_document_whole_without_its_files_list():
    document = {"id": "d1", "title": "T", "files": [{"id": "f1"}], "tags": ["x"]}
    info = document_info_json(document, {"f1": "paper.pdf"})
    assert info == {"document": {"id": "d1", "title": "T", "tags": ["x"]}, "files": {"f1": "paper.pdf"}}
    assert document["files"] == [{"id": "f1"}]  # the caller's JSON is left as it was
    assert document_info_from_json(json.loads(json.dumps(info))) == (info["document"], info["files"])


@pytest.mark.parametrize("data", [None, [], "info", 3, {}, {"document": "x", "files": ["f1"]},
                                  {"document": None, "files": None}, {"document": [1], "files": 2}])
def test_document_info_from_json_of_anything_else_is_empty(data):
    assert document_info_from_json(data) == ({}, {})


def test_document_info_from_json_keeps_what_is_whole_of_a_half_broken_one():
    assert document_info_from_json({"document": {"id": "d1"}, "files": "broken"}) == ({"id": "d1"}, {})
    assert document_info_from_json({"document": 5, "files": {"f1": "a.pdf"}}) == ({}, {"f1": "a.pdf"})


@pytest.mark.parametrize(("data", "expected"), [
    (None, []), ({"id": "a1"}, []), ("a1", []), ([{"id": "a1"}, "a2", None, 3, ["a3"], {"id": "a4"}],
                                                  [{"id": "a1"}, {"id": "a4"}]),
])
def test_annotations_from_json_keeps_only_annotations(data, expected):
    assert annotations_from_json(data) == expected


def test_annotations_are_ordered_by_creation_then_id():
    items = [{"id": "b", "created": "2024-02-01"}, {"id": "a", "created": "2024-02-01"},
             {"id": "c", "created": "2023-01-01"}, {"id": "d"}]
    assert [item["id"] for item in ordered_annotations(items)] == ["d", "c", "a", "b"]


def test_a_legacy_entry_takes_the_original_folders_files_by_name_to_be_checked():
    made = legacy_entry("Doe/2024 - T", {"last_modified": "2024-01-01T00:00:00+00:00", "created": "2023"},
                        {"f1": "paper.pdf"})
    assert (made.path, made.last_modified, made.created, made.legacy) == (
        "Doe/2024 - T", "2024-01-01T00:00:00+00:00", "2023", True)
    assert made.files == {"f1": FileRecord("paper.pdf")}
