"""--relayout with a new --pattern: every document's folder moves to its place under it (files, info.json and
annotations along), nothing is downloaded or even asked of the server, the state records the new pattern; a relayout
stopped half-way is finished by the next run; --dry-run lists the moves."""

from __future__ import annotations

import signal
import time

from tests.library import attach_file, create_annotation, create_document
from tests.tool import (
    BackupTool,
    Summary,
    assert_backup_matches,
    assert_state_consistent,
    document_folders,
    folder_files,
    read_json,
    state_of,
)

OFFLINE = ("--api-host", "http://127.0.0.1:1")  # nothing listens there: a relayout asks nothing of the server
PDF = b"%PDF-1.4 laid out again\n" * 200
NEW = "%year/%title"


def moved_files(before: dict[str, str], old: str, new: str) -> dict[str, str]:
    """A backup's documents' own files after their folders moved from `old` to `new`, bytes unchanged."""
    return {path.replace(old, new, 1): digest for path, digest in before.items()
            if path.startswith(old + "/") and not path.endswith("/info.json")}


def test_a_relayout_moves_every_folder_without_downloading_or_asking_the_server(emulator, api, tool):
    first = create_document(api, "First", ["Doe"])
    attach_file(api, first["id"], "first.pdf", PDF)
    create_annotation(api, first["id"], "note", text="kept along")
    second = create_document(api, "Second", ["Roe", "Poe"], year=2023)
    attach_file(api, second["id"], "second.pdf", PDF + b"2")
    create_document(api, "Third", ["Doe"])
    tool.run()
    before = folder_files(tool.backup)
    notes = read_json(tool.backup / "Doe/2024 - First/annotations.json")

    dry = tool.run("--relayout", "-p", NEW, "--dry-run", *OFFLINE)
    assert {"library: would move: Doe/2024 - First -> 2024/First", "library: would move: Roe & Poe/2023 - Second -> "
            "2023/Second", "library: would move: Doe/2024 - Third -> 2024/Third"} <= set(dry.stdout.splitlines())
    assert dry.dry_summary == Summary(moved=3)
    assert folder_files(tool.backup) == before and state_of(tool.backup)["pattern"] == "%authors/%year - %title"

    emulator.reset_stats()
    run = tool.run("--relayout", "-p", NEW, *OFFLINE)
    assert run.summary == Summary(moved=3) and run.stderr == ""
    assert emulator.stats()["total_requests"] == 0
    after = folder_files(tool.backup)
    for old, new in (("Doe/2024 - First", "2024/First"), ("Roe & Poe/2023 - Second", "2023/Second")):
        assert moved_files(before, old, new).items() <= after.items()
    assert read_json(tool.backup / "2024/First/annotations.json") == notes
    info = read_json(tool.backup / "2024/First/info.json")
    assert info["document"]["id"] == first["id"] and list(info["files"].values()) == ["first.pdf"]
    assert not (tool.backup / "Doe").exists() and not (tool.backup / "Roe & Poe").exists()
    assert state_of(tool.backup)["pattern"] == NEW and "relayout_pending" not in state_of(tool.backup)
    assert "2024/First/first.pdf" in (tool.backup / "library.bib").read_text(encoding="utf-8")
    assert_state_consistent(tool.backup)

    emulator.reset_stats()
    assert tool.run().summary == Summary()  # the next run follows the new pattern, and fetches nothing
    assert emulator.stats()["by_endpoint"].get("GET /files/{id}", 0) == 0
    create_document(api, "Fourth", ["Loe"], year=2022)
    assert tool.run().summary == Summary(new=1)
    assert (tool.backup / "2022/Fourth/info.json").is_file()
    assert_backup_matches(tool.backup, emulator.library())


def test_a_relayout_that_could_not_finish_is_finished_by_the_next_plain_run(emulator, api, tool):
    papers = [create_document(api, f"T {number}", ["Doe"]) for number in range(3)]
    for number, paper in enumerate(papers):
        attach_file(api, paper["id"], "paper.pdf", PDF + bytes([number]))
    tool.run()
    (tool.backup / "Doe/2024 - T 1/paper.pdf").unlink()  # a relayout cannot fetch it again
    stopped = tool.run("--relayout", "-p", "%title", *OFFLINE, expect=3)
    assert stopped.summary == Summary(moved=2)
    assert "Doe/2024 - T 1" in stopped.stderr and "without --relayout fetches it again" in stopped.stderr
    assert state_of(tool.backup)["relayout_pending"] is True and state_of(tool.backup)["pattern"] == "%title"
    assert sorted(document_folders(tool.backup).values()) == ["Doe/2024 - T 1", "T 0", "T 2"]
    emulator.reset_stats()
    assert tool.run().summary == Summary(moved=1)
    assert emulator.stats()["by_endpoint"]["GET /files/{id}"] == 1
    assert sorted(document_folders(tool.backup).values()) == ["T 0", "T 1", "T 2"]
    assert "relayout_pending" not in state_of(tool.backup)
    assert_backup_matches(tool.backup, emulator.library())


def test_a_relayout_killed_half_way_is_finished_by_a_rerun(emulator, tmp_path):
    emulator.seed(documents=600, files_per_document=1, file_size=500, annotations_per_document=1, seed=12)
    tool = BackupTool(emulator, tmp_path)
    tool.run()
    expected = {doc_id: doc_id for doc_id in document_folders(tool.backup)}  # under %id each folder is its id
    process = tool.start("--relayout", "-p", "%id", *OFFLINE, "-j", "1")
    try:
        deadline = time.monotonic() + 60
        while sum(1 for doc_id in expected if (tool.backup / doc_id / "info.json").exists()) < 60:
            assert process.poll() is None and time.monotonic() < deadline, "the relayout ended before the kill"
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.communicate()
    half = document_folders(tool.backup)
    assert half != expected and state_of(tool.backup)["relayout_pending"] is True
    rerun = tool.run("--relayout", "-p", "%id", *OFFLINE)
    assert 0 < rerun.summary.moved < 600
    assert document_folders(tool.backup) == expected
    assert_state_consistent(tool.backup)
    assert tool.run().summary == Summary()
    assert_backup_matches(tool.backup, emulator.library())
