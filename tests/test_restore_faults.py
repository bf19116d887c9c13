"""A restore under every transient fault of the fault matrix (500/502/503 answers, rate limiting, answers cut short,
dropped connections, latency, short-lived tokens, all at once; and issue 12's: API answers cut short, captive
portal pages, HTML 502s, Retry-After dates or none, a content host of its own, no Mendeley-Count, short pages in
each link style) ends complete, with nothing made twice: a write that fails where the server may have acted on it
is looked for by its content before it is sent again.
"""

from __future__ import annotations

import pytest

from tests.restored import assert_same_content, duplicates, restoring_tool
from tests.test_faults import ALONE, RETRIES, TRANSIENT
from tests.tool import BackupTool, Summary, assert_backup_matches

LIBRARY = {"documents": 16, "files_per_document": 1, "file_size": 3000, "folders": 3, "annotations_per_document": 2,
           "seed": 43}


# Issue 12's faults each alone (in turn in each link style); not all of them at once, a restore of over a minute
# (all-at-once combines the older ones).
FAULTS = [*(pytest.param(faults, id=name) for name, faults in TRANSIENT.items()),
          *(pytest.param(case.values[0], id=case.id) for case in ALONE)]


@pytest.mark.parametrize("faults", FAULTS)
def test_a_restore_under_transient_faults_ends_complete_and_makes_nothing_twice(emulator, other_emulator, tmp_path,
                                                                               faults):
    emulator.seed(**LIBRARY)
    source = BackupTool(emulator, tmp_path / "source")
    source.run()
    tool = restoring_tool(source, other_emulator, tmp_path / "target")
    tool.save_token(other_emulator.token(lifetime_s=faults.get("token_lifetime_s", 3600)))
    other_emulator.faults(**faults, seed=11)
    run = tool.run("--restore", *RETRIES, "-v")
    assert "signature=" not in run.stderr, run.stderr
    other_emulator.faults()
    target = other_emulator.library()
    assert duplicates(target) == 0
    assert_same_content(emulator.library(), target)
    assert_backup_matches(tool.backup, target)
    assert tool.run().summary == Summary()


def test_a_server_failing_for_good_mid_restore_is_named_and_the_next_restore_finishes(emulator, other_emulator,
                                                                                     tmp_path):
    """`fail_after_requests`: every request past the Nth answers 503. The restore stops short (3: the documents it
    could not restore are named; the journal stays, and a plain backup refuses to run), and the next one, the
    server well again, finishes with each document made once."""
    emulator.seed(**LIBRARY)
    source = BackupTool(emulator, tmp_path / "source")
    source.run()
    tool = restoring_tool(source, other_emulator, tmp_path / "target")
    other_emulator.faults(fail_after_requests=40)
    partial = tool.run("--restore", "--retries", "1", expect=3)
    assert "item(s) could not be restored this run" in partial.stderr and "503" in partial.stderr
    assert (tool.backup / ".mendeley-backup-restore.json").exists()
    other_emulator.faults()
    assert "has not finished" in tool.run(expect=1).error_line
    tool.run("--restore")
    target = other_emulator.library()
    assert duplicates(target) == 0
    assert_same_content(emulator.library(), target)
    assert_backup_matches(tool.backup, target)
    assert tool.run().summary == Summary()
