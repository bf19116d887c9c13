"""Every exception mendeley-backup raises on purpose, and the exit statuses they end a run with.

Errors the user sees derive from `BackupError`: each class carries its exit status, and its message is one line a
user can act on; the entry point prints that line and exits with that status. The `OSError`s at the end are failures
of one item (a file, a path), which a run reports and carries on past.
"""

from urllib.parse import urlsplit

import requests

EXIT_OK = 0
EXIT_FAILED = 1  # nothing was backed up this run, or it stopped; nothing already backed up was lost
EXIT_USAGE = 2  # the command line or the config file is wrong
EXIT_PARTIAL = 3  # the run finished but could not back up some items; the next run tries them again


class BackupError(Exception):
    """Base of every error the tool reports to the user as a one-line message."""

    exit_status = EXIT_FAILED


class ConfigError(BackupError):
    """A usage error: an option or a config file key has a value that cannot be used, or options that do not go
    together; the message names the option or key, the value, and what is allowed."""

    exit_status = EXIT_USAGE


class ConfigFileError(BackupError):
    """The config file cannot be read or parsed at all (the original tool exits 1 for that too)."""


class LoginError(BackupError):
    """Logging in, or refreshing the token, failed."""


class TokenRefused(LoginError):
    """The token endpoint refused a refresh token: only a new login helps."""


class ApiError(BackupError):
    """The Mendeley API answered with an error, or could not be reached, after every retry.

    `unreachable`: no answer came at all (`host`, e.g. `api.mendeley.com:443`, is the one tried), so a caller
    that knows it changed nothing can say so.
    """

    def __init__(self, message: str, status: int | None = None, *, unreachable: bool = False,
                 host: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable
        self.host = host


class BackupFolderError(BackupError):
    """The backup folder cannot be used."""


class FolderLockedError(BackupFolderError):
    """Another run is working on the backup folder."""


class NotABackupError(BackupFolderError):
    """The folder holds other files and no backup state: it is not a backup, and is left as it is."""


class FolderUnwritableError(BackupFolderError):
    """The disk is full or the backup folder cannot be written: no further write could succeed."""


class UnfinishedRestoreError(BackupFolderError):
    """A --restore into the account has not finished: a backup now would remove what it has not yet restored."""


class BodyRejected(Exception):
    """Raised by a `parse` function: the body is not what was expected; another try may bring the right one."""


class DownloadError(Exception):
    """One download attempt went wrong in a way another attempt may not."""


class RetriesExhausted(requests.RequestException):
    """Every try of one request failed: no answer came (`answered` False), or none was usable."""

    def __init__(self, method: str, url: str, reason: str, tries: int, seconds: float, answered: bool) -> None:
        super().__init__(reason)
        self.method, self.url, self.reason = method, url, reason
        self.tries, self.seconds, self.answered = tries, seconds, answered

    @property
    def host(self) -> str:
        """`api.mendeley.com:443`: the host and port tried."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class UnsafePathError(OSError):
    """A path would leave the backup folder or pass through a symbolic link inside it."""


class NotOursError(OSError):
    """A file stands where the backup wants to write, and the backup did not put it there."""


class UnrestorableError(OSError):
    """An item of the backup cannot be restored as the backup holds it (its info.json unreadable, a file damaged)."""


class TokenFileError(OSError):
    """The token file could not be written."""
