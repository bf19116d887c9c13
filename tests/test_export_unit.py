"""Unit tests of the library export (Export.py, BibtexExport.py, RisExport.py, CitationKeys.py).

What the exporter writes is read back with parsers other than the writers: pybtex for BibTeX (written
by bibtexparser), pylatexenc's latex→text for the values, and the readers of tests/export_readers.py
(RIS, JabRef's file field, Zotero's unescaping) for RIS (written by rispy).
"""

import random
import re
from typing import Any
from urllib.parse import unquote

import bibtexparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pybtex.database import parse_string
from pylatexenc.latexencode import RULE_DICT, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

import BibtexExport
import CitationKeys
import DocumentFields
import Export
import JabRefGroups
import RisExport
from BibtexExport import bibtex_text
from Export import ExportEntry
from RisExport import ris_text
from tests.export_readers import (
    jabref_file_paths,
    jabref_groups,
    latex_to_text,
    read_ris,
    squash,
    zotero_attachment,
    zotero_unescape,
)

# ---------------------------------------------------------------- independent readers


def parse_bibtex(text: str) -> Any:
    """pybtex's reading of the export (strict: any error raises)."""
    return parse_string(text, "bibtex")


def person_last(person: Any) -> str:
    return latex_to_text(" ".join(person.prelast_names + person.last_names))


def person_first(person: Any) -> str:
    return latex_to_text(" ".join(person.first_names + person.middle_names))


# ---------------------------------------------------------------- hand-made documents

HOSTILE = [
    "{",
    "}",
    "}{",
    "{{{",
    "a}b{c",
    "{balanced {nested} braces}",
    "100% sure",
    "R&D",
    "$x^2$ costs $5",
    "#hashtag",
    "snake_case",
    "C:\\path\\",
    "~tilde",
    "x^y",
    "\\}",
    "trailing backslash \\",
    "all at once: { } % & $ # _ \\ ~ ^ {",
]


def document(number: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"00000000-0000-0000-0000-{number:012d}",
        "created": f"2020-01-01T00:00:{number % 60:02d}.{number // 60:03d}Z",
        "type": "journal",
    }
    return {**base, **fields}


def library() -> list[ExportEntry]:
    """Documents covering the hostile cases, each with one or two backed-up files."""
    people = [
        {"first_name": "Igor", "last_name": "Žutić"},
        {"first_name": "Hans Christian", "last_name": "Ørsted"},
        {"first_name": "小明", "last_name": "王"},
        {"last_name": "World Health Organization"},
        {"first_name": "Johannes", "last_name": "van der Waals"},
        {"first_name": "Jr.", "last_name": "Smith, John"},
        {"last_name": "Procter and Gamble"},
        {"last_name": "others"},
        {"first_name": "Solo"},
        {"first_name": "Ann {", "last_name": "Brace}"},
    ]
    docs = [
        document(
            i,
            title=f"Title {i}: {hostile}",
            authors=[people[i % len(people)], people[(i + 3) % len(people)]],
            editors=[people[(i + 5) % len(people)]],
            year=2000 + i,
            month=i % 12 + 1,
            source=f"Journal of {hostile}",
            abstract=f"Abstract line one {hostile}\n@article{{evil, title={{x}}}}\n\nparagraph {hostile}",
            identifiers={
                "doi": f"10.1000/xyz_{i}%2F(abc)",
                "isbn": f"978-3-16-148410-{i % 10}",
                "issn": "1234-567X",
                "pmid": str(1000 + i),
                "arxiv": f"2101.{i:05d}",
            },
            keywords=[hostile, "plain"],
            tags=["tag & more"],
            notes=f"<p>My note on {hostile.replace('&', '&amp;').replace('<', '&lt;')}</p>",
            websites=[f"https://example.org/{i}?a=1&b=2_3%20"],
            pages=f"{i}-{i + 9}",
            volume=str(i),
            issue="2",
            publisher=f"Publisher {hostile}",
            city="Zürich",
        )
        for i, hostile in enumerate(HOSTILE)
    ]
    docs += [
        document(100, title="No authors, no year"),
        document(101, authors=[{"last_name": "Untitled"}], year=1999),  # no title
        document(102),  # nothing at all
        document(103, title="T" * 255 + " very long", authors=[{"last_name": "Long"}], year=2001),
        document(104, title="Only last names", authors=[{"last_name": "Curie"}, {"last_name": "Bohr"}]),
        document(
            105, title="Same key", authors=[{"last_name": "Curie"}], year=1900, citation_key="Curie1900"
        ),
        document(
            106, title="Same key", authors=[{"last_name": "Curie"}], year=1900, citation_key="curie1900"
        ),
        document(107, title=None, authors=None, year=None, identifiers=None, keywords=None, tags=None),
        document(108, type="thesis", genre="Master's thesis", title="A thesis", institution="ETH & Co"),
    ]
    return [
        ExportEntry(
            doc,
            # folders named from titles as Naming names them (`\\ / : * ? " < > |` made `_`)
            [
                re.sub(r'[\\/:*?"<>|]', "_", f"{doc['id'][-3:]} - {doc.get('title')}"[:60])
                + "/Doe -  - paper.pdf"
            ]
            + ([f"{doc['id'][-3:]}/supplement: data;v2\\final}}.docx"] if i % 3 == 0 else []),
            [
                {
                    "id": "a1",
                    "type": "note",
                    "text": f"Annotation note {i}",
                    "created": "2021-01-01T00:00:00Z",
                },
                {
                    "id": "a2",
                    "type": "highlight",
                    "positions": [{"page": 3}],
                    "created": "2021-01-02T00:00:00Z",
                },
                {"id": "a3", "type": "sticky_note", "text": "Sticky & {", "positions": [{"page": 2}]},
            ],
        )
        for i, doc in enumerate(docs)
    ]


