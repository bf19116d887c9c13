"""The exceptions mendeley-backup raises on purpose, one small hierarchy the entry point catches.

Every message is one line a user can act on; the entry point prints it and exits non-zero.
"""


class BackupError(Exception):
    """Base of every error the tool reports to the user as a one-line message."""

    exit_status = 1


class ConfigError(BackupError):
    """The config file or an option value is unusable."""


class LoginError(BackupError):
    """Logging in, or refreshing the token, failed."""


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
    """The backup folder cannot be used: not ours, locked by another run, unwritable, full."""
