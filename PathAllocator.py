"""Hands out the paths of document folders and files so that no two share one, and names stay stable.

Two documents (or two files of one document) that map to the same path are both kept: the one that holds
the path keeps it, the others get ` (2)`, ` (3)`, ... in the order the caller asks. A parent folder that
would stand where a file is gets a number too, since nothing can live under a file. Paths are compared as a
case-insensitive file system would, so a backup copied to macOS or Windows stays whole. With a limit on the length
of paths, a new file's name is cut (before its extension) to fit in its folder.
"""

import re
from collections.abc import Iterable

from Naming import MIN_NAME_CHARS, collision_key, numbered, shortened, split_extension

_NUMBER = re.compile(r" \((\d+)\)$")

FILE, FOLDER, PARENT, RESERVED = "file", "folder", "parent", "reserved"


class PathAllocator:
    def __init__(self, reserved_names: Iterable[str] = (), folder_files: Iterable[str] = (),
                 max_path_chars: int | None = None) -> None:
        """`reserved_names`: the backup's own names at its top, which no document may take (the planner keeps
        documents from starting their paths with one). `folder_files`: the files every document folder holds
        besides the document's own (its info.json), which none of the document's files may take.
        `max_path_chars`: how long a file's path may be (None: as long as the file system allows)."""
        self._max_path_chars = max_path_chars
        # The hash of a path's collision key -> FILE, FOLDER (a document's), PARENT (above one) or RESERVED. A hash,
        # not the key, holds a first backup's hundred thousand paths in a third of the memory; two paths of equal
        # hash (on a 64-bit Python a chance in 10^19 a pair) are taken for one: that costs a name a number, never a
        # file.
        self._kinds: dict[int, str] = {}
        for name in reserved_names:
            self._kinds[_key(name)] = RESERVED
        # Taken in every document folder, without a key each (a large library has a hundred thousand folders).
        self._folder_file_keys = frozenset(collision_key(name) for name in folder_files)

    def hold_folder(self, path: str) -> None:
        """Mark a document folder that exists and stays as taken, with the files every such folder holds."""
        self._kinds[_key(path)] = FOLDER
        parts = path.split("/")
        for depth in range(1, len(parts)):
            self._kinds.setdefault(_key("/".join(parts[:depth])), PARENT)

    def hold_file(self, path: str) -> None:
        """Mark a file that exists and stays (for this run at least) as taken."""
        self._kinds[_key(path)] = FILE

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
        """A free file name in `folder` for `name`, cut to fit and numbered before the extension if needed."""
        max_chars = file_chars(self._max_path_chars, folder)
        for number in range(1, 1_000_000):
            candidate = numbered(name, number, True, max_chars) if number > 1 else shortened(name, max_chars, True)
            path = f"{folder}/{candidate}"
            if _key(path) not in self._kinds and not self._is_file(path):
                self.hold_file(path)
                return candidate
        raise RuntimeError("no free file name")

    def _clear_of_files(self, parents: tuple[str, ...]) -> tuple[str, ...]:
        """Parent folders in which none stands where a file is: such a one is numbered until it does not."""
        clear: list[str] = []
        for name in parents:
            candidate, number = name, 1
            while self._is_file("/".join((*clear, candidate))):
                number += 1
                candidate = numbered(name, number, keep_extension=False)
            clear.append(candidate)
        return tuple(clear)

    def _is_file(self, path: str) -> bool:
        """Whether a file stands at `path`: one held, or one of a document folder's own files."""
        key = collision_key(path)
        if self._kinds.get(hash(key)) == FILE:
            return True
        folder, _, name = key.rpartition("/")
        return name in self._folder_file_keys and self._kinds.get(hash(folder)) == FOLDER

    def _folder_free(self, path: str) -> bool:
        return self._kinds.get(_key(path)) in (None, PARENT) and not self._is_file(path)


def _key(path: str) -> int:
    return hash(collision_key(path))


def file_chars(max_path_chars: int | None, folder: str) -> int | None:
    """How long the name of a new file in `folder` may be (at least MIN_NAME_CHARS), for its path to stay within
    `max_path_chars`; None: no limit."""
    if max_path_chars is None:
        return None
    return max(MIN_NAME_CHARS, max_path_chars - len(folder) - 1)


def fits_folder(current: str, components: tuple[str, ...]) -> bool:
    """Whether a document folder's current path is what `components` give, any component possibly numbered:
    the last one to stay distinct from another document's, a parent to stay clear of a file or of the backup's
    own names."""
    parts = tuple(current.split("/"))
    return len(parts) == len(components) and \
        all(_fits(part, component, keep_extension=False) for part, component in zip(parts, components, strict=True))


def fits_file(current: str, name: str, max_chars: int | None = None) -> bool:
    """Whether a file's current name is `name`, possibly numbered, cut to `max_chars` as PathAllocator.file cuts."""
    return _fits(current, name, keep_extension=True, max_chars=max_chars)


def _fits(current: str, base: str, keep_extension: bool, max_chars: int | None = None) -> bool:
    if current == shortened(base, max_chars, keep_extension):
        return True
    stem = split_extension(current)[0] if keep_extension else current
    match = _NUMBER.search(stem)
    return match is not None and numbered(base, int(match.group(1)), keep_extension, max_chars) == current
