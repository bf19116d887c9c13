"""Planner: what a run does, worked out from the backup's entries and a snapshot built here by hand (no I/O)."""

from __future__ import annotations

import pickle
from collections import Counter
from typing import Any

from DocumentInfo import BackupState, Entry, FileRecord
from Naming import parse_pattern
from Planner import MOVED, NEW, NO_FILES, REMOVED, UPDATED, DocumentPlan, Plan, Planner
from RemoteLibrary import Snapshot

PATTERN = parse_pattern("%authors/%year - %title")
OLD, NEW_TIME = "2020-01-01T00:00:00.000Z", "2024-06-01T12:00:00.000Z"
SHA_A, SHA_B = "a" * 40, "b" * 40


def document(doc_id: str, title: str, author: str = "Doe", modified: str = OLD, created: str = OLD,
             files: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": doc_id, "title": title, "authors": [{"first_name": "J", "last_name": author}], "year": 2024,
            "created": created, "last_modified": modified, "files": files or [], **fields}


def remote_file(file_id: str, name: str, sha: str = SHA_A, created: str = OLD) -> dict[str, Any]:
    return {"id": file_id, "file_name": name, "filehash": sha, "size": 10, "created": created}


def held(path: str, modified: str = OLD, files: dict[str, FileRecord] | None = None, **fields: Any) -> Entry:
    return Entry(path=path, last_modified=modified, files=files or {}, created=OLD, **fields)


def plan_of(entries: dict[str, Entry], snapshot: Snapshot, keep_trashed: bool = False) -> Plan:
    return Planner(BackupState(PATTERN.text, entries=entries), PATTERN, keep_trashed).plan(snapshot, {})


def only(plan: Plan) -> DocumentPlan:
    assert len(plan.documents) == 1, plan.describe()
    return plan.documents[0]


def test_a_new_document_is_added_with_its_files_to_download():
    snapshot = Snapshot(documents={"d1": document("d1", "T 1", files=[remote_file("f1", "paper.pdf")])}, full=True)
    plan = plan_of({}, snapshot)
    added = only(plan)
    assert (added.count_as, added.path, added.old_path) == (NEW, "Doe/2024 - T 1", None)
    assert [(item.name, item.needs_download) for item in added.files] == [("paper.pdf", True)]
    assert plan.counts == Counter({NEW: 1}) and plan.removals == []
    assert plan.describe() == ["would add: Doe/2024 - T 1 (1 file(s) to download)"]


def test_an_unchanged_document_is_left_alone():
    entries = {"d1": held("Doe/2024 - T 1", files={"f1": FileRecord("paper.pdf", SHA_A, 10, 1)})}
    snapshot = Snapshot(documents={"d1": document("d1", "T 1", files=[remote_file("f1", "paper.pdf")])}, full=True)
    plan = plan_of(entries, snapshot)
    assert plan.documents == [] and plan.removals == [] and plan.counts == Counter({})


def test_a_changed_document_is_updated_in_place_and_a_changed_file_fetched_again():
    entries = {"d1": held("Doe/2024 - T 1", files={"f1": FileRecord("paper.pdf", SHA_A, 10, 1),
                                                   "f2": FileRecord("old.pdf", SHA_A, 10, 1)})}
    listed = document("d1", "T 1", modified=NEW_TIME, files=[remote_file("f1", "paper.pdf", sha=SHA_B)])
    plan = plan_of(entries, Snapshot(documents={"d1": listed}))
    updated = only(plan)
    assert (updated.count_as, updated.path, updated.moves) == (UPDATED, "Doe/2024 - T 1", False)
    assert [(item.name, item.needs_download) for item in updated.files] == [("paper.pdf", True)]
    assert list(updated.removed_files) == ["f2"]
    assert plan.counts == Counter({UPDATED: 1})


def test_a_document_whose_path_changes_is_moved_with_its_files_kept():
    entries = {"d1": held("Doe/2024 - T 1", files={"f1": FileRecord("paper.pdf", SHA_A, 10, 1)})}
    listed = document("d1", "T 1", author="Roe", modified=NEW_TIME, files=[remote_file("f1", "paper.pdf")])
    moved = only(plan_of(entries, Snapshot(documents={"d1": listed})))
    assert (moved.count_as, moved.old_path, moved.path) == (MOVED, "Doe/2024 - T 1", "Roe/2024 - T 1")
    assert [(item.name, item.needs_download) for item in moved.files] == [("paper.pdf", False)]
    assert moved.describe() == "would move: Doe/2024 - T 1 -> Roe/2024 - T 1"


