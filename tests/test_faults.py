"""The fault matrix: every fault the emulator injects, during an initial and an incremental run.

A fault the retries outlast must leave a backup equal to the emulator's truth; one that outlasts them must end
the run with a non-zero exit, a consistent state and nothing previously backed up lost, and the next run
without the fault must complete the backup.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.library import attach_file, create_document, delete_document, trash_document, update_document
from tests.tool import (
    TEMP_FOLDER,
    BackupTool,
    assert_backup_matches,
    assert_nothing_lost,
    assert_state_consistent,
    folder_files,
)

RETRIES = ("--retries", "6")
LIBRARY = {"documents": 16, "files_per_document": 1, "file_size": 3000, "folders": 2, "annotations_per_document": 1,
           "seed": 41}

# Faults the retries outlast: both runs must end with exactly the library. The fault RNG is seeded.
TRANSIENT: dict[str, dict[str, Any]] = {
    "error-500": {"error_rate": 0.15, "error_status": 500},
    "error-502": {"error_rate": 0.15, "error_status": 502},
    "error-503": {"error_rate": 0.15, "error_status": 503},
    "rate-limit": {"rate_limit_per_s": 25},
    "truncate": {"truncate_rate": 0.25},
    "drop": {"drop_rate": 0.15},
    "latency": {"latency_ms": 150},
    "short-token": {"token_lifetime_s": 1, "latency_ms": 40},
    "all-at-once": {"error_rate": 0.1, "error_status": 502, "truncate_rate": 0.2, "drop_rate": 0.05,
                    "latency_ms": 20, "token_lifetime_s": 2},
}


def change_library(api: Any, library: dict[str, Any]) -> None:
    """One of each change an incremental run must carry over: update, attach, new document, delete, trash."""
    documents = library["documents"]
    update_document(api, documents[0]["id"], abstract="Rewritten after review.")
    attach_file(api, documents[1]["id"], "supplement.pdf", b"%PDF-1.5 supplement\n" * 200)
    added = create_document(api, "A brand new paper", ["Newman"])
    attach_file(api, added["id"], "new.pdf", b"%PDF-1.4 new\n" * 300)
    delete_document(api, documents[2]["id"])
    trash_document(api, documents[3]["id"])


@pytest.mark.parametrize("faults", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_faults_leave_the_library_exactly(emulator, api, tmp_path, faults):
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path, lifetime_s=faults.get("token_lifetime_s", 3600))
    for incremental in (False, True):
        if incremental:
            change_library(api, emulator.library())
        emulator.faults(**faults, seed=7 + incremental)
        run = tool.run(*RETRIES, "-v")
        assert "signature=" not in run.stderr and "Retrying" not in run.stderr, run.stderr  # no URLs, no noise
        emulator.faults()
        assert_backup_matches(tool.backup, emulator.library())
    if "token_lifetime_s" in faults:
        assert emulator.stats()["by_endpoint"].get("POST /oauth/token", 0) >= 1


@pytest.mark.parametrize(("after", "status"), [(3, 1), (8, 3)], ids=["in-the-listings", "in-the-downloads"])
def test_a_server_failing_for_good_mid_run_loses_nothing_and_the_next_run_completes(emulator, api, tmp_path, after,
                                                                                    status):
    """`fail_after_requests`: every request past the Nth answers 503, whatever the retries. A run that could not
    list the library fails (1); one that listed it but could not fetch some files is partial (3) and names them."""
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path)
    emulator.faults(fail_after_requests=20)
    partial = tool.run("--retries", "1", expect=3)
    assert "item(s) could not be backed up this run" in partial.stderr, partial.stderr
    assert_state_consistent(tool.backup)
    assert not (tool.backup / TEMP_FOLDER).exists()
    emulator.faults()
    tool.run()
    assert_backup_matches(tool.backup, emulator.library())

    before = folder_files(tool.backup)
    change_library(api, emulator.library())
    emulator.faults(fail_after_requests=after)
    failed = tool.run("--retries", "1", expect=status)
    assert "503" in failed.stderr, failed.stderr
    assert_nothing_lost(before, tool.backup)
    assert_state_consistent(tool.backup)
    assert not (tool.backup / TEMP_FOLDER).exists()
    emulator.faults()
    tool.run()
    assert_backup_matches(tool.backup, emulator.library())


def test_a_server_slower_than_the_timeout_ends_the_run_with_a_clear_error(emulator, api, tmp_path):
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path)
    tool.run()
    before = folder_files(tool.backup)
    change_library(api, emulator.library())
    emulator.faults(latency_ms=1500)
    emulator.reset_stats()
    failed = tool.run("--retries", "1", "--timeout", "0.3", expect=1)
    assert "timed out" in failed.stderr.lower(), failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert_nothing_lost(before, tool.backup)
    assert_state_consistent(tool.backup)
    assert emulator.stats()["by_endpoint"]["GET /documents"] == 2  # one try and one retry
    emulator.faults()
    tool.run()
    assert_backup_matches(tool.backup, emulator.library())


def test_a_login_refused_even_after_a_refresh_is_one_clear_error(emulator, tmp_path):
    """A 401 gets exactly one token refresh; when the new token is refused too, the run stops with one line."""
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path)
    tool.run()
    before = folder_files(tool.backup)
    emulator.faults(token_lifetime_s=0.001)  # every token from now on is dead on arrival
    tool.save_token(emulator.token())
    emulator.reset_stats()
    refused = tool.run("--full", expect=1)
    assert "refused the login even after refreshing it" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert emulator.stats()["by_endpoint"]["GET /documents"] == 2  # the first try, then one after the refresh
    assert emulator.stats()["by_endpoint"]["POST /oauth/token"] == 1
    assert folder_files(tool.backup) == before


def test_a_failing_download_is_tried_retries_plus_one_times_not_that_squared(emulator, tmp_path):
    """--retries bounds the tries of every request, file content included: the session retries a content request
    that failed, so the download around it must not start over with a fresh link for the same failure (only for
    one the session cannot retry, such as content cut short). One file, one download thread, a seeded fault
    sequence per run: some seeds fail a whole round of content tries while the next link would work."""
    emulator.seed(documents=1, files_per_document=1, file_size=1000, seed=2)
    tool = BackupTool(emulator, tmp_path)
    tries = []
    for seed in range(8):
        shutil.rmtree(tool.backup, ignore_errors=True)
        emulator.faults(error_rate=0.45, error_status=500, seed=seed)
        emulator.reset_stats()
        tool.run("--retries", "1", "-j", "1", expect=None)
        tries.append(emulator.stats()["by_endpoint"].get("GET /_content/{id}", 0))
    assert max(tries) <= 2, tries
