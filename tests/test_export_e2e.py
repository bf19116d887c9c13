"""library.bib and library.ris of a real backup, read back by readers other than the writers (pybtex for the
BibTeX bibtexparser wrote; the RIS, JabRef and Zotero readers of tests/export_readers.py), and checked, document
by document, against the mapping table of docs/EXPORT.md: every Mendeley field in the field or tag it names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pybtex.database
import pytest

from tests.export_readers import (
    jabref_file_paths,
    jabref_groups,
    latex_to_text,
    read_ris,
    squash,
    zotero_attachment,
    zotero_unescape,
)
from tests.library import add_to_folder, attach_file, create_annotation, create_document, update_document
from tests.tool import BackupTool, Summary, document_folders, state_of

# Characters LaTeX gives a meaning to, and text that is not ASCII, in every field that is text.
ODD_DOCUMENTS = [
    {"title": "Braces {and} 100% of $x_1$ & #hash_tags", "type": "journal", "source": "J. of {Odd} & Co_",
     "authors": [{"first_name": "Zoë", "last_name": "Ødegård"}, {"last_name": "Smith & Sons Ltd"}],
     "identifiers": {"doi": "10.1000/a_b%c#d", "issn": "1234-567X", "pmid": "998877", "arxiv": "2101.00001"},
     "notes": "<b>Important:</b> 50% & more", "file": "100% {draft} & notes; #1_v2.pdf"},
    {"title": "Unbalanced } brace { with ~ tilde ^ caret \\ backslash", "type": "book",
     "authors": [{"first_name": "José", "last_name": "de la Cruz"}, {"first_name": "A.", "last_name": "Núñez"}],
     "editors": [{"first_name": "Олег", "last_name": "Иванов"}], "publisher": "Éditions du Seuil",
     "identifiers": {"isbn": "9783161484100"}, "file": "Übersicht } Teil {1.pdf"},
    {"title": "<storage> tags | pipes", "type": "web_page", "source": "Example Site", "volume": "29",
     "websites": ["https://example.org/<storage>?a=1&b=2"], "accessed": "2021-03-04",
     "citation_key": "Weiß1963", "file": "a  b & <c> #1.pdf"},
    {"title": "A second paper with the same own key", "type": "journal", "citation_key": "Weiß1963",
     "file": "same key.pdf"},
]
REFERENCE_TYPES = {
    "journal", "book", "generic", "book_section", "conference_proceedings", "working_paper", "report", "web_page",
    "thesis", "magazine_article", "statute", "patent", "newspaper_article", "computer_program", "hearing",
    "television_broadcast", "encyclopedia_article", "case", "film", "bill",
}  # fmt: skip
REFERENCE_FIELDS = {
    "title", "type", "abstract", "source", "year", "authors", "identifiers", "keywords", "month", "day", "revision",
    "pages", "volume", "issue", "websites", "publisher", "city", "edition", "institution", "series", "chapter",
    "editors", "accessed", "tags", "read", "starred", "authored", "confirmed", "hidden", "citation_key",
    "source_type", "language", "short_title", "reprint_edition", "genre", "country", "translators",
    "series_editor", "code", "medium", "user_context", "department", "patent_owner", "patent_application_number",
    "patent_legal_status", "notes",
}  # fmt: skip


@pytest.fixture(scope="module")
def seeded(emulator_process, tmp_path_factory):
    """A seeded library (every type and field of the reference) plus the odd documents, backed up once."""
    emulator_process.reset()
    made = emulator_process.seed(documents=400, files_per_document=1, file_size=200, annotations_per_document=1,
                                 folders=8, seed=5)
    api = emulator_process.api_session()
    for number, odd in enumerate(ODD_DOCUMENTS):
        fields = {name: value for name, value in odd.items() if name not in ("title", "authors", "file")}
        doc = create_document(api, odd["title"], None, year=2023, **fields)
        if "authors" in odd:
            update_document(api, doc["id"], authors=odd["authors"])  # whole persons, not just last names
        attach_file(api, doc["id"], odd["file"], f"%PDF-1.4 {odd['title']}".encode())
        create_annotation(api, doc["id"], "sticky_note", text=f"First line {number}\n\nSecond & last",
                          positions=[{"top_left": {"x": 10, "y": 10}, "bottom_right": {"x": 10, "y": 10}, "page": 1}])
        add_to_folder(api, made["folders"][number % len(made["folders"])], doc["id"])
    tool = BackupTool(emulator_process, tmp_path_factory.mktemp("export"))
    run = tool.run()
    assert run.summary.new == 404
    return tool, emulator_process.library(), run


def by_document(tool: BackupTool, records: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """Export records by the id of the document whose folder their last file is in."""
    folder_to_id = {folder: doc_id for doc_id, folder in document_folders(tool.backup).items()}
    found = {}
    for paths, record in records.items():
        doc_id = folder_to_id[str(Path(paths[-1]).parent)]
        assert doc_id not in found, f"two records for the document {doc_id}"
        found[doc_id] = record
    return found


def state_entries(tool: BackupTool) -> dict[str, dict[str, Any]]:
    """The state's entries with their folders: id -> {"path", "files": {file id: {"name", ...}}, ...}."""
    state = state_of(tool.backup)
    return {doc_id: {"path": state["documents"][doc_id], **entry} for doc_id, entry in state["entries"].items()}


