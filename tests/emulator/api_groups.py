"""Endpoints: groups, their members, and profiles."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from . import render
from .clock import iso
from .context import Emulator
from .errors import not_found
from .pagination import parse_limit
from .web import GROUP, MEMBERSHIP, PROFILE, accepted, json_response


def list_groups(emu: Emulator, request: Request) -> Response:
    media = accepted(request, GROUP)
    limit = parse_limit(request)
    lib = emu.library
    with lib.lock:
        groups = sorted(lib.groups.values(), key=lambda g: (g.created, g.id))
        page = emu.paginate(request, groups, lambda g: (g.created, g.id), limit=limit)
        body = [render.group(g) for g in page.items]
    return json_response(body, media, headers=page.headers())


def get_group(emu: Emulator, request: Request, id: str) -> Response:
    media = accepted(request, GROUP)
    with emu.library.lock:
        out = render.group(emu.library.group(id))
    return json_response(out, media)


def list_group_members(emu: Emulator, request: Request, id: str) -> Response:
    """The user and the group's owner (the emulator keeps no other members)."""
    media = accepted(request, MEMBERSHIP)
    limit = parse_limit(request)
    lib = emu.library
    with lib.lock:
        group = lib.group(id)
        owner = group.fields["owning_profile_id"]
        members = {owner: "owner"}
        members.setdefault(lib.profile_id, group.fields.get("role", "member"))
    rows = sorted(({"profile_id": p, "role": r, "joined": iso(group.created)} for p, r in members.items()),
                  key=lambda m: m["profile_id"])  # fmt: skip
    page = emu.paginate(request, rows, lambda m: (m["profile_id"],), sort="profile", limit=limit,
                        ident=lambda m: m["profile_id"])
    return json_response(page.items, media, headers=page.headers())


def my_profile(emu: Emulator, request: Request) -> Response:
    media = accepted(request, PROFILE)
    return json_response(emu.library.profile, media)


def get_profile(emu: Emulator, request: Request, id: str) -> Response:
    """Only the user's own profile is known; other profiles answer 404."""
    media = accepted(request, PROFILE)
    if id != emu.library.profile_id:
        raise not_found("Profile")
    out = {k: v for k, v in emu.library.profile.items() if k != "email"}  # email: /profiles/me only
    return json_response(out, media)
