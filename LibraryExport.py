"""Keeps `library.bib` and `library.ris` at the top of a backed-up library, written after a run that changed
something (or when they are missing), from what the backup holds on disk."""

import logging
from collections.abc import Iterator
from pathlib import Path

from BibtexExport import bibtex_parts
from DocumentInfo import AtomicWriter, BackupState, read_annotations, read_document_info
from Export import ExportEntry, keyed_entries
from LocalFiles import inside
from RisExport import ris_parts

log = logging.getLogger(__name__)

BIBTEX_FILE = "library.bib"
RIS_FILE = "library.ris"


def write_exports(root: Path, state: BackupState, writer: AtomicWriter, force: bool) -> None:
    """Write both exports when `force` is set or one of them is missing."""
    if not force and (root / BIBTEX_FILE).exists() and (root / RIS_FILE).exists():
        return
    keyed = keyed_entries(export_entries(root, state))
    # Written entry by entry: the text of a large library's exports is never held whole.
    writer.write_chunks(root / BIBTEX_FILE, (part.encode("utf-8") for part in bibtex_parts(keyed)))
    writer.write_chunks(root / RIS_FILE, (part.encode("utf-8") for part in ris_parts(keyed)))
    log.info("Wrote %s and %s with %d entries", BIBTEX_FILE, RIS_FILE, len(keyed))


def export_entries(root: Path, state: BackupState) -> Iterator[ExportEntry]:
    """One export entry per document in the library (not those kept from the trash), files relative to `root`."""
    for doc_id, entry in sorted(state.entries.items()):
        if entry.trashed:
            continue
        folder = inside(root, entry.path)
        document = read_document_info(folder)[0] or {"id": doc_id}
        yield ExportEntry(document=document,
                          file_paths=[f"{entry.path}/{record.name}" for record in entry.files.values()],
                          annotations=read_annotations(folder) if entry.annotations else [])
