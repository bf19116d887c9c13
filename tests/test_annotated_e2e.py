"""--annotated-pdfs, the tool run as a subprocess against the emulator: beside each backed-up PDF with highlights or
sticky notes, `<stem> (annotated).pdf`, read back with pdfminer.six (not pypdf, which writes it); the original
untouched; a copy written only when what it is made from changed, removed with its last annotation, moved with its
document; one warning for a PDF that cannot be drawn on; the exports link the copy first."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from AnnotatedPdf import DRAWING_VERSION, copy_fingerprint
from tests.emulator.context import PROFILE
from tests.emulator.pdfs import pdf_bytes
from tests.export_readers import jabref_file_paths, read_ris
from tests.library import (
    attach_file,
    create_annotation,
    create_document,
    delete_annotation,
    delete_document,
    restore_document,
    trash_document,
    update_annotation,
    update_document,
)
from tests.test_annotated_pdf import NOTE_ICON_SIZE, by_name, near, read_back, same_colour
from tests.tool import BackupTool, Summary, annotations_of, document_folders, read_json, sha1, state_of

ON = "--annotated-pdfs"
AUTHOR = f"{PROFILE['first_name']} {PROFILE['last_name']}"  # the user's name, from GET /profiles/me
COPY = " (annotated).pdf"


def real_pdf(seed: int, pages: int = 3) -> bytes:
    """A valid US Letter PDF of `pages` pages, distinct for each seed (the emulator's own generator)."""
    return pdf_bytes(seed, pages, 1, 0)


def box(page: int, x: float, y: float, width: float = 150.5, height: float = 12.25) -> dict[str, Any]:
    return {"top_left": {"x": x, "y": y}, "bottom_right": {"x": x + width, "y": y - height}, "page": page}


def point(page: int, x: float, y: float) -> dict[str, Any]:
    return {"top_left": {"x": x, "y": y}, "bottom_right": {"x": x, "y": y}, "page": page}


def copies_in(root: Path) -> dict[str, bytes]:
    """Every annotated copy under `root`: relative path -> bytes."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob(f"*{COPY}"))}


def mtimes(root: Path, paths: list[str]) -> dict[str, int]:
    return {path: (root / path).stat().st_mtime_ns for path in paths}


def assert_drawn(copy: bytes, annotations: list[dict[str, Any]]) -> None:
    """The copy holds exactly these highlights and sticky notes, where and as the API gives them."""
    found, _ = read_back(copy)
    drawn = by_name(found)
    located = [item for item in annotations if item["type"] != "note"]
    assert set(drawn) == {item["id"] for item in located}
    for item in located:
        (mark,) = drawn[item["id"]]
        position = item["positions"][0]
        assert mark["page"] == position["page"], item
        x1, x2 = sorted((position["top_left"]["x"], position["bottom_right"]["x"]))
        y1, y2 = sorted((position["top_left"]["y"], position["bottom_right"]["y"]))
        colour = item.get("color") or {"r": 255, "g": 255, "b": 0}
        assert same_colour(mark["C"], (colour["r"], colour["g"], colour["b"])), item
        assert mark["T"] == AUTHOR
        if item["type"] == "highlight":
            assert mark["Subtype"] == "/Highlight" and near(mark["Rect"], [x1, y1, x2, y2]), (mark, item)
        else:
            assert mark["Subtype"] == "/Text" and mark["Contents"] == item["text"]
            assert near(mark["Rect"], [x1, y1 - NOTE_ICON_SIZE, x1 + NOTE_ICON_SIZE, y1]), (mark, item)


@pytest.fixture
def paper(api: Any) -> dict[str, Any]:
    """A document with two real PDFs, a highlight and a sticky note on the first, a highlight on the second, and
    a note (drawn on no page)."""
    doc = create_document(api, "Annotated paper", ["Doe"])
    first = attach_file(api, doc["id"], "paper.pdf", real_pdf(1))
    second = attach_file(api, doc["id"], "supplement.pdf", real_pdf(2, pages=2))
    marks = [
        create_annotation(api, doc["id"], "highlight", filehash=first["filehash"], positions=[box(2, 72, 600)],
                          color={"r": 255, "g": 0, "b": 0}, text="the key sentence"),
        create_annotation(api, doc["id"], "sticky_note", filehash=first["filehash"], positions=[point(3, 300, 400)],
                          text="Wrong sign?", color={"r": 255, "g": 245, "b": 173}),
        create_annotation(api, doc["id"], "highlight", filehash=second["filehash"], positions=[box(1, 90, 500)]),
        create_annotation(api, doc["id"], "note", text="Read again"),
    ]
    return {"doc": doc, "files": [first, second], "annotations": marks, "folder": "Doe/2024 - Annotated paper"}


# ---------------------------------------------------------------- what the copies hold


def test_every_highlight_and_sticky_note_of_a_seeded_library_is_drawn_into_a_copy_beside_its_pdf(tool, emulator):
    emulator.seed(documents=30, annotations_per_document=3, file_size=3000, seed=13)
    emulator.seed(documents=10, annotations_per_document=1, files_per_document=2, file_size=3000, seed=14)
    truth = emulator.library()
    tool.run(ON)
    folders = document_folders(tool.backup)
    expected = {}  # folder -> (original's name, file, what is drawn on it); seeded documents annotate one file
    for document in truth["documents"]:
        folder = folders[document["id"]]
        names = read_json(tool.backup / folder / "info.json")["files"]  # the server's names, made safe
        for file in document.get("files") or []:
            drawn = [item for item in annotations_of(truth, document["id"])
                     if item.get("filehash") == file["filehash"] and item["type"] != "note"]
            if drawn:
                expected[folder] = (names[file["id"]], file, drawn)
    assert expected and len(expected) < len(truth["documents"])  # some documents have only a note, or nothing
    copies = copies_in(tool.backup)
    assert sorted(path.rsplit("/", 1)[0] for path in copies) == sorted(expected)
    for path, copy in copies.items():
        name, file, drawn = expected[path.rsplit("/", 1)[0]]
        stem = name.removesuffix(".pdf")
        # Its name is the original's with ` (annotated)`, the stem cut where the path would pass 200 characters.
        assert path.endswith(f"/{stem}{COPY}") or (len(path) <= 200 and stem.startswith(
            path.rsplit("/", 1)[1].removesuffix(COPY))), path
        original = (tool.backup / path).with_name(name).read_bytes()
        assert sha1(original) == file["filehash"]  # the original is as downloaded
        assert_drawn(copy, drawn)
        assert len(PdfReader(BytesIO(copy)).pages) == len(PdfReader(BytesIO(original)).pages)


def test_a_copy_holds_each_annotation_of_its_file_only_and_the_original_is_untouched(tool, api, emulator, paper):
    tool.run(ON)
    folder = tool.backup / paper["folder"]
    first, second = paper["files"]
    assert sha1((folder / "paper.pdf").read_bytes()) == first["filehash"]
    assert sha1((folder / "supplement.pdf").read_bytes()) == second["filehash"]
    assert set(copies_in(folder)) == {"paper (annotated).pdf", "supplement (annotated).pdf"}
    truth = annotations_of(emulator.library(), paper["doc"]["id"])
    assert_drawn((folder / "paper (annotated).pdf").read_bytes(),
                 [item for item in truth if item.get("filehash") == first["filehash"]])
    assert_drawn((folder / "supplement (annotated).pdf").read_bytes(),
                 [item for item in truth if item.get("filehash") == second["filehash"]])
    highlight = by_name(read_back((folder / "paper (annotated).pdf").read_bytes())[0])[paper["annotations"][0]["id"]]
    assert highlight[0]["Contents"] == "the key sentence"
    assert len(PdfReader(folder / "paper (annotated).pdf").pages) == 3


def test_the_state_and_info_json_record_what_each_copy_was_made_from(tool, emulator, paper):
    tool.run(ON)
    doc_id = paper["doc"]["id"]
    entry = state_of(tool.backup)["entries"][doc_id]
    info = read_json(tool.backup / paper["folder"] / "info.json")
    assert set(info) == {"document", "files", "annotated_copies"}  # the original tool reads the first two
    truth = annotations_of(emulator.library(), doc_id)
    assert entry["annotated"]["drawing"] == DRAWING_VERSION
    for file, name in zip(paper["files"], ("paper (annotated).pdf", "supplement (annotated).pdf"), strict=True):
        fingerprint = copy_fingerprint(file["filehash"], truth, {PROFILE["id"]: AUTHOR})
        recorded = entry["annotated"]["copies"][file["id"]]
        data = (tool.backup / paper["folder"] / name).read_bytes()
        assert recorded["name"] == name and recorded["fingerprint"] == fingerprint
        assert recorded["sha1"] == sha1(data) and recorded["size"] == len(data)
        assert info["annotated_copies"][file["id"]] == {"name": name, "fingerprint": fingerprint}
        assert info["files"][file["id"]] == file["file_name"]


# ---------------------------------------------------------------- written only when it changes


def test_a_rerun_writes_no_copy_and_a_new_highlight_rewrites_only_its_own(tool, api, emulator, paper):
    tool.run(ON)
    copies = copies_in(tool.backup)
    before = mtimes(tool.backup, list(copies))
    emulator.reset_stats()
    assert tool.run(ON).summary == Summary()
    assert copies_in(tool.backup) == copies and mtimes(tool.backup, list(copies)) == before
    assert "GET /profiles/me" not in emulator.stats()["by_endpoint"]  # nothing to draw: no name asked for

    first = paper["files"][0]
    new = create_annotation(api, paper["doc"]["id"], "highlight", filehash=first["filehash"],
                            positions=[box(1, 100, 300)], color={"r": 0, "g": 200, "b": 0})
    emulator.reset_stats()
    assert tool.run(ON).summary == Summary(updated=1, annotations=1)
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]
    after = copies_in(tool.backup)
    changed = f"{paper['folder']}/paper (annotated).pdf"
    assert {path for path in after if after[path] != copies[path]} == {changed}
    assert mtimes(tool.backup, list(after)) == {**before, changed: (tool.backup / changed).stat().st_mtime_ns}
    assert (tool.backup / changed).stat().st_mtime_ns != before[changed]
    truth = annotations_of(emulator.library(), paper["doc"]["id"])
    assert_drawn(after[changed], [item for item in truth if item.get("filehash") == first["filehash"]])
    assert new["id"] in by_name(read_back(after[changed])[0])

    update_annotation(api, new["id"], color={"r": 0, "g": 0, "b": 255})  # a changed highlight: drawn again
    tool.run(ON)
    (mark,) = by_name(read_back((tool.backup / changed).read_bytes())[0])[new["id"]]
    assert same_colour(mark["C"], (0, 0, 255))


def test_a_deleted_last_annotation_removes_the_copy_and_the_exports_follow(tool, api, emulator, paper):
    tool.run(ON)
    second = f"{paper['folder']}/supplement (annotated).pdf"
    delete_annotation(api, paper["annotations"][2]["id"])  # the supplement's only highlight
    kept = copies_in(tool.backup)
    assert tool.run(ON).summary == Summary(updated=1, annotations=1)
    assert set(copies_in(tool.backup)) == set(kept) - {second}
    assert copies_in(tool.backup)[f"{paper['folder']}/paper (annotated).pdf"] == kept[
        f"{paper['folder']}/paper (annotated).pdf"]
    entry = state_of(tool.backup)["entries"][paper["doc"]["id"]]
    assert set(entry["annotated"]["copies"]) == {paper["files"][0]["id"]} and not state_of(tool.backup).get(
        "pending_removals")
    bib_files = jabref_file_paths(_bib_field(tool, "file"))
    assert bib_files == [f"{paper['folder']}/paper (annotated).pdf", f"{paper['folder']}/paper.pdf",
                         f"{paper['folder']}/supplement.pdf"]

    for annotation in paper["annotations"][:2]:  # the note stays: it is drawn on no page
        delete_annotation(api, annotation["id"])
    tool.run(ON)
    assert copies_in(tool.backup) == {}
    info = read_json(tool.backup / paper["folder"] / "info.json")
    assert "annotated_copies" not in info
    assert state_of(tool.backup)["entries"][paper["doc"]["id"]]["annotated"] == {"drawing": DRAWING_VERSION,
                                                                              "copies": {}}
    assert [item["type"] for item in read_json(tool.backup / paper["folder"] / "annotations.json")] == ["note"]
    assert jabref_file_paths(_bib_field(tool, "file")) == [f"{paper['folder']}/paper.pdf",
                                                           f"{paper['folder']}/supplement.pdf"]


def _bib_field(tool: BackupTool, name: str) -> str:
    """The one entry's field of library.bib, as written (braces and escapes kept)."""
    text = (tool.backup / "library.bib").read_text(encoding="utf-8")
    start = text.index(f"  {name} = {{") + len(f"  {name} = {{")
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0) if text[end - 1] != "\\" else 0
        end += 1
    return text[start:end - 1]


