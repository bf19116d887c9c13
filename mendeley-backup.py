#!/usr/bin/env python3
"""mendeley-backup: create a local, incremental backup of your Mendeley library.

Reads like its data flow: the right Python, settings, logging, then the command (--status, --relayout, a backup or a
--restore: login, the run), the summary, the exit status. Exit status: 0 success, 1 failure, 2 usage error, 3 a run
that finished but could not back up (or restore) some items (or held back removals beyond --max-delete).
"""

# Whatever Python started the script runs this far: one too old, or without the packages, is told what to do in one
# line (or the script runs again under the .venv beside it), before any module that would fail to import.
import sys
import time

import Bootstrap

Bootstrap.require_python()
Bootstrap.require_packages(__file__)
Bootstrap.limit_malloc_arenas()

import logging

from Applier import LibraryResult
from BackupRun import run_backup
from Config import RELAYOUT, RESTORE, STATUS, Settings, load_settings
from Errors import EXIT_FAILED, EXIT_OK, BackupError
from HttpSession import make_session, make_write_session
from Login import Credentials, log_in
from MendeleyApi import MendeleyApi
from Relayout import relayout_backup
from Restore import run_restore
from RestoreLibrary import RestoreResult
from Status import show_status
from Summary import PROGRAM, report, report_restore, report_stop
from Transfers import Bandwidth, Concurrency

log = logging.getLogger(PROGRAM)

# -q keeps warnings and errors; -v adds what happens; -vv debugging detail.
LEVELS = {-1: logging.WARNING, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}


def configure_logging() -> None:
    """Messages go to stderr, each prefixed with the program's name; until the settings say otherwise, warnings
    and errors (those about the config file itself included)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=f"{PROGRAM}: %(message)s")
    # Their output carries URLs with signatures (urllib3 names the URL in its retry warnings too), and tokens:
    # never shown, whatever the verbosity. Failures reach the user as this tool's own one-line errors.
    # charset_normalizer, which requests asks what a body's encoding is, says so at -vv: noise, never the tool's.
    for talkative in ("urllib3", "requests_oauthlib", "oauthlib", "charset_normalizer"):
        logging.getLogger(talkative).setLevel(logging.ERROR)


def log_in_to_api(settings: Settings, transfers: Concurrency) -> tuple[MendeleyApi, Credentials]:
    """Log in: the API client of the run, and its login."""
    http = make_session(settings.http, on_pushback=transfers.pushed_back)
    credentials = log_in(settings.login, http)
    api = MendeleyApi(settings.login.api_host, http, credentials, settings.http, Bandwidth(settings.http.bwlimit))
    return api, credentials


def back_up(settings: Settings) -> LibraryResult:
    transfers = Concurrency(settings.backup.jobs)
    api, _ = log_in_to_api(settings, transfers)
    return run_backup(api, settings, transfers)


def restore(settings: Settings) -> RestoreResult:
    """The backup put back into the account: read through the run's session, written through a session of its own
    that never sends again by itself a request the server may have acted on."""
    transfers = Concurrency(settings.backup.jobs)
    api, credentials = log_in_to_api(settings, transfers)
    writer = MendeleyApi(settings.login.api_host, make_write_session(settings.http, transfers.pushed_back),
                         credentials, settings.http)
    return run_restore(api, writer, settings, transfers)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    configure_logging()
    try:
        settings = load_settings(argv)
    except BackupError as error:
        log.error("%s", error)
        return error.exit_status
    logging.getLogger().setLevel(LEVELS[settings.verbosity])
    try:
        if settings.action == STATUS:
            show_status(settings)
            return EXIT_OK
        if settings.action == RESTORE:
            return report_restore(restore(settings), settings, time.monotonic() - started)
        result = relayout_backup(settings) if settings.action == RELAYOUT else back_up(settings)
    except BackupError as error:
        log.error("%s", error)
        report_stop(settings, str(error), error.exit_status, time.monotonic() - started)
        return error.exit_status
    except KeyboardInterrupt:
        log.error("Interrupted; nothing already backed up was lost, and the next run carries on")
        return EXIT_FAILED
    return report(result, settings, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
