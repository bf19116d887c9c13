"""Citation keys for the library export (`library.bib`'s entry keys, `library.ris`'s `ID`).

- A document's own Mendeley `citation_key` is kept exactly as the user set it (they cite it in their papers),
  provided BibTeX readers can read it as a key; the characters that no reader accepts in a key (white space,
  `" # % ' ( ) , = { } \\`) are dropped from it, with a warning. Own keys are served first, oldest document
  first: a generated key never takes one. Two documents with the same own key: the older keeps it, the newer
  gets the key plus a suffix, with a warning naming both.
- Any other document gets `LastnameYEARTitleword` (the first author's or editor's last name, the year, the
  first title word that is not a function word), transliterated to ASCII by anyascii (`Weiß` → `Weiss`,
  `Ødegård` → `Odegard`, `王` → `Wang`), `Anon` for a missing name. The first document (by age) that wants a
  key gets it; a later one gets the first free suffix a, b, …, z, aa, ab, … .

Keys are compared case-insensitively, as BibTeX, biber and pybtex do, so `Smith2010` and `smith2010` never
both appear. Adding newer documents never changes an existing key, except that a new own key takes its key
back from a generated one. The transliteration depends on anyascii's tables: the version is pinned, so keys
stay the same from run to run.
"""

import itertools
import logging
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from anyascii import anyascii

from DocumentFields import people, text

log = logging.getLogger(__name__)

# What no key may hold: pybtex's and BibTeX's excluded characters, the backslash, and control characters.
UNSAFE_KEY_CHARS = re.compile(r"[\s\"#%'(),={}\\\x00-\x1f\x7f]+")
WORD = re.compile(r"[A-Za-z0-9]+")
ANONYMOUS = "Anon"
# Title words skipped when picking the key's title word (English function words only: keep it modest).
FUNCTION_WORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "by", "for", "from", "how", "in", "is", "of", "on", "or", "the"}
    | {"to", "what", "when", "where", "which", "who", "why", "with"}
)


@dataclass(frozen=True)
class WantedKey:
    """The key a document asks for: its own (`own`), or one generated from its metadata."""

    key: str
    own: bool


def ascii_words(value: str) -> list[str]:
    """The ASCII words of a text once transliterated (`Ødegård` → `Odegard`)."""
    return WORD.findall(anyascii(value))


def generated_key(document: Mapping[str, Any]) -> str:
    """`LastnameYEARTitleword` for a document, e.g. `Bizer2009Linked`; never empty."""
    names = people(document, "authors") or people(document, "editors")
    name = "".join(ascii_words(names[0][0])) if names else ""
    year = "".join(ascii_words(text(document.get("year"))))
    words = ascii_words(text(document.get("title")))
    significant = [word for word in words if word.lower() not in FUNCTION_WORDS]
    word = (significant or words or [""])[0]
    return (name or ANONYMOUS) + year + word[:1].upper() + word[1:]


def own_key(document: Mapping[str, Any]) -> str:
    """The document's own `citation_key` with what no key may hold dropped (empty when it has none)."""
    value = document.get("citation_key")
    return UNSAFE_KEY_CHARS.sub("", value) if isinstance(value, str) else ""


def wanted_key(document: Mapping[str, Any]) -> WantedKey:
    """The key a document asks for; warns when its own key had to lose characters to be a key."""
    own = own_key(document)
    if own:
        if own != document.get("citation_key"):
            log.warning("Citation key %r of %s cannot be a BibTeX key as it is; exported as %r",
                        document.get("citation_key"), describe(document), own)
        return WantedKey(own, True)
    return WantedKey(generated_key(document), False)


def describe(document: Mapping[str, Any]) -> str:
    """How a warning names a document: its title and id."""
    return f"{text(document.get('title')) or 'an untitled document'!r} ({text(document.get('id'))})"


def suffixes() -> Iterator[str]:
    """a, b, …, z, aa, ab, …, zz, aaa, … (never ends)."""
    for length in itertools.count(1):
        for letters in itertools.product(string.ascii_lowercase, repeat=length):
            yield "".join(letters)


class KeyAssigner:
    """Hands out unique keys. Call `own` for every document that has its own key (oldest first), then
    `generated` for the others (oldest first): see the module docstring."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        # Per wanted key, where the search for a free suffix resumes: suffixes skipped once stay taken,
        # so a library of 10,000 `Anon` documents costs linear time, not quadratic.
        self._pending: dict[str, Iterator[str]] = {}
        self._owners: dict[str, str] = {}  # an own document's key (casefolded) -> that document, as the caller names it

    def own(self, wanted: str, owner: str) -> tuple[str, str | None]:
        """The key for a document's own key, and the owner (as given here) of the document that took the key
        first when it was taken; `warn_shared` says so."""
        key = self._claim(wanted)
        earlier = self._owners.get(wanted.casefold()) if key != wanted else None
        self._owners[key.casefold()] = owner
        return key, earlier or (None if key == wanted else "another document")

    def generated(self, wanted: str) -> str:
        return self._claim(wanted)

    def _claim(self, wanted: str) -> str:
        key = wanted
        if key.casefold() in self._taken:
            candidates = self._pending.setdefault(wanted.casefold(), suffixes())
            key = next(wanted + s for s in candidates if (wanted + s).casefold() not in self._taken)
        self._taken.add(key.casefold())
        return key


def warn_shared(earlier: str, later: str, wanted: str, key: str) -> None:
    log.warning("Documents %s and %s share the citation key %r in Mendeley; the newer is exported as %r",
                earlier, later, wanted, key)


def assign_keys(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """One unique key per document, in the given order (oldest first)."""
    ordered = list(documents)
    wanted = [wanted_key(document) for document in ordered]
    assigner = KeyAssigner()
    keys: list[str] = [""] * len(ordered)
    for index, (document, want) in enumerate(zip(ordered, wanted, strict=True)):
        if want.own:
            keys[index], earlier = assigner.own(want.key, describe(document))
            if earlier:
                warn_shared(earlier, describe(document), want.key, keys[index])
    for index, want in enumerate(wanted):
        if not want.own:
            keys[index] = assigner.generated(want.key)
    return keys