def ids(entries: list[ExportEntry]) -> list[str]:
    return [e.document["id"] for e in entries]


def entries_by_id(text: str) -> dict[str, Any]:
    """pybtex entries keyed by the document id (found through the export's keys in the same order)."""
    return dict(parse_bibtex(text).entries)


@pytest.fixture(scope="module")
def hostile() -> list[ExportEntry]:
    return library()


@pytest.fixture(scope="module")
def keys(hostile: list[ExportEntry]) -> dict[str, str]:
    """Document id → citation key, as the export assigns them."""
    return {entry.document["id"]: key for key, entry in Export.keyed_entries(hostile)}


# ---------------------------------------------------------------- BibTeX read back by pybtex


def test_bibtex_has_every_document_under_its_key(hostile: list[ExportEntry], keys: dict[str, str]) -> None:
    parsed = parse_bibtex(bibtex_text(hostile))
    assert len(parsed.entries) == len(hostile)
    assert set(parsed.entries.keys()) == set(keys.values())


def test_bibtex_titles_and_texts_round_trip(hostile: list[ExportEntry], keys: dict[str, str]) -> None:
    parsed = parse_bibtex(bibtex_text(hostile))
    for entry in hostile:
        doc = entry.document
        fields = parsed.entries[keys[doc["id"]]].fields
        if doc.get("title"):
            assert latex_to_text(fields["title"]) == squash(doc["title"])
        else:
            assert "title" not in fields
        for name, source in (("abstract", "abstract"), ("publisher", "publisher"), ("address", "city")):
            if doc.get(source):
                assert latex_to_text(fields[name]) == squash(doc[source])
        if doc.get("source"):
            assert latex_to_text(fields["journal"]) == squash(doc["source"])


def test_bibtex_people_are_split_as_mendeley_has_them(
    hostile: list[ExportEntry], keys: dict[str, str]
) -> None:
    parsed = parse_bibtex(bibtex_text(hostile))
    for entry in hostile:
        persons = parsed.entries[keys[entry.document["id"]]].persons
        for role, field in (("authors", "author"), ("editors", "editor")):
            expected = DocumentFields.people(entry.document, role)
            found = [(person_last(p), person_first(p)) for p in persons.get(field, [])]
            assert found == [(squash(last), squash(first)) for last, first in expected]


