"""The annotated copies of a backup (--annotated-pdfs): which copies each document needs, and making, moving and
dropping them. Beside every backed-up PDF with highlights or sticky notes (matched by `filehash`) the backup holds
`<stem> (annotated).pdf`, drawn by AnnotatedPdf and written through the backup folder's atomic writer; the original
is never touched.

The Applier calls `follow` for each document it brings to its folder, then `refresh` for each held document whose
copies need a look although nothing of it changed (`held_to_refresh`): the option was just turned on, the drawing
changed (AnnotatedPdf.DRAWING_VERSION), or a copy was deleted or changed by hand (one stat per copy, as for every
backed-up file; a hash with --verify).

What a copy was made from (AnnotatedPdf.copy_fingerprint: the file's SHA-1, each annotation's id, last_modified and
author) is kept in the state's entry and in the document's info.json: a copy is written only when that changed or
the copy on disk is not the one written. A copy a document no longer needs (its last highlight or note deleted, its
file gone, the option off) waits in the state's pending removals for the removal phase, as a file a document no
longer has does. A document's annotations are the ones it has after the run: an annotation deleted on the server is
left out of the copy at once, although annotations.json keeps it until the removal phase.

Choices where the issue is silent:
- The author (`/T`) is the profile's `first_name last_name`, else its `display_name` (which carries a title such as
  "Dr."). The user's own profile comes from `GET /profiles/me`; an annotation by another profile (a group member's)
  names it by `GET /profiles/{id}`, which the API reference offers for any profile; one the server does not know
  (404) leaves the author out. Each is asked once per library and run, and only when a copy is drawn, so a run with
  nothing to draw makes no request for them.
- With the option off (its default), the copies a backup holds are removed, as --keep-trashed off removes the kept
  trash: the backup follows its settings. --relayout only moves copies with their documents.
- A copy's name is cut, like any new name, so that its path stays within the library's share of
  Naming.MAX_PATH_CHARS; a file that is already where the copy would go and is not the backup's gets ` (2)`, ...
  unless it holds exactly the bytes the copy would (a run killed before its state was saved wrote it).
- A file that is not a PDF by its first bytes gets no copy and no warning (annotations live on PDFs only).
"""

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from AnnotatedPdf import (
    DRAWING_VERSION,
    annotated_name,
    annotations_for_file,
    copy_fingerprint,
    is_pdf,
    make_annotated_copy,
)
from BackupFolder import BackupFolder
from DocumentInfo import DOCUMENT_FOLDER_FILES, NONE_HELD, BackupState, CopyRecord, Entry, FileRecord
from Errors import ApiError
from LocalFiles import sha1_of
from Naming import MIN_NAME_CHARS, shortened
from Planner import Plan

log = logging.getLogger(__name__)

# What a run does with annotated copies: draws them (--annotated-pdfs), drops the ones held (the option off), or only
# moves them with their documents (--relayout, which reads nothing from the server).
MAKE, DROP, CARRY = "make", "drop", "carry"

Annotation = Mapping[str, Any]


class Profiles(Protocol):
    """Where authors' names come from: MendeleyApi (or a test's stand-in)."""

    def profile(self, profile_id: str | None = None) -> dict[str, Any] | None: ...


def profile_name(profile: Mapping[str, Any]) -> str:
    """A person's name as an annotation's author: `first last`, else the display name."""
    whole = " ".join(str(profile.get(key) or "").strip() for key in ("first_name", "last_name")).strip()
    return whole or str(profile.get("display_name") or "").strip()


class ProfileNames:
    """The names of annotations' authors by profile id, each asked of the API once, when first needed: the user's
    own (`GET /profiles/me`), then any other profile an annotation names. Shared by the download threads; a failed
    request fails every document that needs it this run (the next run asks again)."""

    def __init__(self, api: Profiles) -> None:
        self._api = api
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._asked: set[str | None] = set()
        self._failure: ApiError | None = None

    def of(self, profile_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(profile_ids))
        with self._lock:
            if self._failure is not None:
                raise self._failure
            try:
                for profile_id in [None, *wanted]:  # the user's own profile first: most annotations are theirs
                    if profile_id in self._asked or profile_id in self._names:
                        continue
                    self._asked.add(profile_id)
                    profile = self._api.profile(profile_id)
                    if profile and profile.get("id") and profile_name(profile):
                        self._names[str(profile["id"])] = profile_name(profile)
            except ApiError as error:
                self._failure = error
                raise
            return {profile_id: self._names[profile_id] for profile_id in wanted if profile_id in self._names}


