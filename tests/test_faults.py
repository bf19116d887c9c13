"""The fault matrix: every fault the emulator injects, during an initial and an incremental run, with the emulator's
listings in each link style.

A fault the retries outlast must leave a backup equal to the emulator's truth; one that outlasts them must end
the run with a non-zero exit, a consistent state and nothing previously backed up lost, and the next run
without the fault must complete the backup.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
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

# Enough tries that a fault striking a third of the answers almost never strikes one request every time: the faults'
# random numbers are drawn in whatever order the threads ask, so any request may be the unlucky one (0.35 ** 10 is
# 3e-5 a request; with 7 tries, 6e-4 made a run of a few hundred requests fail now and then).
RETRIES = ("--retries", "9")
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
    "short-token": {"token_lifetime_s": 1, "latency_ms": 120},  # each run outlasts its token
    "all-at-once": {"error_rate": 0.1, "error_status": 502, "truncate_rate": 0.2, "drop_rate": 0.05,
                    "latency_ms": 20, "token_lifetime_s": 2},
}


# The recorded shapes of the real service's answers and what real networks do (issue 12), each alone, on pages of at
# most 5 items (the 16 documents take 4 pages), the link style turning with the fault.
PAGED = {"max_page_items": 5}
NEW: dict[str, dict[str, Any]] = {
    "cut-answers": {"truncate_rate": 0.2},  # API answers and content, plain or gzipped, cut short
    "portal": {"garbage_rate": 0.15},  # 200s that are a captive portal's HTML page
    "html-502": {"html_error_rate": 0.15},  # a load balancer's HTML error page
    "retry-after-date": {"rate_limit_per_s": 25, "retry_after_date": True},
    "429-without-retry-after": {"error_rate": 0.15, "error_status": 429, "no_retry_after": True},
    "chunked-cut": {"chunked_content": True, "truncate_rate": 0.2, "truncate_content_only": True},
    "s3-host": {"separate_content_host": True, "error_rate": 0.1, "error_status": 503},
    "no-count": {"no_count": True, "drop_rate": 0.1},
}
STYLES = ("default", "real", "minimal")
ALONE = [pytest.param({**faults, **PAGED, "link_style": STYLES[index % 3]}, id=f"{name}-{STYLES[index % 3]}")
         for index, (name, faults) in enumerate(NEW.items())]
# Every fault at once, old and new, with tokens that live less than the retries wait (so that a thread may come back
# from its waits to a login another thread renewed and that has expired again since), in each link style.
EVERYTHING = {"error_rate": 0.05, "error_status": 503, "truncate_rate": 0.1, "drop_rate": 0.05, "garbage_rate": 0.05,
              "html_error_rate": 0.05, "latency_ms": 10, "token_lifetime_s": 2, "retry_after_date": True,
              "chunked_content": True, "separate_content_host": True, "no_count": True, **PAGED}
COMBINED = [pytest.param({**EVERYTHING, "link_style": style}, id=f"everything-{style}") for style in STYLES]


def change_library(api: Any, library: dict[str, Any]) -> None:
    """One of each change an incremental run must carry over: update, attach, new document, delete, trash."""
    documents = library["documents"]
    update_document(api, documents[0]["id"], abstract="Rewritten after review.")
    attach_file(api, documents[1]["id"], "supplement.pdf", b"%PDF-1.5 supplement\n" * 200)
    added = create_document(api, "A brand new paper", ["Newman"])
    attach_file(api, added["id"], "new.pdf", b"%PDF-1.4 new\n" * 300)
    delete_document(api, documents[2]["id"])
    trash_document(api, documents[3]["id"])


@pytest.mark.parametrize("faults", [*(pytest.param(faults, id=name) for name, faults in TRANSIENT.items()), *ALONE,
                                    *COMBINED])
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
    """A 401 gets one token refresh; when the new token is refused too, the run stops with one line. The listings
    asked at the same time (documents, trash, folders, annotations) may each have had its 401 and its refresh."""
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
    assert 1 <= emulator.stats()["by_endpoint"]["POST /oauth/token"] <= 4
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


# Faults that outlast every retry: pages that are never the API's. One clear line, nothing lost, and the next run
# without the fault completes the backup.
LASTING = {"portal": ({"garbage_rate": 1}, "answered an HTML page instead of the API (Sign in to the network)"),
           "html-502": ({"html_error_rate": 1}, "answered 502 BAD GATEWAY: 502 Bad Gateway"),
           "cut-answers": ({"truncate_rate": 1}, "answer cut short")}


@pytest.mark.parametrize(("faults", "said"), LASTING.values(), ids=LASTING.keys())
def test_answers_never_usable_end_in_one_line_and_lose_nothing(emulator, api, tmp_path, faults, said):
    emulator.seed(**LIBRARY)
    tool = BackupTool(emulator, tmp_path)
    emulator.faults(**faults)
    first = tool.run("--retries", "2", expect=1)
    assert first.error_line.startswith("mendeley-backup: GET /documents") and said in first.error_line
    assert "tried 3 times" in first.error_line
    emulator.faults()
    tool.run()
    before = folder_files(tool.backup)
    change_library(api, emulator.library())
    emulator.faults(**faults, link_style="real")
    failed = tool.run("--retries", "2", "--full", expect=1)
    assert said in failed.error_line, failed.stderr
    assert_nothing_lost(before, tool.backup)  # an unusable page is not an empty library: nothing removed
    assert_state_consistent(tool.backup)
    emulator.faults()
    tool.run()
    assert_backup_matches(tool.backup, emulator.library())


def test_an_unreachable_host_is_named_with_what_was_tried(emulator, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tool = BackupTool(emulator, tmp_path)
    command = tool.command("--retries", "2")
    command[command.index("--api-host") + 1] = f"http://127.0.0.1:{port}"
    done = subprocess.run(command, capture_output=True, text=True, env=tool.environment(), timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"cannot reach 127.0.0.1:{port} (connection refused), tried 3 times over" in done.stderr, done.stderr


def test_very_verbose_logs_every_request_and_never_a_token_or_signature(emulator, tmp_path):
    emulator.seed(documents=3, files_per_document=1, file_size=1500, seed=3)
    tool = BackupTool(emulator, tmp_path)
    token = json.loads(tool.token_file.read_text())
    emulator.faults(separate_content_host=True, error_rate=0.2, error_status=503, seed=2)
    run = tool.run("-vv")
    assert_backup_matches(tool.backup, emulator.library())
    requests_logged = [line for line in run.stderr.splitlines() if line.startswith("mendeley-backup: GET ")
                       and " ms" in line]
    assert any("/documents?" in line and ": 200, " in line for line in requests_logged), run.stderr
    assert any("/mendeley-emulator-files/" in line for line in requests_logged), run.stderr
    assert any("trying again in" in line for line in run.stderr.splitlines()), run.stderr
    assert "Signature" not in run.stderr and "AWSAccessKeyId" not in run.stderr and "Bearer" not in run.stderr
    assert token["access_token"] not in run.stderr and token["refresh_token"] not in run.stderr
