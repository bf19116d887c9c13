#!/usr/bin/env python3
"""mendeley-backup: create a local, incremental backup of your Mendeley library.

Reads like its data flow: the right Python, settings, logging, login, the run, the summary, the exit status.
Exit status: 0 success, 1 failure, 2 usage error, 3 a run that finished but could not back up some items.
"""

# Whatever Python started the script runs this far: one too old, or without the packages, is told what to do in one
# line (or the script runs again under the .venv beside it), before any module that would fail to import.
import sys

import Bootstrap

Bootstrap.require_python()
Bootstrap.require_packages(__file__)

import logging

from Applier import LibraryResult
from BackupRun import run_backup
from Config import Settings, load_settings
from Errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, BackupError
from HttpSession import make_session
from Login import log_in
from MendeleyApi import MendeleyApi
from Planner import MOVED, NEW, REMOVED, UPDATED
from Transfers import Concurrency

log = logging.getLogger("mendeley-backup")


def configure_logging(verbosity: int) -> None:
    """Messages go to stderr: errors always, warnings unless quiet, progress notes with -v, details with -vv."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr, format="mendeley-backup: %(message)s")
    # Their output carries URLs with signatures (urllib3 names the URL in its retry warnings too), and tokens:
    # never shown, whatever the verbosity. Failures reach the user as this tool's own one-line errors.
    for talkative in ("urllib3", "requests_oauthlib", "oauthlib"):
        logging.getLogger(talkative).setLevel(logging.ERROR)


def summary_lines(result: LibraryResult) -> list[str]:
    """The four lines scripts parse, exactly as the original tool printed them, then the annotations."""
    counts = result.counts
    return [f"{counts[NEW]} new documents were added",
            f"{counts[REMOVED]} documents were removed",
            f"{counts[UPDATED]} documents were updated",
            f"{counts[MOVED]} documents were moved and possibly updated",
            f"{result.annotation_changes} annotations were added, changed or removed"]


def back_up(settings: Settings) -> LibraryResult:
    transfers = Concurrency(settings.backup.jobs)
    http = make_session(settings.http, on_pushback=transfers.pushed_back)
    credentials = log_in(settings.login, http)
    api = MendeleyApi(settings.login.api_host, http, credentials, settings.http)
    return run_backup(api, settings, transfers)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(argv)
    except BackupError as error:
        configure_logging(0)
        log.error("%s", error)
        return error.exit_status
    configure_logging(settings.verbosity)
    try:
        result = back_up(settings)
    except BackupError as error:
        log.error("%s", error)
        return error.exit_status
    except KeyboardInterrupt:
        log.error("Interrupted; nothing already backed up was lost, and the next run carries on")
        return EXIT_FAILED
    for line in result.plan_lines + summary_lines(result):
        print(line)
    if result.failures:
        log.error("%d item(s) could not be backed up this run: %s", len(result.failures), "; ".join(result.failures))
        return EXIT_PARTIAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
