"""A whole --restore: check the groups asked for, open the backup folder, restore the user's library into the account
logged in, then each chosen group's folder into the account's group of the same name, and add up what happened.

Which group a backed-up group folder goes to: the account's group with the id the backup recorded for it (the same
account), else the account's group whose name gives the folder's name (moving accounts). A group whose backup lands
in a group with another id is recorded under that id, so that the next backup of the group carries on in its folder.
"""

import logging
from typing import Any

from Applier import Failure
from BackupFolder import GROUPS_FOLDER, STATE_FILE, BackupFolder, group_folder_name
from BackupRun import chosen_groups
from Config import Settings
from DocumentInfo import BackupState
from Errors import BackupError, BackupFolderError, FolderUnwritableError, LoginError
from MendeleyApi import MendeleyApi
from Naming import collision_key, safe_folder_name
from RestoreLibrary import LibraryRestore, RestoreResult
from Transfers import Concurrency

log = logging.getLogger(__name__)


def run_restore(api: MendeleyApi, writer: MendeleyApi, settings: Settings, transfers: Concurrency) -> RestoreResult:
    """Restore the backup in the output folder; `api` reads the account, `writer` (on a write session) adds to it;
    `transfers`: how many documents are restored at once, learnt over the whole restore (the groups' included)."""
    root = settings.output_dir
    if not (root / STATE_FILE).is_file():
        raise BackupFolderError(f"{root} holds no backup to restore (no {STATE_FILE} of mendeley-backup); give the "
                                f"backup folder with -o")
    dry_run = settings.backup.dry_run
    groups = chosen_groups(api, settings.groups) if settings.groups.any else []
    with BackupFolder.opened(root, dry_run) as folder:
        state = folder.load_state()
        if state is None:
            raise BackupFolderError(f"{root} holds no backup to restore (its {STATE_FILE} is gone)")
        result = LibraryRestore(api, writer, folder, state, settings.backup, transfers).run()
        if settings.groups.any:
            result.add(_restore_groups(api, writer, folder, state, settings, groups, transfers))
            if not dry_run:
                folder.save_state(state)
        return result


def _restore_groups(api: MendeleyApi, writer: MendeleyApi, folder: BackupFolder, state: BackupState,
                    settings: Settings, groups: list[dict[str, Any]], transfers: Concurrency) -> RestoreResult:
    """Restore each chosen group's folder into the account's group; a group that fails does not stop the others."""
    result = RestoreResult()
    selection, dry_run = settings.groups, settings.backup.dry_run
    placed: set[str] = set()
    for group in groups:
        group_id, name = str(group["id"]), str(group.get("name") or group["id"])
        label = f"group {name}"
        backed_up = _backed_up_group(state, group_id, name, placed)
        if backed_up is None:
            if not selection.everything:
                log.error("%s: the backup holds no folder of this group", label)
                result.failures.append(Failure(label, "the backup holds no folder of it"))
            continue
        old_id, relative = backed_up
        placed.add(group_id if not dry_run else old_id)
        try:
            if old_id != group_id and not dry_run:
                log.info("%s: restoring %s into the group %s of this account", label, relative, group_id)
                state.move_group(old_id, group_id)
                folder.save_state(state)
            group_folder = BackupFolder(folder.path(relative), folder.writer, folder.path_chars - len(relative) - 1)
            group_state = group_folder.load_state()
            if group_state is None:
                raise BackupFolderError(f"{group_folder.root} holds no backup state")
            result.add(LibraryRestore(api, writer, group_folder, group_state, settings.backup, transfers, group_id,
                                      label).run())
        except (LoginError, FolderUnwritableError):
            raise
        except BackupError as error:
            log.error("%s: %s", label, error)
            result.failures.append(Failure(label, str(error)))
    if selection.everything:
        for old_id, relative in sorted(state.groups.items(), key=lambda item: item[1]):
            if old_id not in placed:
                log.error("%s: the account is a member of no group of this name; not restored", relative)
                result.failures.append(Failure(relative, "no group of this name in the account"))
    return result


def _backed_up_group(state: BackupState, group_id: str, name: str, placed: set[str]) -> tuple[str, str] | None:
    """The backed-up group folder for one of the account's groups, and the group id the backup knows it by; not one
    that another group of the account already took."""
    if group_id in state.groups:
        return group_id, state.groups[group_id]
    wanted = {collision_key(group_folder_name(name)), collision_key(f"{GROUPS_FOLDER}/{safe_folder_name(name)}")}
    return next(((old_id, relative) for old_id, relative in state.groups.items()
                 if old_id not in placed and collision_key(relative) in wanted), None)
