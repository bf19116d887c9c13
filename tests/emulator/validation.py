"""Checks of client-sent document and annotation fields against the reference's types and limits."""

from __future__ import annotations

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
_STRING_LISTS = {"keywords": 50, "tags": 50, "websites": 255}
_INTEGERS = {"year": (0, 9999), "month": (1, 12), "day": (1, 31)}


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
            raise bad_request(f"{name} must be a list of people with a last_name")
        return [{k: p[k] for k in ("first_name", "last_name") if p.get(k) is not None} for p in value]
    if name == "identifiers":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise bad_request("identifiers must map identifier types to strings")
        unknown = set(value) - IDENTIFIER_TYPES
        if unknown:
            raise bad_request(f"Unsupported identifier types: {', '.join(sorted(unknown))}")
        return dict(value)
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
        and isinstance(p.get("first_name", ""), str | None)
    )


def annotation_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The annotation fields a client may set: text, color, positions, privacy_level, filehash."""
    out: dict[str, Any] = {}
    for name in ("text", "color", "positions", "privacy_level", "filehash"):
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
            raise bad_request("positions must be a list of {top_left, bottom_right, page}")
        else:
            out[name] = value
    return out


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
    return (
        isinstance(value, dict)
        and _is_point(value.get("top_left"))
        and _is_point(value.get("bottom_right"))
        and isinstance(value.get("page"), int)
    )
