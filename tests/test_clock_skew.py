"""The incremental cut-off follows the server's clock, not the local one: with the server an hour ahead or
behind, every change is seen once, and nothing unchanged is counted or downloaded again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.library import attach_file, create_document, update_document
from tests.tool import BackupTool, Summary, assert_backup_matches, state_of

CONTENT = "GET /_content/{id}"


def downloads(emulator) -> int:
    return emulator.stats()["by_endpoint"].get(CONTENT, 0)


@pytest.mark.parametrize("offset", [3600, -3600], ids=["server-ahead", "server-behind"])
def test_every_change_is_seen_once_whatever_the_servers_clock(emulator, api, tmp_path, offset):
    emulator.faults(clock_offset_s=offset)
    emulator.seed(documents=8, files_per_document=1, file_size=2000, seed=12)
    fresh = create_document(api, "Written today", ["Now"])  # stamped by the server's shifted clock
    attach_file(api, fresh["id"], "today.pdf", b"%PDF-1.4 today\n" * 100)
    tool = BackupTool(emulator, tmp_path)
    assert tool.run().summary == Summary(new=9)
    documents = emulator.library()["documents"]

    emulator.reset_stats()
    update_document(api, documents[0]["id"], abstract="Revised.")
    assert tool.run().summary == Summary(updated=1)
    assert downloads(emulator) == 0

    emulator.reset_stats()
    attach_file(api, documents[1]["id"], "late.pdf", b"%PDF-1.4 late\n" * 100)
    update_document(api, fresh["id"], abstract="Revised today.")
    assert tool.run().summary == Summary(updated=2)
    assert downloads(emulator) == 1

    emulator.reset_stats()
    assert tool.run().summary == Summary()  # the overlap lists the last changes again: recognised, not fetched
    assert downloads(emulator) == 0
    assert_backup_matches(tool.backup, emulator.library())
    # Python 3.10 reads no `Z` zone.
    cutoff = datetime.fromisoformat(state_of(tool.backup)["last_backup_time"].replace("Z", "+00:00"))
    server_now = datetime.now(timezone.utc) + timedelta(seconds=offset)
    assert abs(cutoff - server_now) < timedelta(minutes=5)  # the server's time