def test_the_exports_list_each_copy_first(tool, paper):
    tool.run(ON)
    folder = paper["folder"]
    assert jabref_file_paths(_bib_field(tool, "file")) == [
        f"{folder}/paper (annotated).pdf", f"{folder}/paper.pdf",
        f"{folder}/supplement (annotated).pdf", f"{folder}/supplement.pdf"]
    (record,) = read_ris((tool.backup / "library.ris").read_text(encoding="utf-8"))
    assert record["L1"][0] == f"{folder}/paper (annotated).pdf"
    assert record["L1"] == [f"{folder}/paper (annotated).pdf", f"{folder}/paper.pdf",
                            f"{folder}/supplement (annotated).pdf", f"{folder}/supplement.pdf"]


# ---------------------------------------------------------------- repair, dry run, the option off


def test_a_copy_deleted_or_changed_by_hand_is_made_again_without_a_download(tool, emulator, paper):
    tool.run(ON)
    copies = copies_in(tool.backup)
    first, second = (f"{paper['folder']}/{name}{COPY}" for name in ("paper", "supplement"))
    (tool.backup / first).unlink()
    emulator.reset_stats()
    run = tool.run(ON)
    assert run.summary == Summary() and "missing" in run.stderr
    assert copies_in(tool.backup) == copies
    assert "GET /files/{id}" not in emulator.stats()["by_endpoint"]

    damaged = bytearray(copies[second])
    damaged[-40] ^= 1  # same size; --verify finds it by its hash
    (tool.backup / second).write_bytes(bytes(damaged))
    os.utime(tool.backup / second, ns=(0, state_of(tool.backup)["entries"][paper["doc"]["id"]]["annotated"]
                                       ["copies"][paper["files"][1]["id"]]["mtime_ns"]))
    tool.run(ON)
    assert (tool.backup / second).read_bytes() == bytes(damaged)  # the stat check sees nothing
    tool.run(ON, "--verify")
    assert copies_in(tool.backup) == copies


