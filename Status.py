"""--status: what a backup holds and how it stands, from its state files alone: no login, no server, nothing written.
Works on a backup the original tool wrote too, which records no more than its documents' folders, its pattern and
the start of its last run.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from BackupFolder import STATE_FILE, TEMP_DIR, AtomicWriter, BackupFolder
from Config import Settings
from DocumentInfo import RUN_STOPPED, RUN_SUCCEEDED, BackupState
from Errors import BackupFolderError
from Summary import NAMED_FAILURES, human_bytes, human_duration
from Timestamps import format_time, parse_time


@dataclass
class Holdings:
    """What one library's backup holds."""

    documents: int = 0
    trashed: int = 0  # of them, kept from the Mendeley trash
    files: int = 0
    bytes: int = 0
    annotations: int = 0

    def describe(self) -> str:
        return (f"{self.documents:,} documents, {self.files:,} files, {human_bytes(self.bytes)}, "
                f"{self.annotations:,} annotations")


@dataclass
class Status:
    backup: str
    pattern: str
    library: Holdings
    groups: dict[str, Holdings] = field(default_factory=dict)  # by group folder name
    last_run: dict[str, Any] | None = None
    written_by_original: bool = False
    original_run_started: str | None = None  # the original's `last_backup_time`, when it wrote the backup
    last_full_listing: str | None = None
    relayout_pending: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def holdings(folder: BackupFolder, state: BackupState) -> Holdings:
    """Counts and sizes from the state; a file whose size it does not record (an original backup's) is looked at."""
    held = Holdings()
    for entry in state.entries.values():
        held.documents += 1
        held.trashed += entry.trashed
        held.annotations += len(entry.annotations)
        for record in entry.files.values():
            held.files += 1
            size = record.size
            if size is None:
                signature = folder.signature(f"{entry.path}/{record.name}")
                size = signature[0] if signature else 0
            held.bytes += size
    return held


def backup_status(settings: Settings) -> Status:
    folder = BackupFolder(settings.output_dir, AtomicWriter(settings.output_dir / TEMP_DIR))  # only read
    state = folder.load_state()
    if state is None:
        raise BackupFolderError(f"{settings.output_dir} holds no mendeley-backup backup (it has no {STATE_FILE})")
    status = Status(backup=str(folder.root), pattern=state.pattern, library=holdings(folder, state),
                    last_run=state.last_run.to_json() if state.last_run else None,
                    written_by_original=state.from_original and state.last_run is None,
                    last_full_listing=format_time(state.last_full_listing) if state.last_full_listing else None,
                    relayout_pending=state.relayout_pending)
    if status.written_by_original and state.cutoff:
        status.original_run_started = format_time(state.cutoff)
    for _, group_folder in folder.held_groups(state):
        group_state = group_folder.load_state()
        if group_state is not None:
            status.groups[group_folder.root.name] = holdings(group_folder, group_state)
    return status


def status_lines(status: Status) -> list[str]:
    held = status.library
    trashed = f" ({held.trashed:,} kept from the Mendeley trash)" if held.trashed else ""
    lines = [f"backup: {status.backup}", f"pattern: {status.pattern}"
             + (" (a --relayout to it is not finished: the next run finishes it)" if status.relayout_pending else ""),
             f"documents: {held.documents:,}{trashed}", f"files: {held.files:,}, {human_bytes(held.bytes)}",
             f"annotations: {held.annotations:,}",
             "groups: " + ("; ".join(f"{name} ({group.describe()})" for name, group in status.groups.items())
                           if status.groups else "none")]
    lines += _last_run_lines(status)
    lines.append(f"last full listing: {_when(status.last_full_listing) if status.last_full_listing else 'never'}")
    return lines


def _last_run_lines(status: Status) -> list[str]:
    run = status.last_run
    if run is None:
        if status.written_by_original:
            started = f" (its last run started {_when(status.original_run_started)})" \
                if status.original_run_started else ""
            return [f"last run: by the original mendeley-backup{started}; its outcome is not recorded"]
        return ["last run: none has finished yet"]
    when = f"{_when(run['started'])} ({human_duration(run['seconds'])})"
    if run["outcome"] == RUN_SUCCEEDED:
        outcome = "succeeded"
    elif run["outcome"] == RUN_STOPPED:
        outcome = f"stopped (exit status {run['exit_status']}): {run['error']}"
    else:
        parts = [f"{len(run['failures'])} item(s) could not be backed up"] if run["failures"] else []
        parts += [f"{run['held_back']} removal(s) held back by --max-delete"] if run["held_back"] else []
        outcome = f"finished, but {' and '.join(parts)} (exit status {run['exit_status']})"
    lines = [f"last run: {when}: {outcome}"]
    failures = run["failures"]
    if failures:
        named = "; ".join(f"{failure['item']} ({failure['error']})" for failure in failures[:NAMED_FAILURES])
        more = f"; and {len(failures) - NAMED_FAILURES} more" if len(failures) > NAMED_FAILURES else ""
        lines.append(f"failed last time: {named}{more}")
    return lines


def _when(moment: str | None) -> str:
    """An ISO-8601 time of the state as `2024-05-01 12:00:00 UTC`."""
    parsed = parse_time(moment)
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC") if parsed else "an unreadable time"


def show_status(settings: Settings) -> None:
    status = backup_status(settings)
    print(json.dumps(status.to_json(), ensure_ascii=False) if settings.json else "\n".join(status_lines(status)))
