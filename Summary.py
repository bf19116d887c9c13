"""What a run prints at its end, and its exit status.

- stdout: the original's four lines (scripts parse them) and the annotations line, worded as what would happen in a
  dry run (a --restore: what it restored, uploaded and created); nothing with -q; with --json, one JSON object
  instead, for scripts.
- stderr: a totals line (documents and files checked, bytes downloaded, time taken; or restored and uploaded) on a
  terminal or with -v; and, when items failed, one line counting them and naming the first few (each was reported
  once as it failed).
"""

import json
import logging
import sys
from typing import Any

from Applier import Failure, LibraryResult
from Config import RESTORE, Settings
from Errors import EXIT_OK, EXIT_PARTIAL
from Planner import MOVED, NEW, REMOVED, UPDATED
from RestoreLibrary import ANNOTATIONS, DOCUMENTS, FILES, FOLDERS, LEFT_ALONE, RestoreResult

PROGRAM = "mendeley-backup"
log = logging.getLogger(PROGRAM)

# How many failed items the final line names.
NAMED_FAILURES = 5

DONE_LINES = ("{new} new documents were added", "{removed} documents were removed", "{updated} documents were updated",
              "{moved} documents were moved and possibly updated",
              "{annotations} annotations were added, changed or removed")
WOULD_LINES = ("{new} new documents would be added", "{removed} documents would be removed",
               "{updated} documents would be updated", "{moved} documents would be moved and possibly updated",
               "{annotations} annotations would be added, changed or removed")
RESTORE_LINES = ("{documents} documents {verb} restored", "{files} files {verb} uploaded",
                 "{folders} folders {verb} created", "{annotations} annotations {verb} restored",
                 "{left_alone} documents were already in the account and left alone")


def exit_status(result: LibraryResult) -> int:
    """3 when items could not be backed up or removals were held back; 0 otherwise."""
    return EXIT_PARTIAL if result.failures or result.held_back else EXIT_OK


def summary_lines(result: LibraryResult, dry_run: bool) -> list[str]:
    """The four lines scripts parse, exactly as the original tool printed them, then the annotations."""
    counts = result.counts
    return [line.format(new=counts[NEW], removed=counts[REMOVED], updated=counts[UPDATED], moved=counts[MOVED],
                        annotations=result.annotation_changes) for line in (WOULD_LINES if dry_run else DONE_LINES)]


def totals_line(result: LibraryResult, seconds: float) -> str:
    return (f"{result.documents:,} documents and {result.files:,} files checked, "
            f"{human_bytes(result.bytes_downloaded)} downloaded, in {human_duration(seconds)}")


def failures_line(failures: list[Failure], restore: bool = False) -> str | None:
    """One line for every item that failed: how many, the first few by name, and what happens next."""
    if not failures:
        return None
    named = "; ".join(failure.item for failure in failures[:NAMED_FAILURES])
    more = f"; and {len(failures) - NAMED_FAILURES} more" if len(failures) > NAMED_FAILURES else ""
    done, next_run = ("restored", "the next --restore") if restore else ("backed up", "the next run")
    return f"{len(failures)} item(s) could not be {done} this run ({next_run} tries them again): {named}{more}"


def _failures_json(failures: list[Failure]) -> list[dict[str, str]]:
    return [{"item": failure.item, "error": failure.error} for failure in failures]


def summary_json(result: LibraryResult, settings: Settings, seconds: float, status: int,
                 error: str | None = None) -> str:
    counts = result.counts
    data: dict[str, Any] = {
        "new": counts[NEW], "removed": counts[REMOVED], "updated": counts[UPDATED], "moved": counts[MOVED],
        "annotations": result.annotation_changes, "documents_checked": result.documents,
        "files_checked": result.files, "bytes_downloaded": result.bytes_downloaded, "seconds": round(seconds, 3),
        "failures": _failures_json(result.failures),
        "held_back": result.held_back, "dry_run": settings.backup.dry_run, "plan": result.plan_lines,
        "exit_status": status, "error": error}
    return json.dumps(data, ensure_ascii=False)