def test_bibtex_identifiers_are_written_as_they_are(hostile: list[ExportEntry], keys: dict[str, str]) -> None:
    parsed = parse_bibtex(bibtex_text(hostile))
    for entry in hostile:
        identifiers = entry.document.get("identifiers") or {}
        fields = parsed.entries[keys[entry.document["id"]]].fields
        for name, field in (
            ("doi", "doi"),
            ("isbn", "isbn"),
            ("issn", "issn"),
            ("pmid", "pmid"),
            ("arxiv", "eprint"),
        ):
            if identifiers.get(name):
                assert fields[field] == identifiers[name]
        if identifiers.get("arxiv"):
            assert fields["archiveprefix"] == "arXiv"
        if entry.document.get("websites"):
            assert fields["url"] == entry.document["websites"][0]


def test_bibtex_file_field_lists_paths_that_resolve(
    hostile: list[ExportEntry], keys: dict[str, str], tmp_path
) -> None:
    for entry in hostile:
        for path in entry.file_paths:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_bytes(b"%PDF-1.4\n")
    parsed = parse_bibtex(bibtex_text(hostile))
    for entry in hostile:
        fields = parsed.entries[keys[entry.document["id"]]].fields
        assert jabref_file_paths(fields["file"]) == list(entry.file_paths)  # stray braces included
        assert all((tmp_path / p).is_file() for p in jabref_file_paths(fields.get("file", "")))


def test_bibtex_file_field_format() -> None:
    field = BibtexExport.jabref_file_field(["A/b.pdf", "c: d;e\\f.docx", "no extension", "a -  - b.pdf"])
    assert field == r":A/b.pdf:PDF;:c\: d\;e\\f.docx:DOCX;:no extension:;:a - \ - b.pdf:PDF"


def test_bibtex_file_field_balances_stray_braces_outside_the_path() -> None:
    field = BibtexExport.jabref_file_field(["a}b{c.pdf", "x{.pdf", "}y.pdf", "{" * 9 + ".pdf", "a\\{b}.pdf"])
    # the last two are left out: one nests too deep, one has a brace that readers count differently
    assert field == "{:a}b{c.pdf:PDF};:x{.pdf:PDF};{:}y.pdf:PDF"
    assert jabref_file_paths(
        parse_bibtex("@misc{k, file = {" + field + "}}").entries["k"].fields["file"]
    ) == [
        "a}b{c.pdf",
        "x{.pdf",
        "}y.pdf",
    ]


def test_bibtex_notes_keywords_month_and_type(hostile: list[ExportEntry], keys: dict[str, str]) -> None:
    parsed = parse_bibtex(bibtex_text(hostile))
    first = hostile[0]
    fields = parsed.entries[keys[first.document["id"]]].fields
    assert latex_to_text(fields["annote"]) == "My note on {"  # the document's own note
    comment = latex_to_text(fields["comment"])  # the annotations' texts, by (created, id)
    assert comment == "Sticky note (page 2): Sticky & { Note: Annotation note 0"
    assert "Highlight" not in comment  # a highlight without text adds nothing
    assert latex_to_text(fields["keywords"]) == "{, plain, tag & more"
    assert latex_to_text(fields["mendeley-tags"]) == "tag & more"
    assert fields["month"] == "January"  # written as the `jan` macro
    assert fields["timestamp"] == "2020-01-01" and fields["date-added"] == first.document["created"]
    assert parsed.entries[keys[first.document["id"]]].type == "article"
    thesis = next(e for e in hostile if e.document.get("type") == "thesis")
    thesis_entry = parsed.entries[keys[thesis.document["id"]]]
    assert thesis_entry.type == "mastersthesis"
    assert latex_to_text(thesis_entry.fields["school"]) == "ETH & Co"


