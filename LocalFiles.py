"""Careful file-system operations under a root folder, which know nothing of what a backup holds: every path stays
under the root, and symbolic links inside it are never followed when creating folders or deleting anything. Paths
are relative, `/`-separated strings, as the backup's state records them. BackupFolder is their one user.
"""

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from Errors import UnsafePathError

HASH_CHUNK = 1 << 20

def inside(root: Path, relative: str) -> Path:
    """`root / relative`, refusing anything that could point outside the backup folder."""
    return root.joinpath(*_safe_parts(relative))


def inside_text(root: str, relative: str) -> str:
    """`inside` as a string, for the hot loops (a stat of every file) where building a Path costs more than the
    stat itself."""
    return os.path.join(root, _checked_relative(relative))


def _safe_parts(relative: str) -> list[str]:
    return _checked_relative(relative).split("/")


def _checked_relative(relative: str) -> str:
    """`relative`, if none of its `/`-separated parts is empty, `.` or `..` (found without splitting it: this runs
    for every file of a large backup)."""
    wrapped = f"/{relative}/"
    if not relative or "//" in wrapped or "/./" in wrapped or "/../" in wrapped:
        raise UnsafePathError(f"refusing the path {relative!r}: it would leave the backup folder")
    return relative


def _check_no_links(root: Path, relative: str, include_last: bool) -> Path:
    """The full path of `relative`, after checking that none of its folders is a symbolic link."""
    path = inside(root, relative)
    parts = relative.split("/")
    current = root
    for part in parts if include_last else parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise UnsafePathError(f"refusing to go through the symbolic link {current}")
    return path


def ensure_folder(root: Path, relative: str, made_in: Callable[[Path], None] | None = None) -> Path:
    """Create a document folder (and its parents) without passing through symbolic links. Each new folder's entry in
    its parent is made durable, so that a state saved afterwards never names a folder a power cut lost: at once, or
    by `made_in(parent)`, which takes it on."""
    path = _check_no_links(root, relative, include_last=True)
    current = root
    for part in relative.split("/"):
        current = current / part
        if not current.is_dir():
            current.mkdir(exist_ok=True)  # another download thread may be creating the same parent
            (made_in or fsync_dir)(current.parent)
    return path


def fsync_dir(folder: Path) -> None:
    """Make renames, removals and new entries in `folder` durable (POSIX; Windows has no such call)."""
    if os.name != "posix":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def remove_file(root: Path, relative: str) -> None:
    """Delete one file of the backup; a symbolic link is removed itself, never followed. Missing is fine."""
    path = _check_no_links(root, relative, include_last=False)
    if path.is_dir() and not path.is_symlink():
        raise UnsafePathError(f"refusing to delete {path}: it is a folder, not a file of the backup")
    path.unlink(missing_ok=True)


def prune_folders(root: Path, relative: str) -> None:
    """Remove a document folder and the parents it leaves empty, up to (not including) the root. Levels already
    gone (a run killed between two of its removals) are passed over, so their parents still go; nothing at or
    under a symbolic link is touched."""
    folders: list[Path] = []
    current = root
    for part in _safe_parts(relative):
        current = current / part
        if current.is_symlink() or not current.is_dir():
            break
        folders.append(current)
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return
            raise


def sha1_of(path: Path) -> str | None:
    """The SHA-1 of a file's bytes, or None if it cannot be read."""
    digest = hashlib.sha1()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def signature(path: Path | str) -> tuple[int, int] | None:
    """(size, mtime in ns) of a regular file (not a symbolic link), None if there is none; cheap evidence a file is
    unchanged: one lstat, which a run makes of every backed-up file."""
    try:
        status = os.lstat(path)
    except OSError:
        return None
    return (status.st_size, status.st_mtime_ns) if stat.S_ISREG(status.st_mode) else None


def _open_folder(root: Path) -> int | None:
    """`root` opened for lookups relative to it; None on a system that has none (Windows), or with no root yet (a
    new backup's)."""
    if os.stat not in os.supports_dir_fd or os.stat not in os.supports_follow_symlinks:
        return None
    try:
        return os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


@contextlib.contextmanager
def signatures_under(root: Path) -> Iterator[Callable[[str], tuple[int, int] | None]]:
    """`signature` of paths relative to `root`, for the stat of every backed-up file: where the system can (not
    Windows), each is looked up from the root's open folder, which spares the kernel the walk down to the root."""
    handle = _open_folder(root)
    if handle is None:
        root_text = str(root)
        yield lambda relative: signature(inside_text(root_text, relative))
        return

    def under_root(relative: str) -> tuple[int, int] | None:
        checked = _checked_relative(relative)
        try:
            status = os.stat(checked, dir_fd=handle, follow_symlinks=False)
        except OSError:
            return None
        return (status.st_size, status.st_mtime_ns) if stat.S_ISREG(status.st_mode) else None

    try:
        yield under_root
    finally:
        os.close(handle)