def test_a_dry_run_lists_the_copies_it_would_write_and_the_option_off_removes_them(tool, tmp_path, paper):
    tool.run()
    assert copies_in(tool.backup) == {}
    dry = tool.run(ON, "--dry-run")
    assert dry.dry_summary == Summary()
    assert sorted(line for line in dry.stdout.splitlines() if "annotated" in line) == [
        f"library: would write an annotated copy: {paper['folder']}/paper{COPY}",
        f"library: would write an annotated copy: {paper['folder']}/supplement{COPY}"]
    assert copies_in(tool.backup) == {}

    config = tmp_path / "with-copies.conf"
    config.write_text("[backup]\nannotated-pdfs = yes\n")
    tool.run("-c", str(config))
    made = copies_in(tool.backup)
    assert set(made) == {f"{paper['folder']}/paper{COPY}", f"{paper['folder']}/supplement{COPY}"}
    assert jabref_file_paths(_bib_field(tool, "file"))[0] == f"{paper['folder']}/paper{COPY}"  # nothing else changed
    assert tool.run("-c", str(config), "--dry-run").stdout.count("annotated") == 0

    dry = tool.run("-c", str(config), "--no-annotated-pdfs", "--dry-run")
    assert sorted(line for line in dry.stdout.splitlines() if "annotated" in line) == [
        f"library: would remove an annotated copy: {path}" for path in sorted(made)]
    assert copies_in(tool.backup) == made
    tool.run("-c", str(config), "--no-annotated-pdfs")
    assert copies_in(tool.backup) == {}
    assert jabref_file_paths(_bib_field(tool, "file")) == [f"{paper['folder']}/paper.pdf",
                                                           f"{paper['folder']}/supplement.pdf"]
    assert "annotated" not in state_of(tool.backup)["entries"][paper["doc"]["id"]]
    assert (tool.backup / paper["folder"] / "paper.pdf").read_bytes() == real_pdf(1)