def name_of(person: dict[str, str]) -> str:
    return person.get("last_name") or person.get("first_name") or ""


def joined(*values: Any) -> str:
    return ", ".join(str(value) for value in values if value)


LABELS = {"note": "Note", "sticky_note": "Sticky note", "highlight": "Highlight"}


def note_texts(document: dict[str, Any], library: dict[str, Any]) -> tuple[str, list[str]]:
    """(the document's own note, each annotation's note `Label (page N): text`), words only."""
    own = re.sub(r"<[^>]+>", " ", document.get("notes", "")).replace("&amp;", "&")
    annotations = [a for a in library["annotations"] if a["document_id"] == document["id"] and a.get("text")]
    notes = []
    for annotation in sorted(annotations, key=lambda a: (a["created"], a["id"])):
        page = annotation["positions"][0]["page"] if annotation.get("positions") else None
        where = f" (page {page})" if page and annotation["type"] != "note" else ""
        notes.append(squash(f"{LABELS[annotation['type']]}{where}: {annotation['text']}"))
    return squash(own), notes


def test_the_seeded_library_has_every_type_and_field_and_the_hard_cases(seeded):
    _, truth, _ = seeded
    documents = truth["documents"]
    assert {d["type"] for d in documents} == REFERENCE_TYPES
    assert {name for d in documents for name in d} >= REFERENCE_FIELDS
    assert set().union(*(d.get("identifiers", {}) for d in documents)) == {"doi", "isbn", "issn", "pmid", "arxiv"}
    text = " ".join(str(value) for document in documents for value in document.values())
    for char in "{}%&$#_\\~^éøü王И":
        assert char in text, f"nothing in the library holds {char!r}"
    assert any(d["type"] == "thesis" and d.get("publisher") and d.get("institution") for d in documents)
    assert any("\n\n" in d.get("notes", "") or "</p><p>" in d.get("notes", "") for d in documents)
    names = [f["file_name"] for f in truth["files"]]
    assert any("&" in name and "  " in name for name in names)


def expected_bibtex(document: dict[str, Any], kind: str, library: dict[str, Any]) -> dict[str, str]:
    """Every field the mapping table (docs/EXPORT.md) puts a document's values in, as LaTeX prints them."""
    ids = document.get("identifiers", {})
    sources = {"article": "journal", "incollection": "booktitle", "inproceedings": "booktitle",
               "inreference": "booktitle", "online": "booktitle", "jurisdiction": "journal"}
    own, annotations = note_texts(document, library)
    expected = {
        "title": document.get("title"), "shorttitle": document.get("short_title"),
        "series": document.get("series"), "series-editor": document.get("series_editor"),
        "edition": document.get("edition"), "volume": document.get("volume"), "pages": document.get("pages"),
        "chapter": document.get("chapter"), "year": document.get("year"), "publisher": document.get("publisher"),
        "medium": document.get("medium"), "reprint-edition": document.get("reprint_edition"),
        "source-type": document.get("source_type"), "language": document.get("language"),
        "doi": ids.get("doi"), "isbn": ids.get("isbn"), "issn": ids.get("issn"), "pmid": ids.get("pmid"),
        "eprint": ids.get("arxiv"), "url": (document.get("websites") or [None])[0],
        "urldate": document.get("accessed"), "abstract": document.get("abstract"),
        "mendeley-tags": joined(*document.get("tags", [])), "date-added": document["created"],
        "timestamp": document["created"][:10], "annote": own, "comment": " ".join(annotations),
        "readstatus": "read" if document.get("read") else None,
        "relevance": "relevant" if document.get("starred") else None,
        "qualityassured": "qualityAssured" if document.get("confirmed") else None,
        "month": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December"][document["month"] - 1] if document.get("month") else None,
    }
    if kind == "legislation":
        expected |= {"journal": document.get("code"), "howpublished": document.get("source")}
    else:
        expected |= {sources.get(kind, "howpublished"): document.get("source"), "code": document.get("code")}
    number, issue = ("revision", "issue") if kind in ("techreport", "patent") else ("issue", "revision")
    numbered = kind in ("techreport", "patent", "article", "inproceedings", "misc")
    expected |= {"number": document.get(number) if numbered else None,
                 number if not numbered else "_": document.get(number), issue: document.get(issue)}
    expected["school" if kind.endswith("thesis") else "institution"] = \
        joined(document.get("department"), document.get("institution"))
    if kind == "patent":
        expected |= {"address": document.get("city"), "nationality": document.get("country"),
                     "holder": document.get("patent_owner"), "assignee": document.get("patent_owner"),
                     "application-number": document.get("patent_application_number"),
                     "legal-status": document.get("patent_legal_status")}
    else:
        expected["address"] = joined(document.get("city"), document.get("country"))
    genre, context = document.get("genre"), document.get("user_context")
    expected["type"] = genre or context or ("Working paper" if document["type"] == "working_paper" else None)
    expected["user-context"] = context if genre and context and genre != context else None
    expected.pop("_", None)
    return {name: squash(str(value)) for name, value in expected.items() if value}


