"""Hands out the paths of document folders and files so that no two share one, and names stay stable.

Two documents (or two files of one document) that map to the same path are both kept: the one that holds
the path keeps it, the others get ` (2)`, ` (3)`, ... in the order the caller asks. A parent folder that
would stand where a file is gets a number too, since nothing can live under a file. Paths are compared as a
case-insensitive file system would, so a backup copied to macOS or Windows stays whole.
"""

import re
from collections.abc import Iterable

from Naming import collision_key, numbered, split_extension

_NUMBER = re.compile(r" \((\d+)\)$")

FILE, FOLDER, PARENT, RESERVED = "file", "folder", "parent", "reserved"


class PathAllocator:
    def __init__(self, reserved_names: Iterable[str] = (), folder_files: Iterable[str] = ()) -> None:
        """`reserved_names`: the backup's own names at its top, which no document may take (the planner keeps
        documents from starting their paths with one). `folder_files`: the files every document folder holds
        besides the document's own (its info.json), which none of the document's files may take."""
        # collision key -> FILE, FOLDER (a document's), PARENT (above one) or RESERVED
        self._kinds: dict[str, str] = {}
        for name in reserved_names:
            self._kinds[collision_key(name)] = RESERVED
        self._folder_files = tuple(folder_files)

    def hold_folder(self, path: str) -> None:
        """Mark a document folder that exists and stays as taken, with the files every such folder holds."""
        self._kinds[collision_key(path)] = FOLDER
        parts = path.split("/")
        for depth in range(1, len(parts)):
            self._kinds.setdefault(collision_key("/".join(parts[:depth])), PARENT)
        for name in self._folder_files:
            self.hold_file(f"{path}/{name}")

    def hold_file(self, path: str) -> None:
        """Mark a file that exists and stays (for this run at least) as taken."""
        self._kinds[collision_key(path)] = FILE

    def folder(self, components: tuple[str, ...]) -> str:
        """A free folder path for `components`, numbering the last component if needed."""
        parent, last = self._clear_of_files(components[:-1]), components[-1]
        for number in range(1, 1_000_000):
            path = "/".join((*parent, numbered(last, number, keep_extension=False) if number > 1 else last))
            if self._folder_free(path):
                self.hold_folder(path)
                return path
        raise RuntimeError("no free folder name")  # unreachable: a million documents with one path

    def file(self, folder: str, name: str) -> str:
        """A free file name in `folder` for `name`, numbered before the extension if needed."""
        for number in range(1, 1_000_000):
            candidate = numbered(name, number, keep_extension=True) if number > 1 else name
            path = f"{folder}/{candidate}"
            if collision_key(path) not in self._kinds:
                self.hold_file(path)
                return candidate
        raise RuntimeError("no free file name")

    def _clear_of_files(self, parents: tuple[str, ...]) -> tuple[str, ...]:
        """Parent folders in which none stands where a file is: such a one is numbered until it does not."""
        clear: list[str] = []
        for name in parents:
            candidate, number = name, 1
            while self._kinds.get(collision_key("/".join((*clear, candidate)))) == FILE:
                number += 1
                candidate = numbered(name, number, keep_extension=False)
            clear.append(candidate)
        return tuple(clear)

    def _folder_free(self, path: str) -> bool:
        return self._kinds.get(collision_key(path)) in (None, PARENT)


def fits_folder(current: str, components: tuple[str, ...]) -> bool:
    """Whether a document folder's current path is what `components` give, any component possibly numbered:
    the last one to stay distinct from another document's, a parent to stay clear of a file or of the backup's
    own names."""
    parts = tuple(current.split("/"))
    return len(parts) == len(components) and \
        all(_fits(part, component, keep_extension=False) for part, component in zip(parts, components, strict=True))


def fits_file(current: str, name: str) -> bool:
    """Whether a file's current name is `name`, possibly numbered."""
    return _fits(current, name, keep_extension=True)


def _fits(current: str, base: str, keep_extension: bool) -> bool:
    if current == base:
        return True
    stem = split_extension(current)[0] if keep_extension else current
    match = _NUMBER.search(stem)
    return match is not None and numbered(base, int(match.group(1)), keep_extension) == current