def test_notes_keep_their_paragraphs_and_stay_apart() -> None:
    entry = ExportEntry(document(1, notes="<p>First para</p><p>Second <b>para</b><br/>next line</p>"), [], [
        {"id": "a", "type": "sticky_note", "text": "One\n\nTwo", "positions": [{"page": 4}], "created": "1"},
        {"id": "b", "type": "highlight", "text": "R&D <3", "positions": [{"page": 5}], "created": "2"},
        {"id": "c", "type": "note", "text": "plain", "created": "3"}])
    fields = bibtexparser.parse_string(bibtex_text([entry])).entries[0].fields_dict
    assert fields["annote"].value == "First para\n\nSecond para\nnext line"  # JabRef keeps the line breaks
    assert fields["comment"].value == "Sticky note (page 4): One\n\nTwo\n\nHighlight (page 5): R\\&D <3\n\nNote: plain"
    [record] = read_ris(ris_text([entry]))
    # one N1 each (Zotero makes each a note); HTML paragraphs where a note has more than one line
    assert record["N1"] == ["<p>First para</p><p>Second para<br/>next line</p>",
                            "<p>Sticky note (page 4): One</p><p>Two</p>",
                            "<p>Highlight (page 5): R&amp;D &lt;3</p>", "Note: plain"]


def test_bibtex_also_reads_back_with_bibtexparser(hostile: list[ExportEntry]) -> None:
    parsed = bibtexparser.parse_string(bibtex_text(hostile))
    assert not parsed.failed_blocks
    assert len(parsed.entries) == len(hostile)


def test_document_with_nothing_still_gets_an_entry() -> None:
    entry = ExportEntry({"authors": [None, {}, {"first_name": None}], "year": True, "month": 13}, [])
    text = bibtex_text([entry])
    parsed = parse_bibtex(text)
    [(key, found)] = parsed.entries.items()
    assert key == "Anon" and found.type == "misc" and not found.fields
    assert read_ris(ris_text([entry])) == [{"TY": ["GEN"], "ID": ["Anon"], "M2": ["Citation Key: Anon"]}]


# ---------------------------------------------------------------- RIS read back by the reader above


def test_ris_has_every_document_and_field(hostile: list[ExportEntry], keys: dict[str, str]) -> None:
    records = read_ris(ris_text(hostile))
    assert len(records) == len(hostile)
    by_key = {record["ID"][0]: record for record in records}
    for entry in hostile:
        doc = entry.document
        record = by_key[keys[doc["id"]]]
        assert record["TY"] == [RisExport.RIS_TYPES.get(doc.get("type") or "", "GEN")]
        if doc.get("title"):
            assert [zotero_unescape(t) for t in record["TI"]] == [squash(doc["title"])]
        authors = DocumentFields.people(doc, "authors")
        assert [zotero_unescape(a) for a in record.get("AU", [])] == [
            squash(f"{last}, {first}" if first else last) for last, first in authors
        ]
        assert [a.split(",")[0] for a in record.get("AU", [])] == [last.split(",")[0] for last, _ in authors]
        identifiers = doc.get("identifiers") or {}
        if identifiers:
            assert record["DO"] == [identifiers["doi"]]
            assert record["SN"] == [identifiers["issn"]]  # a journal article's; its ISBN goes to Extra
            assert {f"ISBN: {identifiers['isbn']}", f"PMID: {identifiers['pmid']}",
                    f"arXiv: {identifiers['arxiv']}", f"Citation Key: {keys[doc['id']]}"} <= set(record["M2"])
            assert [zotero_unescape(url) for url in record["UR"]] == doc["websites"]
            assert record["PY"] == [str(doc["year"])]
            assert record["DA"] == [f"{doc['year']}/{doc['month']:02d}//"]
            assert record["SP"] + record["EP"] == doc["pages"].split("-")
            assert record["AB"] == [squash(doc["abstract"])]
            assert [zotero_unescape(kw) for kw in record["KW"]] == [squash(k) for k in [*doc["keywords"], *doc["tags"]]]
            assert [zotero_unescape(t) for t in record["T2"]] == [squash(doc["source"])]
        assert [unquote(path) for path in record.get("L1", [])] == list(entry.file_paths)


def test_ris_notes_are_one_line_each(hostile: list[ExportEntry]) -> None:
    record = read_ris(ris_text(hostile[:1]))[0]
    # the document's notes, then annotations by (created, id): one without `created` comes first
    assert record["N1"] == ["My note on {", "<p>Sticky note (page 2): Sticky &amp; {</p>", "Note: Annotation note 0"]


