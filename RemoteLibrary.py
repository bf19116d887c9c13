"""What the server says about one library in one run: the snapshot a plan is made from.

An incremental snapshot asks only for what changed since the cut-off (documents, deletions, the trash,
annotations), so a run over an unchanged library costs a handful of requests whatever its size; a full one
lists everything, and only a full listing that is complete can show that a document is gone.
"""

import json
import logging
import os
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from DocumentInfo import Entry
from MendeleyApi import Listing, MendeleyApi
from Timestamps import parse_time

log = logging.getLogger(__name__)

# trash, folders, annotations changed, and on an incremental run documents deleted and annotations deleted
_OTHER_LISTINGS = 5


class ListedDocuments(MutableMapping[str, dict[str, Any]]):
    """The documents a listing gave, by id, kept in a temporary file rather than in memory (a listing of a hundred
    thousand documents with every field is half a gigabyte of Python objects): each is read back, whole, when it is
    looked up. What stays in memory is an index."""

    def __init__(self, directory: Path | None = None) -> None:
        """The file goes in `directory` (the backup's temporary folder), or the system's when there is none yet."""
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by __exit__)
        self._lock = threading.Lock()
        self._number: dict[str, int] = {}
        self._offsets = array("q")
        self._lengths = array("q")
        self.newest_change: datetime | None = None

    def __enter__(self) -> "ListedDocuments":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """The listing is done with: its file and its index go (a hundred thousand ids are megabytes)."""
        self._file.close()
        self._number = {}
        self._offsets = array("q")
        self._lengths = array("q")

    def __setitem__(self, doc_id: str, document: dict[str, Any]) -> None:
        data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        with self._lock:
            offset = self._file.seek(0, os.SEEK_END)
            self._file.write(data)
            self._number[doc_id] = len(self._offsets)
            self._offsets.append(offset)
            self._lengths.append(len(data))
        changed = parse_time(document.get("last_modified"))
        if changed and (self.newest_change is None or changed > self.newest_change):
            self.newest_change = changed

    def __getitem__(self, doc_id: str) -> dict[str, Any]:
        number = self._number[doc_id]
        with self._lock:
            self._file.seek(self._offsets[number])
            data = self._file.read(self._lengths[number])
        return json.loads(data.decode("utf-8", "surrogatepass"))

    def __delitem__(self, doc_id: str) -> None:
        raise TypeError("a listing is not changed after the fact")

    def __iter__(self) -> Iterator[str]:
        return iter(self._number)

    def __len__(self) -> int:
        return len(self._number)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._number

    def keep(self, document: dict[str, Any]) -> None:
        """A document as its listing's page brings it (one without an id is no document)."""
        if document.get("id"):
            self[str(document["id"])] = document


@dataclass
class Snapshot:
    # Listed: changed ones, or all when full; a ListedDocuments in a run, any mapping in a test.
    documents: MutableMapping[str, dict[str, Any]] = field(default_factory=dict)
    full: bool = False  # `documents` is a complete listing of the library: absence means removal
    trashed_ids: set[str] = field(default_factory=set)
    trash_full: bool = False  # `trashed_ids` is the whole, complete trash
    deleted_ids: set[str] = field(default_factory=set)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders_complete: bool = False
    memberships: dict[str, list[str]] | None = None  # document id -> folder ids, listed folder by folder
    annotations: dict[str, dict[str, Any]] = field(default_factory=dict)
    annotations_full: bool = False
    deleted_annotation_ids: set[str] = field(default_factory=set)
    server_time: datetime | None = None  # the server's clock when the listing began
    incomplete: list[str] = field(default_factory=list)  # listings whose length disagreed with Mendeley-Count

    @property
    def newest_change(self) -> datetime | None:
        """The newest `last_modified` seen, a fallback clock when the server sent no `Date`."""
        if isinstance(self.documents, ListedDocuments):
            return self.documents.newest_change
        moments = [parse_time(item.get("last_modified")) for item in self.documents.values()]
        return max((moment for moment in moments if moment), default=None)

    def without_items(self) -> "Snapshot":
        """This snapshot without the documents and annotations it listed (tens of megabytes for a large
        library), for the end of a run once they are written; the clock falls back on their newest change."""
        return replace(self, documents={}, annotations={}, server_time=self.server_time or self.newest_change)


