"""library.bib and library.ris of a real backup, read back by parsers other than the ones that wrote them:
pybtex for the BibTeX bibtexparser wrote, and a minimal RIS reader of the test's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pybtex.database
import pytest

from tests.library import attach_file, create_annotation, create_document, update_document
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
]
ESCAPED = {"textbraceleft": "{", "textbraceright": "}", "textasciitilde": "~", "textasciicircum": "^",
           "textbackslash": "\\"}


def latex_text(value: str) -> str:
    """The text of a field written with the ten LaTeX specials escaped, and nothing else of LaTeX."""
    value = re.sub(r"\{\\(text[a-z]+)\}", lambda match: ESCAPED[match.group(1)], value)
    return " ".join(re.sub(r"\\([{}%&$#_])", r"\1", value).split())


def jabref_paths(field: str) -> list[str]:
    """The paths of JabRef's `file` field: `description:path:TYPE;...`, a backslash escaping the next character."""
    items: list[list[str]] = [[""]]
    escaped = False
    for char in field:
        if escaped:
            items[-1][-1] += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ";":
            items.append([""])
        elif char == ":":
            items[-1].append("")
        else:
            items[-1][-1] += char
    return [item[1] for item in items if len(item) == 3]


def read_ris(text: str) -> list[dict[str, list[str]]]:
    """Records of a RIS file: `TAG  - value` lines from `TY` to `ER`, each tag's values in order."""
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9])  - ?(.*)", line)
        assert match, f"not a RIS line: {line!r}"
        tag, value = match.groups()
        if tag == "TY":
            assert current is None, "TY inside a record"
            current = {}
        assert current is not None, f"{tag} outside a record"
        if tag == "ER":
            records.append(current)
            current = None
        else:
            current.setdefault(tag, []).append(value)
    assert current is None, "the last record has no ER"
    return records


def name_of(person: dict[str, str]) -> str:
    return person.get("last_name") or person.get("first_name") or ""


@pytest.fixture(scope="module")
def seeded(emulator_process, tmp_path_factory):
    """A 500-document seeded library plus the odd documents, backed up once for the whole module."""
    emulator_process.reset()
    emulator_process.seed(documents=500, files_per_document=1, file_size=200, annotations_per_document=1, seed=5)
    api = emulator_process.api_session()
    for odd in ODD_DOCUMENTS:
        fields = {name: value for name, value in odd.items() if name not in ("title", "authors", "file")}
        doc = create_document(api, odd["title"], None, year=2023, **fields)
        update_document(api, doc["id"], authors=odd["authors"])  # whole persons, not just last names
        attach_file(api, doc["id"], odd["file"], f"%PDF-1.4 {odd['title']}".encode())
    tool = BackupTool(emulator_process, tmp_path_factory.mktemp("export"))
    assert tool.run().summary == Summary(new=502, annotations=500)
    return tool, emulator_process.library()


def by_document(tool: BackupTool, records: dict[str, list[str]]) -> dict[str, Any]:
    """Export records by the id of the document whose folder their first file is in."""
    folder_to_id = {folder: doc_id for doc_id, folder in document_folders(tool.backup).items()}
    found = {}
    for paths, record in records.items():
        doc_id = folder_to_id[str(Path(paths[0]).parent)]
        assert doc_id not in found, f"two records for the document {doc_id}"
        found[doc_id] = record
    return found


def state_entries(tool: BackupTool) -> dict[str, dict[str, Any]]:
    """The state's entries with their folders: id -> {"path", "files": {file id: {"name", ...}}, ...}."""
    state = state_of(tool.backup)
    return {doc_id: {"path": state["documents"][doc_id], **entry} for doc_id, entry in state["entries"].items()}


def test_the_seeded_library_has_the_characters_an_export_must_escape(seeded):
    _, truth = seeded
    text = " ".join(str(value) for document in truth["documents"] for value in document.values())
    for char in "{}%&$#_\\~^éøü王И":
        assert char in text, f"nothing in the library holds {char!r}"


