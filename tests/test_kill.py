"""A run killed with SIGKILL at any moment, then run again, ends in exactly the backup a clean run makes, having
downloaded again only what was in flight at the kill.

One deterministic library (reset and seeded afresh for every kill point, so ids and bytes are the same); the
tool is killed once the emulator has served N requests, for N spread over the whole run (listings, downloads,
the final writes), then rerun and compared byte for byte with a clean run's folder.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.tool import (
    TEMP_FOLDER,
    BackupTool,
    assert_backup_matches,
    assert_state_consistent,
    document_folders,
    folder_files,
)

LIBRARY = {"documents": 200, "files_per_document": 1, "file_size": 1500, "folders": 3, "annotations_per_document": 1,
           "seed": 23}
JOBS = 4  # downloads in flight at once: what a kill may cost again
LATENCY_MS = 25  # a run then lasts about 3 s, and kills after 2 s find the state checkpointed
CONTENT = "GET /_content/{id}"
# Requests served before the kill: a clean run makes about 405 (4 listings, then a redirect and a content
# request per file); the last points fall after the last request, during the final writes, or after the end.
KILL_POINTS = [1, 3, *range(10, 400, 18), 402, 404, 405]


def fresh_library(emulator, tmp: Path) -> BackupTool:
    emulator.reset()
    emulator.seed(**LIBRARY)
    return BackupTool(emulator, tmp)


def kill_after(emulator, tool: BackupTool, requests: int, *args: str) -> bool:
    """Start a run (with `args`) and SIGKILL it once the emulator has served `requests`; whether it was still
    running. The run is slowed down to last a few of its state checkpoints."""
    emulator.faults(latency_ms=LATENCY_MS)
    process = tool.start("-j", str(JOBS), *args, stdin=None)
    try:
        while process.poll() is None and emulator.stats()["total_requests"] < requests:
            time.sleep(0.002)
        running = process.poll() is None
        process.kill()
    finally:
        process.communicate()
        emulator.faults()
    return running


def test_killed_runs_resume_into_the_clean_backup(emulator, tmp_path):
    clean = fresh_library(emulator, tmp_path / "clean")
    clean.run("-j", str(JOBS))
    files = len(emulator.library()["files"])
    expected_files = folder_files(clean.backup)
    expected_documents = document_folders(clean.backup)
    assert len(expected_documents) == LIBRARY["documents"]

    killed, wasted, resumed = 0, [], 0
    for point in KILL_POINTS:
        tool = fresh_library(emulator, tmp_path / f"kill-{point}")
        killed += kill_after(emulator, tool, point)
        held = document_folders(tool.backup) if (tool.backup / "info.json").exists() else {}
        if held:
            assert_state_consistent(tool.backup)
            resumed += len(held) < LIBRARY["documents"]
        rerun = tool.run("-j", str(JOBS))
        assert rerun.summary.new == LIBRARY["documents"] - len(held), f"kill after {point} requests"
        assert folder_files(tool.backup) == expected_files, f"kill after {point} requests"
        assert document_folders(tool.backup) == expected_documents, f"kill after {point} requests"
        assert not (tool.backup / TEMP_FOLDER).exists()
        assert_backup_matches(tool.backup, emulator.library())
        downloads = emulator.stats()["by_endpoint"].get(CONTENT, 0)
        assert downloads <= files + JOBS, f"kill after {point} requests: {downloads} downloads of {files} files"
        wasted.append(downloads - files)
    assert killed >= 25, f"only {killed} of {len(KILL_POINTS)} kill points caught the run still going"
    assert resumed, "no kill found a checkpointed state to resume from"
    print(f"\n{killed} kills of {len(KILL_POINTS)} points ({resumed} after a checkpoint of the state), {files} files "
          f"compared each time; downloads again per kill: max {max(wasted)}, total {sum(wasted)}")