def test_bibtex_export_has_every_field_where_the_mapping_table_says(seeded):
    tool, truth, _ = seeded
    bib = pybtex.database.parse_file(str(tool.backup / "library.bib"), bib_format="bibtex")
    assert len(bib.entries) == len(truth["documents"]) == 404
    entries = by_document(tool, {tuple(jabref_file_paths(entry.fields["file"])): entry
                                 for entry in bib.entries.values()})
    state = state_entries(tool)
    for document in truth["documents"]:
        entry = entries[document["id"]]
        kind = entry.type.lower()
        fields = {name.lower(): value for name, value in entry.fields.items()}
        for name, value in expected_bibtex(document, kind, truth).items():
            written = fields.get(name, "")
            verbatim = name in ("doi", "url", "eprint", "isbn", "issn", "pmid")
            assert (squash(written) if verbatim else latex_to_text(written)) == value, (document["id"], kind, name)
        for role, field in (("authors", "author"), ("editors", "editor"), ("translators", "translator")):
            people = entry.persons.get(field) or [pybtex.database.Person(name) for name in
                                                  re.split(r"\s+and\s+", fields.get(field, "")) if name]
            got = [latex_to_text(" ".join(person.prelast_names + person.last_names).strip("{}")) for person in people]
            assert got == [squash(name_of(person)) for person in document.get(role, [])], (document["id"], role)
        assert set(document.get("keywords", []) + document.get("tags", [])) <= \
            set(latex_to_text(fields.get("keywords", "")).split(", "))
        paths = jabref_file_paths(fields["file"])
        assert paths == [f"{state[document['id']]['path']}/{record['name']}"
                         for record in state[document["id"]]["files"].values()]
        assert all((tool.backup / path).is_file() for path in paths)


def test_user_citation_keys_are_kept_byte_for_byte(seeded):
    tool, truth, run = seeded
    raw = (tool.backup / "library.bib").read_bytes()
    ris = (tool.backup / "library.ris").read_text(encoding="utf-8")
    own = [d for d in sorted(truth["documents"], key=lambda d: (d["created"], d["id"])) if d.get("citation_key")]
    assert len(own) > 50
    seen: dict[str, str] = {}
    for document in own:
        key = document["citation_key"]
        if re.search(r"[\s\"#%'(),={}\\]", key):  # not a key as it is: written without those characters
            assert f"Citation key {key!r} of" in run.stderr
            continue
        if key.casefold() in seen:  # the newer of two documents sharing a key gets a suffix, and a warning
            assert f"share the citation key {key!r}" in run.stderr
            continue
        seen[key.casefold()] = document["id"]
        assert re.search(rb"@[a-z]+\{" + re.escape(key.encode()) + rb",\n", raw), key
        assert f"ID  - {key}\n" in ris and f"M2  - Citation Key: {key}\n" in ris
    assert "Weiß1963".encode() in raw and "Weiß1963a".encode() in raw


