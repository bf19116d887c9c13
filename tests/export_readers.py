"""Readers of the exports written here from the formats' descriptions, independent of the writers: LaTeX text
(pylatexenc), a strict RIS reader, JabRef's `file` field, JabRef's group tree (format version 3), and what
Zotero's RIS import does to a value before it uses it (HTML unescaping) and to an attachment path (resolving it).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db


def _latex_decoder() -> LatexNodes2Text:
    # pylatexenc's decoder lacks \textbraceleft/\textbraceright (standard LaTeX2e text commands) and
    # turns \textasciicircum into the modifier letter ˆ: teach it what LaTeX prints for them.
    context = get_default_latex_context_db()
    context.add_context_category(
        "export-test",
        prepend=True,
        macros=[
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textasciicircum", "^"),
        ],
    )
    return LatexNodes2Text(latex_context=context)


DECODER = _latex_decoder()


def squash(value: str) -> str:
    """Whitespace runs as one space (LaTeX, BibTeX and RIS readers all treat them so)."""
    return " ".join(value.split())


def latex_to_text(value: str) -> str:
    """A BibTeX field's text as LaTeX prints it, white space folded."""
    return squash(DECODER.latex_to_text(value))


RIS_LINE = re.compile(r"([A-Z][A-Z0-9])  - ?(.*)")


def read_ris(text: str) -> list[dict[str, list[str]]]:
    """A strict RIS reader: every non-blank line is `XX  - value`; TY opens a record, ER closes it."""
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():  # splits on every Unicode line break, as lenient readers do
        if not line.strip():
            continue
        match = RIS_LINE.fullmatch(line)
        assert match, f"not a RIS line: {line!r}"
        tag, value = match.groups()
        if tag == "TY":
            assert current is None, "TY inside a record"
            current = {"TY": [value]}
        elif tag == "ER":
            assert current is not None, "ER outside a record"
            records.append(current)
            current = None
        else:
            assert current is not None, f"{tag} outside a record"
            current.setdefault(tag, []).append(value)
    assert current is None, "record not closed"
    return records


def jabref_file_paths(field: str) -> list[str]:
    """The paths of JabRef's `file` field: `description:path:type` items joined by `;`, `\\` escapes any char."""
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


class _TextContent(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def zotero_unescape(value: str) -> str:
    """Zotero's `unescapeHTML`, as its source describes it: a value holding neither `<` nor `&` is returned as
    it is; any other is parsed as HTML, its text content taken, and each run of two or more spaces folded."""
    if "<" not in value and "&" not in value:
        return value
    parser = _TextContent()
    parser.feed(value)
    parser.close()
    return re.sub(" {2,}", " ", "".join(parser.text))


def zotero_attachment(value: str, ris_file: Path) -> Path | None:
    """The file Zotero's RIS import attaches for an `L1` value, as its source describes it: the value is
    unescaped (above) and trimmed, then read as a URI relative to the RIS file (percent-decoded; `#` and `?`
    end the path), then as a relative path split at `/`; the first that names an existing file wins."""
    path = zotero_unescape(value).strip()
    as_uri = Path(unquote(urlparse(urljoin(ris_file.resolve().as_uri(), path)).path))
    if as_uri.is_file():
        return as_uri
    as_path = ris_file.resolve().parent.joinpath(*[part for part in path.split("/") if part])
    return as_path if as_path.is_file() else None


def _split_unescaped(text: str, separator: str) -> list[str]:
    """`text` split at each `separator` not preceded by a backslash; each backslash escape resolved."""
    parts = [""]
    characters = iter(text)
    for char in characters:
        if char == "\\":
            parts[-1] += next(characters, "")
        elif char == separator:
            parts.append("")
        else:
            parts[-1] += char
    return parts


def jabref_groups(bibtex: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """The explicit groups of a `library.bib` as (path of group names from the top, keys), in file order, read
    from JabRef's format version 3: a `jabref-meta: groupsversion:3;` comment, then a
    `jabref-meta: groupstree:` comment holding `;`-ended lines `LEVEL TYPE:FIELDS`, each line's `\\` and `;`
    escaped with a backslash; an ExplicitGroup's fields are name, context and keys, each ended by a `;`
    with `\\`, `;` and `:` escaped inside."""
    assert "@comment{jabref-meta: groupsversion:3;}" in bibtex
    found = re.search(r"@comment\{jabref-meta: groupstree:(.*?)\}", bibtex, re.DOTALL)
    assert found, "no groupstree comment"
    lines = _split_unescaped(found.group(1).replace("\n", ""), ";")
    assert lines[-1] == "", "the tree does not end with ;"
    groups: list[tuple[tuple[str, ...], list[str]]] = []
    path: list[str] = []
    for line in lines[:-1]:
        level_text, _, group = line.partition(" ")
        level = int(level_text)
        kind, _, fields_text = group.partition(":")
        if kind == "AllEntriesGroup":
            assert level == 0
            continue
        assert kind == "ExplicitGroup", kind
        fields = _split_unescaped(fields_text, ";")
        assert fields[-1] == "" and fields[1] == "0", fields
        assert 1 <= level <= len(path) + 1, f"level {level} under {path}"
        path = [*path[: level - 1], fields[0]]
        groups.append((tuple(path), fields[2:-1]))
    return groups
