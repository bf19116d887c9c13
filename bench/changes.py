"""The 1% change between two benchmark runs, made through the API as another client would: a third of the
changed documents get new metadata, a third a new file, a third are deleted."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tests.emulator import EmulatorProcess
from tests.library import attach_file, delete_document, update_document

CHANGED_SHARE = 0.01


@dataclass
class Changes:
    metadata: list[str] = field(default_factory=list)
    new_files: list[str] = field(default_factory=list)  # documents that got a file
    deleted: list[str] = field(default_factory=list)

    @property
    def listed(self) -> list[str]:
        """Documents an incremental listing shows again (deleted ones show in the deletions instead)."""
        return self.metadata + self.new_files


def change_library(emulator: EmulatorProcess, document_ids: list[str], file_bytes: int) -> Changes:
    """Change 1% of the documents, spread evenly over the library."""
    count = max(3, round(len(document_ids) * CHANGED_SHARE))
    step = len(document_ids) // count
    chosen = document_ids[::step][:count]
    changes = Changes(metadata=chosen[0::3], new_files=chosen[1::3], deleted=chosen[2::3])
    with emulator.api_session() as api:
        for number, doc_id in enumerate(changes.metadata):
            update_document(api, doc_id, abstract=f"Revised abstract number {number}.")
        for doc_id in changes.new_files:
            attach_file(api, doc_id, "supplement.pdf", b"%PDF-1.4\n" + os.urandom(file_bytes - 9))
        for doc_id in changes.deleted:
            delete_document(api, doc_id)
    return changes
