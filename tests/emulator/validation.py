"""Checks of client-sent bodies against the reference's required fields, types and limits: documents,
folders, folder memberships and annotations. A body that fails answers 400 `{"message": …}`."""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request
from .models import (
    ANNOTATION_TYPES,
    CLIENT_FLAGS,
    DOCUMENT_TYPES,
    IDENTIFIER_TYPES,
    MAX_LENGTHS,
    PRIVACY_LEVELS,
    READ_ONLY_FIELDS,
    WRITABLE_FIELDS,
)

_PEOPLE = ("authors", "editors", "translators")
# The reference's limits: keywords and tags 50 characters each, websites 255 in total, identifiers 500 each.
_STRING_LISTS = {"keywords": 50, "tags": 50}
_WEBSITES_TOTAL = 255
_IDENTIFIER_LENGTH = 500
_NAME_LENGTH = 255
_INTEGERS = {"year": (0, 9999), "month": (1, 12), "day": (1, 31)}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_ANNOTATION_FIELDS = ("text", "color", "positions", "privacy_level", "filehash")
# Fields of an annotation the server sets; a client sending an annotation back may repeat them.
_ANNOTATION_READ_ONLY = frozenset(("id", "created", "last_modified", "profile_id"))
_FOLDER_READ_ONLY = frozenset(("id", "created", "modified"))


