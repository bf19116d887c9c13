"""RestoreContent: the bodies a restore sends, built from what the backup holds, and how what it made is recognised."""

from __future__ import annotations

from RestoreContent import (
    annotation_body,
    document_body,
    folder_paths,
    media_type,
    same_annotation,
    same_document,
)

SAVED = {
    "id": "old-id", "profile_id": "me", "group_id": "old-group", "created": "2020-01-01T00:00:00.000Z",
    "last_modified": "2021-01-01T00:00:00.000Z", "file_attached": True, "folder_uuids": ["f1"], "files": [{"id": "x"}],
    "title": "A title", "type": "journal", "year": 2020, "tags": ["to read"], "notes": "<b>note</b>",
    "authors": [{"first_name": "Ada", "last_name": "Lovelace", "scopus_author_id": "1"}], "read": False,
    "identifiers": {"doi": "10.1/x"}, "abstract": None,
}


def test_a_document_is_sent_with_its_writable_fields_only():
    body = document_body(SAVED, None)
    assert body == {"title": "A title", "type": "journal", "year": 2020, "tags": ["to read"], "notes": "<b>note</b>",
                    "authors": [{"last_name": "Lovelace", "first_name": "Ada"}], "read": False,
                    "identifiers": {"doi": "10.1/x"}}


def test_a_group_document_names_its_new_group_and_an_untitled_one_gets_an_empty_title():
    body = document_body({"type": "generic"}, "new-group")
    assert body == {"type": "generic", "title": "", "group_id": "new-group"}


def test_a_listed_document_is_recognised_by_what_was_sent():
    body = document_body(SAVED, None)
    listed = {**body, "id": "new", "created": "x", "profile_id": "other", "keywords": [], "starred": None,
              "authors": [{"first_name": "Ada", "last_name": "Lovelace"}]}
    assert same_document(body, listed)
    assert same_document({**body, "abstract": ""}, listed)  # empty and missing are alike
    assert not same_document(body, {**listed, "year": 2021})
    assert not same_document(body, {**listed, "read": True})
    assert not same_document(body, {key: value for key, value in listed.items() if key != "tags"})


def test_an_annotation_keeps_its_file_only_when_the_document_has_it():
    saved = {"id": "a", "type": "highlight", "color": {"r": 1, "g": 2, "b": 3}, "text": None, "profile_id": "me",
             "positions": [{"top_left": {"x": 1, "y": 9}, "bottom_right": {"x": 5, "y": 7}, "page": 2}],
             "privacy_level": "private", "filehash": "abc", "document_id": "old", "created": "c", "last_modified": "m"}
    body = annotation_body(saved, "new", {"abc"})
    assert body == {"document_id": "new", "type": "highlight", "color": {"r": 1, "g": 2, "b": 3},
                    "positions": saved["positions"], "privacy_level": "private", "filehash": "abc"}
    assert "filehash" not in annotation_body(saved, "new", {"other"})
    listed = {**body, "id": "n", "created": "c2", "last_modified": "m2", "profile_id": "them"}
    assert same_annotation(body, listed)
    assert not same_annotation(body, {**listed, "positions": [{**saved["positions"][0], "page": 3}]})
    assert not same_annotation(body, {**listed, "color": {"r": 1, "g": 2, "b": 4}})


def test_a_file_is_uploaded_with_the_media_type_of_its_name_or_its_bytes():
    assert media_type("paper.pdf", b"") == "application/pdf"
    assert media_type("notes.txt", b"") == "text/plain"
    assert media_type("no extension", b"%PDF-1.7\n") == "application/pdf"
    assert media_type("no extension", b"\x00\x01") == "application/octet-stream"


def test_folder_paths_come_parents_first_whatever_the_order_of_the_tree():
    tree = {"c": {"name": "Child", "parent_id": "p"}, "p": {"name": "Parent"}, "g": {"name": "Grand", "parent_id": "c"},
            "o": {"name": "Orphan", "parent_id": "gone"}, "x": {"name": "Loop", "parent_id": "y"},
            "y": {"name": "Back", "parent_id": "x"}}
    paths = folder_paths(tree)
    assert paths["g"] == ("Parent", "Child", "Grand") and paths["o"] == ("Orphan",)
    order = list(paths)
    assert order.index("p") < order.index("c") < order.index("g")
    assert paths["x"] == ("Back", "Loop") and paths["y"] == ("Loop", "Back")  # a cycle ends, once round
