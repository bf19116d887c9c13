"""--keep-trashed: documents moved to the Mendeley trash are kept under .trash/, and put back when restored."""

from __future__ import annotations

import pytest

from tests.library import (
    attach_file,
    create_annotation,
    create_document,
    delete_trashed,
    restore_document,
    trash_document,
    update_annotation,
    update_document,
)
from tests.tool import BackupTool, Summary, annotations_of, document_folders, folder_files, read_json, sha1, state_of

PDF_A = b"%PDF-1.4 kept in the trash, part A\n" * 300
PDF_B = b"%PDF-1.4 kept in the trash, part B\n" * 200


@pytest.fixture
def library(api):
    """Three documents; `doomed` has two files and a note."""
    doomed = create_document(api, "T 3", ["Doe"])
    attach_file(api, doomed["id"], "a.pdf", PDF_A)
    attach_file(api, doomed["id"], "b.pdf", PDF_B)
    create_annotation(api, doomed["id"], "note", text="keep me")
    others = [create_document(api, f"T {number}", ["Doe"]) for number in (1, 2)]
    return doomed, others


def files_under(tool: BackupTool, folder: str) -> dict[str, str]:
    """The files of one folder of the backup, relative to it."""
    return {path[len(folder) + 1:]: digest for path, digest in folder_files(tool.backup).items()
            if path.startswith(folder + "/")}


def test_trashed_document_is_kept_restored_and_finally_deleted(tool, api, emulator, library):
    doomed, _ = library
    tool.run("--keep-trashed")
    kept = files_under(tool, "Doe/2024 - T 3")
    assert sorted(kept) == ["a.pdf", "annotations.json", "b.pdf", "info.json"]

    trash_document(api, doomed["id"])
    emulator.reset_stats()
    assert tool.run("--keep-trashed").summary == Summary(removed=1)
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]
    assert not (tool.backup / "Doe/2024 - T 3").exists()
    assert document_folders(tool.backup)[doomed["id"]] == ".trash/Doe/2024 - T 3"
    assert files_under(tool, ".trash/Doe/2024 - T 3") == kept
    assert state_of(tool.backup)["entries"][doomed["id"]]["trashed"] is True
    # Kept in the trash, it is not in the exports, which list the library.
    assert "T 3" not in (tool.backup / "library.bib").read_text(encoding="utf-8")
    assert tool.run("--keep-trashed").summary == Summary()
    assert tool.run("--keep-trashed", "--full").summary == Summary()

    restore_document(api, doomed["id"])
    emulator.reset_stats()
    assert tool.run("--keep-trashed").summary == Summary(moved=1)
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]
    assert not (tool.backup / ".trash").exists()
    assert document_folders(tool.backup)[doomed["id"]] == "Doe/2024 - T 3"
    assert {name: digest for name, digest in files_under(tool, "Doe/2024 - T 3").items() if name != "info.json"} \
        == {name: digest for name, digest in kept.items() if name != "info.json"}
    assert files_under(tool, "Doe/2024 - T 3")["a.pdf"] == sha1(PDF_A)
    assert "trashed" not in state_of(tool.backup)["entries"][doomed["id"]]

    trash_document(api, doomed["id"])
    assert tool.run("--keep-trashed").summary == Summary(removed=1)
    delete_trashed(api, doomed["id"])
    assert tool.run("--keep-trashed").summary == Summary(removed=1)  # gone from the backup now
    assert not (tool.backup / ".trash").exists()
    assert doomed["id"] not in document_folders(tool.backup)
    assert sorted(document_folders(tool.backup).values()) == ["Doe/2024 - T 1", "Doe/2024 - T 2"]


def test_an_annotation_changed_in_the_trash_is_kept_up_to_date_there(tool, api, emulator, library):
    doomed, _ = library
    tool.run("--keep-trashed")
    trash_document(api, doomed["id"])
    tool.run("--keep-trashed")
    note = annotations_of(emulator.library(), doomed["id"])[0]
    update_annotation(api, note["id"], text="second thoughts")
    assert tool.run("--keep-trashed").summary.annotations == 1
    assert read_json(tool.backup / ".trash/Doe/2024 - T 3/annotations.json") == \
        annotations_of(emulator.library(), doomed["id"])


def test_keep_trashed_from_the_config_file(tool, api, tmp_path, library):
    doomed, _ = library
    config = tmp_path / "mendeley-backup.conf"
    config.write_text("[backup]\nkeep-trashed = yes\n")
    tool.run("-c", str(config))
    trash_document(api, doomed["id"])
    assert tool.run("-c", str(config)).summary == Summary(removed=1)
    assert files_under(tool, ".trash/Doe/2024 - T 3")["b.pdf"] == sha1(PDF_B)


def test_a_document_edited_while_restored_moves_to_its_new_place(tool, api, library):
    doomed, _ = library
    tool.run("--keep-trashed")
    trash_document(api, doomed["id"])
    tool.run("--keep-trashed")
    restore_document(api, doomed["id"])
    update_document(api, doomed["id"], title="T 3 revised")
    assert tool.run("--keep-trashed").summary == Summary(moved=1)
    assert files_under(tool, "Doe/2024 - T 3 revised")["a.pdf"] == sha1(PDF_A)
    assert not (tool.backup / ".trash").exists() and not (tool.backup / "Doe/2024 - T 3").exists()


def test_trashing_most_of_the_library_is_no_mass_deletion_when_trashed_documents_are_kept(tool, api, library):
    doomed, others = library
    tool.run("--keep-trashed")
    for doc in (doomed, *others[:1]):
        trash_document(api, doc["id"])
    # Two of three documents: more than --max-delete's 50%, but nothing is deleted, only moved to .trash.
    assert tool.run("--keep-trashed").summary == Summary(removed=2)
    assert sorted(document_folders(tool.backup).values()) == [".trash/Doe/2024 - T 1", ".trash/Doe/2024 - T 3",
                                                              "Doe/2024 - T 2"]
    # Emptying the trash does delete them: two of the three backed-up documents, few enough for the guard to let
    # them go (it holds back only runs that would remove more than 5).
    for doc in (doomed, *others[:1]):
        delete_trashed(api, doc["id"])
    assert tool.run("--keep-trashed").summary == Summary(removed=2)
    assert not (tool.backup / ".trash").exists()
