"""One whole run: lock the backup folder, open or start its state, back up the user's library and then
each chosen group (under `groups/<name>/`, each with its own state), and add up what happened.
"""

import logging
import os
from pathlib import Path

from BackupLock import LOCK_FILE, BackupLock
from BackupWorker import BackupWorker, LibraryResult, RunOptions
from Config import GroupSelection
from DocumentInfo import GROUPS_FOLDER, STATE_FILE, TEMP_DIR, AtomicWriter, BackupState, load_state
from Errors import ApiError, BackupError, BackupFolderError, LoginError
from LocalFiles import fatal_error, inside, is_fatal
from MendeleyApi import MendeleyApi
from Naming import collision_key, numbered, safe_folder_name

log = logging.getLogger(__name__)

# What a run itself puts in a folder before the state file exists.
OWN_FILES = {LOCK_FILE, TEMP_DIR}


def run_backup(api: MendeleyApi, root: Path, pattern: str, pattern_given: bool, options: RunOptions,
               groups: GroupSelection) -> LibraryResult:
    if options.dry_run:
        return _run(api, root, pattern, pattern_given, options, groups, AtomicWriter(root / TEMP_DIR))
    refuse_foreign_folder(root)  # before the lock and the temporary folder are put in it
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupFolderError(f"Cannot create the backup folder {root}: {error.strerror}") from error
    try:
        with BackupLock(root):
            writer = AtomicWriter(root / TEMP_DIR)
            writer.prepare()
            try:
                return _run(api, root, pattern, pattern_given, options, groups, writer)
            finally:
                writer.finish()
    except OSError as error:  # a full disk or a read-only folder, wherever it struck first: one clear line
        if is_fatal(error):
            raise fatal_error(error, root) from error
        raise


def _run(api: MendeleyApi, root: Path, pattern: str, pattern_given: bool, options: RunOptions,
         groups: GroupSelection, writer: AtomicWriter) -> LibraryResult:
    state = open_state(root, pattern, pattern_given, options.dry_run, writer)
    worker = BackupWorker(api, root, writer, state, options)
    result = worker.run()
    if groups.any:
        result.add(_run_groups(api, root, state, options, groups, writer))
        if not options.dry_run:
            worker.save_state()
    return result


def refuse_foreign_folder(root: Path) -> None:
    """Refuse a folder with other content and no state: it is not a backup, and a run must neither treat its
    files as its own nor leave files of its own in it."""
    if not root.is_dir() or (root / STATE_FILE).exists():
        return
    strangers = sorted(name for name in os.listdir(root) if name not in OWN_FILES)
    if strangers:
        raise BackupFolderError(f"{root} is not empty and holds no {STATE_FILE} of mendeley-backup "
                                f"(it has {strangers[0]!r}); give an empty folder or an existing backup")


def open_state(root: Path, pattern: str, pattern_given: bool, dry_run: bool, writer: AtomicWriter) -> BackupState:
    """The folder's state; a new one (saved at once, so a killed first run can resume) for an empty folder."""
    state = load_state(root)
    if state is not None:
        if pattern_given and pattern != state.pattern:
            log.warning("The backup in %s was made with the pattern %r; ignoring the pattern %r",
                        root, state.pattern, pattern)
        return state
    refuse_foreign_folder(root)
    state = BackupState(pattern=pattern)
    if not dry_run:
        writer.write_json(root / STATE_FILE, state.to_json())
    return state


def _run_groups(api: MendeleyApi, root: Path, state: BackupState, options: RunOptions, groups: GroupSelection,
                writer: AtomicWriter) -> LibraryResult:
    """Back up each chosen group into its own folder; a group that fails does not stop the others."""
    result = LibraryResult()
    available = [group for group in api.groups().items if group.get("id")]
    chosen = sorted((group for group in available if groups.wants(group)),
                    key=lambda group: (str(group.get("name") or "").casefold(), str(group["id"])))
    known = {str(group["id"]) for group in available} | {str(group.get("name") or "").casefold()
                                                         for group in available}
    for wanted in groups.chosen:
        if wanted not in known and wanted.casefold() not in known:
            log.warning("You are not a member of a group with the id or name %r", wanted)
            result.failures.append(f"group {wanted}: not found")
    for group in chosen:
        group_id, name = str(group["id"]), str(group.get("name") or group["id"])
        label = f"group {name}"
        try:
            folder = _group_folder(root, state, group_id, name, options.dry_run)
            group_root = inside(root, folder)
            if not options.dry_run:
                group_root.mkdir(parents=True, exist_ok=True)
            group_state = open_state(group_root, state.pattern, False, options.dry_run, writer)
            result.add(BackupWorker(api, group_root, writer, group_state, options, group_id, label).run())
        except (LoginError, OSError):
            raise
        except (ApiError, BackupError) as error:
            log.error("%s: %s", label, error)
            result.failures.append(f"{label}: {error}")
    return result


def _group_folder(root: Path, state: BackupState, group_id: str, name: str, dry_run: bool) -> str:
    """`groups/<name>`, distinct from other groups' folders, following the group when it is renamed."""
    wanted = f"{GROUPS_FOLDER}/{safe_folder_name(name)}"
    current = state.groups.get(group_id)
    if current == wanted:
        return current
    taken = {collision_key(folder) for other, folder in state.groups.items() if other != group_id}
    number = 1
    candidate = wanted
    while collision_key(candidate) in taken or (candidate != current and inside(root, candidate).exists()):
        number += 1
        candidate = f"{GROUPS_FOLDER}/{numbered(safe_folder_name(name), number, keep_extension=False)}"
    if current is not None and candidate != current and not dry_run and inside(root, current).is_dir():
        log.info("Group %s was renamed; moving %s to %s", name, current, candidate)
        inside(root, current).rename(inside(root, candidate))
    if not dry_run:
        state.groups[group_id] = candidate
    return candidate
