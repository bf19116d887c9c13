"""Property tests: whatever names the server sends, the paths they become stay inside the backup folder, are
safe on any common file system, never collide, and the metadata holding them is written back whole."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from BackupFolder import RESERVED_TOP_NAMES, AtomicWriter
from DocumentInfo import BackupState
from LocalFiles import ensure_folder, inside
from Naming import collision_key, parse_pattern, safe_file_name, safe_folder_name
from Planner import Planner
from RemoteLibrary import Snapshot
from tests.tool import assert_safe_component

PATTERNS = ["%authors/%year - %title", "%folder/%title", "%title", "%first_author/%type/%source - %month",
            "%%/%id/%title", "../%title", "/%authors/../%year"]
NASTY = ["..", ".", "", " ", "...", "/", "//", "\\", "../../etc/passwd", "/etc/passwd", "C:\\Windows", "CON", "nul.txt",
         "com1.pdf", "LPT9", "aux.", "a\x00b", "\x7f", "\r\n", "trailing. ", "info.json", ".mendeley-backup-tmp",
         "e\u0301", "\u212b", "\ufeff", "\u202e", "\ud800", "é" * 200, "x" * 300 + ".pdf", "%title", "%%"]
# Any text, surrogates included (a JSON string may escape one), with the nasty pieces mixed in.
hostile = st.one_of(st.sampled_from(NASTY), st.text(max_size=60),
                    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=6).map("".join))
people = st.lists(st.fixed_dictionaries({"first_name": hostile, "last_name": hostile}), max_size=5)
documents = st.fixed_dictionaries({"title": hostile, "authors": people, "type": hostile, "source": hostile,
                                   "id": hostile, "year": st.one_of(st.none(), st.integers(), hostile),
                                   "month": st.one_of(st.none(), st.integers(-3, 14))})
def assert_inside(root: Path, relative: str) -> Path:
    """`relative` resolves under `root`, through LocalFiles.inside, and each of its components is safe."""
    path = inside(root, relative)
    assert root.resolve() in path.resolve().parents, relative
    for component in relative.split("/"):
        assert_safe_component(component)
    return path


def snapshot_of(library: list[Any]) -> Snapshot:
    """A full listing of the generated documents, each with its hostile file names and folder names."""
    snapshot = Snapshot(full=True, folders_complete=True)
    for number, (document, folder_names, file_names) in enumerate(library):
        doc_id = f"document-{number}"
        folder_ids = [f"{doc_id}-folder-{index}" for index in range(len(folder_names))]
        for index, (folder_id, name) in enumerate(zip(folder_ids, folder_names, strict=True)):
            snapshot.folders[folder_id] = {"id": folder_id, "name": name,
                                           "parent_id": folder_ids[index - 1] if index else None}
        files = [{"id": f"{doc_id}-file-{index}", "file_name": name, "filehash": "0" * 40, "size": 4,
                  "created": f"2020-01-01T00:00:0{index}.000Z"} for index, name in enumerate(file_names)]
        snapshot.documents[doc_id] = {**document, "created": f"2020-01-0{1 + number % 9}T00:00:00.000Z",
                                      "folder_uuids": folder_ids[-1:], "files": files}
    return snapshot


@settings(max_examples=400, deadline=None)
@given(library=st.lists(st.tuples(documents, st.lists(hostile, max_size=3), st.lists(hostile, max_size=3)),
                        min_size=1, max_size=6),
       pattern=st.sampled_from(PATTERNS))
def test_every_name_lands_safely_inside_the_backup_and_none_collide(library: list[Any], pattern: str) -> None:
    """Through the planner, which renders each path and has the PathAllocator hand out distinct ones."""
    plan = Planner(BackupState(pattern), parse_pattern(pattern), keep_trashed=False).plan(snapshot_of(library), {})
    assert len(plan.documents) == len(library)
    reserved = {collision_key(name) for name in RESERVED_TOP_NAMES}
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "backup"
        root.mkdir()
        taken: set[str] = set()
        for document in plan.documents:
            assert collision_key(document.path.split("/")[0]) not in reserved, document.path
            assert_inside(root, document.path)
            ensure_folder(root, document.path)
            for file in document.files:
                relative = f"{document.path}/{file.name}"
                path = assert_inside(root, relative)
                assert collision_key(relative) not in taken and not path.exists(), relative
                assert file.name not in ("info.json", "annotations.json"), relative
                taken.add(collision_key(relative))
                path.write_bytes(b"%PDF")
        assert all(root in path.parents for path in Path(temporary).rglob("*") if path != root)


@given(name=hostile)
def test_a_file_name_keeps_a_plain_extension(name: str) -> None:
    safe = safe_file_name(name + ".pdf")
    assert_safe_component(safe)
    assert safe.endswith(".pdf")


@given(name=hostile)
def test_a_group_name_is_one_safe_folder(name: str) -> None:
    assert_safe_component(safe_folder_name(name))


@settings(deadline=None)
@given(document=documents)
def test_any_metadata_is_written_atomically_and_reads_back_whole(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        (root / "tmp").mkdir()
        AtomicWriter(root / "tmp").write_json(root / "info.json", {"document": document})
        assert json.loads((root / "info.json").read_text(encoding="utf-8")) == {"document": document}
        assert list((root / "tmp").iterdir()) == []
