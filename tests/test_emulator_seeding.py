"""The synthetic library: reproducible, and full of the cases a backup tool must survive."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest

from tests.emulator import EmulatorProcess

ILLEGAL = set('/\\:*?"<>|')


@pytest.fixture
def seeded(emulator: EmulatorProcess) -> dict[str, Any]:
    created = emulator.seed(documents=400, files_per_document=3, file_size=2000, folders=12,
                            annotations_per_document=3, groups=2, group_documents=5, trashed=4, seed=11)  # fmt: skip
    return {"created": created, "library": emulator.library()}


def test_same_seed_same_library(emulator: EmulatorProcess) -> None:
    options = {"documents": 30, "folders": 4, "annotations_per_document": 1, "groups": 1, "group_documents": 2}
    first = emulator.seed(seed=99, **options)
    library = emulator.library()
    emulator.reset()
    assert emulator.seed(seed=99, **options) == first
    assert emulator.library() == library
    emulator.reset()
    emulator.seed(seed=100, **options)
    assert emulator.library() != library


def test_seeding_again_adds_fresh_ids(emulator: EmulatorProcess) -> None:
    first = emulator.seed(documents=5, seed=1)
    second = emulator.seed(documents=5, seed=1)
    assert not set(first["documents"]) & set(second["documents"])
    assert len(emulator.library()["documents"]) == 10


def test_answer_lists_what_was_created(seeded: dict[str, Any]) -> None:
    created, library = seeded["created"], seeded["library"]
    assert created["counts"]["documents"] == 400 and created["counts"]["trashed"] == 4
    assert {d["id"] for d in library["documents"]} | set(created["trashed"]) >= set(created["documents"])
    assert len(library["trash"]) == 4
    assert {f["id"] for f in library["files"]} == set(created["files"])


def test_awkward_documents(seeded: dict[str, Any]) -> None:
    docs = seeded["library"]["documents"]
    titles = [d.get("title") for d in docs]
    assert any(t is None for t in titles)  # missing titles
    assert any(t and len(t.encode()) > 255 and len(t) <= 255 for t in titles)  # long in bytes
    assert any(t and ILLEGAL & set(t) for t in titles)
    assert any(t and any(ord(c) > 0x4E00 for c in t) for t in titles)  # Chinese
    assert any(t and any("\u0400" <= c <= "\u04ff" for c in t) for t in titles)  # Cyrillic
    assert any("year" not in d for d in docs) and any("authors" not in d for d in docs)
    names = {a["last_name"] for d in docs for a in d.get("authors", [])}
    assert {"Müller", "Ødegård"} & names and any(not n.isascii() for n in names)
    assert {len(d["authors"]) for d in docs if "authors" in d} == {1, 2, 3, 4, 5, 6}
    triples = Counter(
        (d.get("title"), str(d.get("authors")), d.get("year")) for d in docs if d.get("title") and d.get("authors")
    )
    assert max(triples.values()) >= 2  # two documents that map to the same folder
    kinds = {k for d in docs for k in d.get("identifiers", {})}
    assert {"doi", "isbn", "issn", "pmid", "arxiv"} <= kinds
    for field in ("keywords", "tags", "editors", "websites", "month", "pages", "volume", "issue", "publisher",
                  "abstract", "notes", "accessed", "edition", "chapter", "institution"):  # fmt: skip
        assert any(field in d for d in docs), field
    for d in docs:
        assert "2012-01-01" <= d["created"] <= d["last_modified"] < "2025-01-01"


def test_files(emulator: EmulatorProcess, seeded: dict[str, Any]) -> None:
    library = seeded["library"]
    annotated = {a["filehash"] for a in library["annotations"] if "filehash" in a}
    for file in library["files"][:40]:
        data = emulator.file_content(file["id"])
        assert len(data) == file["size"] and hashlib.sha1(data).hexdigest() == file["filehash"]
        # Exactly file_size, but for the real PDFs of annotated documents, which are at least that (a few pages
        # of text take more than 2,000 bytes).
        assert file["size"] == 2000 or (file["filehash"] in annotated and file["size"] > 2000), file
    assert emulator.file_content(library["files"][0]["id"]).startswith(b"%PDF-")
    assert any(len({f["file_name"] for f in d["files"]}) < len(d["files"]) for d in library["documents"])
    assert any(ILLEGAL & set(f["file_name"]) for f in library["files"])
    assert any(f["mime_type"] != "application/pdf" for f in library["files"])


def test_folders_annotations_groups(seeded: dict[str, Any]) -> None:
    library = seeded["library"]
    own_folders = [f for f in library["folders"] if "group_id" not in f]
    assert len(own_folders) == 12 and any("parent_id" in f for f in own_folders)
    assert {len(d["folder_uuids"]) for d in library["documents"]} == {0, 1, 2}
    assert {a["type"] for a in library["annotations"]} == {"note", "highlight", "sticky_note"}
    notes = Counter(a["document_id"] for a in library["annotations"] if a["type"] == "note")
    assert max(notes.values()) == 1
    groups = library["groups"]
    assert len(groups) == 2 and any(g["access_level"] == "private" for g in groups)
    group_docs = library["group_documents"]
    assert len(group_docs) == 10 and all(d["group_id"] in {g["id"] for g in groups} for d in group_docs)
    private = {g["id"] for g in groups if g["access_level"] == "private"}
    assert any(d["files"] for d in group_docs if d["group_id"] in private)
    assert not any(d["files"] for d in group_docs if d["group_id"] not in private)
    assert any("group_id" in f for f in library["folders"])
