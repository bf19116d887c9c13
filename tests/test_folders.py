"""Mendeley folders: folders.json, each document's folder ids in its info.json, and `%folder` (with the other
placeholders) laying the backup out on disk."""

from __future__ import annotations

import pytest

from tests.library import (
    add_to_folder,
    attach_file,
    create_document,
    create_folder,
    remove_from_folder,
    update_folder,
)
from tests.tool import BackupTool, Summary, document_folders, folder_files, read_json, sha1

PDF = b"%PDF-1.4 filed paper\n" * 150


def saved_folders(tool: BackupTool) -> list[dict]:
    return read_json(tool.backup / "folders.json")


def truth_folders(emulator) -> list[dict]:
    """The user's folders as the API gives them, in folders.json's order (by id)."""
    return sorted((folder for folder in emulator.library()["folders"] if "group_id" not in folder),
                  key=lambda folder: folder["id"])


def folder_ids_on_disk(tool: BackupTool, doc_id: str) -> list[str]:
    info = read_json(tool.backup / document_folders(tool.backup)[doc_id] / "info.json")
    return sorted(info["document"]["folder_uuids"])


@pytest.fixture
def tree(api):
    """Parent/Child and Other; `a` in Child, `b` in Child and Other, `c` in none; `a` has a file."""
    parent = create_folder(api, "Parent")
    child = create_folder(api, "Child", parent["id"])
    other = create_folder(api, "Other")
    a = create_document(api, "A", ["Doe"])
    attach_file(api, a["id"], "a.pdf", PDF)
    b = create_document(api, "B", ["Doe"])
    c = create_document(api, "C", ["Doe"])
    add_to_folder(api, child["id"], a["id"])
    add_to_folder(api, child["id"], b["id"])
    add_to_folder(api, other["id"], b["id"])
    return {"parent": parent, "child": child, "other": other, "a": a, "b": b, "c": c}


def test_the_folder_tree_is_mirrored_on_disk_and_follows_renames_and_moves(tool, api, emulator, tree):
    run = tool.run("-p", "%folder/%title")
    assert run.summary == Summary(new=3)
    # `b` is in two folders: the first by their paths, case-insensitively (Other < Parent/Child).
    assert document_folders(tool.backup) == {tree["a"]["id"]: "Parent/Child/A", tree["b"]["id"]: "Other/B",
                                             tree["c"]["id"]: "Unfiled/C"}
    assert saved_folders(tool) == truth_folders(emulator)
    assert {folder["id"]: folder.get("parent_id") for folder in saved_folders(tool)} == {
        tree["parent"]["id"]: None, tree["child"]["id"]: tree["parent"]["id"], tree["other"]["id"]: None}
    assert folder_ids_on_disk(tool, tree["b"]["id"]) == sorted([tree["child"]["id"], tree["other"]["id"]])
    assert folder_ids_on_disk(tool, tree["c"]["id"]) == []

    update_folder(api, tree["child"]["id"], name="Kid")
    emulator.reset_stats()
    assert tool.run().summary == Summary(moved=1)
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]
    assert folder_files(tool.backup)["Parent/Kid/A/a.pdf"] == sha1(PDF)
    assert not (tool.backup / "Parent/Child").exists()
    assert saved_folders(tool) == truth_folders(emulator)

    # Membership changes leave a document's last_modified alone; the tool sees them all the same.
    remove_from_folder(api, tree["child"]["id"], tree["a"]["id"])
    add_to_folder(api, tree["other"]["id"], tree["a"]["id"])
    add_to_folder(api, tree["child"]["id"], tree["c"]["id"])
    assert tool.run().summary == Summary(moved=2)
    assert document_folders(tool.backup) == {tree["a"]["id"]: "Other/A", tree["b"]["id"]: "Other/B",
                                             tree["c"]["id"]: "Parent/Kid/C"}
    assert folder_files(tool.backup)["Other/A/a.pdf"] == sha1(PDF)
    assert not (tool.backup / "Parent/Kid/A").exists() and not (tool.backup / "Unfiled").exists()
    assert folder_ids_on_disk(tool, tree["a"]["id"]) == [tree["other"]["id"]]
    assert folder_ids_on_disk(tool, tree["c"]["id"]) == [tree["child"]["id"]]
    assert tool.run().summary == Summary()


def test_a_folder_moved_under_another_moves_its_documents(tool, api, emulator, tree):
    tool.run("-p", "%folder/%title")
    update_folder(api, tree["other"]["id"], parent_id=tree["parent"]["id"])
    assert tool.run().summary == Summary(moved=1)
    # `b` is now in Parent/Child and Parent/Other: Child comes first.
    assert document_folders(tool.backup)[tree["b"]["id"]] == "Parent/Child/B"
    assert saved_folders(tool) == truth_folders(emulator)


