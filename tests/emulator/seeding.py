"""A synthetic, reproducible library: the awkward cases a backup tool meets in real ones.

Non-ASCII names and titles (é, ü, ø, Chinese, Cyrillic), characters that are illegal in file
names, missing titles, years and authors, titles longer than 255 bytes, duplicate
title/author/year triples, file names that collide within a document, nested folders, all three
annotation types, groups. Timestamps lie in 2012-2024, like a library built over years, so that
anything the tests change afterwards is newer than everything seeded.

The same `seed` on an empty emulator gives the same library (ids included); seeding again adds
more objects with fresh ids.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from .clock import UTC
from .content import sha1, synthetic_bytes
from .errors import bad_request
from .models import Annotation, Document, File, Folder, Group
from .pdfs import MAX_PAGES, MIN_PAGES, PAGE_FORMATS, pdf_bytes
from .seed_words import (
    ABSTRACT_SENTENCES,
    CITIES,
    EXPORT_CODES,
    EXPORT_CONTEXTS,
    EXPORT_FILE_STEMS,
    EXPORT_GENRES,
    EXPORT_MEDIA,
    EXPORT_NOTES,
    EXPORT_SOURCE_TYPES,
    EXPORT_TYPES,
    FILE_STEMS,
    FIRST_NAMES,
    FOLDER_NAMES,
    GROUP_NAMES,
    KEYWORDS,
    LAST_NAMES,
    LONG_TITLE_PARTS,
    PUBLISHERS,
    SOURCES,
    TAGS,
    title,
)
from .state import Library

START_MS = int(datetime(2012, 1, 1, tzinfo=UTC).timestamp() * 1000)
END_MS = int(datetime(2024, 12, 31, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000

_TYPES = (
    ("journal", 55), ("book", 9), ("book_section", 8), ("conference_proceedings", 10),
    ("thesis", 4), ("report", 5), ("web_page", 3), ("patent", 2), ("generic", 3), ("working_paper", 1),
)  # fmt: skip
_MIME_TYPES = (
    ("application/pdf", ".pdf", 88),
    ("application/epub+zip", ".epub", 3),
    ("text/plain", ".txt", 3),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", 3),
    ("text/html", ".html", 3),
)


@dataclass(frozen=True)
class SeedRequest:
    documents: int = 0
    files_per_document: int = 1
    file_size: int = 20_000
    folders: int = 0
    annotations_per_document: int = 0
    groups: int = 0
    group_documents: int = 0
    trashed: int = 0  # extension: how many of the new documents to put in the trash
    seed: int = 0

    @classmethod
    def from_json(cls, body: Any) -> SeedRequest:
        if not isinstance(body, dict):
            raise bad_request("seed options must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise bad_request(f"unknown seed options: {', '.join(unknown)}")
        for name, value in body.items():
            if isinstance(value, bool) or not isinstance(value, int) or (value < 0 and name != "seed"):
                raise bad_request(f"{name} must be a non-negative integer")
        if body.get("file_size", 1) < 1:
            raise bad_request("file_size must be at least 1")
        return cls(**body)


class Seeder:
    """Adds one seed request's objects to a library (the caller holds the library's lock)."""

    def __init__(self, lib: Library, request: SeedRequest) -> None:
        self.lib = lib
        self.req = request
        self.rng = random.Random(request.seed)
        self.created: dict[str, list[str]] = {
            "documents": [], "group_documents": [], "files": [], "folders": [],
            "annotations": [], "groups": [], "trashed": [],
        }  # fmt: skip
        self._triples: list[tuple[Any, Any, Any]] = []

    def run(self) -> dict[str, Any]:
        req = self.req
        folders = self._folders(req.folders, None)
        docs = [self._document(None, folders) for _ in range(req.documents)]
        for doc in docs[len(docs) - min(req.trashed, len(docs)) :]:
            doc.trashed = True
            doc.last_modified = min(END_MS, doc.last_modified + self.rng.randint(1, 90) * DAY_MS)
            self.created["trashed"].append(doc.id)
        for index in range(req.groups):
            group = self._group(index)
            group_folders = self._folders(2, group.id)
            for _ in range(req.group_documents):
                self._document(group, group_folders)
        out: dict[str, Any] = dict(self.created)
        out["counts"] = {k: len(v) for k, v in self.created.items()}
        return out

    # ----- helpers -------------------------------------------------------------------------------

    def _id(self) -> str:
        while True:
            new = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if not self.lib.id_taken(new):
                return new

    def _time(self, after: int = START_MS, before: int = END_MS) -> int:
        return self.rng.randint(after, max(after, before))

    def _pick(self, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
        return self.rng.choices(weighted, weights=[w[-1] for w in weighted])[0]

    def _person(self) -> dict[str, str]:
        rng = self.rng
        last = rng.choice(LAST_NAMES)
        roll = rng.random()
        if roll < 0.05:
            return {"last_name": last}  # no first name, as imported records often are
        if roll < 0.2:
            return {"first_name": f"{rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice('ABCDEJKLMR')}.", "last_name": last}
        return {"first_name": rng.choice(FIRST_NAMES), "last_name": last}

    # ----- documents -----------------------------------------------------------------------------

    def _document(self, group: Group | None, folders: list[Folder]) -> Document:
        rng, lib = self.rng, self.lib
        created = self._time()
        last_modified = created if rng.random() < 0.4 else self._time(created, created + 900 * DAY_MS)
        last_modified = min(last_modified, END_MS)
        profile_id = lib.profile_id
        if group is not None and rng.random() < 0.5:
            profile_id = group.fields["owning_profile_id"]
        doc = Document(self._id(), created, last_modified, profile_id, group and group.id, self._fields())
        lib.add_document(doc)
        self.created["group_documents" if group else "documents"].append(doc.id)
        kinds = self._annotation_kinds()
        shares_files = group is None or group.fields["access_level"] == "private"
        if shares_files:  # the core resources: only private groups can share files
            # Highlights and sticky notes lie on the pages of the document's first file: a real PDF.
            self._files(doc, real_pdf=any(kind != "note" for kind in kinds))
        for folder in rng.sample(folders, min(len(folders), rng.choice((0, 0, 1, 1, 2)))):
            lib.file_into_folder(folder, doc)
        self._annotations(doc, kinds)
        self._export_fields(doc)
        return doc

    def _fields(self) -> dict[str, Any]:
        rng = self.rng
        kind = self._pick(_TYPES)[0]
        f: dict[str, Any] = {"type": kind}
        if self._triples and rng.random() < 0.04:
            # A duplicate title/authors/year triple: two documents that map to the same folder.
            the_title, authors, year = rng.choice(self._triples)
        else:
            roll = rng.random()
            the_title = None if roll < 0.02 else self._long_title() if roll < 0.05 else title(rng)
            authors = None if rng.random() < 0.05 else [self._person() for _ in range(self._author_count())]
            year = None if rng.random() < 0.07 else rng.randint(1950, 2024)
        self._triples.append((the_title, authors, year))
        for name, value in (("title", the_title), ("authors", authors), ("year", year)):
            if value is not None:
                f[name] = value
        f["source"] = rng.choice(SOURCES) if rng.random() < 0.8 else None
        f["identifiers"] = self._identifiers(kind)
        if rng.random() < 0.6:
            f["keywords"] = rng.sample(KEYWORDS, rng.randint(1, 5))
        if rng.random() < 0.7:
            f["abstract"] = " ".join(rng.sample(ABSTRACT_SENTENCES, rng.randint(1, 4)))
        self._bib(f, kind)
        for flag, p in (("read", 0.4), ("starred", 0.1), ("authored", 0.03), ("confirmed", 0.6), ("hidden", 0.02)):
            if rng.random() < p:
                f[flag] = True
        if rng.random() < 0.3:
            f["tags"] = rng.sample(TAGS, rng.randint(1, 4))
        if kind == "patent":
            f["patent_owner"] = rng.choice(PUBLISHERS)
            f["patent_application_number"] = f"US{rng.randint(10**7, 10**8 - 1)}"
            f["patent_legal_status"] = rng.choice(("Granted", "Pending approval", "Restricted"))
        if rng.random() < 0.1:
            f["notes"] = rng.choice(("<b>Important:</b> re-read section 3.", "Cited in chapter 2 — check the proofs.",
                                     "Zu lesen: Kapitel 4 & 5", "TODO: compare with Søren's results"))  # fmt: skip
        return {k: v for k, v in f.items() if v is not None}

    def _author_count(self) -> int:
        return self.rng.choices((1, 2, 3, 4, 5, 6), weights=(30, 25, 20, 12, 8, 5))[0]

    def _long_title(self) -> str:
        """A title under the 255-character limit but over 255 bytes of UTF-8."""
        rng = self.rng
        text = ""
        while len(text.encode()) <= 300:
            text += rng.choice(LONG_TITLE_PARTS) + " "
        return text.strip()[:250].strip()

    def _identifiers(self, kind: str) -> dict[str, str] | None:
        rng = self.rng
        ids: dict[str, str] = {}
        if rng.random() < 0.7:
            prefix, journal = rng.randint(1000, 9999), rng.choice(("j", "s", "nature", "pone"))
            ids["doi"] = f"10.{prefix}/{journal}.{rng.randint(10**5, 10**7)}"
        if kind == "journal" and rng.random() < 0.5:
            ids["issn"] = f"{rng.randint(1000, 9999)}-{rng.randint(100, 999)}{rng.choice('0123456789X')}"
        if kind in ("book", "book_section") and rng.random() < 0.7:
            ids["isbn"] = f"978{rng.randint(10**9, 10**10 - 1)}"
        if rng.random() < 0.15:
            ids["pmid"] = str(rng.randint(10**6, 4 * 10**7))
        if rng.random() < 0.1:
            ids["arxiv"] = f"{rng.randint(10, 24):02d}{rng.randint(1, 12):02d}.{rng.randint(1, 20000):05d}"
        return ids or None

    def _bib(self, f: dict[str, Any], kind: str) -> None:
        rng = self.rng
        if rng.random() < 0.6:
            first = rng.randint(1, 900)
            f["pages"] = f"{first}-{first + rng.randint(1, 40)}"
        if rng.random() < 0.5:
            f["volume"] = str(rng.randint(1, 120))
        if rng.random() < 0.4:
            f["issue"] = str(rng.randint(1, 12))
        if rng.random() < 0.4:
            f["month"] = rng.randint(1, 12)
            if rng.random() < 0.4:
                f["day"] = rng.randint(1, 28)
        if rng.random() < 0.4:
            f["publisher"] = rng.choice(PUBLISHERS)
        if rng.random() < 0.2:
            f["city"] = rng.choice(CITIES)
        if kind in ("book", "book_section"):
            if rng.random() < 0.5:
                f["editors"] = [self._person() for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.3:
                f["edition"] = str(rng.randint(2, 9))
            if kind == "book_section" and rng.random() < 0.6:
                f["chapter"] = str(rng.randint(1, 30))
            if rng.random() < 0.1:
                f["series"] = rng.choice(("Lecture Notes in Computer Science", "Springer Series in Statistics"))
        if kind in ("thesis", "report"):
            f["institution"] = rng.choice(("ETH Zürich", "Københavns Universitet", "MIT", "清华大学"))
            if kind == "thesis":
                f["department"] = rng.choice(("Informatik", "Department of Physics", "Faculté des sciences"))
            else:
                f["revision"] = f"TR-{rng.randint(1, 999)}"
        if rng.random() < 0.3:
            f["websites"] = [f"https://example.org/papers/{rng.randint(1, 10**6)}"]
        if rng.random() < 0.2:
            f["accessed"] = f"{rng.randint(2012, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if rng.random() < 0.2:
            f["language"] = rng.choice(("en", "de", "fr", "zh", "ru", "English"))
        if rng.random() < 0.3 and f.get("authors") and f.get("year"):
            f["citation_key"] = f"{f['authors'][0]['last_name'].replace(' ', '')}{f['year']}"
        if rng.random() < 0.1:
            f["country"] = rng.choice(("Germany", "Danmark", "中国", "Россия", "United States"))
        if rng.random() < 0.05:
            f["short_title"] = (f.get("title") or "Untitled")[:50]

    def _export_fields(self, doc: Document) -> None:
        """What the export must carry, on some documents: the document types and fields of the reference that
        the rest of the seed leaves out, notes with paragraphs, file names with `&`, `<`, `#` and double spaces.
        Drawn from a generator of the document's own (its id seeds it), so the rest of the seed is unchanged."""
        rng, f = random.Random(doc.id), doc.fields
        if rng.random() < 0.15:
            f["type"] = rng.choice(EXPORT_TYPES)
        kind = f["type"]
        optional = (
            ("translators", 0.06, lambda: [self._person_from(rng)]),
            ("series_editor", 0.05, lambda: f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"),
            ("reprint_edition", 0.03, lambda: str(rng.randint(2, 5))),
            ("source_type", 0.04, lambda: rng.choice(EXPORT_SOURCE_TYPES)),
            ("user_context", 0.04, lambda: rng.choice(EXPORT_CONTEXTS)),
            ("genre", 0.3 if kind in ("thesis", "report", "film") else 0.03, lambda: rng.choice(EXPORT_GENRES)),
            ("medium", 0.5 if kind in ("film", "television_broadcast") else 0.02, lambda: rng.choice(EXPORT_MEDIA)),
            ("code", 0.6 if kind in ("statute", "bill", "case") else 0.01, lambda: rng.choice(EXPORT_CODES)),
            ("chapter", 0.03, lambda: str(rng.randint(1, 20))),
            ("revision", 0.5 if kind in ("patent", "bill", "statute", "hearing", "case") else 0.02,
             lambda: f"No. {rng.randint(100, 99999)}"),
            ("department", 0.3 if kind in ("report", "working_paper") else 0.0, lambda: "Institute of Informatics"),
            ("publisher", 0.6 if kind == "thesis" else 0.0, lambda: rng.choice(PUBLISHERS)),
            ("notes", 0.08, lambda: rng.choice(EXPORT_NOTES)),
            ("websites", 0.04, lambda: [f"https://example.org/a/{rng.randint(1, 999)}",
                                        f"https://example.org/b/{rng.randint(1, 999)}?x=1&y=2"]),
        )
        for name, chance, value in optional:
            if name not in f and rng.random() < chance:
                f[name] = value()
        if rng.random() < 0.03 and f.get("title"):
            f["citation_key"] = f"{f['title'].split()[0]} {rng.randint(1, 9)}"  # not a BibTeX key as it is
        if doc.file_ids and rng.random() < 0.12:
            file = self.lib.files[doc.file_ids[0]]
            extension = file.file_name[file.file_name.rfind("."):] if "." in file.file_name else ""
            file.file_name = rng.choice(EXPORT_FILE_STEMS) + extension

    @staticmethod
    def _person_from(rng: random.Random) -> dict[str, str]:
        return {"first_name": rng.choice(FIRST_NAMES), "last_name": rng.choice(LAST_NAMES)}

    # ----- files ---------------------------------------------------------------------------------

    def _files(self, doc: Document, real_pdf: bool) -> None:
        rng, lib = self.rng, self.lib
        names: list[str] = []
        for index in range(self.req.files_per_document):
            mime, ext, _w = ("application/pdf", ".pdf", 0) if real_pdf and index == 0 else self._pick(_MIME_TYPES)
            # Sometimes two files of one document share a name; some names have no extension (as recorded).
            if names and rng.random() < 0.25:
                name = names[0]
            else:
                name = self._file_name(doc, "" if rng.random() < 0.08 else ext)
            names.append(name)
            seed = rng.getrandbits(63)
            size = self.req.file_size
            pages, fmt = (rng.randint(MIN_PAGES, MAX_PAGES), rng.randrange(len(PAGE_FORMATS))) if real_pdf and \
                index == 0 else (0, 0)
            data = pdf_bytes(seed, pages, fmt, size) if pages else synthetic_bytes(seed, size, mime)
            created = self._time(doc.created, doc.last_modified)
            file = File(self._id(), doc.id, name, mime, len(data), sha1(data), created, None, seed, pages, fmt,
                        show_created=rng.random() >= 0.1)
            # Tiny files may repeat bytes within a document; seeding allows what uploads refuse.
            lib.add_file(file, touch=False, unique=False)
            self.created["files"].append(file.id)

    def _file_name(self, doc: Document, ext: str) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return rng.choice(FILE_STEMS) + ext
        authors = doc.fields.get("authors") or []
        who = authors[0]["last_name"] if authors else "Unknown"
        if len(authors) > 1:
            who += " et al."
        year = doc.fields.get("year", "")
        the_title = (doc.fields.get("title") or "Untitled")[:80]
        return f"{who} - {year} - {the_title}{ext}"

    # ----- folders, annotations, groups ----------------------------------------------------------

    def _folders(self, count: int, group_id: str | None) -> list[Folder]:
        rng, lib = self.rng, self.lib
        made: list[Folder] = []
        for i in range(count):
            parent = rng.choice(made) if made and rng.random() < 0.6 else None
            parent_id = parent.id if parent else None
            siblings = {
                f.name for f in lib.folders.values() if f.parent_id == parent_id and f.group_id == group_id
            }
            name = rng.choice(FOLDER_NAMES)
            if name in siblings:
                name = f"{name} ({i + 1})"
            created = self._time()
            folder = Folder(self._id(), name, parent_id, group_id, created, self._time(created))
            lib.add_folder(folder)
            made.append(folder)
            self.created["folders"].append(folder.id)
        return made

    def _annotation_kinds(self) -> list[str]:
        """The annotations a new document gets: at most one note, the others highlights or sticky notes."""
        rng = self.rng
        count = self.req.annotations_per_document
        kinds = ["note"] + [rng.choice(("highlight", "sticky_note")) for _ in range(count)]
        rng.shuffle(kinds)
        kinds = kinds[:count]
        if "note" in kinds:
            first = kinds.index("note")
            kinds = [kind if kind != "note" or i == first else "highlight" for i, kind in enumerate(kinds)]
        return kinds

    def _annotations(self, doc: Document, kinds: list[str]) -> None:
        rng, lib = self.rng, self.lib
        first = lib.files[doc.file_ids[0]] if doc.file_ids else None
        pages = first.pdf_pages if first and first.pdf_pages else MIN_PAGES
        width, height = PAGE_FORMATS[first.pdf_format if first else 0]
        for kind in kinds:
            fields: dict[str, Any] = {"privacy_level": rng.choice(("private", "private", "group"))}
            # Inside the page, in PDF user space (points, origin bottom left): a highlight's box spans
            # 200.5 × 12.25 pt below and right of its top-left corner; a sticky note is a point.
            page = rng.randint(1, pages)
            x, y = round(rng.uniform(50, width - 260), 3), round(rng.uniform(80, height - 80), 3)
            if kind == "note":
                fields["text"] = rng.choice(("Key paper for chapter 2.", "Résumé: méthode robuste.", "需要再读一遍"))
            elif kind == "sticky_note":
                point = {"x": x, "y": y}
                fields.update(text=rng.choice(("Check this", "Wrong sign?", "Siehe auch §4")),
                              positions=[{"top_left": point, "bottom_right": point, "page": page}],
                              color={"r": 255, "g": 245, "b": 173})  # fmt: skip
            else:
                box = {"top_left": {"x": x, "y": y}, "bottom_right": {"x": x + 200.5, "y": y - 12.25}, "page": page}
                fields.update(positions=[box], color={"r": 255, "g": 255, "b": 0})
            if kind != "note" and first is not None:
                fields["filehash"] = first.filehash
            created = self._time(doc.created)
            ann = Annotation(self._id(), kind, created, self._time(created), doc.id, doc.profile_id, fields)
            lib.add_annotation(ann)
            self.created["annotations"].append(ann.id)

    def _group(self, index: int) -> Group:
        rng, lib = self.rng, self.lib
        name = GROUP_NAMES[index % len(GROUP_NAMES)] + ("" if index < len(GROUP_NAMES) else f" {index + 1}")
        access = "private" if index == 0 else rng.choice(("private", "invite_only", "public"))
        role = rng.choice(("owner", "admin", "member"))
        owner = lib.profile_id if role == "owner" else self._id()
        slug = name.lower().replace(" ", "-")
        group_id = self._id()
        fields = {
            "name": name,
            "description": f"Shared reading list: {name}.",
            "disciplines": ["Computer and Information Science"],
            "tags": [],
            "webpage": "https://example.org/groups",
            "owning_profile_id": owner,
            "link": f"https://www.mendeley.com/community/{slug}/",
            "role": role,
            "access_level": access,
        }
        group = lib.add_group(Group(group_id, self._time(), fields))
        self.created["groups"].append(group.id)
        return group


def seed(lib: Library, request: SeedRequest) -> dict[str, Any]:
    """Add a synthetic library; answer the ids of what was created, by kind, and their counts."""
    with lib.lock:
        return Seeder(lib, request).run()
