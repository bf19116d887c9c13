"""New paths stay within 200 characters of the backup folder (room for the folder itself under Windows' 260): the title
is cut first, then the longest parts, and a file's name before its extension; names given before stay as they are."""

from __future__ import annotations

from pathlib import Path

from Naming import MAX_PATH_CHARS, MIN_NAME_CHARS, numbered, parse_pattern, path_length, render_path, shortened
from PathAllocator import PathAllocator, fits_file
from tests.library import attach_file, create_document
from tests.test_compat_original import write_original_backup
from tests.tool import Summary, document_folders, folder_files, sha1

DEFAULT = parse_pattern("%authors/%year - %title")
LONG_TITLE = "A study of " + "very " * 36 + "long titles"  # 202 characters
LONG_FILE = "Supplementary material for " + "the study of long titles " * 8 + "(final version).pdf"
PDF = b"%PDF-1.4 long\n" * 200


def people(*names: str) -> list[dict[str, str]]:
    return [{"last_name": name} for name in names]


def longest_path(root: Path) -> int:
    return max(len(path.relative_to(root).as_posix()) for path in root.rglob("*"))


# The rules ----------------------------------------------------------------------------------------------------

def test_a_long_title_is_cut_at_a_word_boundary_and_the_rest_stays_whole():
    document = {"authors": people("Doe", "Roe"), "year": 2024, "title": LONG_TITLE}
    path = render_path(DEFAULT, document, max_chars=140)
    assert path[0] == "Doe & Roe" and path[1].startswith("2024 - A study of very very")
    assert 130 <= path_length(path) <= 140 and path[1].endswith(" very")
    assert render_path(DEFAULT, document) == ("Doe & Roe", f"2024 - {LONG_TITLE}")  # no limit: whole


def test_a_path_too_long_even_with_a_short_title_cuts_its_longest_parts():
    pattern = parse_pattern("%folder/%source/%title")
    document = {"source": "Journal of " + "x" * 150, "title": "A title of some length, " * 4}
    path = render_path(pattern, document, ("A" * 80, "B" * 60), max_chars=140)
    assert path_length(path) <= 140 and len(path) == 4
    assert path[3].startswith("A title of some") and len(path[3]) >= MIN_NAME_CHARS
    assert path[2].startswith("Journal of x") and path[0].startswith("AAAA") and path[1].startswith("BBBB")


def test_a_file_name_is_cut_before_its_extension_and_numbered_within_the_limit():
    assert shortened(LONG_FILE, 60, keep_extension=True) == \
        "Supplementary material for the study of long titles the.pdf"  # 56 characters, then a space: a word's end
    assert shortened("short.pdf", 60, keep_extension=True) == "short.pdf"
    second = numbered(LONG_FILE, 2, True, 60)
    assert second.endswith(" (2).pdf") and len(second) <= 60
    assert fits_file(second, LONG_FILE, 60) and fits_file(shortened(LONG_FILE, 60, True), LONG_FILE, 60)
    assert not fits_file(second, LONG_FILE)  # without the limit it is not the name


def test_the_allocator_cuts_a_new_file_to_what_its_folder_leaves():
    allocator = PathAllocator(max_path_chars=100)
    folder = "F" * 60
    first, second = allocator.file(folder, LONG_FILE), allocator.file(folder, LONG_FILE)
    assert len(f"{folder}/{first}") <= 100 and len(f"{folder}/{second}") <= 100
    assert first.endswith(".pdf") and second.endswith(" (2).pdf") and first != second
    deep = "D" * 95
    assert len(allocator.file(deep, LONG_FILE)) == MIN_NAME_CHARS  # however deep, a name keeps some characters


# End to end ---------------------------------------------------------------------------------------------------

def test_new_paths_stay_within_200_characters_and_keep_their_names_from_run_to_run(emulator, api, tool):
    twins = [create_document(api, LONG_TITLE, ["Doe", "Roe", "Poe"]) for _ in range(2)]
    for twin in twins:
        attach_file(api, twin["id"], LONG_FILE, PDF)
        attach_file(api, twin["id"], LONG_FILE, PDF + b"second copy\n")
    group = emulator.create_group("The reading group of " + "a very long name " * 6)
    in_group = create_document(api, LONG_TITLE, ["Doe"], group_id=group["id"])
    attach_file(api, in_group["id"], LONG_FILE, PDF)
    assert tool.run("--groups", "all").summary == Summary(new=3)
    assert longest_path(tool.backup) <= MAX_PATH_CHARS
    folders = sorted(document_folders(tool.backup).values())
    assert folders[0].startswith("Doe, Roe & Poe/2024 - A study of very") and folders[1].endswith(" (2)")
    group_folder = next((tool.backup / "groups").iterdir()).name
    assert group_folder.startswith("The reading group of a very long") and len(group_folder) <= 50
    before = folder_files(tool.backup)
    pdfs = sorted(digest for path, digest in before.items() if path.endswith(".pdf"))
    assert pdfs == sorted([sha1(PDF)] * 3 + [sha1(PDF + b"second copy\n")] * 2)
    assert tool.run("--groups", "all", "--full").summary == Summary()  # the cut names are theirs: nothing moves
    assert set(folder_files(tool.backup)) == set(before)


def test_long_names_an_older_backup_gave_stay_as_they_are(emulator, api, tool):
    document = create_document(api, LONG_TITLE, ["Doe"])
    file = attach_file(api, document["id"], LONG_FILE, PDF)
    folder = f"Doe/2024 - {LONG_TITLE}"
    documents = {item["id"]: item for item in emulator.library()["documents"]}
    write_original_backup(tool.backup, {document["id"]: folder}, documents, {file["id"]: PDF})
    assert len(f"{folder}/{LONG_FILE}") > MAX_PATH_CHARS
    run = tool.run()
    assert run.summary.moved == 0 and run.summary.new == 0
    assert document_folders(tool.backup) == {document["id"]: folder}
    assert folder_files(tool.backup)[f"{folder}/{LONG_FILE}"] == sha1(PDF)
    assert tool.run("--full").summary == Summary()
