"""Annotations (notes, highlights, sticky notes) kept whole in each document's annotations.json, run after run."""

from __future__ import annotations

from tests.library import (
    attach_file,
    create_annotation,
    create_document,
    delete_annotation,
    restore_document,
    trash_document,
    update_annotation,
)
from tests.tool import BackupTool, Summary, annotations_of, document_folders, folder_files, read_json

PDF = b"%PDF-1.4 annotated paper\n" * 200


def box(page: int, x: float, y: float, width: float = 120.5, height: float = 11.25) -> dict:
    return {"top_left": {"x": x, "y": y}, "bottom_right": {"x": x + width, "y": y - height}, "page": page}


def saved_annotations(tool: BackupTool, doc_id: str) -> list[dict] | None:
    """The document's annotations.json as parsed JSON, or None when the file is absent."""
    path = tool.backup / document_folders(tool.backup)[doc_id] / "annotations.json"
    return read_json(path) if path.exists() else None


def test_annotations_are_created_changed_and_deleted_with_the_api(tool, api, emulator):
    doc = create_document(api, "Annotated", ["Doe"])
    attach_file(api, doc["id"], "paper.pdf", PDF)
    other = create_document(api, "Plain", ["Roe"])
    note = create_annotation(api, doc["id"], "note", text="Résumé: <b>méthode</b> robuste & rapide")
    highlight = create_annotation(api, doc["id"], "highlight", color={"r": 255, "g": 255, "b": 0},
                                  positions=[box(1, 72.0, 700.5), box(1, 72.0, 688.25), box(2, 90.125, 120.0)],
                                  text="the key sentence")
    sticky = create_annotation(api, doc["id"], "sticky_note", text="Wrong sign?", color={"r": 255, "g": 245, "b": 173},
                               positions=[box(3, 300.0, 400.0, 0, 0)])

    run = tool.run()
    assert run.summary == Summary(new=2, annotations=3)
    saved = saved_annotations(tool, doc["id"])
    assert saved == annotations_of(emulator.library(), doc["id"])
    assert [item["id"] for item in saved] == [note["id"], highlight["id"], sticky["id"]]
    assert saved[1]["positions"] == highlight["positions"] and saved[1]["color"] == {"r": 255, "g": 255, "b": 0}
    assert saved_annotations(tool, other["id"]) is None

    update_annotation(api, highlight["id"], color={"r": 0, "g": 128, "b": 255}, positions=[box(5, 10.5, 20.5)])
    update_annotation(api, note["id"], text="Changed my mind")
    delete_annotation(api, sticky["id"])
    late = create_annotation(api, other["id"], "sticky_note", text="Later", positions=[box(1, 5.0, 5.0, 0, 0)])
    emulator.reset_stats()
    run = tool.run()
    # Only annotations changed: both documents count as updated, and no file is fetched again.
    assert run.summary == Summary(updated=2, annotations=4)
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]
    truth = emulator.library()
    assert saved_annotations(tool, doc["id"]) == annotations_of(truth, doc["id"])
    assert [item["id"] for item in saved_annotations(tool, doc["id"])] == [note["id"], highlight["id"]]
    assert saved_annotations(tool, other["id"]) == annotations_of(truth, other["id"]) == [late]
    assert list(read_json(tool.backup / "Doe/2024 - Annotated/info.json")["files"].values()) == ["paper.pdf"]

    delete_annotation(api, note["id"])
    delete_annotation(api, highlight["id"])
    run = tool.run()
    assert run.summary == Summary(updated=1, annotations=2)
    assert saved_annotations(tool, doc["id"]) is None
    assert (tool.backup / "Doe/2024 - Annotated/paper.pdf").read_bytes() == PDF
    assert tool.run().summary == Summary()


def test_every_annotation_of_a_seeded_library_is_kept_across_pages(tool, emulator):
    # 70 documents with 4 annotations each: 280, more than one page of 200 (the API's maximum).
    emulator.seed(documents=70, files_per_document=1, file_size=300, annotations_per_document=4, seed=11)
    truth = emulator.library()
    assert len(truth["annotations"]) > 200
    assert {item["type"] for item in truth["annotations"]} == {"note", "highlight", "sticky_note"}

    run = tool.run()
    assert run.summary == Summary(new=70, annotations=len(truth["annotations"]))
    for doc_id in document_folders(tool.backup):
        assert saved_annotations(tool, doc_id) == annotations_of(truth, doc_id)
    before = folder_files(tool.backup)
    assert tool.run().summary == Summary()
    assert folder_files(tool.backup) == before


def test_a_document_back_from_the_trash_brings_its_old_annotations(tool, api, emulator):
    # Seeded annotations are years old: no incremental listing of changed annotations shows them again.
    seeded = emulator.seed(documents=4, files_per_document=1, file_size=300, annotations_per_document=2, seed=3)
    doc_id = seeded["documents"][0]
    assert len(annotations_of(emulator.library(), doc_id)) == 2
    assert tool.run().summary == Summary(new=4, annotations=8)
    trash_document(api, doc_id)
    assert tool.run().summary == Summary(removed=1)
    restore_document(api, doc_id)
    assert tool.run().summary == Summary(new=1, annotations=2)
    assert saved_annotations(tool, doc_id) == annotations_of(emulator.library(), doc_id)
