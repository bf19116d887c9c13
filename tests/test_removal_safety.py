"""A backed-up document is removed only on positive evidence, only after a run without errors, never beyond
--max-delete without --force (the rest of such a run goes on), and never through a symbolic link."""

from __future__ import annotations

import time

from tests.library import attach_file, create_document, delete_document, delete_file, trash_document
from tests.tool import (
    Summary,
    assert_backup_matches,
    assert_nothing_lost,
    assert_state_consistent,
    document_folders,
    folder_files,
    read_json,
)

# More documents than one page of the listing (500), without files: a listing of two pages.
TWO_PAGES = {"documents": 520, "files_per_document": 0, "seed": 5}
SMALL = {"documents": 20, "files_per_document": 1, "file_size": 2000, "seed": 6}


def test_a_full_listing_cut_short_removes_nothing(emulator, api, tool):
    emulator.seed(**TWO_PAGES)
    tool.run()
    gone = [document["id"] for document in emulator.library()["documents"][-3:]]
    for doc_id in gone:
        delete_document(api, doc_id)
    before = folder_files(tool.backup)
    # The first page of the documents listing, then 503 for good (the other listings, asked meanwhile, answer).
    emulator.faults(fail_after_requests=1, fail_path="/documents")
    emulator.reset_stats()
    failed = tool.run("--full", "--retries", "1", expect=1)
    assert "GET /documents answered 503" in failed.stderr
    assert emulator.stats()["by_endpoint"]["GET /documents"] == 3  # page 1, then page 2 tried twice
    assert_nothing_lost(before, tool.backup)
    assert set(gone) <= set(document_folders(tool.backup))
    emulator.faults()
    assert tool.run("--full").summary == Summary(removed=3)
    assert_backup_matches(tool.backup, emulator.library())


def test_a_listing_shorter_than_its_count_removes_nothing(emulator, api, tool):
    """A document deleted while the pages are read: page 2 lacks it, so the pages hold fewer documents than the
    first page's Mendeley-Count. Its absence is no evidence; the server's deletion record is, next run."""
    emulator.seed(**TWO_PAGES)
    tool.run()
    last = emulator.library()["documents"][-1]["id"]  # listed in created order: on page 2
    before = folder_files(tool.backup)
    emulator.faults(latency_ms=1200)
    emulator.reset_stats()
    process = tool.start("--full", stdin=None)
    while emulator.stats()["by_endpoint"].get("GET /documents", 0) < 2:  # page 2 asked for, not yet answered
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
    emulator.faults()
    delete_document(api, last)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "The documents listing held 519 items where the server announced 520" in stderr.decode()
    assert_nothing_lost(before, tool.backup)
    assert last in document_folders(tool.backup)
    assert tool.run().summary == Summary(removed=1)
    assert_backup_matches(tool.backup, emulator.library())


def test_removing_most_of_the_backup_needs_force_and_holds_back_only_the_removals(emulator, api, tool):
    emulator.seed(**SMALL)
    tool.run()
    documents = [document["id"] for document in emulator.library()["documents"]]
    for doc_id in documents[:12]:
        delete_document(api, doc_id)
    for doc_id in documents[12:16]:
        trash_document(api, doc_id)
    attach_file(api, documents[16], "new.pdf", b"%PDF-1.4 added while most went\n" * 50)
    create_document(api, "Newcomer", ["Noe"])
    before = folder_files(tool.backup)
    held = tool.run(expect=3)
    assert "--force" in held.stderr and "16 of 20" in held.stderr, held.stderr
    assert held.summary == Summary(new=1, updated=1)  # the rest of the run went on
    assert_nothing_lost(before, tool.backup)
    assert len(document_folders(tool.backup)) == 21
    assert_state_consistent(tool.backup)
    assert tool.run("--max-delete", "75", expect=3).summary == Summary()  # 80% is still more than 75%
    assert tool.run("--force").summary == Summary(removed=16)
    assert_backup_matches(tool.backup, emulator.library())


def test_a_generous_max_delete_lets_the_removals_through(emulator, api, tool):
    emulator.seed(**SMALL)
    tool.run()
    for document in emulator.library()["documents"][:16]:
        delete_document(api, document["id"])
    assert tool.run("--max-delete", "85").summary == Summary(removed=16)
    assert_backup_matches(tool.backup, emulator.library())


