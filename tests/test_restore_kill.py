"""A restore killed with SIGKILL at any moment, then run again, ends with exactly one copy of everything in the account
restored into, and the backup folder that account's backup.

One library is backed up once; for each kill point the backup is copied afresh and the second emulator emptied. The
tool is killed once the second emulator has served N requests, for N spread over a whole restore (the listings,
the folders, documents, files, annotations and filings, the final listing and writes), then run again. The restore
is slowed down as test_kill slows a backup, to last several state checkpoints.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.restored import assert_same_content, duplicates, restoring_tool
from tests.test_kill import JOBS, kill_after
from tests.tool import BackupTool, Summary, assert_backup_matches, read_json, sha1, state_of

LIBRARY = {"documents": 40, "files_per_document": 1, "file_size": 1500, "folders": 3, "annotations_per_document": 2,
           "seed": 29}
JOURNAL = ".mendeley-backup-restore.json"


def fresh_copy(source: BackupTool, target, tmp: Path) -> BackupTool:
    """The tool on an emptied second emulator, with a copy of the backup to restore."""
    target.reset()
    tool = restoring_tool(source, target, tmp)
    tool.backup = tmp / "backup"
    shutil.copytree(source.backup, tool.backup)
    return tool


def unfinished_documents(root: Path) -> set[str]:
    """The documents of the state whose folder does not match their entry: info.json naming other files, a file
    missing or with another SHA-1 (a restore rewrites a document's folder for its new ids just before the state
    records it under them)."""
    state = state_of(root)
    unfinished = set()
    for doc_id, folder in state["documents"].items():
        recorded = state["entries"][doc_id]["files"]
        info = read_json(root / folder / "info.json")
        if info["files"] != {file_id: record["name"] for file_id, record in recorded.items()} or \
                any(sha1((root / folder / record["name"]).read_bytes()) != record["sha1"]
                    for record in recorded.values()):
            unfinished.add(doc_id)
    return unfinished


def test_a_restore_killed_anywhere_and_run_again_makes_everything_exactly_once(emulator, other_emulator, tmp_path):
    emulator.seed(**LIBRARY)
    source = BackupTool(emulator, tmp_path / "source")
    source.run()
    truth = emulator.library()
    clean = fresh_copy(source, other_emulator, tmp_path / "clean")
    clean.run("--restore", "-j", str(JOBS))
    requests = other_emulator.stats()["total_requests"]
    assert_same_content(truth, other_emulator.library())
    points = sorted({1, 2, 4, 7, *range(10, requests, max(1, requests // 14)), requests - 2, requests - 1})

    killed, resumed, journals, found = 0, 0, 0, 0
    for point in points:
        tool = fresh_copy(source, other_emulator, tmp_path / f"kill-{point}")
        killed += kill_after(other_emulator, tool, point, "--restore")
        journal = tool.backup / JOURNAL
        unfinished = unfinished_documents(tool.backup)
        # A document whose folder already carries its new ids is one the journal still holds.
        assert unfinished <= set(read_json(journal)["documents"] if journal.exists() else ()), point
        journals += journal.exists()
        made = len(other_emulator.library()["documents"])
        resumed += 0 < made < LIBRARY["documents"]
        rerun = tool.run("--restore", "-j", str(JOBS), "-v")
        found += rerun.stderr.count("an earlier try had made it")
        target = other_emulator.library()
        assert duplicates(target) == 0, f"kill after {point} requests"
        assert_same_content(truth, target)
        assert len(target["documents"]) == LIBRARY["documents"], f"kill after {point} requests"
        assert len(target["files"]) == len(truth["files"]) and len(target["annotations"]) == len(truth["annotations"])
        assert len(target["folders"]) == len(truth["folders"]), f"kill after {point} requests"
        assert_backup_matches(tool.backup, target)
        assert tool.run().summary == Summary(), f"kill after {point} requests"
    assert killed >= 10, f"only {killed} of {len(points)} kill points caught the restore still going"
    assert resumed >= 5 and journals >= 5
    print(f"\n{killed} kills of {len(points)} points over {requests} requests ({resumed} with part of the library "
          f"made, {journals} leaving a journal, {found} objects a killed run had made found by their content); "
          f"duplicates found: 0")
