"""An exclusive lock on a file that the operating system releases when its process ends, however it ends: `flock` on
POSIX, `LockFileEx` on Windows, both through filelock's lock on a descriptor. A lock left by a killed run is therefore
simply taken over by the next one. The holder writes its process id in the file, so that a process kept out can say
which one holds it.
"""

import contextlib
import errno
import logging
import os
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # On a system with neither (no fcntl, not Windows) filelock warns as it is imported that only its soft lock, a
    # file whose existence is the lock, is left. That one is not used here: a killed run would leave it held.
    warnings.simplefilter("ignore")
    from filelock import lock_descriptor, unlock_descriptor

log = logging.getLogger(__name__)

# filelock locks the file's first byte, which on Windows no other process may then read: the holder's process id
# is written after it (the first byte itself is a newline, so the file reads as the id).
HOLDER_OFFSET = 1


class LockFile:
    """One lock file. `mode` is the file's mode when this creates it, less the umask."""

    def __init__(self, path: Path, mode: int = 0o666) -> None:
        self.path = path
        self._mode = mode
        self._handle: int | None = None
        self.real = True  # False when this system cannot lock files: held without keeping anyone out

    def acquire(self) -> bool:
        """Take the lock without waiting: True once this process holds it (and the file names it), False while
        another process does. Raises OSError when the file cannot be opened or written."""
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), self._mode)
        try:
            locked = lock_descriptor(handle, blocking=False)
        except OSError as error:
            if error.errno != errno.ENOSYS:
                os.close(handle)
                raise
            locked, self.real = True, False
        if not locked:
            os.close(handle)
            return False
        self._handle = handle
        try:
            os.ftruncate(handle, 0)
            os.write(handle, f"\n{os.getpid()}\n".encode())
        except OSError:
            self.release()
            raise
        return True

    def holder(self) -> str:
        """The process id the lock file names, `unknown` when it names none or cannot be read."""
        with contextlib.suppress(OSError), open(self.path, "rb") as file:
            file.seek(HOLDER_OFFSET)
            return file.read(32).decode(errors="replace").strip() or "unknown"
        return "unknown"

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):  # closing the file releases the lock all the same
            if self.real:
                unlock_descriptor(self._handle)
        os.close(self._handle)
        self._handle = None