def test_folders_are_jabref_groups_nested_as_in_mendeley_with_their_documents_keys(seeded):
    tool, truth, _ = seeded
    text = (tool.backup / "library.bib").read_text(encoding="utf-8")
    bib = pybtex.database.parse_string(text, "bibtex")
    key_of = by_document(tool, {tuple(jabref_file_paths(entry.fields["file"])): key
                                for key, entry in bib.entries.items()})
    folders = {folder["id"]: folder for folder in truth["folders"]}

    def path(folder_id: str) -> tuple[str, ...]:
        folder = folders[folder_id]
        return (*path(folder["parent_id"]), folder["name"]) if folder.get("parent_id") else (folder["name"],)

    members: dict[tuple[str, ...], list[str]] = {path(f): [] for f in folders}
    for document in truth["documents"]:
        for folder_id in document.get("folder_uuids", []):
            members[path(folder_id)].append(key_of[document["id"]])
    groups = jabref_groups(text)
    assert sorted(p for p, _ in groups) == sorted(members)  # every folder a group, nested as in Mendeley
    for group_path, keys in groups:
        assert sorted(keys) == sorted(members[group_path]), group_path
    assert any(len(p) > 1 for p in members)  # the seed nests folders


def test_ris_export_has_every_field_where_the_mapping_table_says(seeded):
    tool, truth, _ = seeded
    ris_file = tool.backup / "library.ris"
    records = read_ris(ris_file.read_text(encoding="utf-8"))
    assert len(records) == len(truth["documents"])
    resolved = {}
    for record in records:  # every L1 resolves as Zotero resolves it
        files = [zotero_attachment(value, ris_file) for value in record["L1"]]
        assert all(files), record["L1"]
        resolved[tuple(str(f.relative_to(tool.backup.resolve())) for f in files if f)] = record
    by_id = by_document(tool, resolved)
    assert any("%26" in value for record in records for value in record["L1"])  # a path that needed encoding
    for document in truth["documents"]:
        record = {tag: [zotero_unescape(v) if tag not in ("N1", "AB") else v for v in values]
                  for tag, values in by_id[document["id"]].items()}
        kind = record["TY"][0]
        extra = record.get("M2", [])
        ids = document.get("identifiers", {})
        assert record.get("TI") == ([squash(document["title"])] if "title" in document else None)
        for tag, role in (("AU", "authors"), ("ED", "editors"), ("A4", "translators")):
            assert [value.split(", ")[0] for value in record.get(tag, [])] == \
                [squash(name_of(person)) for person in document.get(role, [])], (document["id"], tag)
        assert record.get("DO", [None])[0] == ids.get("doi")
        for label, name in (("PMID", "pmid"), ("arXiv", "arxiv")):
            assert (f"{label}: {ids.get(name)}" in extra) == (name in ids)
        assert extra[0] == f"Citation Key: {record['ID'][0]}"
        issn_on = kind in ("JOUR", "MGZN", "NEWS", "GEN")
        isbn_on = kind in ("BOOK", "CHAP", "CONF", "COMP", "ENCYC", "VIDEO")
        sn = [v for v, on in ((ids.get("isbn"), isbn_on), (ids.get("issn"), issn_on)) if v and on]
        if kind in ("RPRT", "PAT"):
            sn = [document["revision"]] if document.get("revision") else []
        assert record.get("SN", []) == sn, document["id"]
        source = document.get("source")
        source_tag = {"CONF": "C3"}.get(kind, "T2" if kind in ("JOUR", "MGZN", "NEWS", "CHAP", "ENCYC", "ELEC",
                                                                "GEN", "CASE") else None)
        if source:
            assert (record.get(source_tag) == [source]) if source_tag else f"Publication: {source}" in extra
        if document.get("volume"):
            assert (record.get("VL") == [document["volume"]]) if kind not in ("ELEC", "PAT") else \
                f"Volume: {document['volume']}" in extra
        if kind in ("THES", "RPRT") and document.get("institution"):
            assert record["PB"] == [joined(document.get("department"), document["institution"])]
            assert not document.get("publisher") or f"Publisher: {document['publisher']}" in extra
        if kind == "PAT":
            assert record.get("PB") == ([document["patent_owner"]] if document.get("patent_owner") else None)
            assert record.get("C6") == [document["patent_legal_status"]]
        if document.get("pages") and kind in ("BOOK", "THES"):
            assert record["SP"] == [document["pages"]] and "EP" not in record  # Zotero: numPages, kept whole
        assert set(document.get("keywords", []) + document.get("tags", [])) <= set(record.get("KW", []))
        own, annotations = note_texts(document, truth)
        notes = [squash(zotero_unescape(re.sub(r"</p><p>|<br/>", " ", note))) for note in record.get("N1", [])]
        assert notes == ([own] if own else []) + annotations, document["id"]  # one N1 per note
        if own and ("</p><p>" in document["notes"] or "\n\n" in document["notes"]):
            assert "</p><p>" in record["N1"][0]  # its paragraphs kept, as HTML paragraphs Zotero reads




