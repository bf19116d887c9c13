"""A backup folder the ORIGINAL tool wrote carries on: built here by hand from its documented format
(docs: original-behaviour.md), for documents that exist in the emulator, then continued by the real tool."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.library import attach_file, create_document, update_document
from tests.tool import Summary, assert_backup_matches, folder_files, read_json, sha1, state_of

PATTERN = "%authors/%year - %title"
# The metadata the original kept of a document (its whitelist); dates it wrote as ISO-8601.
KEPT_FIELDS = ("id", "title", "type", "source", "year", "identifiers", "keywords", "abstract", "authors", "editors",
               "created", "last_modified", "pages", "volume", "issue", "websites", "month", "publisher", "day",
               "city", "edition", "institution", "series", "chapter", "revision", "accessed", "file_attached",
               "read", "starred", "authored", "confirmed", "hidden", "tags")
PEOPLE = ("authors", "editors")
DATES = ("created", "last_modified")


def original_document(document: dict[str, Any]) -> dict[str, Any]:
    """The "document" of an info.json the original wrote: whitelisted fields, people as first and last name,
    dates through Python's isoformat (`2024-01-15T11:43:24.123000+00:00`)."""
    kept = {name: document[name] for name in KEPT_FIELDS if name in document}
    for name in PEOPLE:
        if name in kept:
            kept[name] = [{"first_name": person.get("first_name"), "last_name": person.get("last_name")}
                          for person in kept[name]]
    for name in DATES:
        kept[name] = datetime.fromisoformat(kept[name].replace("Z", "+00:00")).isoformat()
    return kept


def write_original_backup(root: Path, folders: dict[str, str], documents: dict[str, dict[str, Any]],
                          content: dict[str, bytes]) -> None:
    """The original's backup of `documents` (id -> the API's JSON with files) at `folders` (id -> folder)."""
    for doc_id, folder in folders.items():
        document = documents[doc_id]
        (root / folder).mkdir(parents=True)
        for file in document["files"]:
            (root / folder / file["file_name"]).write_bytes(content[file["id"]])
        info = {"document": original_document(document),
                "files": {file["id"]: file["file_name"] for file in document["files"]}}
        (root / folder / "info.json").write_text(json.dumps(info, indent=4))
    # The original's clock at the start of its run: naive UTC, from datetime.utcnow().isoformat().
    last_backup_time = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    state = {"last_backup_time": last_backup_time, "documents": folders, "pattern": PATTERN}
    (root / "info.json").write_text(json.dumps(state, indent=4))


@pytest.fixture
def original(emulator, api, tool) -> dict[str, str]:
    """An original backup of five documents; answers their folders by name."""
    made = {
        "one file": create_document(api, "T 1", ["Doe"], abstract="An abstract.", tags=["kept"],
                                    identifiers={"doi": "10.1000/1"}, editors=[{"last_name": "Ed"}]),
        "two files": create_document(api, "T 2", ["Doe", "Roe"], pages="1-10", volume="3"),
        "et al.": create_document(api, "Part: One", ["Doe", "Roe", "Poe", "Loe"]),
        "no year": create_document(api, "No Year", ["Doe"], year=None),
        "no file": create_document(api, "Changed", ["Roe"], year=2023, starred=True),
    }
    attach_file(api, made["one file"]["id"], "document1.pdf", b"%PDF-1.4 one\n" * 300)
    attach_file(api, made["two files"]["id"], "a.pdf", b"%PDF-1.4 two a\n" * 200)
    attach_file(api, made["two files"]["id"], "b.txt", b"notes of two\n" * 100, mime="text/plain")
    attach_file(api, made["et al."]["id"], "part one.pdf", b"%PDF-1.4 part\n" * 400)
    attach_file(api, made["no year"]["id"], "undated.pdf", b"%PDF-1.4 undated\n" * 100)
    # Folders as the original named them: `_` for `:` in a value, `None` for a missing year.
    names = {"one file": "Doe/2024 - T 1", "two files": "Doe & Roe/2024 - T 2",
             "et al.": "Doe et al./2024 - Part_ One", "no year": "Doe/None - No Year", "no file": "Roe/2023 - Changed"}
    library = emulator.library()
    documents = {document["id"]: document for document in library["documents"]}
    content = {file["id"]: emulator.file_content(file["id"]) for file in library["files"]}
    write_original_backup(tool.backup, {made[key]["id"]: names[key] for key in names}, documents, content)
    return {key: made[key]["id"] for key in names} | {f"{key} folder": names[key] for key in names}