def test_bibtex_export_reads_back_with_pybtex(seeded):
    tool, truth = seeded
    bib = pybtex.database.parse_file(str(tool.backup / "library.bib"), bib_format="bibtex")
    assert len(bib.entries) == len(truth["documents"]) == 502
    entries = by_document(tool, {tuple(jabref_paths(entry.fields["file"])): entry for entry in bib.entries.values()})
    state = state_entries(tool)
    for document in truth["documents"]:
        entry = entries[document["id"]]
        fields = {name.lower(): value for name, value in entry.fields.items()}
        assert latex_text(fields.get("title", "")) == " ".join(document.get("title", "").split())
        assert fields.get("year") == (str(document["year"]) if "year" in document else None)
        for role, key in (("author", "authors"), ("editor", "editors")):
            got = [latex_text(" ".join(person.prelast_names + person.last_names).strip("{}"))
                   for person in entry.persons.get(role, [])]
            assert got == [name_of(person) for person in document.get(key, [])], document["id"]
        identifiers = document.get("identifiers", {})
        for field, name in (("doi", "doi"), ("isbn", "isbn"), ("issn", "issn"), ("pmid", "pmid"), ("eprint", "arxiv")):
            assert fields.get(field) == identifiers.get(name), (document["id"], field)
        if document.get("abstract"):
            assert latex_text(fields["abstract"]) == " ".join(document["abstract"].split())
        for field, name in (("volume", "volume"), ("pages", "pages"), ("publisher", "publisher")):
            assert latex_text(fields.get(field, "")) == document.get(name, "")
        assert fields.get("url") == (document.get("websites") or [None])[0]
        assert set(document.get("keywords", []) + document.get("tags", [])) <= \
            set(latex_text(fields.get("keywords", "")).split(", "))
        paths = jabref_paths(fields["file"])
        assert paths == [f"{state[document['id']]['path']}/{record['name']}"
                         for record in state[document["id"]]["files"].values()]
        assert all((tool.backup / path).is_file() for path in paths)
    odd = entries[next(d["id"] for d in truth["documents"] if d.get("title") == ODD_DOCUMENTS[0]["title"])]
    assert "Important: 50% & more" in latex_text(odd.fields["annote"])
    assert latex_text(odd.fields["journal"]) == ODD_DOCUMENTS[0]["source"]


def test_ris_export_reads_back_with_a_minimal_reader(seeded):
    tool, truth = seeded
    records = read_ris((tool.backup / "library.ris").read_text(encoding="utf-8"))
    assert len(records) == len(truth["documents"])
    by_id = by_document(tool, {tuple(record["L1"]): record for record in records})
    for document in truth["documents"]:
        record = by_id[document["id"]]
        assert record.get("TI") == ([document["title"]] if "title" in document else None)
        assert [value.split(", ")[0] for value in record.get("AU", [])] == \
            [name_of(person) for person in document.get("authors", [])]
        assert [value.split(", ")[0] for value in record.get("A2", [])] == \
            [name_of(person) for person in document.get("editors", [])]
        identifiers = document.get("identifiers", {})
        assert record.get("DO", [None])[0] == identifiers.get("doi")
        assert record.get("SN", []) == [identifiers[name] for name in ("isbn", "issn") if name in identifiers]
        assert record.get("AN", [None])[0] == identifiers.get("pmid")
        for tag, name in (("VL", "volume"), ("UR", "websites")):
            value = document.get(name)
            assert record.get(tag) == (value if isinstance(value, list) else [value] if value else None)
        assert set(document.get("keywords", []) + document.get("tags", [])) <= set(record.get("KW", []))
        if "arxiv" in identifiers:
            assert f"arXiv: {identifiers['arxiv']}" in record["N1"]
        assert all((tool.backup / path).is_file() for path in record["L1"])



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