def test_ris_value_flattens_every_line_break() -> None:
    assert RisExport.ris_value(" a \r\n b\u2028c\x85d \n\n e\vf ") == "a b c d e f"
    assert RisExport.ris_value("ER  - x\nER  - ") == "ER  - x ER  -"


def test_ris_pages() -> None:
    assert RisExport.ris_pages("4-8") == ("4", "8")
    assert RisExport.ris_pages("4 -- 8") == ("4", "8")
    assert RisExport.ris_pages("e1234") == ("e1234", "")
    assert RisExport.ris_pages("A1–A9") == ("A1", "A9")


# ---------------------------------------------------------------- escaping and names


def test_latex_tables() -> None:
    assert BibtexExport.NESTED_TABLE[ord("%")] == r"\%"
    assert BibtexExport.NESTED_TABLE[ord("{")] == r"\{"
    assert BibtexExport.BRACE_FREE_TABLE[ord("{")] == r"{\textbraceleft}"
    assert BibtexExport.latex_escape('Žutić 王 <a> "q"') == 'Žutić 王 <a> "q"'  # UTF-8 and non-specials kept


@given(st.text(alphabet=st.sampled_from("ab {}%&$#_\\~^Žé王\n"), max_size=40))
def test_latex_escape_equals_pylatexenc_encoder(value: str) -> None:
    # pylatexenc's encoder restricted to the ten specials, non-ASCII kept: the reference.
    from pylatexenc.latexencode import get_builtin_uni2latex_dict

    defaults = {k: v for k, v in get_builtin_uni2latex_dict().items() if chr(k) in BibtexExport.LATEX_SPECIALS}
    if not BibtexExport.braces_nest(value):
        defaults |= {ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright"}
    encoder = UnicodeToLatexEncoder(
        conversion_rules=[UnicodeToLatexConversionRule(RULE_DICT, defaults)],
        unknown_char_policy="keep",
        unknown_char_warning=False,
    )
    assert BibtexExport.latex_escape(value) == encoder.unicode_to_latex(value)


def test_braces_nest() -> None:
    assert BibtexExport.braces_nest("a {b {c}} d")
    assert not BibtexExport.braces_nest("}{")
    assert not BibtexExport.braces_nest("{")
    assert not BibtexExport.braces_nest("{" * 9 + "}" * 9)


def test_verbatim_percent_encodes_only_braces_that_do_not_nest() -> None:
    assert BibtexExport.verbatim("10.1000/{a}_b%") == "10.1000/{a}_b%"
    assert BibtexExport.verbatim("http://x/{a") == "http://x/%7Ba"
    assert BibtexExport.verbatim("10.1/a\\{b}") == "10.1/a\\%7Bb%7D"
    assert BibtexExport.verbatim("http://x/\\") == "http://x/%5C"


@pytest.mark.parametrize(
    ("last", "first", "expected"),
    [
        ("Žutić", "Igor", "Žutić, Igor"),
        ("Curie", "", "Curie"),
        ("World Health Organization", "", "{World Health Organization}"),
        ("van der Waals", "Johannes", "van der Waals, Johannes"),
        ("Smith, John", "Jr.", "{Smith, John}, Jr."),
        ("Procter and Gamble", "", "{Procter and Gamble}"),
        ("Others", "", "{Others}"),
        ("Brace}", "Ann {", "Brace{\\textbraceright}, Ann {\\textbraceleft}"),
        ("O'Neil", "A. and B.", "O'Neil, {A. and B.}"),
    ],
)
def test_bibtex_name(last: str, first: str, expected: str) -> None:
    assert BibtexExport.bibtex_name(last, first) == expected


def test_plain_text_of_mendeley_notes() -> None:
    assert DocumentFields.plain_text("<p>One &amp; two</p><p>three<br/>four</p>") == "One & two\n\nthree\nfour"
    assert DocumentFields.plain_text("p < 0.05 & R&D") == "p < 0.05 & R&D"  # no tag, no entity: as it is


def test_bibtex_types() -> None:
    def kind(**fields: Any) -> str:
        return BibtexExport.bibtex_type(fields)

    assert kind(type="journal") == "article"
    assert kind(type="book_section") == "incollection"
    assert kind(type="conference_proceedings") == "inproceedings"
    assert kind(type="thesis") == "phdthesis"
    assert kind(type="thesis", genre="MSc / Master thesis") == "mastersthesis"
    assert kind(type="working_paper") == "techreport"
    assert kind(type="web_page") == "online"
    assert kind(type="computer_program") == "software"
    assert kind(type="case") == "jurisdiction"
    assert kind(type="something new") == "misc"
    assert kind() == "misc"


# ---------------------------------------------------------------- hypothesis: arbitrary text

LIGATURES = ("--", "``", "''", "?`", "!`")  # LaTeX turns these into –, “, ”, ¿, ¡ (as it should)
texts_ = st.text(st.characters(exclude_categories=("Cs",)), max_size=60) | st.text(
    st.sampled_from("ab AND and,{}%&$#_\\~^-'`@=\"Ž王 \n\u2028"), max_size=30
)
people_ = st.lists(
    st.fixed_dictionaries({"first_name": st.none() | texts_, "last_name": st.none() | texts_}), max_size=4
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts_, people_, texts_, st.lists(texts_, max_size=2)), min_size=1, max_size=5))
def test_arbitrary_text_still_parses(rows: list[tuple[str, list[dict[str, Any]], str, list[str]]]) -> None:
    entries = [
        ExportEntry(
            document(i, title=title, authors=authors, abstract=abstract, citation_key=title[:20]),
            # The backup's names never hold a control character: Naming replaces them with `_`, as here.
            [re.sub(r"[\x00-\x1f\x7f]", "_", p) for p in paths if p.strip()],
        )
        for i, (title, authors, abstract, paths) in enumerate(rows)
    ]
    text = bibtex_text(entries)
    parsed = parse_bibtex(text)
    assert len(parsed.entries) == len(entries)
    # bibtexparser takes a brace after a backslash for an escaped one: it must find the same entries
    also = bibtexparser.parse_string(text)
    assert not also.failed_blocks and len(also.entries) == len(entries)
    records = read_ris(ris_text(entries))
    assert len(records) == len(entries)
    for (key, entry), record in zip(Export.keyed_entries(entries), records, strict=True):
        title = Export.visible(entry.document["title"])
        fields = parsed.entries[key].fields
        if title.strip() and not any(ligature in title for ligature in LIGATURES):
            assert latex_to_text(fields["title"]) == squash(title)
        if title.strip():
            assert squash(zotero_unescape(record["TI"][0])) == squash(title)
        found = [(person_last(p), person_first(p)) for p in parsed.entries[key].persons.get("author", [])]
        expected = [(squash(last), squash(first)) for last, first in Export.contributors(entry.document, "authors")]
        assert len(found) == len(expected)
        for (last, first), wanted in zip(found, expected, strict=True):
            if not any(ligature in "".join(wanted) for ligature in LIGATURES):
                assert (last, first) == wanted
        # pybtex turns each whitespace run into one space: the escaped runs of spaces survive that,
        # while a lone tab or line separator still becomes a space
        kept = [p for p in entry.file_paths if BibtexExport.braces_are_safe(BibtexExport.jabref_file_field([p]) or "{")]
        assert jabref_file_paths(fields.get("file", "")) == [re.sub(r"\s", " ", Export.visible(p)) for p in kept]
        # Zotero reads every L1 back as the path: unchanged by its HTML unescaping, and as it is or percent-encoded
        flat = [RisExport.ris_value(Export.visible(p)) for p in entry.file_paths]
        flat = [path for path in flat if path]
        written = record.get("L1", [])
        assert all(zotero_unescape(value) == value for value in written)
        assert [value if value == path else unquote(value) for value, path in zip(written, flat, strict=True)] == flat


