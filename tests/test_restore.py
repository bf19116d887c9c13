"""--restore: a backup put back into an account, the tool run as a subprocess against two emulators (the account
backed up, and the one restored into).

After a restore the account holds every backed-up document once, with its metadata, its files' bytes, its folders
and its annotations; the backup folder is then that account's backup, so a plain backup of it finds nothing to do.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.library import delete_document, trash_document
from tests.restored import assert_same_content, duplicates, folder_paths, restoring_tool
from tests.test_compat_original import original  # noqa: F401 (a fixture: a backup the original wrote, in `tool`'s)
from tests.tool import (
    BackupTool,
    Summary,
    assert_backup_matches,
    assert_state_consistent,
    document_folders,
    folder_files,
    read_json,
    run_with_terminal_stderr,
    sha1,
    state_of,
)

LIBRARY = {"documents": 24, "files_per_document": 2, "file_size": 4000, "folders": 5, "annotations_per_document": 2,
           "seed": 14}
JOURNAL = ".mendeley-backup-restore.json"
CONTENT = "GET /_content/{id}"
RESTORE_SUMMARY = re.compile(
    r"^(\d+) documents were restored\n(\d+) files were uploaded\n(\d+) folders were created\n"
    r"(\d+) annotations were restored\n(\d+) documents were already in the account and left alone$", re.M)


def restored_counts(stdout: str) -> tuple[int, ...]:
    match = RESTORE_SUMMARY.search(stdout)
    assert match, f"no restore summary in:\n{stdout}"
    return tuple(int(group) for group in match.groups())


def writes(emulator) -> int:
    return sum(count for endpoint, count in emulator.stats()["by_endpoint"].items() if endpoint.startswith("POST"))


@pytest.fixture
def backed_up(emulator, tmp_path) -> BackupTool:
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path / "source")
    tool.run()
    return tool


def test_a_backup_restored_into_an_empty_account_is_the_library_and_that_accounts_backup(
        emulator, other_emulator, backed_up, tmp_path):
    source = emulator.library()
    assert duplicates(source) == 0
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    run = tool.run("--restore")
    target = other_emulator.library()
    counted = (len(source["documents"]), len(source["files"]), len(source["folders"]), len(source["annotations"]), 0)
    assert restored_counts(run.stdout) == counted
    assert_same_content(source, target)
    assert duplicates(target) == 0
    # Every file's bytes, straight from the account restored into.
    backed_up_bytes = {sha1((backed_up.backup / path).read_bytes()) for path in folder_files(backed_up.backup)}
    for item in target["files"]:
        data = other_emulator.file_content(item["id"])
        assert sha1(data) == item["filehash"] and sha1(data) in backed_up_bytes
    # Each document in its folders, and the tree itself.
    paths = folder_paths(target["folders"])
    assert sorted(paths.values()) == sorted(folder_paths(source["folders"]).values())
    assert sum(len(document["folder_uuids"]) for document in target["documents"]) == \
        sum(len(document["folder_uuids"]) for document in source["documents"]) > 0
    # The backup folder is now the second account's backup: new ids, times and files, nothing else.
    assert_backup_matches(tool.backup, target)
    assert read_json(tool.backup / "folders.json") == sorted(target["folders"], key=lambda folder: folder["id"])
    assert not (tool.backup / JOURNAL).exists()

    other_emulator.reset_stats()
    again = tool.run()
    assert again.summary == Summary()
    assert other_emulator.stats()["by_endpoint"].get(CONTENT, 0) == 0
    assert writes(other_emulator) == 0


def test_annotations_come_back_with_their_type_text_page_positions_and_colour(emulator, other_emulator, backed_up,
                                                                               tmp_path):
    restoring_tool(backed_up, other_emulator, tmp_path / "target").run("--restore")
    source, target = emulator.library(), other_emulator.library()
    shape = [(item["type"], item.get("text"), json.dumps(item.get("positions")), json.dumps(item.get("color")))
             for item in source["annotations"]]
    restored = [(item["type"], item.get("text"), json.dumps(item.get("positions")), json.dumps(item.get("color")))
                for item in target["annotations"]]
    assert sorted(shape) == sorted(restored)
    assert {item["type"] for item in target["annotations"]} == {"note", "highlight", "sticky_note"}
    hashes = {item["filehash"] for item in target["files"]}
    assert all(item["filehash"] in hashes for item in target["annotations"] if item["type"] != "note")


def test_a_restore_run_again_makes_nothing_more(emulator, other_emulator, backed_up, tmp_path):
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    tool.run("--restore")
    before = other_emulator.library()
    other_emulator.reset_stats()
    again = tool.run("--restore")
    assert restored_counts(again.stdout) == (0, 0, 0, 0, LIBRARY["documents"])
    assert writes(other_emulator) == 0
    assert other_emulator.library() == before


def test_a_restore_into_the_account_that_lost_some_documents_duplicates_none(emulator, api, backed_up):
    """The mistaken bulk delete: the documents still in the account are left alone, the others come back once."""
    before = emulator.library()
    documents = before["documents"]
    for document in documents[:5]:
        delete_document(api, document["id"])
    trash_document(api, documents[5]["id"])  # in the account's trash: still there, left alone
    kept = {document["id"] for document in documents[5:]}
    run = backed_up.run("--restore")
    assert restored_counts(run.stdout)[0] == 5 and restored_counts(run.stdout)[4] == len(kept)
    after = emulator.library()
    assert duplicates(after) == 0
    assert {document["id"] for document in after["documents"] + after["trash"]} >= kept
    expected = {**before, "documents": [document for document in documents if document is not documents[5]],
                "trash": [*before["trash"], documents[5]]}
    assert_same_content(expected, after)
    assert_state_consistent(backed_up.backup)
    # The next backup sees only what happened in the account: the document moved to the trash leaves the backup.
    assert backed_up.run().summary == Summary(removed=1)
    assert_backup_matches(backed_up.backup, emulator.library())


def test_dry_run_lists_what_it_would_make_and_makes_nothing(emulator, other_emulator, backed_up, tmp_path):
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    before = folder_files(tool.backup, skip_volatile=False)
    run = tool.run("--restore", "--dry-run")
    lines = run.stdout.splitlines()
    for path in document_folders(tool.backup).values():
        assert any(line.startswith(f"library: would restore: {path} (") for line in lines), path
    assert sum(line.startswith("library: would create folder: ") for line in lines) == LIBRARY["folders"]
    annotations = len(emulator.library()["annotations"])
    assert lines[-5:] == [f"{LIBRARY['documents']} documents would be restored",
                          f"{LIBRARY['documents'] * 2} files would be uploaded",
                          f"{LIBRARY['folders']} folders would be created",
                          f"{annotations} annotations would be restored",
                          "0 documents were already in the account and left alone"]
    assert writes(other_emulator) == 0 and other_emulator.library()["documents"] == []
    assert folder_files(tool.backup, skip_volatile=False) == before


def test_the_kept_trash_goes_back_into_the_trash(emulator, api, tmp_path, other_emulator):
    emulator.seed(**{**LIBRARY, "documents": 6})
    tool = BackupTool(emulator, tmp_path / "source")
    tool.run("--keep-trashed")
    trash_document(api, emulator.library()["documents"][0]["id"])
    assert tool.run("--keep-trashed").summary.removed == 1  # moved under .trash/, kept
    target_tool = restoring_tool(tool, other_emulator, tmp_path / "target")
    target_tool.run("--restore")
    target = other_emulator.library()
    assert len(target["trash"]) == 1 and len(target["documents"]) == 5
    assert_same_content(emulator.library(), target)
    assert target_tool.run("--keep-trashed").summary == Summary()


@pytest.mark.parametrize("pattern", ["%id", "%folder/%title"])
def test_folders_follow_the_pattern_with_the_new_ids(emulator, other_emulator, tmp_path, pattern):
    emulator.seed(**{**LIBRARY, "documents": 10})
    source_tool = BackupTool(emulator, tmp_path / "source")
    source_tool.run("-p", pattern)
    tool = restoring_tool(source_tool, other_emulator, tmp_path / "target")
    tool.run("--restore")
    target = other_emulator.library()
    assert_backup_matches(tool.backup, target)
    if pattern == "%id":
        assert sorted(document_folders(tool.backup).values()) == sorted(item["id"] for item in target["documents"])
    assert tool.run().summary == Summary()
    assert other_emulator.stats()["by_endpoint"].get(CONTENT, 0) == 0


def test_groups_are_restored_into_the_groups_of_the_same_name(emulator, other_emulator, api, tmp_path):
    emulator.seed(**{**LIBRARY, "documents": 4, "groups": 2, "group_documents": 3})
    groups = emulator.library()["groups"]
    source_tool = BackupTool(emulator, tmp_path / "source")
    source_tool.run("--groups", "all")
    chosen = groups[0]
    group_folder = state_of(source_tool.backup)["groups"][chosen["id"]]
    mirror = other_emulator.create_group(chosen["name"], access_level="private", role="owner")
    tool = restoring_tool(source_tool, other_emulator, tmp_path / "target")
    run = tool.run("--restore", "--groups", chosen["name"])
    assert restored_counts(run.stdout)[0] == 4 + 3
    source, target = emulator.library(), other_emulator.library()
    assert_same_content(source, target)
    assert_same_content(source, target, chosen["id"], mirror["id"])
    assert not any(document.get("group_id") != mirror["id"] for document in target["group_documents"])
    group_ids = {document["id"] for document in target["group_documents"]}
    assert state_of(tool.backup)["groups"][mirror["id"]] == group_folder
    assert_backup_matches(tool.backup / group_folder, {**target, "documents": target["group_documents"],
                                                       "annotations": [item for item in target["annotations"]
                                                                       if item["document_id"] in group_ids]})
    again = tool.run("--groups", chosen["name"])
    assert again.summary == Summary()
    assert other_emulator.stats()["by_endpoint"].get(CONTENT, 0) == 0


def test_a_damaged_file_is_named_the_rest_restored_and_the_next_restore_finishes(emulator, other_emulator,
                                                                                 backed_up, tmp_path):
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    folder = next(iter(document_folders(tool.backup).values()))
    name = next(iter(read_json(tool.backup / folder / "info.json")["files"].values()))
    damaged = tool.backup / folder / name
    good = damaged.read_bytes()
    damaged.write_bytes(b"X" + good[1:])
    partial = tool.run("--restore", expect=3)
    assert f"{folder}/{name} is missing or damaged" in partial.stderr
    assert "1 item(s) could not be restored this run" in partial.stderr
    assert restored_counts(partial.stdout)[0] == LIBRARY["documents"] - 1
    assert (tool.backup / JOURNAL).exists()
    refused = tool.run(expect=1)
    assert "has not finished; run mendeley-backup --restore again" in refused.error_line
    damaged.write_bytes(good)
    done = tool.run("--restore")
    assert restored_counts(done.stdout)[:1] == (1,)
    assert not (tool.backup / JOURNAL).exists()
    assert_same_content(emulator.library(), other_emulator.library())
    assert_backup_matches(tool.backup, other_emulator.library())
    assert tool.run().summary == Summary()


def test_progress_bars_go_to_a_terminal_on_stderr_and_the_summary_to_stdout(emulator, other_emulator, backed_up,
                                                                           tmp_path):
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    other_emulator.faults(latency_ms=20)  # long enough for the bars to be drawn
    run, shown = run_with_terminal_stderr(tool, "--restore")
    assert run.returncode == 0 and restored_counts(run.stdout)[0] == LIBRARY["documents"]
    assert b"library:" in shown and b"%|" in shown and b"doc" in shown
    assert "%|" not in run.stdout and "\r" not in run.stdout


def test_a_folder_that_is_not_a_backup_is_refused(other_emulator, tmp_path):
    tool = BackupTool(other_emulator, tmp_path)
    tool.backup.mkdir()
    refused = tool.run("--restore", expect=1)
    assert "holds no backup to restore" in refused.error_line
    assert list(tool.backup.iterdir()) == []


def test_restore_with_verify_is_a_usage_error(other_emulator, tmp_path):
    run = BackupTool(other_emulator, tmp_path).run("--restore", "--verify", expect=2)
    assert "--restore cannot be combined with --verify" in run.stderr


def test_a_backup_the_original_tool_wrote_is_restored_too(emulator, other_emulator, tool, original,  # noqa: F811
                                                          tmp_path):
    """Its documents' metadata is the original's whitelist, its files unchecked (no SHA-1 recorded), its folders
    the original's (`None` for a missing year): restored, the folder is the new account's backup like any other."""
    source = emulator.library()
    target_tool = restoring_tool(tool, other_emulator, tmp_path / "target")
    run = target_tool.run("--restore")
    assert restored_counts(run.stdout)[:2] == (len(source["documents"]), len(source["files"]))
    target = other_emulator.library()
    assert sorted((item["filehash"], item["size"]) for item in target["files"]) == \
        sorted((item["filehash"], item["size"]) for item in source["files"])
    titles = sorted(item["title"] for item in source["documents"])
    assert sorted(item["title"] for item in target["documents"]) == titles
    assert_backup_matches(target_tool.backup, target)
    # The undated document's folder moves to the pattern's `Unknown`, as the first backup of it would have moved it.
    assert "Doe/Unknown - No Year" in document_folders(target_tool.backup).values()
    assert target_tool.run().summary == Summary()


def test_json_gives_the_restores_counts_its_failures_each_once_and_a_stopped_restores_error(
        emulator, other_emulator, backed_up, tmp_path):
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    folder = sorted(document_folders(tool.backup).values())[0]
    name = next(iter(read_json(tool.backup / folder / "info.json")["files"].values()))
    damaged = tool.backup / folder / name
    good = damaged.read_bytes()
    damaged.write_bytes(b"X" + good[1:])
    partial = tool.run("--restore", "--json", expect=3)
    result = partial.json
    assert [failure["item"] for failure in result["failures"]] == [folder]
    assert "is missing or damaged" in result["failures"][0]["error"]
    assert (result["documents_restored"], result["exit_status"], result["error"]) == (LIBRARY["documents"] - 1, 3, None)
    assert partial.stderr.splitlines()[-1] == \
        f"mendeley-backup: 1 item(s) could not be restored this run (the next --restore tries them again): {folder}"
    assert partial.stderr.count(f"{folder}/{name} is missing or damaged") == 1
    damaged.write_bytes(good)
    done = tool.run("--restore", "--json").json
    files = LIBRARY["files_per_document"]
    assert {key: done[key] for key in ("documents_restored", "files_uploaded", "folders_created", "failures",
                                       "documents_left_alone", "bytes_uploaded", "exit_status", "dry_run")} == {
        "documents_restored": 1, "files_uploaded": files, "folders_created": 0, "failures": [],
        "documents_left_alone": LIBRARY["documents"] - 1, "bytes_uploaded": files * LIBRARY["file_size"],
        "exit_status": 0, "dry_run": False}
    assert tool.run("--restore", "-q").stdout == ""
    stopped = BackupTool(other_emulator, tmp_path / "empty")
    stopped.backup.mkdir()
    refused = stopped.run("--restore", "--json", expect=1).json
    assert "holds no backup to restore" in refused["error"] and refused["documents_restored"] == 0
    assert refused["exit_status"] == 1


def test_a_group_the_account_does_not_have_is_a_usage_error_and_nothing_is_made(other_emulator, backed_up,
                                                                                  tmp_path):
    tool = restoring_tool(backed_up, other_emulator, tmp_path / "target")
    before = folder_files(tool.backup, skip_volatile=False)
    refused = tool.run("--restore", "--groups", "No such lab", expect=2)
    assert "this account has no group 'No such lab'" in refused.error_line
    assert writes(other_emulator) == 0 and folder_files(tool.backup, skip_volatile=False) == before
