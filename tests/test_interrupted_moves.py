"""A run killed in the middle of moving a document leaves its files split between the old folder and the new one;
the next run must finish the move, replacing what is damaged, and never refuse the backup's own files."""

from __future__ import annotations

from tests.library import attach_file, create_document, update_document
from tests.tool import BackupTool, Summary, folder_files, sha1

GOOD = b"%PDF-1.4 the paper\n" * 400


def test_a_file_moved_by_a_killed_run_and_damaged_since_is_fetched_again(emulator, api, tmp_path):
    tool = BackupTool(emulator, tmp_path)
    document = create_document(api, "Before", ["Doe"])
    attach_file(api, document["id"], "paper.pdf", GOOD)
    tool.run()
    update_document(api, document["id"], title="After")
    # What a run killed halfway through the move leaves: the file already in the new folder, the state not yet
    # saved (it still names the old folder); and the copy has been damaged since.
    new_folder = tool.backup / "Doe/2024 - After"
    new_folder.mkdir()
    (tool.backup / "Doe/2024 - Before/paper.pdf").rename(new_folder / "paper.pdf")
    (new_folder / "paper.pdf").write_bytes(b"damaged")
    emulator.reset_stats()
    assert tool.run().summary == Summary(moved=1)
    files = folder_files(tool.backup)
    assert files["Doe/2024 - After/paper.pdf"] == sha1(GOOD)
    assert not (tool.backup / "Doe/2024 - Before").exists()
    assert emulator.stats()["by_endpoint"].get("GET /files/{id}") == 1
