"""What the server says about one library in one run: the snapshot a plan is made from.

An incremental snapshot asks only for what changed since the cut-off (documents, deletions, the trash,
annotations), so a run over an unchanged library costs a handful of requests whatever its size; a full one
lists everything, and only a full listing that is complete can show that a document is gone.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from tqdm import tqdm

from DocumentInfo import Entry
from MendeleyApi import Listing, MendeleyApi
from Timestamps import parse_time

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # listed: changed ones, or all when full
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
        moments = [parse_time(item.get("last_modified")) for item in self.documents.values()]
        return max((moment for moment in moments if moment), default=None)

    def without_items(self) -> "Snapshot":
        """This snapshot without the documents and annotations it listed (tens of megabytes for a large
        library), for the end of a run once they are written; the clock falls back on their newest change."""
        return replace(self, documents={}, annotations={}, server_time=self.server_time or self.newest_change)


def fetch_snapshot(api: MendeleyApi, group_id: str | None, cutoff: datetime | None, full: bool,
                   with_memberships: bool, held: Mapping[str, Entry], progress: bool = False,
                   label: str = "library") -> Snapshot:
    """Ask the server what changed since `cutoff` (or everything, when `full` or there is no cut-off yet); with
    `progress`, a bar on stderr counts the documents listed against the server's count."""
    full = full or cutoff is None
    since = None if full else cutoff
    snapshot = Snapshot()
    with tqdm(unit="doc", desc=f"{label}: listing", disable=not progress, leave=False) as bar:
        documents = api.documents(group_id, modified_since=since, on_page=partial(_show_listed, bar))
    snapshot.server_time = documents.server_time
    snapshot.documents = _by_id(documents)
    snapshot.full = _complete(documents, "documents", snapshot) and full
    if since is not None:
        snapshot.deleted_ids = set(_by_id(api.deleted_documents(since, group_id)))
    trash = api.trash(group_id, modified_since=since)
    snapshot.trashed_ids = set(_by_id(trash))
    snapshot.trash_full = _complete(trash, "trash", snapshot) and full
    folders = api.folders(group_id)
    snapshot.folders = _by_id(folders)
    snapshot.folders_complete = _complete(folders, "folders", snapshot)
    if with_memberships and snapshot.folders_complete:
        _add_memberships(api, snapshot, held)
    if since is None:
        annotations = api.annotations(group_id)
        snapshot.annotations = _by_id(annotations)
        snapshot.annotations_full = _complete(annotations, "annotations", snapshot)
    else:
        annotations = api.annotations(group_id, modified_since=since)
        _complete(annotations, "annotations", snapshot)
        snapshot.annotations = _by_id(annotations)
        snapshot.deleted_annotation_ids = set(_by_id(api.annotations(group_id, deleted_since=since)))
        _add_annotations_of_returning(api, snapshot, since, held)
    return snapshot


def _add_annotations_of_returning(api: MendeleyApi, snapshot: Snapshot, since: datetime,
                                  held: Mapping[str, Entry]) -> None:
    """A document new to the backup but created before the cut-off (back from the trash, say) has annotations
    the listing of changed ones does not show: they are listed by document. A document created after the
    cut-off needs none of this, its annotations being younger still."""
    for doc_id, document in snapshot.documents.items():
        created = parse_time(document.get("created"))
        if doc_id not in held and (created is None or created < since):
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
    bar.n = len(listing.items)
    bar.refresh()


def _by_id(listing: Listing) -> dict[str, dict[str, Any]]:
    return {str(item["id"]): item for item in listing.items if item.get("id")}


def _complete(listing: Listing, what: str, snapshot: Snapshot) -> bool:
    """Whether a listing is whole; one that is not removes nothing and keeps the cut-off where it was."""
    if not listing.complete:
        snapshot.incomplete.append(what)
        log.warning("The %s listing held %d items where the server announced %s; "
                    "nothing is removed on its evidence this run", what, len(listing.items), listing.expected_count)
    return listing.complete
