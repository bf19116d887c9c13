"""Rules that turn Mendeley metadata into names on disk: the folder pattern and its placeholders, author
lists, and making any name that comes from the server safe to use as one path component.

Everything here is pure: strings in, strings out.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from DocumentFields import persons
from Errors import ConfigError

UNKNOWN = "Unknown"
UNTITLED = "Untitled"
UNFILED = "Unfiled"
ET_AL = " et al."
MAX_COMPONENT_BYTES = 255
MAX_EXTENSION_CHARS = 16
# A new path stays within this many characters of the backup folder, leaving room for the folder's own path under
# Windows' 260 (MAX_PATH). Names given before this rule stay as they are.
MAX_PATH_CHARS = 200
# What a new document folder leaves, of its library's characters, for its files' names (and for a ` (2)`).
FILE_NAME_ROOM = 60
# However deep its folder, a new name keeps at least this many characters.
MIN_NAME_CHARS = 20

# Characters the original tool replaced inside substituted values (they are illegal on Windows), plus
# every control character (NUL included), which no file system handles gracefully.
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# Lone surrogates too: a JSON string may escape one, and no file system can store it.
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_WINDOWS_DEVICE_NAMES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)

# Longest names first, so `%authors` is not read as `%author` followed by `s`.
PLACEHOLDERS = ("first_author", "authors", "author", "source", "folder", "title", "month", "year", "type", "id")
_PLACEHOLDER = re.compile(r"%(" + "|".join(PLACEHOLDERS) + r"|%)")


@dataclass(frozen=True)
class Pattern:
    """A parsed folder pattern: literal text and placeholder names, in order."""

    text: str
    tokens: tuple[tuple[bool, str], ...]  # (is_placeholder, literal text or placeholder name)

    @property
    def uses_folders(self) -> bool:
        return any(is_placeholder and name == "folder" for is_placeholder, name in self.tokens)


def parse_pattern(text: str) -> Pattern:
    """Parse a pattern such as `%authors/%year - %title`; `%%` is a literal percent sign."""
    tokens: list[tuple[bool, str]] = []
    position = 0
    while (percent := text.find("%", position)) >= 0:
        if percent > position:
            tokens.append((False, text[position:percent]))
        match = _PLACEHOLDER.match(text, percent)
        if not match:
            known = ", ".join("%" + name for name in PLACEHOLDERS)
            raise ConfigError(f"Unknown placeholder at {text[percent:percent + 12]!r} in pattern {text!r}; "
                              f"use one of {known}, or %% for a percent sign")
        name = match.group(1)
        tokens.append((False, "%") if name == "%" else (True, "authors" if name == "author" else name))
        position = match.end()
    if position < len(text):
        tokens.append((False, text[position:]))
    return Pattern(text, tuple(tokens))


def author_names(people: Any) -> list[str]:
    """Last names of a list of person objects, falling back to the first name for one-name entries."""
    return [name for name, _ in persons(people)]


def authors_text(people: Any) -> str:
    """`Doe`, `Doe & Roe`, `Doe, Roe & Poe`, `Doe et al.` from four authors on; `Unknown` when none."""
    names = author_names(people)
    if not names:
        return UNKNOWN
    if len(names) == 1:
        return names[0]
    if len(names) <= 3:
        return ", ".join(names[:-1]) + " & " + names[-1]
    return names[0] + ET_AL


def placeholder_value(name: str, document: Mapping[str, Any], folder_path: Sequence[str]) -> list[str]:
    """The text a placeholder stands for, as path components (only `%folder` can have several)."""
    if name == "folder":
        return list(folder_path) or [UNFILED]
    if name == "authors":
        return [authors_text(document.get("authors"))]
    if name == "first_author":
        names = author_names(document.get("authors"))
        return [names[0] if names else UNKNOWN]
    if name in ("year", "month"):
        value = document.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return [f"{value:02d}" if name == "month" else str(value)]
        return [UNKNOWN]
    if name == "title":
        return [str(document.get("title") or "").strip() or UNTITLED]
    return [str(document.get(name) or "").strip() or UNKNOWN]


def render_path(pattern: Pattern, document: Mapping[str, Any], folder_path: Sequence[str] = (),
                max_chars: int | None = None) -> tuple[str, ...]:
    """The relative folder of a document: `/` in the pattern's literal text makes subfolders, while the
    characters `\\ / : * ? " < > |` inside substituted values become `_`, as in the original tool.

    With `max_chars`, a path longer than that is cut to fit: the title first (to MIN_NAME_CHARS at least, at a word
    boundary where there is one), then the longest components."""
    values = {name: placeholder_value(name, document, folder_path) for is_placeholder, name in pattern.tokens
              if is_placeholder}
    components = _render(pattern, values)
    if max_chars is None or path_length(components) <= max_chars:
        return components
    if "title" in values:
        title = values["title"][0]
        values["title"] = [_cut_words(title, max(MIN_NAME_CHARS, len(title) - path_length(components) + max_chars))]
        components = _render(pattern, values)
    return _cut_longest(components, max_chars)


def _render(pattern: Pattern, values: Mapping[str, list[str]]) -> tuple[str, ...]:
    components = [""]
    for is_placeholder, text in pattern.tokens:
        parts = (_UNSAFE_CHARS.sub("_", value) for value in values[text]) if is_placeholder else iter(text.split("/"))
        first, *rest = parts
        components[-1] += first
        components.extend(rest)
    return tuple(safe_component(component) for component in components if component.strip())


def path_length(components: Sequence[str]) -> int:
    return len("/".join(components))


def _cut_words(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars`; when that falls inside a word, at the word's start instead, if that keeps half of
    `max_chars` and MIN_NAME_CHARS."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return cut[:space] if space >= max(max_chars // 2, MIN_NAME_CHARS) and not text[max_chars].isspace() else cut


def _cut_longest(components: tuple[str, ...], max_chars: int) -> tuple[str, ...]:
    """The components cut, the longest first and never below MIN_NAME_CHARS, until the path fits (or cannot)."""
    parts = list(components)
    while (excess := path_length(parts) - max_chars) > 0:
        index = max(range(len(parts)), key=lambda i: len(parts[i]))
        others = max((len(part) for i, part in enumerate(parts) if i != index), default=0)
        length = max(MIN_NAME_CHARS, len(parts[index]) - excess, min(others, len(parts[index]) - 1))
        cut = safe_component(_cut_words(parts[index], length))
        if len(cut) >= len(parts[index]):
            break  # every component is as short as a name may be
        parts[index] = cut
    return tuple(parts)


def safe_folder_name(name: Any) -> str:
    """A folder name from the server (a group's name) made safe: one component, no reserved characters."""
    return safe_component(_UNSAFE_CHARS.sub("_", str(name or "")))


def safe_file_name(name: Any) -> str:
    """A file name from the server made safe: no separators or reserved characters, extension kept."""
    return safe_component(_UNSAFE_CHARS.sub("_", str(name or "")), keep_extension=True)


def safe_component(name: str, keep_extension: bool = False) -> str:
    """One path component that stays where it is put, on any common file system.

    NFC-normalised; control characters and lone surrogates replaced; trailing dots and spaces dropped (Windows
    ignores them); `.`, `..` and empty names replaced; Windows device names (CON, NUL, COM1, ...) prefixed; cut
    to 255 bytes of UTF-8, keeping a file's extension.
    """
    name = _CONTROL_CHARS.sub("_", unicodedata.normalize("NFC", name))
    # The original's `Doe et al.` folders keep their dot, so that its backups carry on unmoved.
    name = name if name.endswith(ET_AL) else name.rstrip(". ")
    if not name.strip(". "):
        name = "_" + name
    if _WINDOWS_DEVICE_NAMES.match(name):
        name = "_" + name
    return fit_component(name, "", keep_extension)


def numbered(name: str, number: int, keep_extension: bool, max_chars: int | None = None) -> str:
    """`name (2)` or, for a file, `name (2).pdf`: a distinct but recognisable sibling of `name`, at most
    `max_chars` long."""
    return fit_component(name, f" ({number})", keep_extension, max_chars)


def shortened(name: str, max_chars: int | None, keep_extension: bool) -> str:
    """`name`, its stem cut (a file keeps its extension) to at most `max_chars`; None: as it is."""
    return fit_component(name, "", keep_extension, max_chars)


def fit_component(name: str, suffix: str, keep_extension: bool, max_chars: int | None = None) -> str:
    """`name` with `suffix` before its extension, the stem shortened so the whole fits the byte limit (and
    `max_chars`, down to MIN_NAME_CHARS)."""
    stem, extension = split_extension(name) if keep_extension else (name, "")
    budget = MAX_COMPONENT_BYTES - len((suffix + extension).encode())
    encoded = stem.encode()
    if len(encoded) > budget:
        stem = encoded[:budget].decode(errors="ignore").rstrip(". ") or "_"
    if max_chars is not None and len(stem + suffix + extension) > max_chars:
        room = max(MIN_NAME_CHARS, max_chars) - len(suffix + extension)
        stem = _cut_words(stem, max(1, room)).rstrip(". ") or "_"
    fitted = stem + suffix + extension
    return name if fitted == name else fitted  # the one string, not a copy: a large library's plans hold every name


def split_extension(name: str) -> tuple[str, str]:
    """`("report", ".pdf")`; a leading dot or an implausibly long tail is not an extension."""
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > MAX_EXTENSION_CHARS or " " in name[dot:]:
        return name, ""
    return name[:dot], name[dot:]


def collision_key(relative_path: str) -> str:
    """Two paths with the same key are the same file on a case-insensitive file system (macOS, Windows)."""
    return unicodedata.normalize("NFC", relative_path).casefold()
