"""The command line end to end: --dry-run, -q, -v, --version, exit statuses, progress bars, the summary lines,
a folder that is not a backup, and documents or files that want the same name."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import pytest

from tests.library import attach_file, create_document, delete_document, delete_file, update_document
from tests.tool import Summary, document_folders, folder_files, read_json, run_with_terminal_stderr, sha1

PDF = b"%PDF-1.4 command line\n" * 200


@pytest.fixture
def two(api) -> tuple[dict, dict]:
    first = create_document(api, "T 1", ["Doe"])
    attach_file(api, first["id"], "one.pdf", PDF)
    second = create_document(api, "T 2", ["Roe"])
    return first, second


def tree(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every entry under `root` (and root itself): relative path -> (is a folder, size, mtime in ns)."""
    entries = [root, *root.rglob("*")] if root.exists() else []
    return {path.relative_to(root).as_posix(): (path.is_dir(), path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in entries}


def summary_text(new: int = 0, removed: int = 0, updated: int = 0, moved: int = 0) -> list[str]:
    """The original's four lines, word for word."""
    return [f"{new} new documents were added", f"{removed} documents were removed",
            f"{updated} documents were updated", f"{moved} documents were moved and possibly updated"]


def dry_run_text(new: int = 0, removed: int = 0, updated: int = 0, moved: int = 0) -> list[str]:
    """The four lines of a dry run: what would happen."""
    return [f"{new} new documents would be added", f"{removed} documents would be removed",
            f"{updated} documents would be updated", f"{moved} documents would be moved and possibly updated"]


def test_the_summary_is_the_originals_four_lines_then_the_annotations(tool, two):
    run = tool.run()
    assert run.stdout.splitlines() == [*summary_text(new=2), "0 annotations were added, changed or removed"]
    assert run.stderr == ""  # a clean run says nothing else, and draws no progress bar off a terminal


def test_dry_run_of_a_first_backup_prints_what_it_would_add_and_writes_nothing(emulator, tool, two):
    before = tree(tool.tmp)
    emulator.reset_stats()
    run = tool.run("--dry-run")
    lines = run.stdout.splitlines()
    assert "library: would add: Doe/2024 - T 1 (1 file(s) to download)" in lines
    assert "library: would add: Roe/2024 - T 2" in lines
    assert lines[-5:] == [*dry_run_text(new=2), "0 annotations would be added, changed or removed"]
    assert tree(tool.tmp) == before and not tool.backup.exists()
    requests = emulator.stats()["by_endpoint"]
    assert requests and all(endpoint.startswith("GET ") for endpoint in requests)
    assert "GET /files/{id}" not in requests


def test_dry_run_of_changes_prints_them_writes_nothing_and_a_real_run_does_them(emulator, api, tool, two):
    tool.run()
    first, second = two
    delete_document(api, first["id"])
    update_document(api, second["id"], type="book")
    create_document(api, "T 3", ["Poe"])
    before = tree(tool.tmp)
    dry = tool.run("--dry-run")
    assert {"library: would remove: Doe/2024 - T 1", "library: would update: Roe/2024 - T 2",
            "library: would add: Poe/2024 - T 3"} <= set(dry.stdout.splitlines())
    assert tree(tool.tmp) == before
    assert dry.dry_summary == Summary(new=1, removed=1, updated=1)
    assert tool.run().summary == dry.dry_summary


def test_quiet_prints_nothing_when_all_is_well(tool, two):
    run = tool.run("-q")
    assert run.stdout == "" and run.stderr == ""
    assert (tool.backup / "Doe/2024 - T 1/one.pdf").read_bytes() == PDF


def test_verbose_notes_progress_on_stderr_and_keeps_stdout_for_the_summary(tool, two):
    run = tool.run("-v")
    notes = run.stderr.splitlines()
    assert all(line.startswith("mendeley-backup: ") for line in notes)
    assert any("saved Mendeley login" in line for line in notes)
    assert any("2 document(s) to add" in line for line in notes)
    assert any("library.bib" in line for line in notes)
    assert run.summary == Summary(new=2) and len(run.stdout.splitlines()) == 5


def test_version(tool):
    run = tool.run("--version")
    assert run.stdout == f"mendeley-backup 2.0.0 (Python {platform.python_version()}, mendeley SDK 0.3.2)\n"
    assert not tool.backup.exists()


def test_an_unreachable_api_host_is_one_line_and_exit_1(tool, two):
    run = tool.run("--api-host", "http://127.0.0.1:1", "--retries", "0", expect=1)
    assert "GET /documents" in run.error_line


def test_a_run_that_could_not_fetch_a_file_exits_3_counting_only_what_it_did(emulator, api, tool):
    gone = create_document(api, "Gone", ["Loe"])
    for number in range(2):  # so that one removal stays within --max-delete
        create_document(api, f"Kept {number}", ["Moe"])
    tool.run()
    delete_document(api, gone["id"])
    failing = create_document(api, "T 1", ["Doe"])
    attach_file(api, failing["id"], "one.pdf", PDF)
    create_document(api, "T 2", ["Roe"])
    emulator.faults(content_url_lifetime_s=-60)  # every signed content URL has expired: 403, however often asked
    run = tool.run("--retries", "1", expect=3)
    assert run.summary == Summary(new=1)  # T 2; T 1 failed, and removals wait for a run without errors
    assert "Doe/2024 - T 1" in run.stderr
    assert (tool.backup / "Loe/2024 - Gone/info.json").is_file()
    assert not (tool.backup / "Doe/2024 - T 1/one.pdf").exists()
    emulator.faults()
    assert tool.run().summary == Summary(new=1, removed=1)
    assert folder_files(tool.backup)["Doe/2024 - T 1/one.pdf"] == sha1(PDF)
    assert not (tool.backup / "Loe").exists()


def test_progress_bars_go_to_a_terminal_on_stderr_never_to_stdout(tool, two):
    run, shown = run_with_terminal_stderr(tool)
    assert run.returncode == 0 and run.summary == Summary(new=2)
    assert b"library:" in shown and b"%|" in shown and b"doc" in shown
    assert "%|" not in run.stdout and "\r" not in run.stdout


def test_a_first_run_into_a_folder_that_is_not_a_backup_stops_and_touches_nothing(tool, two):
    tool.backup.mkdir()
    (tool.backup / "thesis.tex").write_text("years of work")
    (tool.backup / "photos").mkdir()
    (tool.backup / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    time.sleep(0.01)  # so that a change would show in the mtimes
    before = tree(tool.backup)
    run = tool.run(expect=1)
    assert "not empty" in run.error_line and str(tool.backup) in run.error_line
    assert tree(tool.backup) == before


def test_documents_with_the_same_path_are_all_kept_under_stable_numbered_names(emulator, api, tool):
    made = [create_document(api, "Same", ["Doe"]) for _ in range(3)]
    for number, document in enumerate(made):
        attach_file(api, document["id"], "paper.pdf", PDF + bytes([number]))
    assert tool.run().summary == Summary(new=3)
    order = sorted(emulator.library()["documents"], key=lambda document: (document["created"], document["id"]))
    names = ["Doe/2024 - Same", "Doe/2024 - Same (2)", "Doe/2024 - Same (3)"]
    assert document_folders(tool.backup) == {document["id"]: name for document, name in zip(order, names, strict=True)}
    files = folder_files(tool.backup)
    for number, document in enumerate(made):
        folder = document_folders(tool.backup)[document["id"]]
        assert files[f"{folder}/paper.pdf"] == sha1(PDF + bytes([number]))
    assert tool.run().summary == Summary()
    delete_document(api, order[0]["id"])
    assert tool.run().summary == Summary(removed=1)
    assert document_folders(tool.backup) == {order[1]["id"]: names[1], order[2]["id"]: names[2]}
    newcomer = create_document(api, "Same", ["Doe"])
    assert tool.run().summary == Summary(new=1)
    assert document_folders(tool.backup)[newcomer["id"]] == names[0]


def test_files_of_one_document_with_the_same_name_are_all_kept(api, tool):
    document = create_document(api, "Two Files", ["Doe"])
    first = attach_file(api, document["id"], "a.pdf", PDF)
    second = attach_file(api, document["id"], "a.pdf", PDF + b"revised")
    third = attach_file(api, document["id"], "A.PDF", PDF + b"shouting")
    assert tool.run().summary == Summary(new=1)
    folder = tool.backup / "Doe/2024 - Two Files"
    assert read_json(folder / "info.json")["files"] == {
        first["id"]: "a.pdf", second["id"]: "a (2).pdf", third["id"]: "A (3).PDF"}
    assert (folder / "a (2).pdf").read_bytes() == PDF + b"revised"
    delete_file(api, first["id"])
    assert tool.run().summary == Summary(updated=1)
    assert read_json(folder / "info.json")["files"] == {second["id"]: "a (2).pdf", third["id"]: "A (3).PDF"}
    assert not (folder / "a.pdf").exists() and (folder / "A (3).PDF").read_bytes() == PDF + b"shouting"


def test_missing_year_title_and_authors_give_stable_readable_names(api, tool):
    create_document(api, "", None, year=None)
    create_document(api, "   ", [], year=None)
    assert tool.run().summary == Summary(new=2)
    assert sorted(document_folders(tool.backup).values()) == \
        ["Unknown/Unknown - Untitled", "Unknown/Unknown - Untitled (2)"]
    assert tool.run().summary == Summary()
    assert not any("None" in path for path in folder_files(tool.backup))
