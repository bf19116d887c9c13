"""Names from the server cannot reach outside the backup folder or break it: path separators, `..`, NUL and
control characters, Windows device names, trailing dots and spaces, names over 255 bytes, non-NFC Unicode."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.library import attach_file, create_document
from tests.tool import (
    BackupTool,
    Summary,
    assert_backup_matches,
    assert_safe_component,
    folder_files,
    read_json,
    state_of,
)

# Title the pattern `%authors/%title` makes a whole path component, with the authors.
TITLES = {
    "climbs out": ("../../../../../etc/passwd", ["../.."]),
    "dot dot": ("..", [".."]),
    "dot": (".", ["."]),
    "separators and reserved": ('a/b\\c:d*e?f"g<h>i|j', ["x/y\\z"]),
    "control characters": ("nul\x00byte\x07bell\ttab\nnewline\x7f", ["Doe\x00"]),
    "device names": ("CON", ["nul.txt"]),
    "more device names": ("com1", ["AUX"]),
    "trailing dots and spaces": ("Ends with dots... . ", ["Doe. "]),
    "300 bytes of UTF-8": ("é" * 150, ["Ø" * 150]),
    "not NFC": ("Cafe\u0301 and Mu\u0308ller", ["Mu\u0308ller"]),
    "blank": ("   ", []),
}
# File names, all attached to one document.
FILE_NAMES = [
    "../../../../../evil.pdf", "..", ".", "a/b\\c.pdf", "x\x00y\x07z\n.pdf", "nul.txt", "CON", "LPT9.log",
    "trailing. . ", "ü" * 148 + ".pdf", "Cafe\u0301.pdf", "info.json", "annotations.json", "/absolute.pdf",
]
def everything_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.fixture
def hostile(api) -> dict[str, bytes]:
    """The hostile library; answers each file's name as given -> its bytes."""
    for title, authors in TITLES.values():
        create_document(api, title, authors)
    holder = create_document(api, "Files", ["Holder"])
    content = {}
    for number, name in enumerate(FILE_NAMES):
        content[name] = f"%PDF-1.4 file number {number}\n".encode() * (number + 1)
        attach_file(api, holder["id"], name, content[name])
    return content


def test_hostile_names_stay_inside_the_backup_and_the_bytes_are_right(emulator, tmp_path, hostile):
    tool = BackupTool(emulator, tmp_path)
    outside_before = set(tmp_path.parent.iterdir())
    before = everything_under(tmp_path)
    run = tool.run("-p", "%authors/%title")
    assert run.summary == Summary(new=len(TITLES) + 1)
    assert set(tmp_path.parent.iterdir()) == outside_before
    assert {path for path in everything_under(tmp_path) - before if tool.backup not in path.parents} == {tool.backup}
    for path in everything_under(tool.backup):
        assert not path.is_symlink()
        assert_safe_component(path.name)

    library = emulator.library()
    assert {file["file_name"] for file in library["files"]} == set(FILE_NAMES)  # the server kept them as given
    assert all(emulator.file_content(file["id"]) == hostile[file["file_name"]] for file in library["files"])
    assert_backup_matches(tool.backup, library)
    folders = state_of(tool.backup)["documents"]
    holder = folders[next(document["id"] for document in library["documents"] if document["title"] == "Files")]
    names = set(read_json(tool.backup / holder / "info.json")["files"].values())
    assert len(names) == len(FILE_NAMES)
    long_name = next(name for name in names if name.startswith("ü"))
    assert long_name.endswith(".pdf") and len(long_name.encode()) <= 255
    assert "Café.pdf" in names and "info.json" not in names and "annotations.json" not in names

    on_disk = folder_files(tool.backup)
    assert tool.run("-p", "%authors/%title").summary == Summary()  # stable: nothing moves on the next run
    assert folder_files(tool.backup) == on_disk
