"""Everyday use and cron (issue 11): silent when all is well, precise when not. -q, the totals line, --json, each
failure once, usage errors as one line with exit status 2 wherever they come from, the --no- forms, the listing's
progress bar, and nothing left behind when the server cannot be reached."""

from __future__ import annotations

import re

import pytest

from tests.library import attach_file, create_document, trash_document
from tests.tool import (
    SUMMARY,
    BackupTool,
    Summary,
    document_folders,
    folder_files,
    loopback_redirect_uri,
    run_with_terminal_stderr,
    sha1,
)

PDF = b"%PDF-1.4 every day\n" * 300
TOTALS = re.compile(r"^mendeley-backup: (\d+) documents and (\d+) files checked, (.+) downloaded, in (.+) s$", re.M)


@pytest.fixture
def papers(api) -> list[dict]:
    """Seven documents, each with a file, and one without."""
    made = []
    for number in range(7):
        document = create_document(api, f"Paper {number}", ["Doe"])
        attach_file(api, document["id"], f"paper {number}.pdf", PDF + bytes([number]))
        made.append(document)
    made.append(create_document(api, "No file", ["Roe"]))
    return made


def test_quiet_prints_nothing_on_success_but_keeps_warnings(api, tool, papers):
    first = tool.run("-q")
    assert first.stdout == "" and first.stderr == ""
    create_document(api, "Eighth", ["Poe"])
    again = tool.run("-q")  # an incremental run that added one
    assert again.stdout == "" and again.stderr == ""
    assert len(document_folders(tool.backup)) == 9
    config = tool.tmp / "my.conf"
    config.write_text("[backup]\nmax-delte = 10\n")
    warned = tool.run("-q", "-c", str(config))
    assert warned.stdout == ""
    assert warned.stderr.splitlines() == [
        f"mendeley-backup: Ignoring the unknown key 'max-delte' in [backup] of {config}"]


def test_each_failure_is_printed_once_and_the_last_line_names_the_first_five(emulator, tool, papers):
    emulator.faults(content_url_lifetime_s=-60)  # every signed content URL has expired: 403, however often asked
    run = tool.run("-q", "--retries", "0", expect=3)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    folders = [f"Doe/2024 - Paper {number}" for number in range(7)]
    for folder in folders:
        assert len([line for line in lines if f"{folder}:" in line]) == 1, run.stderr  # its one error line
    last = lines[-1]
    assert last.startswith("mendeley-backup: 7 item(s) could not be backed up this run (the next run tries them "
                           "again): ")
    assert last.endswith("; and 2 more") and sum(folder in last for folder in folders) == 5
    assert "Could not download" not in last and len(last) < 300
    emulator.faults()
    assert tool.run("-q").stdout == ""
    assert folder_files(tool.backup)["Doe/2024 - Paper 3/paper 3.pdf"] == sha1(PDF + bytes([3]))


def test_the_totals_line_goes_to_stderr_with_v_or_on_a_terminal(api, tool, papers):
    plain = tool.run()
    assert plain.summary == Summary(new=8) and plain.stderr == ""  # off a terminal, without -v: only the lines
    verbose = tool.run("-v")
    (totals,) = TOTALS.findall(verbose.stderr)
    assert totals[:3] == ("8", "7", "0 B")
    assert not TOTALS.search(verbose.stdout)
    attach_file(api, create_document(api, "Ninth", ["Moe"])["id"], "ninth.pdf", PDF)
    run, shown = run_with_terminal_stderr(tool)
    assert run.returncode == 0 and run.summary == Summary(new=1)
    assert re.search(rb"mendeley-backup: 9 documents and 8 files checked, 5\.7 kB downloaded, in [\d.]+ s", shown)


def test_json_prints_one_object_instead_of_the_lines(emulator, tool, papers):
    run = tool.run("--json")
    assert not SUMMARY.search(run.stdout)
    result = run.json
    assert {key: result[key] for key in ("new", "removed", "updated", "moved", "annotations")} == \
        {"new": 8, "removed": 0, "updated": 0, "moved": 0, "annotations": 0}
    assert (result["documents_checked"], result["files_checked"]) == (8, 7)
    assert result["bytes_downloaded"] == sum(len(PDF) + 1 for _ in range(7))
    assert result["failures"] == [] and result["exit_status"] == 0 and result["error"] is None
    assert result["seconds"] > 0 and result["dry_run"] is False

    with emulator.api_session() as api:
        attach_file(api, papers[7]["id"], "late.pdf", PDF)
    emulator.faults(content_url_lifetime_s=-60)
    failed = tool.run("--json", "--retries", "0", expect=3).json
    assert failed["exit_status"] == 3 and [item["item"] for item in failed["failures"]] == ["Roe/2024 - No file"]
    assert failed["failures"][0]["error"].startswith("Could not download file")
    emulator.faults()
    dry = tool.run("--json", "--dry-run").json
    assert dry["dry_run"] is True and dry["updated"] == 1
    assert dry["plan"] == ["library: would update: Roe/2024 - No file (1 file(s) to download)"]

    stopped = tool.run("--json", "--api-host", "http://127.0.0.1:1", "--retries", "0", expect=1).json
    assert stopped["exit_status"] == 1 and "refused" in stopped["error"].lower()  # the connection, by nobody there


