"""One whole run: check the groups asked for, open the backup folder, back up the user's library and then each chosen
group (under `groups/<name>/`, each with its own state), add up what happened, and record how the run went in the
state for --status.
"""

import logging
import time
from datetime import datetime, timezone
from typing import Any

from Applier import LIBRARY, Failure, LibraryResult
from BackupFolder import STATE_FILE, BackupFolder
from BackupWorker import BackupWorker
from Config import BackupOptions, GroupSelection, Settings, group_matches
from DocumentInfo import RUN_PARTIAL, RUN_STOPPED, RUN_SUCCEEDED, BackupState, RunRecord
from Errors import BackupError, ConfigError, FolderUnwritableError, LoginError
from MendeleyApi import MendeleyApi
from Relayout import relayout_library
from Summary import exit_status
from Transfers import Concurrency

log = logging.getLogger(__name__)


def run_backup(api: MendeleyApi, settings: Settings, transfers: Concurrency) -> LibraryResult:
    """`transfers`: how many downloads run at once, learnt over the whole run (the groups' included)."""
    dry_run = settings.backup.dry_run
    groups = chosen_groups(api, settings.groups) if settings.groups.any else []
    started, clock = datetime.now(timezone.utc), time.monotonic()
    with BackupFolder.opened(settings.output_dir, dry_run) as folder:
        state = folder.open_state(settings.pattern, settings.pattern_given)
        try:
            result = _back_up_library(api, folder, state, settings.backup, transfers)
            if groups:
                if not dry_run:
                    folder.save_state(state)  # the user's library is done, whatever becomes of the groups
                result.add(_run_groups(api, folder, state, settings.backup, groups, transfers))
        except BackupError as error:
            if not dry_run and not isinstance(error, FolderUnwritableError) and folder.has(STATE_FILE):
                state.record_run(RunRecord(started, time.monotonic() - clock, RUN_STOPPED, error.exit_status,
                                           error=str(error)))
                folder.save_state(state)
            raise
        if not dry_run:
            status = exit_status(result)
            state.record_run(RunRecord(
                started, time.monotonic() - clock, RUN_PARTIAL if status else RUN_SUCCEEDED, status,
                failures=tuple((failure.item, failure.error) for failure in result.failures),
                held_back=len(result.held_back)))
            folder.save_state(state)
        return result


def _back_up_library(api: MendeleyApi, folder: BackupFolder, state: BackupState, options: BackupOptions,
                     transfers: Concurrency, group_id: str | None = None, label: str = LIBRARY) -> LibraryResult:
    """One library: the moves of a --relayout that was stopped first, then the backup."""
    result = LibraryResult()
    if state.relayout_pending:
        result.add(relayout_library(folder, state, options, label, api))
    result.add(BackupWorker(api, folder, state, options, transfers, group_id, label).run())
    return result


def chosen_groups(api: MendeleyApi, selection: GroupSelection) -> list[dict[str, Any]]:
    """The groups to back up, in name order; a group asked for that the account does not have is a usage error,
    found before anything is written."""
    available = [group for group in api.groups().items if group.get("id")]
    unknown = [wanted for wanted in selection.chosen if not any(group_matches(wanted, group) for group in available)]
    if unknown:
        names = ", ".join(repr(str(group.get("name") or group["id"])) for group in available)
        raise ConfigError(f"{selection.setting}: this account has no group {', '.join(map(repr, unknown))}; "
                          + (f"its groups are {names}" if names else "it is a member of no group"))
    return sorted((group for group in available if selection.wants(group)),
                  key=lambda group: (str(group.get("name") or "").casefold(), str(group["id"])))


def _run_groups(api: MendeleyApi, folder: BackupFolder, state: BackupState, options: BackupOptions,
                groups: list[dict[str, Any]], transfers: Concurrency) -> LibraryResult:
    """Back up each chosen group into its own folder; a group that fails does not stop the others."""
    result = LibraryResult()
    for group in groups:
        group_id, name = str(group["id"]), str(group.get("name") or group["id"])
        label = f"group {name}"
        try:
            with folder.fatal_errors():
                group_folder = folder.group(state, group_id, name, options.dry_run)
                group_state = group_folder.open_state(state.pattern, False)
            result.add(_back_up_library(api, group_folder, group_state, options, transfers, group_id, label))
            if not options.dry_run:
                group_folder.save_state(group_state)
        except (LoginError, FolderUnwritableError):
            raise
        except BackupError as error:
            log.error("%s: %s", label, error)
            result.failures.append(Failure(label, str(error)))
    return result