def test_documents_are_removed_on_positive_evidence_only():
    entries = {doc_id: held(f"Doe/2024 - {doc_id}") for doc_id in ("deleted", "trashed", "absent")}
    # Deleted or trashed, said an incremental snapshot: removed. Merely unlisted there: kept.
    incremental = Snapshot(deleted_ids={"deleted"}, trashed_ids={"trashed"})
    plan = plan_of(entries, incremental)
    assert sorted(removal.doc_id for removal in plan.removals) == ["deleted", "trashed"]
    assert plan.counts == Counter({REMOVED: 2}) and plan.documents == []
    # Absent from a complete full listing: removed.
    assert [removal.doc_id for removal in plan_of(entries, Snapshot(full=True, trash_full=True)).removals] == [
        "absent", "deleted", "trashed"]
    # A full listing that came back incomplete is not full: it removes nothing.
    incomplete = Snapshot(documents={"absent": document("absent", "absent")}, full=False, incomplete=["documents"])
    assert plan_of(entries, incomplete).removals == []


def test_a_trashed_document_kept_moves_under_the_trash_and_back():
    entries = {"d1": held("Doe/2024 - T 1", files={"f1": FileRecord("paper.pdf", SHA_A, 10, 1)})}
    plan = plan_of(entries, Snapshot(trashed_ids={"d1"}), keep_trashed=True)
    trashed = only(plan)
    assert (trashed.count_as, trashed.path, trashed.trashed) == (REMOVED, ".trash/Doe/2024 - T 1", True)
    assert plan.removals == [] and plan.counts == Counter({REMOVED: 1})
    assert [(item.name, item.needs_download) for item in trashed.files] == [("paper.pdf", False)]

    in_trash = {"d1": held(".trash/Doe/2024 - T 1", files={"f1": FileRecord("paper.pdf", SHA_A, 10, 1)},
                           trashed=True)}
    # Still in the trash, a full listing of the library and the trash keeps it where it is.
    assert plan_of(in_trash, Snapshot(full=True, trashed_ids={"d1"}, trash_full=True), keep_trashed=True).documents \
        == []
    # Not in the trash either: gone for good.
    assert [removal.doc_id for removal in
            plan_of(in_trash, Snapshot(full=True, trash_full=True), keep_trashed=True).removals] == ["d1"]
    restored = only(plan_of(in_trash, Snapshot(documents={"d1": document(
        "d1", "T 1", modified=NEW_TIME, files=[remote_file("f1", "paper.pdf")])}), keep_trashed=True))
    assert (restored.count_as, restored.old_path, restored.path, restored.trashed) == (
        MOVED, ".trash/Doe/2024 - T 1", "Doe/2024 - T 1", False)


def test_colliding_paths_are_all_kept_under_distinct_names():
    entries = {"held": held("Doe/2024 - Same")}
    listed = {
        "younger": document("younger", "Same", created="2021-01-01T00:00:00.000Z"),
        "older": document("older", "same", created="2020-06-01T00:00:00.000Z",
                          files=[remote_file("f1", "x.pdf"), remote_file("f2", "X.pdf", sha=SHA_B,
                                                                         created=NEW_TIME)]),
    }
    plan = plan_of(entries, Snapshot(documents=listed))
    paths = {item.doc_id: item.path for item in plan.documents}
    # The held document keeps its folder; the new ones take numbers by age, compared case-insensitively.
    assert paths == {"older": "Doe/2024 - same (2)", "younger": "Doe/2024 - Same (3)"}
    older = next(item for item in plan.documents if item.doc_id == "older")
    assert [item.name for item in older.files] == ["x.pdf", "X (2).pdf"]


def test_a_document_is_kept_off_the_backups_own_names():
    snapshot = Snapshot(documents={"d1": document("d1", "T", author="groups"),
                                   "d2": document("d2", "T", author="library.bib")})
    paths = sorted(item.path for item in plan_of({}, snapshot).documents)
    assert paths == ["groups (2)/2024 - T", "library.bib (2)/2024 - T"]