# ---------------------------------------------------------------- PDFs that cannot be drawn on


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(real_pdf(7))))
    writer.encrypt("secret", algorithm="AES-256")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("content", "page", "reason"), [
    (b"%PDF-1.7\n" + bytes(range(256)) * 40, 1, "cannot be read"),
    (encrypted_pdf(), 1, "encrypted"),
    (real_pdf(8, pages=2), 5, "pages it lacks"),
])
def test_a_pdf_that_cannot_be_drawn_on_gives_one_warning_and_the_run_succeeds(tool, api, paper, content, page,
                                                                               reason):
    doc = create_document(api, "Broken", ["Roe"])
    file = attach_file(api, doc["id"], "broken.pdf", content)
    create_annotation(api, doc["id"], "highlight", filehash=file["filehash"], positions=[box(page, 72, 500)])
    run = tool.run(ON)  # exit 0
    warnings = [line for line in run.stderr.splitlines() if "Roe/2024 - Broken" in line]
    assert len(warnings) == 1 and "Roe/2024 - Broken/broken.pdf" in warnings[0] and reason in warnings[0], run.stderr
    assert run.summary == Summary(new=2, annotations=5)
    assert set(copies_in(tool.backup)) == {f"{paper['folder']}/paper{COPY}", f"{paper['folder']}/supplement{COPY}"}
    assert (tool.backup / "Roe/2024 - Broken/broken.pdf").read_bytes() == content
    assert "Roe/2024 - Broken" not in tool.run(ON).stderr  # decided once: a rerun says nothing more


