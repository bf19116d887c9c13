"""A backup that repairs itself (issue 11): every plain run compares each backed-up file's size and mtime with the
state (a stat, no hashing) and fetches again one that is missing or changed, counting its document as updated; and
the mass-deletion guard holds back only the removals, and never those of a run that removes 5 documents or fewer."""

from __future__ import annotations

import os

from tests.library import attach_file, create_document, delete_document, trash_document
from tests.tool import (
    Summary,
    assert_backup_matches,
    assert_nothing_lost,
    assert_state_consistent,
    document_folders,
    folder_files,
    sha1,
    state_of,
)

PDF = b"%PDF-1.4 repaired\n" * 500
SMALL = {"documents": 12, "files_per_document": 1, "file_size": 3000, "seed": 8}


def downloads(emulator) -> int:
    return emulator.stats()["by_endpoint"].get("GET /_content/{id}", 0)


def test_a_file_deleted_damaged_or_cut_by_hand_is_fetched_again_by_a_plain_run(emulator, api, tool):
    papers = [create_document(api, f"T {number}", ["Doe"]) for number in range(5)]
    for number, paper in enumerate(papers):
        attach_file(api, paper["id"], "paper.pdf", PDF + bytes([number]))
    tool.run()
    folder = tool.backup / "Doe"
    (folder / "2024 - T 0/paper.pdf").unlink()  # deleted
    (folder / "2024 - T 1/paper.pdf").write_bytes(b"%PDF-1.4 cut short\n")  # another size
    damaged = folder / "2024 - T 2/paper.pdf"
    damaged.write_bytes(bytes(len(PDF) + 1))  # the same size, other bytes: only its mtime tells
    touched = folder / "2024 - T 3/paper.pdf"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 5_000_000_000))  # intact
    before = state_of(tool.backup)["entries"]

    dry = tool.run("--dry-run")
    assert dry.dry_summary == Summary(updated=2)  # the two that certainly differ; the others' hashes decide
    assert not (folder / "2024 - T 0/paper.pdf").exists()
    assert state_of(tool.backup)["entries"] == before

    emulator.reset_stats()
    run = tool.run()
    assert run.summary == Summary(updated=3)  # the touched copy is intact: checked, not fetched, not counted
    assert downloads(emulator) == 3
    assert "2024 - T 0/paper.pdf is missing" in run.stderr and "of another size" in run.stderr
    files = folder_files(tool.backup)
    for number in range(len(papers)):
        assert files[f"Doe/2024 - T {number}/paper.pdf"] == sha1(PDF + bytes([number]))
    assert_state_consistent(tool.backup)
    record = state_of(tool.backup)["entries"][papers[3]["id"]]["files"]
    assert next(iter(record.values()))["mtime_ns"] == touched.stat().st_mtime_ns  # its new mtime is the state's
    emulator.reset_stats()
    assert tool.run().summary == Summary()
    assert downloads(emulator) == 0
    assert_backup_matches(tool.backup, emulator.library())


def test_a_file_of_a_document_kept_in_the_trash_is_repaired_too(emulator, api, tool):
    paper = create_document(api, "Trashed", ["Doe"])
    attach_file(api, paper["id"], "kept.pdf", PDF)
    create_document(api, "Other", ["Roe"])
    tool.run("--keep-trashed")
    trash_document(api, paper["id"])
    tool.run("--keep-trashed")
    kept = tool.backup / ".trash/Doe/2024 - Trashed/kept.pdf"
    kept.unlink()
    assert tool.run("--keep-trashed").summary == Summary(updated=1)
    assert sha1(kept.read_bytes()) == sha1(PDF)


def test_deleting_the_last_document_of_a_small_library_is_no_mass_deletion(api, tool):
    """The original's scenario: a library of one document, which is deleted."""
    only = create_document(api, "Only", ["Doe"])
    attach_file(api, only["id"], "only.pdf", PDF)
    assert tool.run().summary == Summary(new=1)
    delete_document(api, only["id"])
    run = tool.run()
    assert run.summary == Summary(removed=1) and run.stderr == ""
    assert document_folders(tool.backup) == {}
    assert not (tool.backup / "Doe").exists()


def test_five_removals_go_through_and_six_past_max_delete_are_held_back(emulator, api, tool):
    emulator.seed(**SMALL)
    tool.run()
    documents = [document["id"] for document in emulator.library()["documents"]]
    for doc_id in documents[:5]:
        delete_document(api, doc_id)
    assert tool.run("--max-delete", "10").summary == Summary(removed=5)  # half of the backup, but only 5

    create_document(api, "Newcomer", ["Noe"])
    for doc_id in documents[5:11]:
        delete_document(api, doc_id)
    before = folder_files(tool.backup)
    held = tool.run(expect=3)
    assert held.summary == Summary(new=1)  # the rest of the run went on
    line = next(line for line in held.stderr.splitlines() if "held back" in line)
    assert "the removal of 6 of 7 backed-up documents is held back, more than --max-delete 50%" in line
    assert "and 1 more" in line and "--force" in line
    assert_nothing_lost(before, tool.backup)
    assert len(document_folders(tool.backup)) == 8
    assert_state_consistent(tool.backup)
    assert tool.run("--force").summary == Summary(removed=6)
    assert_backup_matches(tool.backup, emulator.library())
