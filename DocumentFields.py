"""Reading fields of the API's document JSON: texts, lists, people, identifiers, dates and notes, whatever
shape the server (or a backup of an older version) gave them. Every reader is total: a missing, null or
mistyped field reads as empty, never as an error. Used by Naming (folder names), CitationKeys and Export.
"""

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any


def text(value: Any) -> str:
    """A field's text: strings stripped, numbers as digits; null, booleans and anything else empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def texts(value: Any) -> list[str]:
    """A list field's non-empty texts without repeats (a lone string counts as a list of one)."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    return list(dict.fromkeys(t for t in map(text, items) if t))


def persons(people: Any) -> list[tuple[str, str]]:
    """(name, first name) of each person object of a list such as `authors`, in order. The name is the last
    name, or the first name of a person who has no last name (whose first name is then empty); a person with
    neither is left out. This is the one reading of a person list: the folder names of existing backups
    (`%authors`) depend on it, so it keeps the original tool's choice of `last_name or first_name`."""
    found = []
    for person in people if isinstance(people, list) else ():
        if not isinstance(person, Mapping):
            continue
        last = person.get("last_name")
        name = str(last or person.get("first_name") or "").strip()
        if name:
            found.append((name, text(person.get("first_name")) if last else ""))
    return found


def people(document: Mapping[str, Any], role: str) -> list[tuple[str, str]]:
    """`persons` of a document's `authors`, `editors` or `translators`."""
    return persons(document.get(role))


def identifier(document: Mapping[str, Any], name: str) -> str:
    """One of the document's `identifiers` (doi, isbn, issn, pmid, arxiv, scopus, ssrn)."""
    identifiers = document.get("identifiers")
    return text(identifiers.get(name)) if isinstance(identifiers, Mapping) else ""


def month_number(document: Mapping[str, Any], field: str = "month", top: int = 12) -> int | None:
    """`month` (or `day`, with `top=31`) as a number in range; None when missing or out of range."""
    value = document.get(field)
    digits = re.fullmatch(r"[0-9]{1,2}", text(value))
    number = int(digits.group()) if digits and not isinstance(value, bool) else 0
    return number if 1 <= number <= top else None


def iso_date(value: str) -> str:
    """`YYYY-MM-DD` from an ISO-8601 date or timestamp; other text as it is."""
    match = re.match(r"\d{4}-\d{2}-\d{2}", value)
    return match.group() if match else value


def keywords_and_tags(document: Mapping[str, Any]) -> list[str]:
    """The author's keywords, then the user's tags, without repeats."""
    return list(dict.fromkeys(texts(document.get("keywords")) + texts(document.get("tags"))))


class _HtmlText(HTMLParser):
    BLOCKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, ())

    def handle_startendtag(self, tag: str, attrs: Any) -> None:  # `<br/>`: one break, not two
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(note: str) -> str:
    """Mendeley's HTML-ish note text as plain text: tags dropped, `<br>` a line break, the end of a paragraph
    (or other block) a blank line; text that holds no tag or entity is returned unchanged but stripped."""
    if not re.search(r"<[A-Za-z/!][^>]*>|&#?\w+;", note):
        return note.strip()
    parser = _HtmlText()
    parser.feed(note)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def paragraphs(note: str) -> list[str]:
    """A plain-text note's paragraphs (separated by blank lines), each with its own line breaks kept."""
    return [p.strip() for p in re.split(r"\n\s*\n", note) if p.strip()]