# ---------------------------------------------------------------- names and moves


def test_a_copy_never_takes_the_name_of_a_real_attachment(tool, api, emulator, paper):
    doc_id, folder = paper["doc"]["id"], tool.backup / paper["folder"]
    other = attach_file(api, doc_id, "paper (annotated).pdf", b"%PDF-1.4 a real attachment of that name\n")
    tool.run(ON)
    assert (folder / "paper (annotated).pdf").read_bytes() == b"%PDF-1.4 a real attachment of that name\n"
    assert_drawn((folder / "paper (annotated) (2).pdf").read_bytes(),
                 [item for item in annotations_of(emulator.library(), doc_id)
                  if item.get("filehash") == paper["files"][0]["filehash"]])
    # A file attached later under the copy's name is given another one.
    late = attach_file(api, doc_id, "supplement (annotated).pdf", b"%PDF-1.4 attached later\n")
    tool.run(ON)
    info = read_json(folder / "info.json")
    assert info["files"][other["id"]] == "paper (annotated).pdf"
    assert info["files"][late["id"]] == "supplement (annotated) (2).pdf"
    assert (folder / "supplement (annotated) (2).pdf").read_bytes() == b"%PDF-1.4 attached later\n"
    assert info["annotated_copies"][paper["files"][1]["id"]]["name"] == "supplement (annotated).pdf"
    assert "Highlight" in str(read_back((folder / "supplement (annotated).pdf").read_bytes())[0])