TEXT_FIELDS = (
    "title", "abstract", "source", "pages", "volume", "issue", "publisher", "city", "institution",
    "series", "chapter", "revision", "genre", "language", "short_title", "citation_key", "notes",
    "accessed", "type", "created", "id", "patent_owner",
)  # fmt: skip
anything = st.none() | st.booleans() | st.integers(-5, 3000) | texts_ | st.lists(texts_, max_size=2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {name: anything for name in TEXT_FIELDS},
            optional={
                "year": anything,
                "month": anything,
                "day": anything,
                "edition": anything,
                "keywords": anything,
                "tags": anything,
                "websites": anything,
                "authors": anything | people_,
                "editors": people_,
                "identifiers": st.dictionaries(
                    st.sampled_from(["doi", "isbn", "issn", "pmid", "arxiv", "scopus", "ssrn"]), anything
                ),
            },
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.fixed_dictionaries({"type": anything, "text": anything, "positions": anything}), max_size=3),
)
def test_any_field_of_any_type_still_parses(
    docs: list[dict[str, Any]], annotations: list[dict[str, Any]]
) -> None:
    entries = [ExportEntry(doc, [], annotations) for doc in docs]
    text = bibtex_text(entries)
    assert len(parse_bibtex(text).entries) == len(entries)
    also = bibtexparser.parse_string(text)
    assert not also.failed_blocks and len(also.entries) == len(entries)
    assert len(read_ris(ris_text(entries))) == len(entries)