def test_a_change_of_annotations_alone_updates_the_document_without_fetching_files():
    entries = {"d1": held("Doe/2024 - T 1", files={"f1": FileRecord("paper.pdf", SHA_A, 10, 1)},
                          annotations={"a1": OLD, "a2": OLD})}
    changed = {"id": "a1", "document_id": "d1", "type": "note", "text": "new", "last_modified": NEW_TIME}
    unchanged = {"id": "a2", "document_id": "d1", "type": "note", "last_modified": OLD}
    snapshot = Snapshot(annotations={"a1": changed, "a2": unchanged}, deleted_annotation_ids={"a3", "a9"})
    entries["d1"].annotations["a3"] = OLD
    plan = plan_of(entries, snapshot)
    updated = only(plan)
    assert (updated.count_as, updated.path, updated.listed) == (UPDATED, "Doe/2024 - T 1", False)
    assert updated.annotation_upserts == [changed] and updated.annotation_removals == {"a3"}
    assert not any(item.needs_download for item in updated.files)
    assert plan.annotation_changes == 2 and plan.counts == Counter({UPDATED: 1})


def test_a_complete_annotation_listing_shows_deletions_by_absence():
    entries = {"d1": held("Doe/2024 - T 1", annotations={"a1": OLD, "a2": OLD})}
    kept = {"id": "a1", "document_id": "d1", "type": "note", "last_modified": OLD}
    complete = plan_of(entries, Snapshot(full=True, documents={"d1": document("d1", "T 1")}, annotations={"a1": kept},
                                         annotations_full=True))
    assert only(complete).annotation_removals == {"a2"}
    partial = plan_of(entries, Snapshot(full=True, documents={"d1": document("d1", "T 1")}, annotations={"a1": kept}))
    assert partial.documents == []


def test_a_folder_pattern_follows_memberships_listed_folder_by_folder():
    pattern = parse_pattern("%folder/%title")
    folders = {"p": {"id": "p", "name": "Parent"}, "c": {"id": "c", "name": "Child", "parent_id": "p"},
               "o": {"id": "o", "name": "other"}}
    entries = {"d1": Entry(path="Parent/Child/T", last_modified=OLD, folder_uuids=("c",), created=OLD)}
    listed = {"d1": document("d1", "T", folder_uuids=["c"])}
    snapshot = Snapshot(documents=listed, folders=folders, folders_complete=True, memberships={"d1": ["c", "o"]})
    moved = only(Planner(BackupState(pattern.text, entries=entries), pattern, False).plan(snapshot, {}))
    # In two folders now: the first by path, case-insensitively (`other` before `Parent/Child`).
    assert (moved.count_as, moved.path, moved.folder_uuids) == (MOVED, "other/T", ("c", "o"))


def test_without_the_whole_folder_tree_a_folder_pattern_moves_nothing():
    pattern = parse_pattern("%folder/%title")
    entries = {"d1": Entry(path="Parent/T", last_modified=OLD, folder_uuids=("p",), created=OLD)}
    listed = {"d1": document("d1", "T", modified="2025-01-01T00:00:00.000Z", folder_uuids=["p"])}
    # The folder listing came back short: the parent folder is missing from it.
    snapshot = Snapshot(documents=listed, folders={}, folders_complete=False)
    updated = only(Planner(BackupState(pattern.text, entries=entries), pattern, False).plan(snapshot, {}))
    assert (updated.count_as, updated.path) == (UPDATED, "Parent/T")


def test_a_document_plan_pickled_and_read_back_is_the_same_with_its_shared_empties():
    """The Applier keeps a large plan in a temporary file while it works: what it reads back is what was planned."""
    entries = {"d2": held("Roe/2024 - U", files={"f2": FileRecord("old.pdf", SHA_A, 10, 1),
                                                 "f3": FileRecord("gone.pdf", SHA_A, 2, 2)})}
    snapshot = Snapshot(documents={"d1": document("d1", "T", files=[remote_file("f1", "paper.pdf")]),
                                   "d2": document("d2", "U", author="Roe", modified=NEW_TIME,
                                                  files=[remote_file("f2", "old.pdf")])}, full=True)
    new, updated = sorted(plan_of(entries, snapshot).documents, key=lambda item: item.doc_id)
    assert new.removed_files is NO_FILES and updated.removed_files == {"f3": FileRecord("gone.pdf", SHA_A, 2, 2)}
    for item in (new, updated):
        back = pickle.loads(pickle.dumps(item, pickle.HIGHEST_PROTOCOL))
        assert back == item and (back.removed_files is NO_FILES) == (item.removed_files is NO_FILES)
