"""One run at a time per backup folder.

The lock is an advisory `flock` on a file in the backup folder: the kernel releases it when its process
dies, however it dies, so a lock left by a killed run is simply taken over by the next one.
"""

import fcntl
import os
from pathlib import Path
from types import TracebackType

from Errors import BackupFolderError

LOCK_FILE = ".mendeley-backup.lock"


class BackupLock:
    def __init__(self, root: Path) -> None:
        self._path = root / LOCK_FILE
        self._handle: int | None = None

    def __enter__(self) -> "BackupLock":
        handle = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(handle)
            raise BackupFolderError(f"Another mendeley-backup run (process {holder}) is working on "
                                    f"{self._path.parent}; try again once it has finished") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        self._handle = handle
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