# ---------------------------------------------------------------- determinism and keys


def test_output_does_not_depend_on_input_order(hostile: list[ExportEntry]) -> None:
    shuffled = hostile[:]
    random.Random(7).shuffle(shuffled)
    assert bibtex_text(shuffled) == bibtex_text(hostile)
    assert ris_text(shuffled) == ris_text(hostile)
    assert bibtex_text(hostile) == bibtex_text(library())  # same input, same bytes


def test_entries_come_oldest_first(hostile: list[ExportEntry]) -> None:
    created = [entry.document["created"] for _, entry in Export.keyed_entries(hostile)]
    assert created == sorted(created)


def test_generated_and_own_keys() -> None:
    assert (
        CitationKeys.generated_key(
            {
                "authors": [{"first_name": "C", "last_name": "Bizer"}],
                "year": 2009,
                "title": "Linked Data - The Story",
            }
        )
        == "Bizer2009Linked"
    )
    assert (
        CitationKeys.generated_key({"authors": [{"last_name": "Žutić"}], "title": "The spin of it"})
        == "ZuticSpin"
    )
    assert CitationKeys.generated_key({"authors": [{"last_name": "王"}], "year": 2020}) == "Wang2020"
    assert CitationKeys.generated_key({"authors": [{"last_name": "Weiß"}], "title": "Ödegård"}) == "WeissOdegard"
    assert CitationKeys.generated_key({"editors": [{"last_name": "van der Berg"}]}) == "vanderBerg"
    wanted = CitationKeys.wanted_key
    assert wanted({"citation_key": "Smith 2010, {x}#%\"'~"}) == CitationKeys.WantedKey("Smith2010x~", True)
    assert wanted({"citation_key": "Weiß:1963/ö"}) == CitationKeys.WantedKey("Weiß:1963/ö", True)
    assert wanted({"citation_key": " {} ", "title": "Only"}) == CitationKeys.WantedKey("AnonOnly", False)


def test_keys_are_unique_case_insensitively(hostile: list[ExportEntry], keys: dict[str, str]) -> None:
    folded = [key.casefold() for key in keys.values()]
    assert len(set(folded)) == len(folded)
    assert keys[document(105)["id"]] == "Curie1900"
    assert keys[document(106)["id"]] == "curie1900a"


def test_adding_a_newer_colliding_document_keeps_existing_keys() -> None:
    def same(number: int) -> ExportEntry:
        return ExportEntry(
            document(number, title="Graphene", authors=[{"last_name": "Smith"}], year=2010), []
        )

    before = {e.document["id"]: k for k, e in Export.keyed_entries([same(2), same(1)])}
    after = {e.document["id"]: k for k, e in Export.keyed_entries([same(3), same(1), same(2)])}
    assert before == {document(1)["id"]: "Smith2010Graphene", document(2)["id"]: "Smith2010Graphenea"}
    assert after == {**before, document(3)["id"]: "Smith2010Grapheneb"}


