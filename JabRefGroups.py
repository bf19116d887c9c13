"""Mendeley's folder tree as JabRef groups in `library.bib`: the two `@comment` blocks JabRef 3 writes,
`jabref-meta: groupsversion:3;` and a `jabref-meta: groupstree:` of `ExplicitGroup`s listing their entries'
keys. JabRef reads this format (and moves the keys into each entry's `groups` field); Zotero's BibTeX import
reads exactly this format and makes each group a collection, nested as the groups are.

The tree holds one line per group, `LEVEL TYPE:FIELDS;`, in depth-first order, after a level-0
`AllEntriesGroup:`. An ExplicitGroup's fields are its name, its hierarchical context (0: independent, as a
Mendeley folder shows only its own documents) and its keys, each ended by `;`; within a field `\\`, `;` and
`:` are escaped with a backslash. The whole line is escaped once more (`\\` and `;`), so that the `;` ending
each line is the only bare one. Zotero reads the level as one digit: folders nested deeper than 9 levels
are written at level 9. Zotero ends the comment at the first `}` whatever escapes it: braces in a folder's
name are written as parentheses.
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bibtexparser import Library, write_string
from bibtexparser.model import ExplicitComment

from DocumentFields import text

log = logging.getLogger(__name__)

MAX_LEVEL = 9
GROUPS_VERSION = "jabref-meta: groupsversion:3;"
GROUPS_TREE = "jabref-meta: groupstree:"
_BRACES = str.maketrans("{}", "()")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Group:
    level: int  # 1 for a top-level folder
    folder_id: str
    name: str


def folder_groups(folders: Mapping[str, Mapping[str, Any]]) -> list[Group]:
    """The folder tree (the API's folders by id, with `name` and `parent_id`) depth first, siblings by name.
    A folder whose parent is not in the tree is a top-level one; a cycle of parents is broken where found."""
    children: dict[str, list[str]] = {}
    for folder_id, folder in folders.items():
        parent = text(folder.get("parent_id")) if isinstance(folder, Mapping) else ""
        children.setdefault(parent if parent in folders and parent != folder_id else "", []).append(folder_id)

    def name(folder_id: str) -> str:
        folder = folders[folder_id]
        return text(folder.get("name")) if isinstance(folder, Mapping) else ""

    groups: list[Group] = []
    seen: set[str] = set()

    def visit(parent: str, level: int) -> None:
        for folder_id in sorted(children.get(parent, ()), key=lambda f: (name(f).casefold(), name(f), f)):
            if folder_id not in seen:
                seen.add(folder_id)
                groups.append(Group(level, folder_id, name(folder_id)))
                visit(folder_id, level + 1)

    visit("", 1)
    for folder_id in sorted(set(folders) - seen):  # folders in a cycle of parents: the first one becomes top-level
        if folder_id not in seen:
            children.setdefault("", []).append(folder_id)
            visit("", 1)
    return groups


def quoted(value: str, specials: str) -> str:
    return re.sub("([" + re.escape(specials) + "])", r"\\\1", value)


def group_line(group: Group, keys: Sequence[str]) -> str:
    """One group of the tree, escaped for the `groupstree` comment, with its line's closing `;`."""
    name = _CONTROL.sub(" ", group.name).translate(_BRACES) or "(unnamed)"
    if name != group.name:
        log.warning("Folder %r is written as the JabRef group %r (braces cannot be written in a group)",
                    group.name, name)
    fields = [quoted(name, "\\;:"), "0", *(quoted(key, "\\;:") for key in keys)]
    line = f"{min(group.level, MAX_LEVEL)} ExplicitGroup:" + "".join(field + ";" for field in fields)
    return quoted(line, "\\;") + ";"


def groups_blocks(lines: Iterable[str]) -> Iterator[str]:
    """The two comments of JabRef's group format, from the tree's lines (see `group_line`)."""
    tree = "".join(f"{line}\n" for line in ("0 AllEntriesGroup:;", *lines))
    for comment in (GROUPS_VERSION, f"{GROUPS_TREE}\n{tree}"):
        yield write_string(Library([ExplicitComment(comment)]))


def groups_comments(folders: Mapping[str, Mapping[str, Any]],
                    members: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """The groups blocks for a folder tree and each entry's (key, folder ids), keys in entry order."""
    keys: dict[str, list[str]] = {}
    for key, folder_ids in members:
        for folder_id in dict.fromkeys(folder_ids):
            keys.setdefault(folder_id, []).append(key)
    return list(folder_groups_blocks(folders, lambda folder_id: keys.get(folder_id, [])))


def folder_groups_blocks(folders: Mapping[str, Mapping[str, Any]],
                         keys_of: Callable[[str], Sequence[str]]) -> Iterator[str]:
    """The groups blocks for a folder tree, each group's keys (in entry order) asked of `keys_of` in turn;
    none when there are no folders."""
    groups = folder_groups(folders)
    if not groups:
        return
    if any(group.level > MAX_LEVEL for group in groups):
        log.warning("Folders nested deeper than %d levels are written at level %d of the JabRef groups",
                    MAX_LEVEL, MAX_LEVEL)
    yield from groups_blocks(group_line(group, keys_of(group.folder_id)) for group in groups)