def test_an_empty_listing_of_a_library_that_had_documents_removes_nothing_without_force(emulator, api, tool):
    emulator.seed(**SMALL)
    tool.run()
    for document in emulator.library()["documents"]:
        delete_document(api, document["id"])
    before = folder_files(tool.backup)
    held = tool.run("--full", expect=3)
    assert "20 of 20" in held.stderr and "--force" in held.stderr, held.stderr
    assert_nothing_lost(before, tool.backup)
    assert tool.run("--full", "--force").summary == Summary(removed=20)
    assert_backup_matches(tool.backup, emulator.library())
    assert document_folders(tool.backup) == {}


def test_a_run_with_a_failed_download_removes_nothing_and_exits_3(emulator, api, tool):
    emulator.seed(**SMALL)
    tool.run()
    documents = emulator.library()["documents"]
    deleted, shrunk, grown = documents[0], documents[1], documents[2]
    delete_document(api, deleted["id"])
    delete_file(api, shrunk["files"][0]["id"])
    attach_file(api, grown["id"], "new.pdf", b"%PDF-1.4 fresh\n" * 400)
    before = folder_files(tool.backup)
    folders = document_folders(tool.backup)

    emulator.faults(truncate_rate=1, truncate_content_only=True)
    emulator.reset_stats()
    partial = tool.run("--retries", "2", expect=3)
    assert folders[grown["id"]] in partial.stderr and "postponed" in partial.stderr, partial.stderr
    assert emulator.stats()["by_endpoint"]["GET /_content/{id}"] == 3  # one try and two retries
    assert_nothing_lost(before, tool.backup)
    assert deleted["id"] in document_folders(tool.backup)
    assert_state_consistent(tool.backup)
    emulator.faults()
    assert tool.run().summary == Summary(removed=1, updated=1)
    assert_backup_matches(tool.backup, emulator.library())


def test_removal_never_follows_a_symbolic_link(emulator, api, tool, tmp_path):
    emulator.seed(**SMALL)
    tool.run()
    documents = emulator.library()["documents"]
    folders = document_folders(tool.backup)
    # A document's file is a link to a file outside the backup: removing the document removes the link only.
    file_id = documents[1]["files"][0]["id"]
    folder = tool.backup / folders[documents[1]["id"]]
    linked = folder / read_json(folder / "info.json")["files"][file_id]
    secret = tmp_path / "secret.pdf"
    linked.rename(secret)
    linked.symlink_to(secret)
    secret_bytes = secret.read_bytes()
    delete_document(api, documents[1]["id"])
    assert tool.run().summary == Summary(removed=1)
    assert not linked.is_symlink() and not folder.exists()
    assert secret.read_bytes() == secret_bytes

    # A document's folder is a link to a folder outside: its removal is refused and reported, the outside kept.
    link = tool.backup / folders[documents[0]["id"]]
    outside = tmp_path / "outside"
    link.rename(outside)
    link.symlink_to(outside, target_is_directory=True)
    precious = {path.name: path.read_bytes() for path in outside.iterdir()}
    delete_document(api, documents[0]["id"])
    # Another removal, planned after the refused one (removals go in path order), still happens.
    later = next(doc for doc in documents[2:] if folders[doc["id"]] > folders[documents[0]["id"]])
    delete_document(api, later["id"])
    refused = tool.run(expect=3)
    assert f"refusing to go through the symbolic link {link}" in refused.stderr, refused.stderr
    assert {path.name: path.read_bytes() for path in outside.iterdir()} == precious
    assert link.is_symlink()
    assert not (tool.backup / folders[later["id"]]).exists()
    assert later["id"] not in document_folders(tool.backup)


def test_a_first_run_into_a_folder_that_is_not_a_backup_touches_nothing(emulator, tool):
    emulator.seed(**SMALL)
    tool.backup.mkdir()
    (tool.backup / "thesis.tex").write_text("years of work")
    (tool.backup / "data").mkdir()
    (tool.backup / "data" / "results.csv").write_text("1,2,3")
    before = folder_files(tool.backup)
    refused = tool.run(expect=1)
    assert "not empty" in refused.stderr, refused.stderr
    assert folder_files(tool.backup) == before
    assert sorted(path.name for path in tool.backup.iterdir()) == ["data", "thesis.tex"]

