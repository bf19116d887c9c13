"""The plan of a run: from the backup's state and what the server said, which documents are added,
updated, moved, trashed, restored or removed, where each folder and file goes, and what that counts as in
the summary. Pure: no I/O, so `--dry-run` prints exactly what a run would do.

Removal needs positive evidence: a complete listing that lacks the document, or the server saying it was
deleted or trashed. Nothing else removes anything.

New paths stay within the library's share of Naming.MAX_PATH_CHARS: a document folder within all of it but
FILE_NAME_ROOM (its title cut first), each file within what its folder leaves. Held documents and files keep the
names they were given, cut or not.
"""

import functools
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from BackupFolder import RESERVED_TOP_NAMES, TRASH_FOLDER
from DocumentInfo import DOCUMENT_FOLDER_FILES, BackupState, Entry, FileRecord
from Naming import (
    FILE_NAME_ROOM,
    MAX_PATH_CHARS,
    MIN_NAME_CHARS,
    Pattern,
    collision_key,
    numbered,
    render_path,
    safe_file_name,
)
from PathAllocator import PathAllocator, file_chars, fits_file, fits_folder
from RemoteLibrary import Snapshot
from Timestamps import same_time

RESERVED_FILE_KEYS = frozenset(collision_key(name) for name in DOCUMENT_FOLDER_FILES)

NEW, UPDATED, MOVED, REMOVED = "new", "updated", "moved", "removed"

# What a run's check of the backup's files (a stat each, against the state's size and mtime) found of a copy: gone or
# of another size, it must be fetched again; with only another mtime, its hash decides.
MISSING, RESIZED, TOUCHED = "missing", "resized", "touched"
Doubts = Mapping[str, Mapping[str, str]]  # document id -> file id -> MISSING, RESIZED or TOUCHED
NO_DOUBTS: Mapping[str, Any] = MappingProxyType({})
# What most documents of a large plan have none of, shared rather than made empty for each (plans are slotted for
# the same reason: a first backup plans every document of the library at once).
NO_FILES: Mapping[str, FileRecord] = MappingProxyType({})
NO_ANNOTATIONS: tuple[Sequence[dict[str, Any]], Set[str]] = ((), frozenset())


@dataclass(slots=True)
class FilePlan:
    """A file the document holds after the run."""

    file_id: str
    wanted: str  # the name the server's file name gives, made safe
    sha1: str | None
    size: int | None
    local: FileRecord | None = None  # the copy the backup already holds, if any
    name: str = ""  # the name it gets, given by the planner
    doubt: str | None = None  # MISSING, RESIZED or TOUCHED: the held copy no longer matches the state

    @property
    def needs_download(self) -> bool:
        return self.local is None or self.doubt in (MISSING, RESIZED) or (
            self.local.sha1 is not None and self.sha1 is not None and self.local.sha1 != self.sha1.lower())

    @property
    def changes(self) -> bool:
        """Whether the backup's copy of this file changes: fetched, replaced, renamed or checked."""
        return self.needs_download or self.local is None or self.local.sha1 is None or self.doubt is not None \
            or self.name != self.local.name


@dataclass(slots=True)
class DocumentPlan:
    """What happens to one document that is added or changes."""

    doc_id: str
    path: str
    old_path: str | None
    count_as: str | None  # NEW, UPDATED, MOVED, REMOVED (moved to the kept trash), or None (silent refresh)
    created: str
    listed: bool  # its JSON for info.json is the listing's; else the one on disk stays
    last_modified: str | None
    files: list[FilePlan]
    folder_uuids: tuple[str, ...]
    trashed: bool = False
    removed_files: Mapping[str, FileRecord] = field(default_factory=lambda: NO_FILES)  # deleted in the removal phase
    annotation_upserts: Sequence[dict[str, Any]] = ()
    annotation_removals: Set[str] = frozenset()  # applied in the removal phase

    @property
    def moves(self) -> bool:
        return self.old_path is not None and self.old_path != self.path

    # Pickled (the Applier keeps a large plan on disk while it works) with the shared read-only empty, which pickle
    # cannot take, as None.
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(None if value is NO_FILES else value for value in map(self.__getattribute__, self.__slots__))

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, NO_FILES if value is None and name == "removed_files" else value)

    def describe(self) -> str:
        verb = {NEW: "add", UPDATED: "update", MOVED: "move", REMOVED: "trash"}.get(self.count_as or "", "refresh")
        where = f"{self.old_path} -> {self.path}" if self.moves else self.path
        downloads = sum(plan.needs_download for plan in self.files)
        return f"would {verb}: {where}" + (f" ({downloads} file(s) to download)" if downloads else "")


