"""One whole run: open the backup folder, back up the user's library and then each chosen group (under
`groups/<name>/`, each with its own state), and add up what happened.
"""

import logging

from Applier import LibraryResult
from BackupFolder import BackupFolder
from BackupWorker import BackupWorker
from Config import Settings
from DocumentInfo import BackupState
from Errors import BackupError, FolderUnwritableError, LoginError
from MendeleyApi import MendeleyApi
from Transfers import Concurrency

log = logging.getLogger(__name__)


def run_backup(api: MendeleyApi, settings: Settings, transfers: Concurrency) -> LibraryResult:
    """`transfers`: how many downloads run at once, learnt over the whole run (the groups' included)."""
    dry_run = settings.backup.dry_run
    with BackupFolder.opened(settings.output_dir, dry_run) as folder:
        state = folder.open_state(settings.pattern, settings.pattern_given, dry_run)
        result = BackupWorker(api, folder, state, settings.backup, transfers).run()
        if settings.groups.any:
            result.add(_run_groups(api, folder, state, settings, transfers))
            if not dry_run:
                folder.save_state(state)
        return result


def _run_groups(api: MendeleyApi, folder: BackupFolder, state: BackupState, settings: Settings,
                transfers: Concurrency) -> LibraryResult:
    """Back up each chosen group into its own folder; a group that fails does not stop the others."""
    result = LibraryResult()
    selection = settings.groups
    available = [group for group in api.groups().items if group.get("id")]
    chosen = sorted((group for group in available if selection.wants(group)),
                    key=lambda group: (str(group.get("name") or "").casefold(), str(group["id"])))
    known = {str(group["id"]) for group in available} | {str(group.get("name") or "").casefold()
                                                         for group in available}
    for wanted in selection.chosen:
        if wanted not in known and wanted.casefold() not in known:
            log.warning("You are not a member of a group with the id or name %r", wanted)
            result.failures.append(f"group {wanted}: not found")
    for group in chosen:
        group_id, name = str(group["id"]), str(group.get("name") or group["id"])
        label = f"group {name}"
        try:
            with folder.fatal_errors():
                group_folder = folder.group(state, group_id, name, settings.backup.dry_run)
                group_state = group_folder.open_state(state.pattern, False, settings.backup.dry_run)
            result.add(BackupWorker(api, group_folder, group_state, settings.backup, transfers, group_id, label).run())
        except (LoginError, FolderUnwritableError):
            raise
        except BackupError as error:
            log.error("%s: %s", label, error)
            result.failures.append(f"{label}: {error}")
    return result