def fetch_snapshot(api: MendeleyApi, group_id: str | None, cutoff: datetime | None, full: bool,
                   with_memberships: bool, held: Mapping[str, Entry], listed: ListedDocuments,
                   progress: bool = False, label: str = "library") -> Snapshot:
    """Ask the server what changed since `cutoff` (or everything, when `full` or there is no cut-off yet), the
    documents it lists kept in `listed`; with `progress`, a bar on stderr counts the documents listed against the
    server's count."""
    full = full or cutoff is None
    since = None if full else cutoff
    snapshot = Snapshot(documents=listed)
    returning: dict[str, None] = {}  # in listing order, each once though a listing repeats it

    def keep(document: dict[str, Any]) -> None:
        listed.keep(document)
        if since is not None and _is_returning(document, held, since):
            returning[str(document["id"])] = None

    # The listings other than the documents' answer on their own: they are asked at the same time as the
    # documents' pages, so that a run waits for the longest of them rather than for their sum.
    with ThreadPoolExecutor(max_workers=_OTHER_LISTINGS, thread_name_prefix="listing") as pool:
        trash = pool.submit(api.trash, group_id, modified_since=since)
        folders = pool.submit(api.folders, group_id)
        changed_annotations = pool.submit(api.annotations, group_id, modified_since=since)
        deleted = None if since is None else pool.submit(api.deleted_documents, since, group_id)
        deleted_annotations = None if since is None else pool.submit(api.annotations, group_id, deleted_since=since)
        with tqdm(unit="doc", desc=f"{label}: listing", disable=not progress, leave=False) as bar:
            documents = api.documents(group_id, modified_since=since, on_page=partial(_show_listed, bar), keep=keep)
        snapshot.server_time = documents.server_time
        snapshot.full = _complete(documents, "documents", snapshot) and full
        if deleted is not None:
            snapshot.deleted_ids = set(_by_id(deleted.result()))
        trashed, tree, annotations = trash.result(), folders.result(), changed_annotations.result()
        snapshot.trashed_ids = set(_by_id(trashed))
        snapshot.trash_full = _complete(trashed, "trash", snapshot) and full
        snapshot.folders = _by_id(tree)
        snapshot.folders_complete = _complete(tree, "folders", snapshot)
        snapshot.annotations = _by_id(annotations)
        snapshot.annotations_full = _complete(annotations, "annotations", snapshot) and since is None
        if deleted_annotations is not None:
            snapshot.deleted_annotation_ids = set(_by_id(deleted_annotations.result()))
    if with_memberships and snapshot.folders_complete:
        _add_memberships(api, snapshot, held)
    if since is not None:
        _add_annotations_of_returning(api, snapshot, returning)
    return snapshot


def _is_returning(document: Mapping[str, Any], held: Mapping[str, Entry], since: datetime) -> bool:
    """Whether a document an incremental listing shows is new to the backup but was created before the cut-off (back
    from the trash, say): its annotations may be older than the cut-off too. A document created after the cut-off
    has none older still."""
    created = parse_time(document.get("created"))
    return bool(document.get("id")) and str(document["id"]) not in held and (created is None or created < since)


def _add_annotations_of_returning(api: MendeleyApi, snapshot: Snapshot, returning: Iterable[str]) -> None:
    """The annotations of returning documents (see `_is_returning`), which the listing of changed ones does not
    show: they are listed by document."""
    for doc_id in returning:
        annotations = api.annotations(document_id=doc_id)
        _complete(annotations, "annotations", snapshot)
        snapshot.annotations.update(_by_id(annotations))


def _add_memberships(api: MendeleyApi, snapshot: Snapshot, held: Mapping[str, Entry]) -> None:
    """Which folders hold which documents, folder by folder: changing a document's folders does not change
    its `last_modified`, so a listing of changed documents cannot show it. Held documents whose folders
    changed are fetched again so that their info.json matches."""
    memberships: dict[str, list[str]] = {}
    for folder_id in snapshot.folders:
        for item in api.folder_document_ids(folder_id).items:
            memberships.setdefault(str(item.get("id")), []).append(folder_id)
    snapshot.memberships = memberships
    leaving = snapshot.trashed_ids | snapshot.deleted_ids
    for doc_id, entry in held.items():
        if doc_id in snapshot.documents or entry.trashed or doc_id in leaving:
            continue
        if sorted(memberships.get(doc_id, [])) != sorted(entry.folder_uuids):
            document = api.document(doc_id)
            if document is not None:
                snapshot.documents[doc_id] = document


def _show_listed(bar: tqdm, listing: Listing) -> None:
    """One more page listed: a page takes long enough to be drawn each time."""
    bar.total = listing.expected_count
    bar.n = listing.listed
    bar.refresh()


def _by_id(listing: Listing) -> dict[str, dict[str, Any]]:
    return {str(item["id"]): item for item in listing.items if item.get("id")}


def _complete(listing: Listing, what: str, snapshot: Snapshot) -> bool:
    """Whether a listing is whole; one that is not removes nothing and keeps the cut-off where it was."""
    if not listing.complete:
        snapshot.incomplete.append(what)
        log.warning("The %s listing held %d items where the server announced %s; "
                    "nothing is removed on its evidence this run", what, len(listing.ids), listing.expected_count)
    return listing.complete