def restore_summary_lines(result: RestoreResult, dry_run: bool) -> list[str]:
    """What a restore made (or would make), one count a line."""
    counts = result.counts
    return [line.format(documents=counts[DOCUMENTS], files=counts[FILES], folders=counts[FOLDERS],
                        annotations=counts[ANNOTATIONS], left_alone=counts[LEFT_ALONE],
                        verb="would be" if dry_run else "were") for line in RESTORE_LINES]


def restore_totals_line(result: RestoreResult, seconds: float) -> str:
    counts = result.counts
    return (f"{counts[DOCUMENTS]:,} documents, {counts[FILES]:,} files and {counts[ANNOTATIONS]:,} annotations "
            f"restored, {human_bytes(result.bytes_uploaded)} uploaded, in {human_duration(seconds)}")


def restore_json(result: RestoreResult, settings: Settings, seconds: float, status: int,
                 error: str | None = None) -> str:
    counts = result.counts
    data: dict[str, Any] = {
        "documents_restored": counts[DOCUMENTS], "files_uploaded": counts[FILES], "folders_created": counts[FOLDERS],
        "annotations_restored": counts[ANNOTATIONS], "documents_left_alone": counts[LEFT_ALONE],
        "bytes_uploaded": result.bytes_uploaded, "seconds": round(seconds, 3),
        "failures": _failures_json(result.failures), "dry_run": settings.backup.dry_run, "plan": result.plan_lines,
        "exit_status": status, "error": error}
    return json.dumps(data, ensure_ascii=False)


def report(result: LibraryResult, settings: Settings, seconds: float) -> int:
    """Print the end of a backup (or --relayout) that finished; its exit status."""
    status = exit_status(result)
    _print_end(settings, summary_json(result, settings, seconds, status) if settings.json else "",
               result.plan_lines + summary_lines(result, settings.backup.dry_run), totals_line(result, seconds),
               failures_line(result.failures))
    return status


def report_restore(result: RestoreResult, settings: Settings, seconds: float) -> int:
    """Print the end of a --restore that finished; its exit status: 3 when items could not be restored."""
    status = EXIT_PARTIAL if result.failures else EXIT_OK
    _print_end(settings, restore_json(result, settings, seconds, status) if settings.json else "",
               result.plan_lines + restore_summary_lines(result, settings.backup.dry_run),
               restore_totals_line(result, seconds), failures_line(result.failures, restore=True))
    return status


def report_stop(settings: Settings, error: str, status: int, seconds: float) -> None:
    """For a run that stopped (its one error line already printed): with --json, the object scripts wait for."""
    if settings.json:
        print(restore_json(RestoreResult(), settings, seconds, status, error) if settings.action == RESTORE else
              summary_json(LibraryResult(), settings, seconds, status, error))


def _print_end(settings: Settings, json_text: str, lines: list[str], totals: str, failures: str | None) -> None:
    """The JSON object (--json) or the lines on stdout, the totals line on a terminal's stderr or with -v, and the
    line of failures."""
    if settings.json:
        print(json_text)
    elif settings.verbosity >= 0:
        for line in lines:
            print(line)
        if settings.verbosity >= 1 or sys.stderr.isatty():
            print(f"{PROGRAM}: {totals}", file=sys.stderr)
    if failures:
        log.error("%s", failures)


def human_bytes(count: float) -> str:
    """`0 B`, `512 B`, `12.3 kB`, `4.5 MB`, `1.2 GB` (powers of 1000)."""
    units = ("B", "kB", "MB", "GB", "TB")
    power = 0
    while count >= 1000 and power < len(units) - 1:
        count /= 1000
        power += 1
    return f"{count:.0f} B" if power == 0 else f"{count:.1f} {units[power]}"


def human_duration(seconds: float) -> str:
    """`0.4 s`, `12.0 s`, `3 min 5 s`, `2 h 1 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"
