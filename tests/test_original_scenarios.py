"""The original tool's own integration scenarios, run through the command line against the emulator."""

from __future__ import annotations

import pytest

from tests.library import (
    attach_file,
    create_document,
    delete_document,
    delete_file,
    trash_document,
    update_document,
)
from tests.tool import Summary, document_folders, folder_files, read_json, sha1

PDF1 = b"%PDF-1.4 first document\n" + bytes(range(256)) * 40
PDF3A = b"%PDF-1.4 third document, part A\n" * 300
PDF3B = b"%PDF-1.7 third document, part B\n" * 500


@pytest.fixture
def three(api):
    """The original's three documents: T 1 with one file, T 2 with none and two authors, T 3 with two files."""
    first = create_document(api, "T 1", ["Doe"])
    attach_file(api, first["id"], "document1.pdf", PDF1)
    second = create_document(api, "T 2", ["Doe", "Doe"])
    third = create_document(api, "T 3", ["Doe"])
    attach_file(api, third["id"], "document3a.pdf", PDF3A)
    attach_file(api, third["id"], "document3b.pdf", PDF3B)
    return first, second, third


def test_initial_backup_of_three_documents(tool, three):
    run = tool.run()
    assert run.summary == Summary(new=3)
    files = folder_files(tool.backup)
    assert files["Doe/2024 - T 1/document1.pdf"] == sha1(PDF1)
    assert files["Doe/2024 - T 3/document3a.pdf"] == sha1(PDF3A)
    assert files["Doe/2024 - T 3/document3b.pdf"] == sha1(PDF3B)
    assert "Doe & Doe/2024 - T 2/info.json" in files
    info = read_json(tool.backup / "Doe/2024 - T 3/info.json")
    assert info["document"]["id"] == three[2]["id"]
    assert sorted(info["files"].values()) == ["document3a.pdf", "document3b.pdf"]
    state = read_json(tool.backup / "info.json")
    assert state["pattern"] == "%authors/%year - %title"
    assert state["documents"] == {three[0]["id"]: "Doe/2024 - T 1", three[1]["id"]: "Doe & Doe/2024 - T 2",
                                  three[2]["id"]: "Doe/2024 - T 3"}
    assert tool.run().summary == Summary()


def test_documents_added_one_run_at_a_time(tool, api):
    for number in range(1, 4):
        create_document(api, f"Paper {number}", ["Roe"])
        assert tool.run().summary == Summary(new=1)
        assert (tool.backup / f"Roe/2024 - Paper {number}/info.json").is_file()


def test_deleted_document_is_removed(tool, api, three):
    tool.run()
    delete_document(api, three[0]["id"])
    assert tool.run().summary == Summary(removed=1)
    assert not (tool.backup / "Doe/2024 - T 1").exists()
    assert (tool.backup / "Doe/2024 - T 3").is_dir()


def test_trashed_document_is_removed(tool, api, three):
    tool.run()
    trash_document(api, three[2]["id"])
    assert tool.run().summary == Summary(removed=1)
    assert not (tool.backup / "Doe/2024 - T 3").exists()
    assert three[2]["id"] not in document_folders(tool.backup)


def test_type_change_updates_and_third_author_moves(tool, api, three):
    tool.run()
    update_document(api, three[0]["id"], type="book")
    update_document(api, three[1]["id"], authors=[{"last_name": "Doe"}, {"last_name": "Doe"}, {"last_name": "Dow"}])
    assert tool.run().summary == Summary(updated=1, moved=1)
    assert read_json(tool.backup / "Doe/2024 - T 1/info.json")["document"]["type"] == "book"
    assert (tool.backup / "Doe, Doe & Dow/2024 - T 2/info.json").is_file()
    assert not (tool.backup / "Doe & Doe").exists()


def test_attached_file_is_downloaded(tool, api, three):
    tool.run()
    data = b"%PDF-1.5 supplementary material\n" * 100
    attach_file(api, three[1]["id"], "supplement.pdf", data)
    assert tool.run().summary == Summary(updated=1)
    assert folder_files(tool.backup)["Doe & Doe/2024 - T 2/supplement.pdf"] == sha1(data)


def test_deleted_file_is_removed(tool, api, three):
    tool.run()
    info = read_json(tool.backup / "Doe/2024 - T 3/info.json")
    file_id = next(file_id for file_id, name in info["files"].items() if name == "document3a.pdf")
    delete_file(api, file_id)
    assert tool.run().summary == Summary(updated=1)
    assert not (tool.backup / "Doe/2024 - T 3/document3a.pdf").exists()
    assert (tool.backup / "Doe/2024 - T 3/document3b.pdf").is_file()
    assert list(read_json(tool.backup / "Doe/2024 - T 3/info.json")["files"].values()) == ["document3b.pdf"]