def test_exports_are_rewritten_only_when_something_changed(emulator, api, tmp_path):
    documents = [create_document(api, f"Paper {number}", ["Doe"]) for number in range(3)]
    tool = BackupTool(emulator, tmp_path)
    tool.run()
    exports = [tool.backup / "library.bib", tool.backup / "library.ris"]

    def signatures() -> list[tuple[int, bytes]]:
        return [(path.stat().st_mtime_ns, path.read_bytes()) for path in exports]

    before = signatures()
    assert tool.run().summary == Summary()
    assert signatures() == before
    update_document(api, documents[1]["id"], title="Paper one, revised")
    assert tool.run().summary == Summary(moved=1)
    after = signatures()
    assert all(new[0] != old[0] and new[1] != old[1] for new, old in zip(after, before, strict=True))
    assert "Paper one, revised" in exports[0].read_text(encoding="utf-8")
    assert "TI  - Paper one, revised" in exports[1].read_text(encoding="utf-8").splitlines()
    create_annotation(api, documents[0]["id"], "note", text="an afterthought")
    assert tool.run().summary == Summary(updated=1, annotations=1)
    assert "Note: an afterthought" in exports[0].read_text(encoding="utf-8")
    assert "N1  - Note: an afterthought" in exports[1].read_text(encoding="utf-8").splitlines()


def test_citation_keys_stay_when_documents_are_added(emulator, api, tmp_path):
    tool = BackupTool(emulator, tmp_path)

    def keys() -> dict[str, str]:
        bib = pybtex.database.parse_file(str(tool.backup / "library.bib"), bib_format="bibtex")
        return {entry.fields["title"]: key for key, entry in bib.entries.items()}

    # The same author, year and first title word: one key, then suffixes in the order the documents came.
    for title in ("Paper one", "Paper two"):
        create_document(api, title, ["Doe"])
    tool.run()
    before = keys()
    assert sorted(before.values()) == ["Doe2024Paper", "Doe2024Papera"]
    create_document(api, "Paper three", ["Doe"])
    tool.run()
    assert keys() == {**before, "Paper three": "Doe2024Paperb"}


def test_exports_a_run_did_not_get_to_write_are_written_by_the_next(emulator, api, tmp_path):
    create_document(api, "Paper one", ["Doe"])
    tool = BackupTool(emulator, tmp_path)
    tool.run()
    bib = tool.backup / "library.bib"
    old = bib.read_bytes()
    create_document(api, "Paper two", ["Doe"])
    # The run backs the new document up, then cannot write the export (a folder is in its way) ...
    bib.unlink()
    bib.mkdir()
    assert tool.run(expect=3).summary.new == 1
    # ... and ends leaving the old export, as a run killed at that moment would.
    bib.rmdir()
    bib.write_bytes(old)
    assert tool.run().summary == Summary()
    assert "Paper two" in bib.read_text(encoding="utf-8")
    assert "Paper two" in (tool.backup / "library.ris").read_text(encoding="utf-8")


def test_a_shared_citation_key_is_warned_about_when_first_exported_not_on_every_run(emulator, api, tmp_path):
    """Two documents the user gave one key: the first run that exports them says so once; a later run that
    changes another document is silent about it (an hourly cron job must not mail it every hour)."""
    first = create_document(api, "First of two", ["Doe"], citation_key="Doe2024")
    create_document(api, "Second of two", ["Roe"], citation_key="Doe2024")
    other = create_document(api, "Unrelated", ["Poe"])
    tool = BackupTool(emulator, tmp_path)
    run = tool.run()
    assert run.stderr.count("share the citation key 'Doe2024'") == 1, run.stderr
    bib = (tool.backup / "library.bib").read_text(encoding="utf-8")
    assert "{Doe2024," in bib and "{Doe2024a," in bib
    update_document(api, other["id"], abstract="Changed.")
    quiet = tool.run("-q")
    assert quiet.stderr == "" and quiet.stdout == "", quiet.stderr
    update_document(api, first["id"], abstract="Changed too.")
    again = tool.run()
    assert again.stderr.count("share the citation key 'Doe2024'") == 1, again.stderr