def test_suffixes_skip_keys_taken_by_older_documents() -> None:
    docs = [
        {"citation_key": "Key"},
        {"citation_key": "Keya"},
        {"citation_key": "key"},
        {"citation_key": "Key"},
    ]
    assert CitationKeys.assign_keys(docs) == ["Key", "Keya", "keyb", "Keyc"]
    assert list(zip(range(28), CitationKeys.suffixes(), strict=False))[-2:] == [(26, "aa"), (27, "ab")]


# ---------------------------------------------------------------- speed


def test_ten_thousand_colliding_documents_get_distinct_keys_in_order() -> None:
    # `KeyAssigner` resumes each wanted key's suffix search where it stopped (linear, not quadratic time)
    keys = CitationKeys.assign_keys([{"title": ""} for _ in range(10_000)])
    assert keys[:3] == ["Anon", "Anona", "Anonb"] and keys[27:29] == ["Anonaa", "Anonab"]
    assert len({key.casefold() for key in keys}) == 10_000


# ---------------------------------------------------------------- JabRef groups


def test_groups_escape_names_and_nest_as_the_folders() -> None:
    folders = {
        "a": {"name": "Top; with\\ specials: {braces}"}, "b": {"name": "Child", "parent_id": "a"},
        "c": {"name": "Alpha"}, "loop1": {"name": "Loop one", "parent_id": "loop2"},
        "loop2": {"name": "Loop two", "parent_id": "loop1"}, "orphan": {"name": "Orphan", "parent_id": "gone"},
        **{f"deep{i}": {"name": f"Level {i + 1}", "parent_id": f"deep{i - 1}" if i else None} for i in range(11)},
    }
    members = [("Key;1", ["a", "b"]), ("Key:2", ["b"]), ("Key3", ["deep10", "c"])]
    text = "".join(JabRefGroups.groups_comments(folders, members))
    groups = jabref_groups(text)
    paths = [path for path, _ in groups]
    assert ("Top; with\\ specials: (braces)",) in paths and ("Top; with\\ specials: (braces)", "Child") in paths
    assert dict(groups)[("Top; with\\ specials: (braces)", "Child")] == ["Key;1", "Key:2"]
    assert dict(groups)[("Alpha",)] == ["Key3"] and ("Orphan",) in paths
    assert paths.index(("Alpha",)) < paths.index(("Top; with\\ specials: (braces)",))  # siblings by name
    assert any(path[-1] == "Loop two" for path in paths) and any(path[-1] == "Loop one" for path in paths)
    deepest = [path for path in paths if path[-1] == "Level 11"]
    assert deepest and len(deepest[0]) == 9  # Zotero reads one digit of level: deeper folders at level 9
    assert dict(groups)[deepest[0]] == ["Key3"]
    assert re.findall(r"^\d", text, re.M) == [str(min(level, 9)) for level in [0, *(
        len(path) for path in paths)]]


# ---------------------------------------------------------------- Zotero's reading of RIS values


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab <>&;#/x1 amp lt&#"), max_size=25))
def test_ris_values_read_back_through_zotero_unescaping(value: str) -> None:
    flat = RisExport.ris_value(value)
    written = RisExport.value_for("TI", flat)
    read = zotero_unescape(written)
    assert read == flat or (written != flat and read == re.sub(" {2,}", " ", flat))
    assert RisExport.value_for("AB", flat) == flat  # Zotero does not unescape abstracts


def test_ris_paths_resolve_as_zotero_resolves_them(tmp_path) -> None:
    names = ["plain name.pdf", "a  b & c.pdf", "<x> #1 ?.pdf", "100% done.pdf", "Ødegård  & Weiß.pdf", "a&amp;b.pdf"]
    entry = ExportEntry(document(1), [f"Doe/{name}" for name in names])
    (tmp_path / "Doe").mkdir()
    for name in names:
        (tmp_path / "Doe" / name).write_bytes(b"%PDF-1.4\n")
    ris = tmp_path / "library.ris"
    ris.write_text(ris_text([entry]), encoding="utf-8")
    [record] = read_ris(ris.read_text(encoding="utf-8"))
    assert [zotero_attachment(value, ris) for value in record["L1"]] == [tmp_path / "Doe" / n for n in names]
    assert record["L1"][0] == "Doe/plain name.pdf"  # written as it is where Zotero reads it so