@pytest.mark.parametrize(("args", "words"), [
    (("--jobs", "zero"), ["--jobs", "'zero'", "whole number of 1 or more"]),
    (("--retries", "-2"), ["--retries", "'-2'", "whole number of 0 or more"]),
    (("--timeout", "soon"), ["--timeout", "'soon'", "number above 0"]),
    (("--max-delete", "half"), ["--max-delete", "'half'", "percentage from 0 to 100"]),
    (("-p", ""), ["--pattern", "''", "makes no folder name"]),
    (("-p", " / / "), ["--pattern", "' / / '", "makes no folder name"]),
    (("-p", "%authors/%journal"), ["--pattern", "%journal", "%authors"]),
    (("-q", "-v"), ["-q/--quiet", "-v/--verbose", "not allowed"]),
    (("--status", "--relayout"), ["--status", "--relayout"]),
    (("--relayout",), ["--relayout", "--pattern"]),
], ids=lambda value: " ".join(value) if isinstance(value, tuple) else "")
def test_usage_errors_on_the_command_line_are_one_line_naming_option_value_and_what_is_allowed(tool, papers, args,
                                                                                              words):
    line = tool.run(*args, expect=2).error_line
    assert all(word in line for word in words), line
    assert "invalid literal" not in line and "Traceback" not in line
    assert not tool.backup.exists()


@pytest.mark.parametrize(("text", "words"), [
    ("[backup]\njobs = zero\n", ["jobs in [backup]", "'zero'", "whole number of 1 or more"]),
    ("[backup]\npattern = \n", ["pattern in [backup]", "makes no folder name"]),
    ("[backup]\nkeep-trashed = perhaps\n", ["keep-trashed in [backup]", "'perhaps'", "yes or no"]),
    ("[login-method]\nbrowser = sometimes\n", ["browser in [login-method]", "'sometimes'", "yes or no"]),
])
def test_the_same_usage_errors_in_the_config_file_exit_2_naming_the_key(tool, papers, text, words):
    config = tool.tmp / "my.conf"
    config.write_text(text)
    line = tool.run("-c", str(config), expect=2).error_line
    assert all(word in line for word in words) and str(config) in line, line
    assert not tool.backup.exists()


def test_no_keep_trashed_beats_the_config_file(emulator, api, tool, papers):
    config = tool.tmp / "my.conf"
    config.write_text("[backup]\nkeep-trashed = yes\n")
    tool.run("-c", str(config))
    trash_document(api, papers[0]["id"])
    assert tool.run("-c", str(config), "--no-keep-trashed").summary == Summary(removed=1)
    assert papers[0]["id"] not in document_folders(tool.backup)
    assert not (tool.backup / ".trash").exists()


def test_browser_no_in_the_config_file_and_browser_on_the_command_line_beating_it(tool, papers):
    tool.token_file.unlink()
    config = tool.tmp / "my.conf"
    config.write_text("[login-method]\nbrowser = no\n")
    # No browser, and standard input (/dev/null) cannot deliver a pasted address: cron's one line, at once.
    line = tool.run("-c", str(config), expect=1, env=tool.stand_in_browser(), timeout=30).error_line
    assert "by hand" in line and tool.browser_visits() == []
    run = tool.run("-c", str(config), "--browser", "-r", loopback_redirect_uri(), env=tool.stand_in_browser())
    assert run.summary == Summary(new=8) and len(tool.browser_visits()) == 1


def test_every_yes_no_option_has_a_no_form(tool, papers):
    for option in ("--browser", "--keep-trashed", "--full", "--verify", "--force", "--dry-run", "--json"):
        tool.run(option.replace("--", "--no-", 1))
    assert tool.run("--no-full").summary == Summary()


def test_an_unreachable_server_leaves_no_folder_behind(tool, papers):
    line = tool.run("--api-host", "http://127.0.0.1:1", "--retries", "0", expect=1).error_line
    assert "refused" in line.lower()  # the connection, by nobody listening there
    assert not tool.backup.exists()
    tool.backup.mkdir()
    tool.run("--api-host", "http://127.0.0.1:1", "--retries", "0", expect=1)
    assert list(tool.backup.iterdir()) == []  # no lock, no temporary folder, no state: still not a backup
    assert tool.run().summary == Summary(new=8)


def test_a_progress_line_counts_the_documents_listed_on_a_terminal_only(emulator, tmp_path):
    emulator.seed(documents=520, files_per_document=0, seed=4)  # two pages of the listing
    tool = BackupTool(emulator, tmp_path)
    run, shown = run_with_terminal_stderr(tool)
    assert run.returncode == 0 and run.summary == Summary(new=520)
    assert b"library: listing" in shown and b"520/520" in shown
    assert "listing" not in run.stdout
    assert "listing" not in tool.run("--full").stderr  # off a terminal: nothing


def test_unusable_login_addresses_are_usage_errors_naming_the_option(tool, papers):
    line = tool.run("-r", "http://0.0.0.0:5000/oauth", expect=2).error_line
    assert "--redirect-uri" in line and "'http://0.0.0.0:5000/oauth'" in line and "loopback" in line
    line = tool.run("--api-host", "http://api.example.com", expect=2).error_line
    assert "--api-host" in line and "'http://api.example.com'" in line and "https://" in line
    assert not tool.backup.exists()


def test_debugging_output_has_no_noise_of_the_libraries(tool, papers):
    run = tool.run("-vv")
    assert run.summary == Summary(new=8)
    assert "Encoding detection" not in run.stderr
    assert all(line.startswith("mendeley-backup: ") for line in run.stderr.splitlines())