def test_a_file_in_the_way_that_is_not_the_backups_is_left_alone(tool, paper):
    tool.run()
    stranger = tool.backup / paper["folder"] / f"paper{COPY}"
    stranger.write_bytes(b"made by hand")
    tool.run(ON)
    assert stranger.read_bytes() == b"made by hand"
    assert (tool.backup / paper["folder"] / "paper (annotated) (2).pdf").exists()


def test_copies_move_with_their_document_to_a_new_folder_the_trash_and_back(tool, api, paper):
    tool.run(ON, "--keep-trashed")
    copies = {path.rsplit("/", 1)[1]: data for path, data in copies_in(tool.backup).items()}
    doc_id = paper["doc"]["id"]

    update_document(api, doc_id, title="Renamed paper")
    tool.run(ON, "--keep-trashed")
    assert copies_in(tool.backup) == {f"Doe/2024 - Renamed paper/{name}": data for name, data in copies.items()}
    assert not (tool.backup / paper["folder"]).exists()

    trash_document(api, doc_id)
    tool.run(ON, "--keep-trashed")
    assert copies_in(tool.backup) == {f".trash/Doe/2024 - Renamed paper/{name}": data for name, data in copies.items()}
    restore_document(api, doc_id)
    tool.run(ON, "--keep-trashed")
    assert set(copies_in(tool.backup)) == {f"Doe/2024 - Renamed paper/{name}" for name in copies}

    tool.run("--relayout", "--pattern", "%title", ON)
    assert copies_in(tool.backup) == {f"Renamed paper/{name}": data for name, data in copies.items()}
    entry = state_of(tool.backup)["entries"][doc_id]
    assert {copy["name"] for copy in entry["annotated"]["copies"].values()} == set(copies)
    assert tool.run(ON, "--keep-trashed").summary == Summary()
    assert {path.rsplit("/", 1)[1] for path in copies_in(tool.backup)} == set(copies)


def test_a_removed_document_takes_its_copies_with_it(tool, api, paper):
    tool.run(ON)
    delete_document(api, paper["doc"]["id"])
    assert tool.run(ON).summary == Summary(removed=1)
    assert copies_in(tool.backup) == {} and not (tool.backup / "Doe").exists()



def test_a_groups_copies_name_the_authors_the_api_knows(tool, emulator):
    # Seed 1: some of the group's annotations are by its owner, another profile, which the emulator answers 404 for
    # (it knows the user's profile only); the others are the user's.
    emulator.seed(documents=1, groups=1, group_documents=6, annotations_per_document=2, file_size=3000, seed=1)
    truth = emulator.library()
    owner = truth["groups"][0]["owning_profile_id"]
    assert owner != PROFILE["id"]
    tool.run(ON, "--groups", "all")
    marks = [mark for path, data in copies_in(tool.backup).items() for mark in read_back(data)[0]]
    authors = {item["id"]: item["profile_id"] for item in truth["annotations"]}
    assert {authors[mark["NM"]] for mark in marks} == {owner, PROFILE["id"]}
    for mark in marks:
        assert mark.get("T") == (None if authors[mark["NM"]] == owner else AUTHOR)
    asked = emulator.stats()["by_endpoint"]
    assert asked["GET /profiles/me"] == 2 and asked["GET /profiles/{id}"] == 1  # once per library; the owner once