def document_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The writable fields of a POST or PATCH body, checked; read-only fields are ignored.

    Unknown fields answer 400 (a guess: the real service rejects what it cannot store). In a
    PATCH, null clears a field, except the required title and type.
    """
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in READ_ONLY_FIELDS or name == "group_id":
            continue
        if name not in WRITABLE_FIELDS:
            raise bad_request(f"Unknown document field: {name}")
        if value is None:
            if name in ("title", "type"):
                raise bad_request(f"{name} is required")
            if not creating:
                out[name] = None
            continue
        out[name] = _document_value(name, value)
    if creating:
        for name in ("title", "type"):
            if name not in out:
                raise bad_request(f"{name} is required")
    return out


def _document_value(name: str, value: Any) -> Any:
    if name == "type":
        if value not in DOCUMENT_TYPES:
            raise bad_request(f"Unsupported document type: {value!r}")
        return value
    if name in _PEOPLE:
        if not isinstance(value, list) or not all(_is_person(p) for p in value):
            raise bad_request(f"{name} must be a list of people with a last_name of at most {_NAME_LENGTH} "
                              f"characters (and a first_name as long)")
        return [{k: p[k] for k in ("first_name", "last_name") if p.get(k) is not None} for p in value]
    if name == "identifiers":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise bad_request("identifiers must map identifier types to strings")
        unknown = set(value) - IDENTIFIER_TYPES
        if unknown:
            raise bad_request(f"Unsupported identifier types: {', '.join(sorted(unknown))}")
        if any(len(v) > _IDENTIFIER_LENGTH for v in value.values()):
            raise bad_request(f"identifiers must be at most {_IDENTIFIER_LENGTH} characters each")
        return dict(value)
    if name == "websites":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) \
                or sum(map(len, value)) > _WEBSITES_TOTAL:
            raise bad_request(f"websites must be a list of strings of at most {_WEBSITES_TOTAL} characters in all")
        return list(value)
    if name == "accessed" and not (isinstance(value, str) and _ISO_DATE.match(value)):
        raise bad_request("accessed must be an ISO 8601 date")
    if name in _STRING_LISTS:
        limit = _STRING_LISTS[name]
        if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= limit for v in value):
            raise bad_request(f"{name} must be a list of strings of at most {limit} characters")
        return list(value)
    if name in _INTEGERS:
        low, high = _INTEGERS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad_request(f"{name} must be an integer between {low} and {high}")
        return value
    if name in CLIENT_FLAGS:
        if not isinstance(value, bool):
            raise bad_request(f"{name} must be a boolean")
        return value
    # The reference types edition as an array, but its example ("3") and the real service use a
    # string; both are accepted and stored as sent.
    if name == "edition" and isinstance(value, list):
        if not all(isinstance(v, str) and len(v) <= MAX_LENGTHS["edition"] for v in value):
            raise bad_request(f"edition must be at most {MAX_LENGTHS['edition']} characters")
        return value
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
        raise bad_request(f"{name} is longer than {MAX_LENGTHS[name]} characters")
    return value


def _is_person(p: Any) -> bool:
    return (
        isinstance(p, dict)
        and isinstance(p.get("last_name"), str)
        and 0 < len(p["last_name"]) <= _NAME_LENGTH
        and isinstance(p.get("first_name", ""), str | None)
        and len(p.get("first_name") or "") <= _NAME_LENGTH
    )


def annotation_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The annotation fields a client may set: text, color, positions, privacy_level, filehash.

    Fields the server sets are ignored; any other field answers 400 (a PATCH may not change `type` or
    `document_id`: the reference lists what can be updated).
    """
    settable = set(_ANNOTATION_FIELDS) | ({"type", "document_id"} if creating else set())
    unknown = sorted(set(body) - settable - _ANNOTATION_READ_ONLY)
    if unknown:
        what = "Unknown annotation field" if creating else "Annotation fields that cannot be updated"
        raise bad_request(f"{what}: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name in _ANNOTATION_FIELDS:
        if name not in body:
            continue
        value = body[name]
        if value is None:
            out[name] = None
        elif name in ("text", "filehash") and not isinstance(value, str):
            raise bad_request(f"{name} must be a string")
        elif name == "privacy_level" and value not in PRIVACY_LEVELS:
            raise bad_request("privacy_level must be public, group or private")
        elif name == "color" and not _is_color(value):
            raise bad_request("color must be {r, g, b} with values 0-255")
        elif name == "positions" and not (isinstance(value, list) and all(map(_is_box, value))):
            raise bad_request("positions must be a list of {top_left, bottom_right, page}, page from 1")
        else:
            out[name] = value
    return out


def check_annotation_shape(kind: str, positions: Any, filehash: Any, filehashes: set[str]) -> None:
    """What the core resources say of each type: a note has no location; a highlight has at least one
    box; a sticky note is one zero-size box. A filehash must be that of one of the document's files."""
    boxes = positions or []
    if kind == "note" and boxes:
        raise bad_request("A note has no positions")
    if kind == "highlight" and not boxes:
        raise bad_request("A highlight needs positions")
    if kind == "sticky_note" and (len(boxes) != 1 or boxes[0]["top_left"] != boxes[0]["bottom_right"]):
        raise bad_request("A sticky note has one position of zero size (top_left equal to bottom_right)")
    if filehash is not None and filehash not in filehashes:
        raise bad_request("filehash is not that of a file of the document")


def folder_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """A folder body: `name` (required to create; 1-255 characters of the Basic Multilingual Plane, as the
    core resources say), `parent_id` and, to create, `group_id`, each a string; server-set fields ignored."""
    settable = {"name", "parent_id"} | ({"group_id"} if creating else set())
    unknown = sorted(set(body) - settable - _FOLDER_READ_ONLY)
    if unknown:
        raise bad_request(f"Unknown folder field: {', '.join(unknown)}")
    out = {k: body[k] for k in settable if k in body}
    if creating and "name" not in out:
        raise bad_request("name is required")
    name = out.get("name", "x")
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or any(ord(c) > 0xFFFF for c in name):
        raise bad_request("name must be 1 to 255 characters of the Basic Multilingual Plane")
    for key in ("parent_id", "group_id"):
        if out.get(key) is not None and not isinstance(out[key], str):
            raise bad_request(f"{key} must be a string")
    return out


def folder_document_id(body: dict[str, Any]) -> str:
    """`POST /folders/{id}/documents` takes `{"id": <document id>}`."""
    if not isinstance(body.get("id"), str) or not body["id"]:
        raise bad_request("id of the document is required")
    unknown = sorted(set(body) - {"id"})
    if unknown:
        raise bad_request(f"Unknown field: {', '.join(unknown)}")
    return body["id"]


def annotation_type(body: dict[str, Any]) -> str:
    """The declared type, or (SDK posts carry none) guessed from the positions like the service.

    No positions: a note; zero-size boxes: a sticky note; anything else: a highlight.
    """
    declared = body.get("type")
    if declared is not None:
        if declared not in ANNOTATION_TYPES:
            raise bad_request("type must be note, highlight or sticky_note")
        return declared
    positions = body.get("positions") or []
    if not positions:
        return "note"
    if all(p.get("top_left") == p.get("bottom_right") for p in positions):
        return "sticky_note"
    return "highlight"


def _is_color(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(value.get(c), int) and 0 <= value[c] <= 255 for c in "rgb"
    )


def _is_point(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(value.get(c), int | float) and not isinstance(value.get(c), bool) for c in "xy"
    )


def _is_box(value: Any) -> bool:
    page = value.get("page") if isinstance(value, dict) else None
    return (
        isinstance(value, dict)
        and _is_point(value.get("top_left"))
        and _is_point(value.get("bottom_right"))
        and isinstance(page, int)
        and not isinstance(page, bool)
        and page >= 1
    )
