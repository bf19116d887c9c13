"""Unit tests of AnnotatedCopies and ProfileNames: the authors' names asked once each; a document's copies decided,
made, kept, moved and dropped in a real BackupFolder in a temporary folder; what a killed run left adopted, a file
that is not the backup's left alone, a name cut to the path limit; the state's record of copies read back."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from AnnotatedCopies import CARRY, DROP, MAKE, AnnotatedCopies, ProfileNames, profile_name
from AnnotatedPdf import DRAWING_VERSION
from BackupFolder import TEMP_DIR, AtomicWriter, BackupFolder
from DocumentInfo import BackupState, CopyRecord, Entry, FileRecord, state_from_json
from Errors import ApiError
from MendeleyApi import MendeleyApi
from Planner import Plan
from tests.emulator.pdfs import pdf_bytes
from tests.test_annotated_pdf import by_name, read_back
from tests.tool import sha1, state_json

ME = {"id": "me", "first_name": "Ada", "last_name": "Émulator", "display_name": "Dr. Ada Émulator"}
OTHER = {"id": "other", "first_name": "", "last_name": "", "display_name": "Omar N."}


class FakeProfiles:
    """MendeleyApi's `profile`: the profiles given by id (None: the user's), recording each call."""

    def __init__(self, profiles: dict[str | None, dict[str, Any]], error: ApiError | None = None) -> None:
        self.profiles = profiles
        self.error = error
        self.calls: list[str | None] = []

    def profile(self, profile_id: str | None = None) -> dict[str, Any] | None:
        self.calls.append(profile_id)
        if self.error:
            raise self.error
        return self.profiles.get(profile_id)


def test_the_fake_has_the_apis_signature():
    assert list(inspect.signature(FakeProfiles.profile).parameters) == list(
        inspect.signature(MendeleyApi.profile).parameters)


def test_names_come_from_the_users_profile_then_each_other_profile_once():
    api = FakeProfiles({None: ME, "other": OTHER})
    names = ProfileNames(api)
    assert names.of(["me"]) == {"me": "Ada Émulator"}  # first and last name, without the title
    assert names.of(["me", "other", "unknown"]) == {"me": "Ada Émulator", "other": "Omar N."}
    assert names.of(["other", "unknown", "me"]) == {"me": "Ada Émulator", "other": "Omar N."}
    assert api.calls == [None, "other", "unknown"]  # the user's own not asked again by its id
    assert profile_name({"display_name": "  "}) == ""


def test_a_failed_request_fails_every_document_that_needs_a_name_without_asking_again():
    api = FakeProfiles({}, error=ApiError("GET /profiles/me failed: cannot reach api.mendeley.com"))
    names = ProfileNames(api)
    for _ in range(3):
        with pytest.raises(ApiError, match="profiles/me"):
            names.of(["me"])
    assert api.calls == [None]


# ---------------------------------------------------------------- a document's copies

PDF = pdf_bytes(3, 3, 1, 0)
FOLDER = "Doe/2024 - Paper"


def highlight(annotation_id: str, page: int = 1, filehash: str = sha1(PDF), **fields: Any) -> dict[str, Any]:
    return {"id": annotation_id, "type": "highlight", "filehash": filehash, "profile_id": "me",
            "positions": [{"top_left": {"x": 72, "y": 500}, "bottom_right": {"x": 200, "y": 488}, "page": page}],
            "created": "2024-01-02T03:04:05.000Z", "last_modified": "2024-01-02T03:04:05.000Z", **fields}


class Library:
    """A backup folder with one document holding `paper.pdf`, and the copies of a library in a given mode."""

    def __init__(self, root: Path, path_chars: int = 200) -> None:
        (root / TEMP_DIR).mkdir(parents=True)
        self.folder = BackupFolder(root, AtomicWriter(root / TEMP_DIR), path_chars)
        self.state = BackupState(pattern="%authors/%year - %title")
        self.folder.ensure_folder(FOLDER)
        self.folder.write_chunks(f"{FOLDER}/paper.pdf", [PDF])
        self.files = {"f1": FileRecord("paper.pdf", sha1(PDF), *self.folder.signature(f"{FOLDER}/paper.pdf"))}
        self.api = FakeProfiles({None: ME})

    def copies(self, mode: str = MAKE) -> AnnotatedCopies:
        return AnnotatedCopies(self.folder, self.state, "library", mode, ProfileNames(self.api))

    def entry(self, path: str = FOLDER, **fields: Any) -> Entry:
        return Entry(path=path, files=dict(self.files), annotations={"h1": ""}, **fields)


@pytest.fixture
def library(tmp_path) -> Iterator[Library]:
    yield Library(tmp_path / "backup")


def test_a_new_copy_is_drawn_and_a_held_one_that_is_as_written_is_kept(library):
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    (copy,) = made.records.values()
    path = library.folder.path(f"{FOLDER}/paper (annotated).pdf")
    assert copy.name == "paper (annotated).pdf" and copy.sha1 == sha1(path.read_bytes()) and made.leaving == []
    assert made.drawing == DRAWING_VERSION and "h1" in by_name(read_back(path.read_bytes())[0])
    written = path.stat().st_mtime_ns
    again = library.copies().follow(library.entry(copies=made.records), FOLDER, library.files, [highlight("h1")])
    assert again.records == made.records and path.stat().st_mtime_ns == written
    changed = library.copies().follow(library.entry(copies=made.records), FOLDER, library.files,
                                      [highlight("h1", last_modified="2025-01-01T00:00:00.000Z")])
    assert changed.records["f1"].fingerprint != copy.fingerprint and changed.records["f1"].name == copy.name


def test_a_copy_left_by_a_run_killed_before_its_state_was_saved_is_taken_as_it_is(library):
    first = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    # The state never heard of it: the same copy, drawn again, goes to the same place rather than to a ` (2)`.
    again = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    assert again.records["f1"].name == "paper (annotated).pdf"
    assert again.records["f1"].sha1 == first.records["f1"].sha1
    assert sorted(path.name for path in library.folder.path(FOLDER).iterdir()) == ["paper (annotated).pdf",
                                                                                    "paper.pdf"]


def test_a_file_that_is_not_the_backups_is_left_alone_and_the_copy_takes_another_name(library):
    stranger = library.folder.path(f"{FOLDER}/paper (annotated).pdf")
    stranger.write_bytes(b"mine")
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    assert made.records["f1"].name == "paper (annotated) (2).pdf" and stranger.read_bytes() == b"mine"


def test_a_copy_moves_with_its_document_even_after_a_killed_move(library):
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    held = library.entry(copies=made.records, copies_drawing=DRAWING_VERSION)
    mtime = library.folder.path(f"{FOLDER}/paper (annotated).pdf").stat().st_mtime_ns
    library.folder.ensure_folder("New/Place")
    library.folder.move(f"{FOLDER}/paper.pdf", "New/Place/paper.pdf")
    moved = library.copies(CARRY).follow(held, "New/Place", library.files, [])
    assert moved.records == made.records and moved.drawing == DRAWING_VERSION and moved.leaving == []
    assert library.folder.path("New/Place/paper (annotated).pdf").stat().st_mtime_ns == mtime
    assert not library.folder.has(f"{FOLDER}/paper (annotated).pdf")
    # A run killed after that move and before its state was saved: the state still has the old folder.
    again = library.copies().follow(held, "New/Place", library.files, [highlight("h1")])
    assert again.records == made.records and again.leaving == []
    assert library.folder.path("New/Place/paper (annotated).pdf").stat().st_mtime_ns == mtime  # not drawn again


def test_a_copy_no_longer_wanted_is_left_for_the_removal_phase(library):
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    held = library.entry(copies=made.records, copies_drawing=DRAWING_VERSION)
    for mode, drawn in ((MAKE, []), (DROP, [highlight("h1")])):
        after = library.copies(mode).follow(held, FOLDER, library.files, drawn)
        assert after.records == {} and after.leaving == [f"{FOLDER}/paper (annotated).pdf"]
        assert library.folder.has(f"{FOLDER}/paper (annotated).pdf")  # removed in phase two only
    assert library.copies(DROP).held_to_refresh([]) == []  # the state holds no document yet
    library.state.record("doc", held)
    assert library.copies(DROP).held_to_refresh([]) == ["doc"] and library.copies().held_to_refresh([]) == []
    assert library.copies().held_to_refresh(["doc"]) == [] and library.copies(CARRY).held_to_refresh([]) == []


def test_a_copy_made_again_where_it_waited_for_removal_is_no_longer_pending(library):
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    library.state.record("doc", library.entry(), leaving=[f"{FOLDER}/paper (annotated).pdf"])
    assert library.state.pending == {f"{FOLDER}/paper (annotated).pdf"}
    again = library.copies().follow(library.state.entry("doc"), FOLDER, library.files, [highlight("h1")])
    assert again.records["f1"].name == "paper (annotated).pdf"  # the same bytes: taken back
    library.state.record("doc", library.entry(copies=again.records))
    assert library.state.pending == set() and made.records["f1"].sha1 == again.records["f1"].sha1


def test_a_copys_name_is_cut_to_keep_its_path_within_the_limit(tmp_path):
    library = Library(tmp_path / "backup", path_chars=len(FOLDER) + 1 + 24)
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    name = made.records["f1"].name
    assert len(f"{FOLDER}/{name}") <= len(FOLDER) + 1 + 24 and name.endswith(" (annotated).pdf"), name


def test_no_copy_for_a_file_that_is_not_a_pdf_or_has_only_a_note(library, caplog):
    library.folder.write_chunks(f"{FOLDER}/data.csv", [b"a,b\n1,2\n"])
    files = {**library.files, "f2": FileRecord("data.csv", sha1(b"a,b\n1,2\n"))}
    note = {"id": "n1", "type": "note", "text": "whole document", "profile_id": "me"}
    made = library.copies().follow(None, FOLDER, files, [note, highlight("h2", filehash=sha1(b"a,b\n1,2\n"))])
    assert made.records == {} and not caplog.records  # nothing to warn about
    assert library.api.calls == [None]  # the highlight's author was looked up before the file was read


def test_a_dry_run_names_the_copies_it_would_write_and_remove(library):
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    library.folder.write_annotations(FOLDER, [highlight("h1")])
    library.state.record("doc", library.entry(copies=made.records, copies_drawing=DRAWING_VERSION))
    assert library.copies().describe(Plan()) == []
    library.folder.remove_file(f"{FOLDER}/paper (annotated).pdf")
    assert library.copies().describe(Plan()) == [f"would write an annotated copy: {FOLDER}/paper (annotated).pdf"]
    assert library.copies(DROP).describe(Plan()) == [f"would remove an annotated copy: {FOLDER}/paper (annotated).pdf"]


def test_the_states_record_of_copies_reads_back_and_a_damaged_one_is_refused():
    copy = CopyRecord("paper (annotated).pdf", "f" * 40, "a" * 40, 123, 456)
    state = BackupState(pattern="%title", entries={"doc": Entry(path="Paper", files={"f1": FileRecord("paper.pdf")},
                                                                copies={"f1": copy}, copies_drawing=1)})
    data = state_json(state)
    assert data["entries"]["doc"]["annotated"] == {"drawing": 1, "copies": {"f1": copy.to_json()}}
    loaded = state_from_json(data, lambda path: Entry(path=path))
    assert loaded.entries["doc"].copies == {"f1": copy} and loaded.entries["doc"].copies_drawing == 1
    assert loaded.holds_file("Paper/PAPER (Annotated).pdf") and not loaded.holds_file("Paper/other.pdf")
    older = json.loads(json.dumps(data))
    del older["entries"]["doc"]["annotated"]  # a state file of before the copies
    assert state_from_json(older, lambda path: Entry(path=path)).entries["doc"].copies == {}
    data["entries"]["doc"]["annotated"]["copies"]["f1"]["name"] = 7
    with pytest.raises(ValueError, match="annotated copies of the document in Paper are damaged"):
        state_from_json(data, lambda path: Entry(path=path))


def test_a_file_that_changed_gets_its_copy_drawn_again_from_its_new_bytes(library):
    made = library.copies().follow(None, FOLDER, library.files, [highlight("h1")])
    newer = pdf_bytes(4, 2, 0, 0)
    library.folder.write_chunks(f"{FOLDER}/paper.pdf", [newer])
    files = {"f1": FileRecord("paper.pdf", sha1(newer), *library.folder.signature(f"{FOLDER}/paper.pdf"))}
    again = library.copies().follow(library.entry(copies=made.records), FOLDER, files,
                                    [highlight("h1", filehash=sha1(newer))])
    copy = library.folder.path(f"{FOLDER}/paper (annotated).pdf").read_bytes()
    assert again.records["f1"].fingerprint != made.records["f1"].fingerprint and again.leaving == []
    assert again.records["f1"].sha1 == sha1(copy) and copy.startswith(newer)  # an incremental update of the new one