@dataclass(slots=True)
class Removal:
    """A backed-up document the server has positively lost: its folder goes in the removal phase."""

    doc_id: str
    entry: Entry

    def describe(self) -> str:
        return f"would remove: {self.entry.path}"


@dataclass
class Plan:
    documents: list[DocumentPlan] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        counts = Counter(plan.count_as for plan in self.documents if plan.count_as)
        counts[REMOVED] += len(self.removals)
        return counts

    @property
    def annotation_changes(self) -> int:
        return sum(len(plan.annotation_upserts) + len(plan.annotation_removals) for plan in self.documents)

    def describe(self) -> list[str]:
        return [plan.describe() for plan in self.documents] + [removal.describe() for removal in self.removals]


def folder_path(folder_ids: Sequence[str], folders: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    """The folder path (`Parent`, `Child`) of a document: the first, in a stable order, of its folders."""
    paths = []
    for folder_id in folder_ids:
        names: list[str] = []
        current = folder_id
        while current in folders and len(names) <= len(folders):
            names.insert(0, str(folders[current].get("name") or current))
            current = folders[current].get("parent_id") or ""
        if names:
            paths.append((tuple(name.casefold() for name in names), folder_id, tuple(names)))
    return min(paths)[2] if paths else ()


class Planner:
    """Works out the plan of one library's run from its state."""

    def __init__(self, state: BackupState, pattern: Pattern, keep_trashed: bool,
                 max_path_chars: int = MAX_PATH_CHARS) -> None:
        """`max_path_chars`: how long a new path in the library's folder may be."""
        self._entries = state.entries
        self._old_folders = state.folders
        self._pattern = pattern
        self._keep_trashed = keep_trashed
        self._folder_chars = max(MIN_NAME_CHARS, max_path_chars - FILE_NAME_ROOM)
        self._reserved = {collision_key(name) for name in RESERVED_TOP_NAMES}
        self._pending = state.pending
        self._max_path_chars = max_path_chars

    @functools.cached_property
    def _allocator(self) -> PathAllocator:
        """The paths held, made only when a document needs a folder or a file named (a run with no change names
        none, and a large library's paths take tens of megabytes)."""
        allocator = PathAllocator(RESERVED_TOP_NAMES, DOCUMENT_FOLDER_FILES, self._max_path_chars)
        for entry in self._entries.values():
            allocator.hold_folder(entry.path)
            for path in itertools.chain(entry.file_paths(), entry.copy_paths()):  # no new file takes a copy's name
                allocator.hold_file(path)
        for path in self._pending:
            allocator.hold_file(path)
        return allocator

    def plan(self, snapshot: Snapshot, held_documents: Mapping[str, dict[str, Any]],
             doubts: Doubts = NO_DOUBTS) -> Plan:
        """The plan; `held_documents` gives the backed-up JSON of a document the server did not list, looked up only
        for those whose folder must be worked out again; `doubts`, the held files whose copy no longer matches
        the state (checked again, and fetched again if they differ, whether the server listed them or not)."""
        plan = Plan()
        drafts: list[tuple[DocumentPlan, tuple[str, ...] | None]] = []
        annotations = _annotations_by_document(snapshot, self._entries)
        for doc_id, document in snapshot.documents.items():
            drafts.append(self._listed(doc_id, document, snapshot, annotations.pop(doc_id, NO_ANNOTATIONS),
                                       doubts.get(doc_id, NO_DOUBTS)))
        for doc_id, entry in self._entries.items():
            if doc_id in snapshot.documents:
                continue
            if self._removed(doc_id, entry, snapshot):
                plan.removals.append(Removal(doc_id, entry))
                continue
            trashing = doc_id in snapshot.trashed_ids and not entry.trashed
            reread = held_documents.get(doc_id) if self._folder_renamed(entry, snapshot) else None
            unlisted = self._unlisted(doc_id, entry, snapshot, reread, annotations.pop(doc_id, NO_ANNOTATIONS),
                                      trashing, doubts.get(doc_id, NO_DOUBTS))
            if unlisted:
                drafts.append(unlisted)
        plan.documents = self._placed(drafts)
        plan.removals.sort(key=lambda removal: removal.entry.path)
        return plan

    def relayout(self, held_documents: Mapping[str, dict[str, Any]]) -> tuple[Plan, list[str]]:
        """For --relayout: every held document whose folder does not fit the pattern moves to its place under it,
        worked out from its backed-up JSON and the folder tree the backup follows; nothing is fetched. Also the
        ids of the documents left where they are because their info.json cannot be read."""
        drafts: list[tuple[DocumentPlan, tuple[str, ...] | None]] = []
        unreadable = []
        for doc_id, entry in self._entries.items():
            document = held_documents.get(doc_id)
            if not document:
                unreadable.append(doc_id)
                continue
            components = render_path(self._pattern, document, folder_path(entry.folder_uuids, self._old_folders))
            if entry.trashed:
                components = (TRASH_FOLDER, *components)
            if not fits_folder(entry.path, components):
                drafts.append((self._held_draft(doc_id, entry, NO_ANNOTATIONS, MOVED, entry.trashed), components))
        return Plan(documents=self._placed(drafts)), unreadable

    def _placed(self, drafts: list[tuple[DocumentPlan, tuple[str, ...] | None]]) -> list[DocumentPlan]:
        """The drafts that change anything, each given its folder (in creation order, so that the older document
        keeps a contested name) and its files' names, and counted."""
        drafts.sort(key=lambda draft: (draft[0].created, draft[0].doc_id))
        for draft, components in drafts:
            if components is not None:
                draft.path = self._allocator.folder(self._clear_of_reserved(components, draft.trashed))
                if draft.count_as is None and draft.moves:
                    draft.count_as = MOVED
        for draft, _ in drafts:
            self._place_files(draft)
            held = self._entries.get(draft.doc_id)
            if draft.count_as is None and held is not None and draft.listed \
                    and _counted_change(draft, held):
                draft.count_as = UPDATED
        return [draft for draft, _ in drafts if _changes(draft, self._entries.get(draft.doc_id))]

    def _folder_renamed(self, entry: Entry, snapshot: Snapshot) -> bool:
        """Whether an unlisted document's %folder path changed because a folder of its was renamed or moved."""
        return self._pattern.uses_folders and snapshot.folders_complete and not entry.trashed and \
            folder_path(entry.folder_uuids, self._old_folders) != folder_path(entry.folder_uuids, snapshot.folders)

    def _clear_of_reserved(self, components: tuple[str, ...], trashed: bool) -> tuple[str, ...]:
        """A document's path, its first folder renamed (` (2)`) where it would be one of the backup's own."""
        if not components:
            return ("_",)
        if trashed or collision_key(components[0]) not in self._reserved:
            return components
        return (numbered(components[0], 2, keep_extension=False), *components[1:])

    def _removed(self, doc_id: str, entry: Entry, snapshot: Snapshot) -> bool:
        if doc_id in snapshot.deleted_ids:
            return True
        if doc_id in snapshot.trashed_ids:
            return not self._keep_trashed
        # Absent from a complete listing of the library (and, for a kept trashed one, of the trash).
        return snapshot.full and (not entry.trashed or snapshot.trash_full)

    def _listed(self, doc_id: str, document: dict[str, Any], snapshot: Snapshot,
                annotations: tuple[Sequence[dict[str, Any]], Set[str]],
                doubts: Mapping[str, str]) -> tuple[DocumentPlan, tuple[str, ...] | None]:
        """A document the server listed: new, or held and perhaps changed, or back from the trash."""
        entry = self._entries.get(doc_id)
        folder_uuids = _folder_uuids(doc_id, document, snapshot)
        folders = folder_path(folder_uuids, snapshot.folders)
        components = render_path(self._pattern, document, folders, self._folder_chars)
        draft = DocumentPlan(
            doc_id=doc_id, path=entry.path if entry else "", old_path=entry.path if entry else None,
            count_as=None if entry else NEW, created=str(document.get("created") or ""), listed=True,
            last_modified=document.get("last_modified"), files=[], folder_uuids=folder_uuids,
            annotation_upserts=annotations[0], annotation_removals=annotations[1])
        remote_files = [item for item in document.get("files") or [] if isinstance(item, dict) and item.get("id")]
        draft.files = [_file_plan(item, entry, doubts) for item in sorted(remote_files, key=_file_order)]
        if entry:
            draft.removed_files = {file_id: record for file_id, record in entry.files.items()
                                   if file_id not in {plan.file_id for plan in draft.files}}
            # Without the whole folder tree a %folder path cannot be worked out: the document stays put.
            folders_unknown = self._pattern.uses_folders and not snapshot.folders_complete
            if not entry.trashed and (folders_unknown or self._keeps_folder(entry.path, components, document, folders)):
                return draft, None
            draft.count_as = MOVED
        return draft, components

    def _unlisted(self, doc_id: str, entry: Entry, snapshot: Snapshot, reread: dict[str, Any] | None,
                  annotations: tuple[Sequence[dict[str, Any]], Set[str]], trashing: bool,
                  doubts: Mapping[str, str]) -> tuple[DocumentPlan, tuple[str, ...] | None] | None:
        """A held document the server did not list: unchanged, except perhaps its annotations, its folder's
        name, its move to the kept trash, or a copy of one of its files that no longer matches the state."""
        if not (annotations[0] or annotations[1] or reread or trashing or doubts):
            return None
        draft = self._held_draft(doc_id, entry, annotations, None, entry.trashed or trashing, doubts)
        if trashing:
            draft.count_as = REMOVED
            return draft, (TRASH_FOLDER, *entry.path.split("/"))
        if reread:
            folders = folder_path(entry.folder_uuids, snapshot.folders)
            components = render_path(self._pattern, reread, folders, self._folder_chars)
            if not self._keeps_folder(entry.path, components, reread, folders):
                draft.count_as = MOVED
                return draft, components
        if draft.annotation_upserts or draft.annotation_removals or any(plan.needs_download for plan in draft.files):
            draft.count_as = UPDATED
        # A copy only touched (another mtime) counts as updated if the applier finds it damaged and fetches it.
        return (draft, None) if draft.count_as or doubts else None

    @staticmethod
    def _held_draft(doc_id: str, entry: Entry, annotations: tuple[Sequence[dict[str, Any]], Set[str]],
                    count_as: str | None, trashed: bool, doubts: Mapping[str, str] = NO_DOUBTS) -> DocumentPlan:
        """A draft for a held document the server did not list, which keeps its JSON and its files."""
        return DocumentPlan(
            doc_id=doc_id, path=entry.path, old_path=entry.path, count_as=count_as, created=entry.created,
            listed=False, last_modified=entry.last_modified, trashed=trashed,
            files=[_kept_file(file_id, record, doubts.get(file_id)) for file_id, record in entry.files.items()],
            folder_uuids=entry.folder_uuids, annotation_upserts=annotations[0], annotation_removals=annotations[1])

    def _keeps_folder(self, current: str, components: tuple[str, ...], document: Mapping[str, Any],
                      folders: tuple[str, ...]) -> bool:
        """Whether a held document's folder is what its metadata gives: cut to the limit, or whole (named so
        before there was a limit)."""
        return fits_folder(current, components) or fits_folder(current, render_path(self._pattern, document, folders))

    def _place_files(self, draft: DocumentPlan) -> None:
        """Give each file of the document its name: held copies keep theirs, cut or whole (unless it is the name
        of the folder's info.json, which an older backup may have let a file take), the others get free ones."""
        max_chars = file_chars(self._max_path_chars, draft.path)
        for plan in draft.files:
            if plan.local and not draft.moves and collision_key(plan.local.name) not in RESERVED_FILE_KEYS and \
                    (fits_file(plan.local.name, plan.wanted) or fits_file(plan.local.name, plan.wanted, max_chars)):
                plan.name = plan.local.name
        for plan in draft.files:
            if not plan.name:
                plan.name = self._allocator.file(draft.path, plan.wanted)


def _changes(draft: DocumentPlan, entry: Entry | None) -> bool:
    """Whether a draft changes anything on disk (a listed document may well be unchanged)."""
    if entry is None or entry.legacy or draft.count_as is not None or not draft.listed:
        return True
    return _counted_change(draft, entry) or any(plan.changes for plan in draft.files)


def _counted_change(draft: DocumentPlan, entry: Entry) -> bool:
    """Whether a listed, held document changed in a way the summary counts as an update."""
    if not same_time(entry.last_modified, draft.last_modified) or draft.removed_files:
        return True
    if draft.annotation_upserts or draft.annotation_removals or tuple(sorted(entry.folder_uuids)) != draft.folder_uuids:
        return True
    return any(plan.needs_download or plan.name != plan.local.name for plan in draft.files if plan.local) \
        or any(plan.local is None for plan in draft.files)


def _file_plan(item: Mapping[str, Any], entry: Entry | None, doubts: Mapping[str, str]) -> FilePlan:
    local = entry.files.get(str(item["id"])) if entry else None
    return FilePlan(file_id=str(item["id"]), wanted=safe_file_name(item.get("file_name") or item["id"]),
                    sha1=item.get("filehash"), size=item.get("size"), local=local,
                    doubt=doubts.get(str(item["id"])) if local else None)


def _kept_file(file_id: str, record: FileRecord, doubt: str | None = None) -> FilePlan:
    """A held file of a document the server did not list: the state's hash and size are the server's."""
    return FilePlan(file_id=file_id, wanted=record.name, sha1=record.sha1, size=record.size, local=record,
                    doubt=doubt)


def _file_order(item: Mapping[str, Any]) -> tuple[str, str]:
    return str(item.get("created") or ""), str(item["id"])


def _folder_uuids(doc_id: str, document: Mapping[str, Any], snapshot: Snapshot) -> tuple[str, ...]:
    """A listed document's folders, sorted; a tuple, so that the many in no folder share the one empty tuple."""
    if snapshot.memberships is not None:
        return tuple(sorted(snapshot.memberships.get(doc_id, [])))
    return tuple(sorted(str(folder_id) for folder_id in document.get("folder_uuids") or []))


def _annotations_by_document(snapshot: Snapshot,
                             entries: Mapping[str, Entry]) -> dict[str, tuple[list[dict[str, Any]], set[str]]]:
    """Per document: the annotations to write (new or changed) and the ids to drop."""
    result: dict[str, tuple[list[dict[str, Any]], set[str]]] = {}
    owner = {annotation_id: doc_id for doc_id, entry in entries.items() for annotation_id in entry.annotations}
    for annotation_id, annotation in sorted(snapshot.annotations.items()):
        doc_id = str(annotation.get("document_id") or "")
        held = entries.get(doc_id)
        if held is None and doc_id not in snapshot.documents:
            continue
        if held and same_time(held.annotations.get(annotation_id), annotation.get("last_modified")):
            continue
        result.setdefault(doc_id, ([], set()))[0].append(annotation)
    gone = set(snapshot.deleted_annotation_ids)
    if snapshot.annotations_full:
        gone |= set(owner) - set(snapshot.annotations)
    for annotation_id in sorted(gone & set(owner)):
        result.setdefault(owner[annotation_id], ([], set()))[1].add(annotation_id)
    return result