@dataclass
class DocumentCopies:
    """A document's annotated copies after a run: their records (the state's, by the original's file id), the
    drawing version they were decided with, and the paths of copies it no longer has (removed in phase two)."""

    records: dict[str, CopyRecord] = field(default_factory=dict)
    drawing: int = 0
    leaving: list[str] = field(default_factory=list)


class AnnotatedCopies:
    """The annotated copies of one backed-up library."""

    def __init__(self, folder: BackupFolder, state: BackupState, label: str, mode: str = CARRY,
                 names: ProfileNames | None = None, verify: bool = False) -> None:
        """`mode`: MAKE, DROP or CARRY; `names`, where MAKE finds authors' names (None: none); `verify`: a held
        copy is checked by its hash rather than its size and mtime."""
        self._folder = folder
        self._state = state
        self._label = label
        self._mode = mode
        self._names = names
        self._verify = verify

    # What the Applier calls -----------------------------------------------------------------------------

    def follow(self, held: Entry | None, path: str, files: Mapping[str, FileRecord],
               annotations: Sequence[Annotation]) -> DocumentCopies:
        """The copies of a document now in `path` with `files` and `annotations` (what it has after this run): its
        held copies (as `held`, the state's entry, had them, perhaps in another folder) moved along, drawn again
        where what they are made from changed or they are not as written, new ones drawn, the others left for the
        removal phase. Raises OSError (reading the original, writing the copy) and ApiError (authors' names)."""
        before = held.copies if held else {}
        source = held.path if held else path
        if self._mode == MAKE:
            wanted, authors = self._fingerprints({file_id: record.sha1 for file_id, record in files.items()},
                                                 annotations)
            result = DocumentCopies(drawing=DRAWING_VERSION)
        else:
            kept = [] if self._mode == DROP else [file_id for file_id in before if file_id in files]
            wanted, authors = {file_id: before[file_id].fingerprint for file_id in kept}, {}
            result = DocumentCopies(drawing=held.copies_drawing if held and self._mode == CARRY else 0)
        taken = [*DOCUMENT_FOLDER_FILES, *(record.name for record in files.values())]
        for file_id, fingerprint in wanted.items():
            old = before.get(file_id)
            copy, left = self._bring(path, files[file_id], fingerprint, annotations, authors, taken,
                                     (f"{source}/{old.name}", old) if old else None)
            if copy is not None:
                result.records[file_id] = copy
                taken.append(copy.name)
            if left is not None:
                result.leaving.append(left)
        result.leaving += [f"{source}/{old.name}" for file_id, old in before.items() if file_id not in wanted]
        return result

    def held_to_refresh(self, skip: Iterable[str]) -> list[str]:
        """The ids of held documents, other than `skip` (those the run handles anyway), whose copies need a look."""
        skipped = set(skip)
        return [doc_id for doc_id, entry in list(self._state.entries.items())
                if doc_id not in skipped and self._needs_look(entry)]

    def refresh(self, doc_id: str) -> None:
        """Bring a held document's copies up to date with what the backup holds of it (nothing else of it changes)."""
        entry = self._state.entry(doc_id)
        if entry is None:
            return
        annotations = self._folder.read_annotations(entry.path) if entry.annotations else []
        copies = self.follow(entry, entry.path, entry.files, annotations)
        if copies.records != entry.copies:
            document, _ = self._folder.read_document(entry.path)
            if document:  # one that cannot be read is left for the next full listing to write again
                self._folder.write_document(entry.path, document,
                                            {file_id: record.name for file_id, record in entry.files.items()},
                                            copies.records)
            self._state.set_exports_outdated(True)  # they link the copies
        self._state.record(doc_id, replace(entry, copies=copies.records or NONE_HELD, copies_drawing=copies.drawing),
                           leaving=copies.leaving)

    # What --dry-run shows ---------------------------------------------------------------------------------

    def describe(self, plan: Plan) -> list[str]:
        """The copies a run of `plan` would write (new, or drawn again) and remove."""
        if self._mode == CARRY:
            return []
        lines: list[str] = []
        for doc_plan in plan.documents:
            entry = self._state.entries.get(doc_plan.doc_id)
            held = self._folder.read_annotations(doc_plan.old_path or doc_plan.path) \
                if entry is not None and entry.annotations else []
            merged = {str(item.get("id")): item for item in [*held, *doc_plan.annotation_upserts]}
            annotations = [item for key, item in merged.items() if key not in doc_plan.annotation_removals]
            files = {file.file_id: (file.name, file.sha1) for file in doc_plan.files}
            lines += self._would(entry, doc_plan.path, files, annotations)
        skip = [doc_plan.doc_id for doc_plan in plan.documents] + [removal.doc_id for removal in plan.removals]
        for doc_id in self.held_to_refresh(skip):
            entry = self._state.entries[doc_id]
            lines += self._would(entry, entry.path,
                                 {file_id: (record.name, record.sha1) for file_id, record in entry.files.items()},
                                 self._folder.read_annotations(entry.path) if entry.annotations else [])
        return lines

    def _would(self, entry: Entry | None, path: str, files: Mapping[str, tuple[str, str | None]],
               annotations: Sequence[Annotation]) -> Iterator[str]:
        before, source = (entry.copies, entry.path) if entry else ({}, path)
        wanted = self._fingerprints({file_id: sha1 for file_id, (_, sha1) in files.items()}, annotations)[0] \
            if self._mode == MAKE else {}
        taken = [*DOCUMENT_FOLDER_FILES, *(name for name, _ in files.values())]
        for file_id, fingerprint in wanted.items():
            old = before.get(file_id)
            if old is None or old.fingerprint != fingerprint or not self._matches(f"{source}/{old.name}", old):
                name = self._name(path, files[file_id][0], taken,
                                  self._usable(f"{source}/{old.name}" if old else None))
                taken.append(name)
                yield f"would write an annotated copy: {path}/{name}"
        for file_id, old in before.items():
            if file_id not in wanted:
                yield f"would remove an annotated copy: {source}/{old.name}"

    # Deciding --------------------------------------------------------------------------------------------

    def _fingerprints(self, sha1s: Mapping[str, str | None],
                      annotations: Sequence[Annotation]) -> tuple[dict[str, str], dict[str, str]]:
        """The fingerprint of the copy each file with highlights or sticky notes needs, by file id; the authors'
        names they are drawn with."""
        drawn = {file_id: found for file_id, sha1 in sha1s.items()
                 if (found := annotations_for_file(annotations, sha1 or ""))}
        if not drawn:
            return {}, {}
        profile_ids = {str(item["profile_id"]) for found in drawn.values() for item in found if item.get("profile_id")}
        authors = self._names.of(profile_ids) if self._names is not None and profile_ids else {}
        return {file_id: copy_fingerprint(str(sha1s[file_id]), annotations, authors) for file_id in drawn}, authors

    def _needs_look(self, entry: Entry) -> bool:
        if self._mode == CARRY:
            return False
        if self._mode == DROP:
            return bool(entry.copies)
        if entry.annotations and entry.copies_drawing != DRAWING_VERSION:
            return True
        for copy in entry.copies.values():
            path = f"{entry.path}/{copy.name}"
            if not self._matches(path, copy):
                missing = not self._folder.is_plain_file(path)
                log.log(logging.WARNING if missing else logging.INFO, "%s: %s is %s; it will be made again",
                        self._label, self._folder.path(path), "missing" if missing else "not as it was written")
                return True
        return False

    def _matches(self, path: str, copy: CopyRecord) -> bool:
        """Whether the file at `path` is the copy as it was written: its hash with --verify, else its size and mtime."""
        if self._verify:
            return self._folder.is_plain_file(path) and self._folder.sha1(path) == copy.sha1
        return self._folder.signature(path) == (copy.size, copy.mtime_ns)

    # Making ------------------------------------------------------------------------------------------------

    def _bring(self, path: str, original: FileRecord, fingerprint: str, annotations: Sequence[Annotation],
               authors: Mapping[str, str], taken: list[str],
               held: tuple[str, CopyRecord] | None) -> tuple[CopyRecord | None, str | None]:
        """One file's copy in `path`: the held one (`held`: where it was, and its record) moved to its place and
        kept when it is as written and made from `fingerprint`, else drawn anew. Also where a held copy is left, if
        it is not where the copy now is (for the removal phase)."""
        at = self._held_at(path, original.name, taken, held) if held else None
        name = self._name(path, original.name, taken, self._usable(at))
        target = f"{path}/{name}"
        if at is not None and at != target:
            self._folder.move(at, target)
            at = target
        if held is not None and (self._mode == CARRY or (at == target and held[1].fingerprint == fingerprint
                                                         and self._matches(target, held[1]))):
            return replace(held[1], name=name), None
        content = self._draw(path, original, annotations, authors)
        if content is None:
            return None, at
        digest = hashlib.sha1(content).hexdigest()
        first = self._name(path, original.name, taken, lambda _: True)
        if first != name and sha1_of(self._folder.path(f"{path}/{first}")) == digest:
            name, target = first, f"{path}/{first}"  # written by a run killed before its state was saved
        self._folder.write_chunks(target, [content])
        size, mtime_ns = self._folder.signature(target) or (None, None)
        return CopyRecord(name, fingerprint, digest, size, mtime_ns), (at if at != target else None)

    def _held_at(self, path: str, original_name: str, taken: list[str], held: tuple[str, CopyRecord]) -> str | None:
        """Where a held copy is: where the state has it, or at its place in `path`, where a run killed after moving
        it (before its state said so) left it; None when it is in neither."""
        origin, record = held
        if self._folder.is_plain_file(origin):
            return origin
        moved = f"{path}/{self._name(path, original_name, taken, lambda _: True)}"
        return moved if self._matches(moved, record) else None

    def _usable(self, mine: str | None) -> Callable[[str], bool]:
        """Whether a copy may go to a path: nothing is there, or the held copy (`mine`). Any other file, a file the
        document no longer has (waiting for the removal phase) included, is left alone."""
        return lambda target: target == mine or not self._folder.has(target)

    def _name(self, path: str, original_name: str, taken: list[str], usable: Callable[[str], bool]) -> str:
        """The copy's name in `path`: the original's with ` (annotated)` (cut so that the path stays within the
        library's limit), clear of the folder's other names (`taken`) and of paths that are not `usable`."""
        room = self._folder.path_chars - len(path) - 1
        extra = len(annotated_name(original_name)) - len(original_name)
        base = original_name if len(original_name) + extra <= room else \
            shortened(original_name, max(MIN_NAME_CHARS, room - extra), keep_extension=True)
        refused: list[str] = []
        while True:
            name = annotated_name(base, [*taken, *refused])
            if usable(f"{path}/{name}"):
                return name
            refused.append(name)

    def _draw(self, path: str, original: FileRecord, annotations: Sequence[Annotation],
              authors: Mapping[str, str]) -> bytes | None:
        """The copy's bytes, or None (with one warning naming the file, when the PDF cannot be drawn on)."""
        where = f"{path}/{original.name}"
        data = self._folder.path(where).read_bytes()
        if not is_pdf(original.name, head=data):
            log.info("%s: %s is not a PDF; no annotated copy", self._label, where)
            return None
        made = make_annotated_copy(data, original.sha1 or "", annotations, authors)
        if made.warning:
            log.warning("%s: %s: %s", self._label, where, made.warning)
        return made.content
