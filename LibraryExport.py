"""Writes `library.bib` and `library.ris` at the top of a backed-up library, from what the backup holds on disk."""

import logging
from collections.abc import Iterator

from BackupFolder import BIBTEX_FILE, RIS_FILE, BackupFolder
from BibtexExport import bibtex_parts
from DocumentInfo import BackupState
from Export import ExportEntry, keyed_entries
from RisExport import ris_parts

log = logging.getLogger(__name__)


def write_exports(folder: BackupFolder, state: BackupState) -> None:
    """Write both exports, each atomically."""
    keyed = keyed_entries(export_entries(folder, state))
    # Written entry by entry: the text of a large library's exports is never held whole.
    folder.write_chunks(BIBTEX_FILE, (part.encode("utf-8") for part in bibtex_parts(keyed)))
    folder.write_chunks(RIS_FILE, (part.encode("utf-8") for part in ris_parts(keyed)))
    log.info("Wrote %s and %s with %d entries", BIBTEX_FILE, RIS_FILE, len(keyed))


def export_entries(folder: BackupFolder, state: BackupState) -> Iterator[ExportEntry]:
    """One export entry per document in the library (not those kept from the trash), files relative to the folder."""
    for doc_id, entry in sorted(state.entries.items()):
        if entry.trashed:
            continue
        yield ExportEntry(document=folder.read_document(entry.path)[0] or {"id": doc_id},
                          file_paths=list(entry.file_paths()),
                          annotations=folder.read_annotations(entry.path) if entry.annotations else [])
