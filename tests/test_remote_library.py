"""Unit tests of RemoteLibrary.fetch_snapshot against a fake API that answers given listings and records each
request it was asked, with its arguments."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import pytest

from DocumentInfo import Entry
from MendeleyApi import Listing, MendeleyApi
from RemoteLibrary import ListedDocuments, Snapshot, fetch_snapshot

CUTOFF = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
SERVER_TIME = datetime(2024, 6, 1, 8, tzinfo=timezone.utc)
BEFORE, AFTER = "2024-01-01T00:00:00.000Z", "2024-05-20T00:00:00.000Z"


def items(*ids: str, **fields: Any) -> list[dict[str, Any]]:
    return [{"id": item_id, **fields} for item_id in ids]


def listing(entries: Iterable[dict[str, Any]] = (), expected: int | None = None) -> Listing:
    """A listing whose first page announced `expected` items (Mendeley-Count); by default as many as it holds."""
    entries = list(entries)
    return Listing(items=entries, expected_count=len(entries) if expected is None else expected,
                   server_time=SERVER_TIME)


class FakeApi:
    """The listing calls of MendeleyApi. Answers are keyed by call (`documents`, `trash`, `deleted_documents`,
    `folders`, `annotations`, `deleted_annotations`, `annotations of <document id>`, `folder <id>`), an empty
    complete listing when none is given; `document(id)` answers from `fetched`."""

    def __init__(self, answers: dict[str, Listing] | None = None,
                 fetched: dict[str, dict[str, Any] | None] | None = None) -> None:
        self.answers = answers or {}
        self.fetched = fetched or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, key: str, name: str, **arguments: Any) -> Listing:
        self.calls.append((name, {key: value for key, value in arguments.items() if value is not None}))
        return self.answers.get(key, listing())

    def documents(self, group_id: str | None = None, modified_since: datetime | None = None,
                  on_page: Callable[[Listing], None] | None = None,
                  keep: Callable[[dict[str, Any]], None] | None = None) -> Listing:
        listing = self._answer("documents", "documents", group_id=group_id, modified_since=modified_since)
        if on_page is not None:
            on_page(listing)
        for item in listing.items if keep is not None else ():
            keep(item)
        return listing

    def document(self, document_id: str) -> dict[str, Any] | None:
        self.calls.append(("document", {"document_id": document_id}))
        return self.fetched.get(document_id)

    def deleted_documents(self, since: datetime, group_id: str | None = None) -> Listing:
        return self._answer("deleted_documents", "deleted_documents", since=since, group_id=group_id)

    def trash(self, group_id: str | None = None, modified_since: datetime | None = None) -> Listing:
        return self._answer("trash", "trash", group_id=group_id, modified_since=modified_since)

    def folders(self, group_id: str | None = None) -> Listing:
        return self._answer("folders", "folders", group_id=group_id)

    def folder_document_ids(self, folder_id: str) -> Listing:
        return self._answer(f"folder {folder_id}", "folder_document_ids", folder_id=folder_id)

    def annotations(self, group_id: str | None = None, modified_since: datetime | None = None,
                    deleted_since: datetime | None = None, document_id: str | None = None) -> Listing:
        key = (f"annotations of {document_id}" if document_id else
               "deleted_annotations" if deleted_since else "annotations")
        return self._answer(key, "annotations", group_id=group_id, modified_since=modified_since,
                            deleted_since=deleted_since, document_id=document_id)


def fetch(api: FakeApi, cutoff: datetime | None = None, full: bool = False, with_memberships: bool = False,
          held: dict[str, Entry] | None = None, group_id: str | None = None) -> Snapshot:
    return fetch_snapshot(api, group_id, cutoff, full, with_memberships, held or {},  # type: ignore[arg-type]
                          ListedDocuments())


def asked(api: FakeApi) -> list[tuple[str, dict[str, Any]]]:
    """The calls made, in no order: the listings are asked at the same time."""
    return sorted(api.calls, key=repr)


def names(api: FakeApi) -> list[str]:
    return [name for name, _ in api.calls]


def test_the_fake_offers_the_real_clients_calls():
    for name in ("documents", "document", "deleted_documents", "trash", "folders", "folder_document_ids",
                 "annotations"):
        assert list(inspect.signature(getattr(FakeApi, name)).parameters) == list(
            inspect.signature(getattr(MendeleyApi, name)).parameters), name


@pytest.mark.parametrize("cutoff", [None, CUTOFF])
def test_a_first_or_full_run_lists_everything(cutoff):
    api = FakeApi({"documents": listing(items("d1", "d2", last_modified=BEFORE)), "trash": listing(items("t1")),
                   "folders": listing(items("f1", name="Papers")),
                   "annotations": listing(items("a1", document_id="d1"))})
    snapshot = fetch(api, cutoff=cutoff, full=cutoff is not None)
    assert asked(api) == sorted([("documents", {}), ("trash", {}), ("folders", {}), ("annotations", {})], key=repr)
    assert (snapshot.full, snapshot.trash_full, snapshot.folders_complete, snapshot.annotations_full) == (
        True, True, True, True)
    assert (sorted(snapshot.documents), snapshot.trashed_ids, sorted(snapshot.annotations)) == (
        ["d1", "d2"], {"t1"}, ["a1"])
    assert snapshot.folders == {"f1": {"id": "f1", "name": "Papers"}}
    assert (snapshot.server_time, snapshot.incomplete, snapshot.memberships) == (SERVER_TIME, [], None)


class ListingsAtOnce(FakeApi):
    """A fake whose documents listing finishes only once the other listings have been asked for."""

    def __init__(self, others: int) -> None:
        super().__init__()
        self.others = threading.Barrier(others + 1, timeout=10)

    def _answer(self, key: str, name: str, **arguments: Any) -> Listing:
        answer = super()._answer(key, name, **arguments)
        self.others.wait()
        return answer


@pytest.mark.parametrize(("cutoff", "others"), [(None, 3), (CUTOFF, 5)])
def test_the_other_listings_are_asked_while_the_documents_are_listed(cutoff, others):
    api = ListingsAtOnce(others)
    fetch(api, cutoff=cutoff)  # one after another, the first listing's wait would break the barrier
    assert len(api.calls) == others + 1


def test_a_group_s_listings_name_the_group():
    api = FakeApi()
    fetch(api, cutoff=CUTOFF, group_id="g1")
    assert [arguments.get("group_id") for _, arguments in api.calls] == ["g1"] * len(api.calls)
    assert len(api.calls) == 6


def test_an_incremental_run_asks_what_changed_since_the_cutoff():
    api = FakeApi({"documents": listing(items("d1", created=AFTER)), "deleted_documents": listing(items("gone")),
                   "trash": listing(items("t1")), "annotations": listing(items("a1", document_id="d1")),
                   "deleted_annotations": listing(items("a9"))})
    snapshot = fetch(api, cutoff=CUTOFF, held={"d1": Entry(path="T")})
    assert asked(api) == sorted([
        ("documents", {"modified_since": CUTOFF}), ("deleted_documents", {"since": CUTOFF}),
        ("trash", {"modified_since": CUTOFF}), ("folders", {}),
        ("annotations", {"modified_since": CUTOFF}), ("annotations", {"deleted_since": CUTOFF})], key=repr)
    # Changes only: absence proves nothing.
    assert (snapshot.full, snapshot.trash_full, snapshot.annotations_full) == (False, False, False)
    assert (snapshot.deleted_ids, snapshot.trashed_ids, snapshot.deleted_annotation_ids) == ({"gone"}, {"t1"}, {"a9"})
    assert sorted(snapshot.documents) == ["d1"] and sorted(snapshot.annotations) == ["a1"]


@pytest.mark.parametrize(("what", "cutoff"), [("documents", None), ("trash", None), ("annotations", None),
                                              ("documents", CUTOFF), ("annotations", CUTOFF)])
def test_an_incomplete_listing_is_named_and_proves_no_absence(what, cutoff):
    api = FakeApi({what: listing(items("x1", "x2", created=AFTER), expected=3)})
    snapshot = fetch(api, cutoff=cutoff)
    assert snapshot.incomplete == [what]
    complete = {"documents": snapshot.full, "trash": snapshot.trash_full,
                "annotations": snapshot.annotations_full}
    assert complete == {name: name != what and cutoff is None for name in complete}


def test_a_listing_that_repeats_an_item_across_pages_is_incomplete():
    # Three items announced, three listed, but one of them twice (a page boundary moved while listing).
    api = FakeApi({"documents": listing(items("d1", "d2", "d2"), expected=3)})
    snapshot = fetch(api)
    assert (snapshot.incomplete, snapshot.full, sorted(snapshot.documents)) == (["documents"], False, ["d1", "d2"])


def test_memberships_are_listed_folder_by_folder_and_a_held_document_whose_folders_changed_is_fetched():
    folders = items("f1", name="A") + items("f2", name="B")
    moved = {"id": "d2", "title": "Moved", "files": []}
    held = {"d2": Entry(path="A/Moved", folder_uuids=("f1",)), "d3": Entry(path="B/Same", folder_uuids=("f2",)),
            "d4": Entry(path=".trash/C", folder_uuids=("f1",), trashed=True), "d5": Entry(path="Gone"),
            "d6": Entry(path="Vanished", folder_uuids=("f1",))}
    api = FakeApi({"documents": listing(items("d1", created=AFTER)), "folders": listing(folders),
                   "deleted_documents": listing(items("d5")),
                   "folder f1": listing(items("d1", "d2")), "folder f2": listing(items("d2", "d3", "d5"))},
                  fetched={"d2": moved, "d6": None})
    snapshot = fetch(api, cutoff=CUTOFF, with_memberships=True, held=held)
    assert [call for call in api.calls if call[0] in ("folder_document_ids", "document")] == [
        ("folder_document_ids", {"folder_id": "f1"}), ("folder_document_ids", {"folder_id": "f2"}),
        ("document", {"document_id": "d2"}), ("document", {"document_id": "d6"})]
    assert snapshot.memberships == {"d1": ["f1"], "d2": ["f1", "f2"], "d3": ["f2"], "d5": ["f2"]}
    # d2 changed folders: fetched again; d6 was no longer there: not listed; the others were not asked for.
    assert snapshot.documents["d2"] == moved and sorted(snapshot.documents) == ["d1", "d2"]


def test_without_the_whole_folder_tree_no_memberships_are_listed():
    api = FakeApi({"folders": listing(items("f1"), expected=2)})
    snapshot = fetch(api, cutoff=CUTOFF, with_memberships=True, held={"d1": Entry(path="T", folder_uuids=("f9",))})
    assert (snapshot.folders_complete, snapshot.memberships, snapshot.incomplete) == (False, None, ["folders"])
    assert "folder_document_ids" not in names(api) and "document" not in names(api)


def test_the_annotations_of_a_document_back_from_the_trash_are_listed_by_document():
    listed = items("back", created=BEFORE) + items("new", created=AFTER) + items("held", created=BEFORE)
    api = FakeApi({"documents": listing(listed), "annotations": listing(items("a1", document_id="held")),
                   "annotations of back": listing(items("a2", "a3", document_id="back"))})
    snapshot = fetch(api, cutoff=CUTOFF, held={"held": Entry(path="Held")})
    # Only the one created before the cut-off and new to the backup: a newer one's annotations are newer still.
    assert [arguments for name, arguments in api.calls if "document_id" in arguments] == [{"document_id": "back"}]
    assert sorted(snapshot.annotations) == ["a1", "a2", "a3"] and not snapshot.annotations_full


def test_an_incomplete_listing_of_a_document_s_annotations_is_named():
    api = FakeApi({"documents": listing(items("back", created=BEFORE)),
                   "annotations of back": listing(items("a2"), expected=2)})
    assert fetch(api, cutoff=CUTOFF).incomplete == ["annotations"]


def test_a_listing_without_a_count_is_taken_as_complete():
    api = FakeApi({"documents": Listing(items=items("d1"), expected_count=None, server_time=None)})
    snapshot = fetch(api)
    assert (snapshot.full, snapshot.incomplete, snapshot.server_time) == (True, [], None)


def test_a_closed_listing_lets_its_documents_go(tmp_path):
    with ListedDocuments(tmp_path) as listed:
        listed.keep({"id": "d1", "title": "T", "last_modified": "2024-01-01T00:00:00.000Z"})
        assert listed["d1"]["title"] == "T" and len(listed) == 1
        listed.close()
        assert len(listed) == 0 and "d1" not in listed and list(listed) == []
        with pytest.raises(KeyError):
            listed["d1"]