def test_a_deleted_folder_sends_its_documents_to_unfiled(tool, api, emulator, tree):
    tool.run("-p", "%folder/%title")
    assert api.delete(f"/folders/{tree['parent']['id']}").status_code == 204  # and Child below it
    assert tool.run().summary == Summary(moved=1, updated=1)  # `b` stays in Other, one folder fewer
    assert document_folders(tool.backup) == {tree["a"]["id"]: "Unfiled/A", tree["b"]["id"]: "Other/B",
                                             tree["c"]["id"]: "Unfiled/C"}
    assert folder_ids_on_disk(tool, tree["b"]["id"]) == [tree["other"]["id"]]
    assert saved_folders(tool) == truth_folders(emulator) and len(saved_folders(tool)) == 1


def test_folders_are_saved_with_the_default_pattern(tool, api, emulator, tree):
    assert tool.run().summary == Summary(new=3)
    assert sorted(document_folders(tool.backup).values()) == ["Doe/2024 - A", "Doe/2024 - B", "Doe/2024 - C"]
    assert saved_folders(tool) == truth_folders(emulator)
    assert folder_ids_on_disk(tool, tree["a"]["id"]) == [tree["child"]["id"]]
    # Without %folder, memberships are read from the documents, which a full listing brings whole.
    add_to_folder(api, tree["other"]["id"], tree["a"]["id"])
    assert tool.run("--full").summary == Summary(updated=1)
    assert folder_ids_on_disk(tool, tree["a"]["id"]) == sorted([tree["child"]["id"], tree["other"]["id"]])


def test_a_seeded_folder_tree_lays_out_every_document(tool, emulator):
    emulator.seed(documents=40, files_per_document=1, file_size=300, folders=8, seed=21)
    truth = emulator.library()
    folders = {folder["id"]: folder for folder in truth["folders"]}

    def path_of(folder_id: str) -> str:
        folder = folders[folder_id]
        name = folder["name"].replace("/", "_").replace("*", "_").replace("?", "_")
        return f"{path_of(folder['parent_id'])}/{name}" if folder.get("parent_id") else name

    assert tool.run("-p", "%folder/%title").summary == Summary(new=40)
    assert saved_folders(tool) == truth_folders(emulator)
    held = document_folders(tool.backup)
    for document in truth["documents"]:
        assert folder_ids_on_disk(tool, document["id"]) == document["folder_uuids"]
        places = [path_of(folder_id) for folder_id in document["folder_uuids"]] or ["Unfiled"]
        assert held[document["id"]].rsplit("/", 1)[0] in places
    assert any(len(places) > 1 for places in [d["folder_uuids"] for d in truth["documents"]])
    assert any(folder.get("parent_id") for folder in truth["folders"])


def test_the_new_placeholders_make_the_expected_folders(tool, api):
    first = create_document(api, "Alpha", ["Doe", "Roe", "Poe", "Lo"], type="book", source="Nature", month=3)
    second = create_document(api, "Beta", None, year=None, type="journal")
    run = tool.run("-p", "%type/%source/%month/%first_author - %id")
    assert run.summary == Summary(new=2)
    assert document_folders(tool.backup) == {first["id"]: f"book/Nature/03/Doe - {first['id']}",
                                             second["id"]: f"journal/Unknown/Unknown/Unknown - {second['id']}"}


def test_a_move_that_failed_on_a_folder_rename_is_done_by_the_next_run(tool, api, emulator, tree):
    # The server's clock an hour on: the documents are older than any cut-off, no listing shows them again.
    emulator.faults(clock_offset_s=3600)
    tool.run("-p", "%folder/%title")
    update_folder(api, tree["child"]["id"], name="Kid")
    stranger = tool.backup / "Parent/Kid/A/a.pdf"  # not the backup's: the tool must not overwrite it
    stranger.parent.mkdir(parents=True)
    stranger.write_bytes(b"mine")
    run = tool.run(expect=3)
    assert "in the way" in run.stderr
    assert stranger.read_bytes() == b"mine"
    assert folder_files(tool.backup)["Parent/Child/A/a.pdf"] == sha1(PDF)
    stranger.unlink()
    assert tool.run().summary == Summary(moved=1)
    assert document_folders(tool.backup)[tree["a"]["id"]] == "Parent/Kid/A"
    assert folder_files(tool.backup)["Parent/Kid/A/a.pdf"] == sha1(PDF)
