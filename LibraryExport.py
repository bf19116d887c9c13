"""Keeps `library.bib` and `library.ris` at the top of a backed-up library, written from the export cache plus what
changed: only new and changed documents are read from disk and rendered (see ExportCache). Both files are streamed
through the backup folder's atomic writer.
"""

import hashlib
import logging
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from BackupFolder import BIBTEX_FILE, EXPORT_CACHE, RIS_FILE, BackupFolder
from BibtexExport import bibtex_parts
from DocumentInfo import Entry
from Export import ExportEntry
from ExportCache import ExportCache, file_errors, render
from JabRefGroups import folder_groups_blocks
from RisExport import ris_parts

log = logging.getLogger(__name__)

WRITE_PIECE_CHARS = 1 << 16


def update_exports(folder: BackupFolder, entries: Mapping[str, Entry], changed: Collection[str],
                   folders: Mapping[str, Mapping[str, Any]]) -> None:
    """Bring the export cache up to date with the library's entries (those kept from the trash left out),
    rendering the documents that are new, changed since they were cached, or in `changed` (ids changed or
    removed this run), then write both exports from it, the folder tree (the API's folders by id) as JabRef
    groups."""
    library = sorted(doc_id for doc_id, entry in entries.items() if not entry.trashed)
    with ExportCache(folder.path(EXPORT_CACHE)) as cache, file_errors(cache.path):
        cache.begin()
        current = ((doc_id, fingerprint(entries[doc_id]), sorted(set(entries[doc_id].folder_uuids)))
                   for doc_id in library)
        stale = cache.sync(current, frozenset(changed))
        for doc_id in sorted(stale, key=lambda doc_id: (entries[doc_id].created, doc_id)):  # in export order
            entry = entries[doc_id]
            cache.put(render(doc_id, export_entry(folder, doc_id, entry), fingerprint(entry)))
        rekeyed = cache.assign_keys(frozenset(stale))
        cache.commit()
        # Written entry by entry: the text of a large library's exports is never held whole.
        groups = folder_groups_blocks(folders, cache.folder_keys)
        folder.write_chunks(BIBTEX_FILE, encoded(bibtex_parts(cache.texts("bib"), groups)))
        folder.write_chunks(RIS_FILE, encoded(ris_parts(cache.texts("ris"))))
        log.info("Wrote %s and %s with %d entries (%d rendered, %d keys changed)", BIBTEX_FILE, RIS_FILE,
                 cache.count(), len(stale), rekeyed)


def encoded(parts: Iterator[str]) -> Iterator[bytes]:
    """The parts in UTF-8, joined into pieces of about WRITE_PIECE_CHARS: one write for many entries, and still never
    the whole text at once."""
    piece: list[str] = []
    size = 0
    for part in parts:
        piece.append(part)
        size += len(part)
        if size >= WRITE_PIECE_CHARS:
            yield "".join(piece).encode("utf-8")
            piece, size = [], 0
    if piece:
        yield "".join(piece).encode("utf-8")


def fingerprint(entry: Entry) -> str:
    """What a document's export entry is made from, as the state knows it: a change in the document
    (`last_modified`), its folder, its files, its annotations or its annotated copies changes it."""
    made_from: tuple[Any, ...] = (entry.path, entry.last_modified,
                                  [(file_id, record.name) for file_id, record in entry.files.items()],
                                  sorted(entry.annotations.items()))
    if entry.copies:  # only then, so that the entries of a backup without copies are not all rendered again
        made_from += (sorted((file_id, copy.name) for file_id, copy in entry.copies.items()),)
    return hashlib.blake2b(repr(made_from).encode(), digest_size=16).hexdigest()


def export_entry(folder: BackupFolder, doc_id: str, entry: Entry) -> ExportEntry:
    """A document's export entry, from its folder in the backup; files relative to the backup folder."""
    return ExportEntry(document=folder.read_document(entry.path)[0] or {"id": doc_id},
                       file_paths=list(entry.file_paths()),
                       annotations=folder.read_annotations(entry.path) if entry.annotations else [],
                       annotated_copies={f"{entry.path}/{entry.files[file_id].name}": f"{entry.path}/{copy.name}"
                                         for file_id, copy in entry.copies.items() if file_id in entry.files},
                       folder_ids=sorted(set(entry.folder_uuids)))
