"""Stable citation keys for the library export (`library.bib`'s entry keys, `library.ris`'s `ID`).

The rule, in order of the documents' age (the caller sorts them by (created, id)):
- a document's own Mendeley `citation_key`, made safe, is its wanted key; otherwise
  `LastnameYEARTitleword` (first author's or editor's last name, the year, the first title word
  that is not a function word), ASCII-folded; `Anon` stands in for a missing name;
- the first document that wants a key gets it; a later one that wants a taken key gets the key plus
  the first free suffix a, b, …, z, aa, ab, … .  Keys are compared case-insensitively, as BibTeX,
  biber and pybtex do, so `Smith2010` and `smith2010` never both appear.

Because older documents are served first, adding newer documents never changes an existing key.
Deleting a document can hand its key to the next one that wanted it; that is accepted.
"""

import itertools
import re
import string
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Characters kept in a key: safe in bibtexparser, pybtex, biber, BibTeX and JabRef, and in LaTeX's
# \cite. Everything else (spaces, commas, braces, quotes, `#`, `%`, `=`, `\`, `~`, …) is dropped.
UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9_:.\-]+")
WORD = re.compile(r"[A-Za-z0-9]+")
ANONYMOUS = "Anon"
# Title words skipped when picking the key's title word (English function words only: keep it modest).
FUNCTION_WORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "by", "for", "from", "how", "in", "is", "of", "on", "or", "the"}
    | {"to", "what", "when", "where", "which", "who", "why", "with"}
)


def ascii_fold(text: str) -> str:
    """Drop accents by Unicode decomposition (`Žutić` → `Zutic`); letters without an ASCII
    decomposition (`Ø`, `ß`, `王`) are dropped. A transliteration library (anyascii) would do
    better, but it is not a dependency of the project; changing this changes generated keys."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def safe_key(text: str) -> str:
    """`text` folded to ASCII, with every character that is not safe in a key removed."""
    return UNSAFE_KEY_CHARS.sub("", ascii_fold(text))


def _plain(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _first_last_name(document: Mapping[str, Any]) -> str:
    for role in ("authors", "editors"):
        people = document.get(role)
        for person in people if isinstance(people, list | tuple) else ():
            if isinstance(person, Mapping):
                name = _plain(person.get("last_name")) or _plain(person.get("first_name"))
                if name:
                    return name
    return ""


def _year(document: Mapping[str, Any]) -> str:
    year = document.get("year")
    if isinstance(year, bool):
        return ""
    if isinstance(year, int):
        return str(year)
    return "".join(WORD.findall(ascii_fold(_plain(year))))


def _title_word(document: Mapping[str, Any]) -> str:
    words = WORD.findall(ascii_fold(_plain(document.get("title"))))
    significant = [word for word in words if word.lower() not in FUNCTION_WORDS]
    word = (significant or words or [""])[0]
    return word[:1].upper() + word[1:]


def generated_key(document: Mapping[str, Any]) -> str:
    """`LastnameYEARTitleword` for a document, e.g. `Bizer2009Linked`; never empty."""
    name = "".join(WORD.findall(ascii_fold(_first_last_name(document)))) or ANONYMOUS
    return name + _year(document) + _title_word(document)


def wanted_key(document: Mapping[str, Any]) -> str:
    """The document's own citation key made safe, or else the generated one."""
    own = safe_key(_plain(document.get("citation_key")))
    return own or generated_key(document)


def suffixes() -> Iterator[str]:
    """a, b, …, z, aa, ab, …, zz, aaa, … (never ends)."""
    for length in itertools.count(1):
        for letters in itertools.product(string.ascii_lowercase, repeat=length):
            yield "".join(letters)


def assign_keys(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    """One unique key per document, in the given order (oldest first): see the module docstring."""
    taken: set[str] = set()
    # Per wanted key, where the search for a free suffix resumes: suffixes skipped once stay taken,
    # so a library of 10,000 `Anon` documents costs linear time, not quadratic.
    pending: dict[str, Iterator[str]] = {}
    keys = []
    for document in documents:
        wanted = wanted_key(document)
        key = wanted
        if key.casefold() in taken:
            candidates = pending.setdefault(wanted.casefold(), suffixes())
            key = next(wanted + s for s in candidates if (wanted + s).casefold() not in taken)
        taken.add(key.casefold())
        keys.append(key)
    return keys
