"""Comparing a library restored into one emulator with the library it was backed up from on another.

Ids, times and the owner's profile differ from account to account; what must be the same is the content: each
document's metadata, its files' bytes, its folders (by their path of names), its annotations (type, text, page and
positions, colour, privacy, file) and whether it is in the trash. A library is turned into a multiset of such
contents, so that a document made twice shows as a duplicate and one not made as missing.

    assert_same_content(source.library(), target.library())
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.tool import BackupTool

# What the server sets: the rest of a document's JSON is its metadata.
SERVER_FIELDS = {"id", "profile_id", "group_id", "created", "last_modified", "file_attached", "folder_uuids", "files"}


def restoring_tool(backed_up: BackupTool, target: Any, tmp: Any) -> BackupTool:
    """The tool logged in to the `target` emulator, working on the backup folder `backed_up` made."""
    tool = BackupTool(target, tmp)
    tool.backup = backed_up.backup
    return tool


def folder_paths(folders: list[dict[str, Any]]) -> dict[str, str]:
    """Each folder's id -> its path of names, `Parent/Child`."""
    by_id = {folder["id"]: folder for folder in folders}

    def path(folder_id: str) -> str:
        folder = by_id[folder_id]
        parent = folder.get("parent_id")
        return f"{path(parent)}/{folder['name']}" if parent in by_id else folder["name"]

    return {folder_id: path(folder_id) for folder_id in by_id}


def _metadata(document: dict[str, Any]) -> str:
    # The service leaves empty fields out; a document without a title comes back with an empty one.
    fields = {key: value for key, value in document.items()
              if key not in SERVER_FIELDS and value not in (None, "", [], {})}
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def _annotation(annotation: dict[str, Any]) -> str:
    return json.dumps({key: annotation.get(key) for key in
                       ("type", "text", "positions", "color", "privacy_level", "filehash")}, sort_keys=True)


def contents(library: dict[str, Any], group_id: str | None = None) -> Counter[str]:
    """The library's documents (its own, or one group's), each as its content: a multiset."""
    paths = folder_paths([folder for folder in library["folders"] if folder.get("group_id") == group_id])
    files: dict[str, list[tuple[str, int]]] = {}
    for item in library["files"]:
        files.setdefault(item["document_id"], []).append((item["filehash"], item["size"]))
    annotations: dict[str, list[str]] = {}
    for item in library["annotations"]:
        annotations.setdefault(item["document_id"], []).append(_annotation(item))
    documents = [(document, False) for document in
                 (library["documents"] if group_id is None else library["group_documents"])] + \
        [(document, True) for document in library["trash"]]
    found: Counter[str] = Counter()
    for document, trashed in documents:
        if document.get("group_id") != group_id:
            continue
        found[json.dumps({
            "metadata": _metadata(document), "trashed": trashed,
            "files": sorted(files.get(document["id"], [])),
            "folders": sorted(paths[folder] for folder in document.get("folder_uuids") or [] if folder in paths),
            "annotations": sorted(annotations.get(document["id"], [])),
        }, sort_keys=True, ensure_ascii=False)] += 1
    return found


def assert_same_content(source: dict[str, Any], target: dict[str, Any], source_group: str | None = None,
                        target_group: str | None = None) -> None:
    """The target library holds exactly the source's documents, each once, and its folder tree."""
    expected, found = contents(source, source_group), contents(target, target_group)
    missing, extra = expected - found, found - expected
    assert not missing and not extra, f"{sum(missing.values())} missing, {sum(extra.values())} extra " \
                                      f"(duplicates or changed):\nmissing {list(missing)[:2]}\nextra {list(extra)[:2]}"
    tree = {path for folder_id, path in folder_paths(source["folders"]).items()
            if _group_of(source, folder_id) == source_group}
    restored = {path for folder_id, path in folder_paths(target["folders"]).items()
                if _group_of(target, folder_id) == target_group}
    assert tree <= restored, f"folders not restored: {sorted(tree - restored)}"


def duplicates(library: dict[str, Any], group_id: str | None = None) -> int:
    """How many documents of the library repeat another's content (with its files, folders and annotations)."""
    return sum(count - 1 for count in contents(library, group_id).values())


def _group_of(library: dict[str, Any], folder_id: str) -> str | None:
    return next(folder.get("group_id") for folder in library["folders"] if folder["id"] == folder_id)
