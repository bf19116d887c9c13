"""--status: what the backup holds and how it stands, without asking the server or writing anything; on a backup the
original tool wrote too."""

from __future__ import annotations

import re

from tests.library import attach_file, create_annotation, create_document, trash_document
from tests.test_compat_original import write_original_backup
from tests.tool import BackupTool, Summary, folder_files

PDF = b"%PDF-1.4 status\n" * 250  # 4,000 bytes
OFFLINE = ("--api-host", "http://127.0.0.1:1")  # nothing listens there: --status must not ask


def status_of(tool: BackupTool, *args: str) -> dict[str, str]:
    """The `key: value` lines of --status, run with no server to ask; nothing in the backup changes."""
    before = folder_files(tool.backup, skip_volatile=False)
    run = tool.run("--status", *OFFLINE, *args)
    assert run.stderr == "" and folder_files(tool.backup, skip_volatile=False) == before
    return dict(line.split(": ", 1) for line in run.stdout.splitlines())


def test_status_tells_what_the_backup_holds_and_how_the_last_run_went(emulator, api, tool):
    group = emulator.create_group("Lab")
    papers = [create_document(api, f"T {number}", ["Doe"]) for number in range(3)]
    for paper in papers[:2]:
        attach_file(api, paper["id"], "paper.pdf", PDF)
    create_annotation(api, papers[0]["id"], "note", text="a note")
    create_document(api, "In the lab", ["Roe"], group_id=group["id"])
    tool.run("--keep-trashed", "--groups", "Lab")
    trash_document(api, papers[2]["id"])
    tool.run("--keep-trashed", "--groups", "Lab")

    status = status_of(tool)
    assert status["backup"] == str(tool.backup)
    assert status["pattern"] == "%authors/%year - %title"
    assert status["documents"] == "3 (1 kept from the Mendeley trash)"
    assert status["files"] == "2, 8.0 kB"
    assert status["annotations"] == "1"
    assert status["groups"] == "Lab (1 documents, 0 files, 0 B, 0 annotations)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \([\d.]+ s\): succeeded", status["last run"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", status["last full listing"])
    assert "failed last time" not in status

    attach_file(api, papers[1]["id"], "more.pdf", PDF + b"more")
    emulator.faults(content_url_lifetime_s=-60)
    tool.run("--retries", "0", "--keep-trashed", expect=3)
    status = status_of(tool)
    assert status["last run"].endswith("finished, but 1 item(s) could not be backed up (exit status 3)")
    assert status["failed last time"].startswith("Doe/2024 - T 1 (Could not download file ")

    emulator.faults()
    as_json = tool.run("--status", "--json", *OFFLINE).json
    assert as_json["library"] == {"documents": 3, "trashed": 1, "files": 2, "bytes": 8000, "annotations": 1}
    assert as_json["last_run"]["outcome"] == "partial" and as_json["last_run"]["failures"][0]["item"] == \
        "Doe/2024 - T 1"


def test_status_of_a_run_that_stopped(emulator, api, tool):
    create_document(api, "T 1", ["Doe"])
    tool.run()
    tool.run("--api-host", "http://127.0.0.1:1", "--retries", "0", expect=1)
    assert re.search(r"\): stopped \(exit status 1\): .*refused", status_of(tool)["last run"], re.IGNORECASE)


def test_status_of_a_backup_the_original_wrote(emulator, api, tool):
    paper = create_document(api, "T 1", ["Doe"])
    attach_file(api, paper["id"], "document1.pdf", PDF)
    library = {document["id"]: document for document in emulator.library()["documents"]}
    content = {file["id"]: emulator.file_content(file["id"]) for file in emulator.library()["files"]}
    write_original_backup(tool.backup, {paper["id"]: "Doe/2024 - T 1"}, library, content)
    status = status_of(tool)
    assert status["documents"] == "1" and status["files"] == "1, 4.0 kB" and status["annotations"] == "0"
    assert status["pattern"] == "%authors/%year - %title"
    assert re.fullmatch(r"by the original mendeley-backup \(its last run started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                        r"UTC\); its outcome is not recorded", status["last run"])
    assert status["last full listing"] == "never"
    assert tool.run().summary == Summary()  # and the backup carries on


def test_status_of_a_folder_that_is_no_backup_is_one_line_and_exit_1(tool):
    assert "holds no mendeley-backup backup" in tool.run("--status", *OFFLINE, expect=1).error_line
    assert not tool.backup.exists()
