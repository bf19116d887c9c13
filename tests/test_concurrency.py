"""Runs that overlap: one at a time per backup folder (a second exits at once), a lock left by a dead run
does not block, and runs sharing one login while it keeps expiring all succeed."""

from __future__ import annotations

import os
import stat
import subprocess
import time

import pytest

from tests.tool import BackupTool, Summary, assert_backup_matches

LIBRARY = {"documents": 30, "files_per_document": 1, "file_size": 2000, "seed": 9}


def wait_for_requests(emulator, process: subprocess.Popen[bytes], endpoint: str, count: int = 1) -> None:
    """Wait until the emulator has been asked `endpoint` `count` times, while `process` runs."""
    while emulator.stats()["by_endpoint"].get(endpoint, 0) < count:
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)


@pytest.mark.parametrize("backup", ["existing", "new"])
def test_a_second_run_on_the_same_backup_exits_at_once(emulator, tmp_path, backup):
    """An existing backup is locked before its listing; a new backup's folder, and so its lock, is made only once
    the server has answered the first listing."""
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path)
    if backup == "existing":
        tool.run()
        emulator.seed(**{**LIBRARY, "seed": 10})  # as much for the first run to do as in a new backup
    emulator.faults(latency_ms=50)
    emulator.reset_stats()
    # Seeded documents carry old times: a full listing finds them. One transfer at a time keeps the first run going
    # for seconds (2 requests a file at 50 ms), well past the second run's start-up on a loaded machine.
    first = tool.start("--full", "--jobs", "1", stdin=None)
    # Until the first run holds the lock: from before its listing, or for a new backup from its first download.
    wait_for_requests(emulator, first, "GET /documents" if backup == "existing" else "GET /_content/{id}")
    second = tool.run(expect=1)
    assert f"Another mendeley-backup run (process {first.pid}) is working on {tool.backup}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1, second.stderr
    if backup == "existing":
        assert emulator.stats()["by_endpoint"]["GET /documents"] == 1  # the second listed nothing
    assert first.poll() is None  # it was refused while the first was still going
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    emulator.faults()
    assert_backup_matches(tool.backup, emulator.library())


def test_a_lock_left_by_a_dead_run_does_not_block(emulator, tmp_path):
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path)
    emulator.faults(latency_ms=50)
    killed = tool.start(stdin=None)
    wait_for_requests(emulator, killed, "GET /_content/{id}")
    killed.kill()
    killed.communicate()
    assert (tool.backup / ".mendeley-backup.lock").read_text().strip() == str(killed.pid)
    emulator.faults()
    tool.run()
    assert_backup_matches(tool.backup, emulator.library())

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tool.backup / ".mendeley-backup.lock").write_text(f"{dead.pid}\n")
    assert tool.run().summary == Summary()


def test_overlapping_runs_sharing_a_login_that_keeps_expiring_all_succeed(emulator, tmp_path):
    """Refresh tokens are single-use: each run must re-read the token file before refreshing, or the other's
    rotation leaves it with a spent one."""
    emulator.seed(**LIBRARY)
    runs = [BackupTool(emulator, tmp_path / name, lifetime_s=1) for name in ("one", "two", "three")]
    for tool in runs[1:]:
        tool.token_file = runs[0].token_file
    emulator.faults(token_lifetime_s=1, latency_ms=100)  # each run lasts a few token lifetimes
    old_umask = os.umask(0o022)
    try:
        processes = [tool.start("--jobs", "2", stdin=None) for tool in runs]  # slow enough to outlive tokens
        outcomes = [process.communicate(timeout=180) for process in processes]
    finally:
        os.umask(old_umask)
    assert [process.returncode for process in processes] == [0, 0, 0], outcomes
    assert emulator.stats()["by_endpoint"]["POST /oauth/token"] >= 2  # the login lapsed during the runs
    emulator.faults()
    for tool in runs:
        assert_backup_matches(tool.backup, emulator.library())
    assert stat.S_IMODE(runs[0].token_file.stat().st_mode) == 0o600
    assert runs[0].run().summary == Summary()  # the saved refresh token still works
