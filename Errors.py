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
    """The Mendeley API answered with an error, or could not be reached, after every retry."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BackupFolderError(BackupError):
    """The backup folder cannot be used: not ours, locked by another run, unwritable, full."""