def downloads(emulator) -> int:
    return emulator.stats()["by_endpoint"].get("GET /files/{id}", 0)


def test_an_original_backup_continues_without_downloading_what_it_holds(emulator, tool, original):
    before = folder_files(tool.backup)
    emulator.reset_stats()
    run = tool.run()
    assert run.summary == Summary(moved=1)  # `None` was the original's word for a missing year
    assert downloads(emulator) == 0
    assert state_of(tool.backup)["documents"][original["no year"]] == "Doe/Unknown - No Year"
    after = folder_files(tool.backup)
    moved = {path.replace("Doe/None - No Year/", "Doe/Unknown - No Year/"): digest for path, digest in before.items()
             if not path.endswith("info.json")}
    assert moved.items() <= after.items()  # every file kept its name and bytes; the undated one moved along
    assert not (tool.backup / "Doe/None - No Year").exists()
    assert_backup_matches(tool.backup, emulator.library())
    emulator.reset_stats()
    assert tool.run().summary == Summary()
    assert downloads(emulator) == 0


def test_changes_made_since_the_original_backup_are_applied(emulator, api, tool, original):
    update_document(api, original["no file"], abstract="Written after the original's last run.")
    supplement = b"%PDF-1.4 supplement\n" * 50
    attach_file(api, original["one file"], "supplement.pdf", supplement)
    emulator.reset_stats()
    run = tool.run()
    assert run.summary == Summary(updated=2, moved=1)
    assert downloads(emulator) == 1  # the new file, and nothing else
    assert folder_files(tool.backup)["Doe/2024 - T 1/supplement.pdf"] == sha1(supplement)
    info = read_json(tool.backup / original["no file folder"] / "info.json")
    assert info["document"]["abstract"] == "Written after the original's last run."
    assert_backup_matches(tool.backup, emulator.library())


def test_damaged_files_of_an_original_backup_are_fetched_again(emulator, tool, original):
    """The original's backups hold no hashes: the first run checks every file against the API's, those of a
    document that moves included."""
    (tool.backup / original["one file folder"] / "document1.pdf").write_bytes(b"%PDF-1.4 bit rot\n")
    (tool.backup / original["no year folder"] / "undated.pdf").write_bytes(b"%PDF-1.4 more bit rot\n")
    emulator.reset_stats()
    run = tool.run()
    assert run.summary == Summary(updated=1, moved=1)
    assert downloads(emulator) == 2
    assert_backup_matches(tool.backup, emulator.library())


def test_a_file_the_original_lost_under_the_name_info_json_is_recovered_beside_it(emulator, api, tool):
    """The original wrote a file called info.json, then the document's info.json over it (as here)."""
    document = create_document(api, "Clash", ["Doe"])
    data = b'{"not": "metadata"}\n'
    clashing = attach_file(api, document["id"], "info.json", data)
    listed = {item["id"]: item for item in emulator.library()["documents"]}
    write_original_backup(tool.backup, {document["id"]: "Doe/2024 - Clash"}, listed, {clashing["id"]: data})
    emulator.reset_stats()
    assert tool.run().summary == Summary(updated=1)
    assert downloads(emulator) == 1
    files = read_json(tool.backup / "Doe/2024 - Clash/info.json")["files"]
    assert files == {clashing["id"]: "info (2).json"}
    assert (tool.backup / "Doe/2024 - Clash/info (2).json").read_bytes() == data
    assert_backup_matches(tool.backup, emulator.library())
