"""Control endpoints under /_emulator/: not Mendeley's; no auth, no faults, not counted."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from . import render
from .content import file_bytes
from .context import Emulator
from .errors import bad_request, not_found
from .faults import FaultSettings
from .models import Group
from .seeding import SeedRequest, seed
from .web import json_body, json_response, no_content


def _body(request: Request) -> dict[str, Any]:
    body = json_body(request) if request.get_data() else {}
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


def reset(emu: Emulator, request: Request) -> Response:
    emu.reset()
    return no_content()


def token(emu: Emulator, request: Request) -> Response:
    """A token like /oauth/token's; optional JSON `{"lifetime_s": …, "client_id": …}`."""
    body = _body(request)
    lifetime = body.get("lifetime_s", emu.faults.settings.token_lifetime_s)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise bad_request("lifetime_s must be a positive number")
    return json_response(emu.tokens.issue(body.get("client_id"), lifetime))


def seed_library(emu: Emulator, request: Request) -> Response:
    return json_response(seed(emu.library, SeedRequest.from_json(_body(request))))


def get_faults(emu: Emulator, request: Request) -> Response:
    return json_response(emu.faults.settings.to_json())


def set_faults(emu: Emulator, request: Request) -> Response:
    """Replace the whole fault setting (fields left out take their defaults)."""
    emu.set_faults(FaultSettings.from_json(_body(request)))
    return json_response(emu.faults.settings.to_json())


def get_stats(emu: Emulator, request: Request) -> Response:
    return json_response(emu.stats.to_json())


def reset_stats(emu: Emulator, request: Request) -> Response:
    emu.stats.reset()
    return no_content()


def create_group(emu: Emulator, request: Request) -> Response:
    """Groups cannot be created through the API; tests make them here. Answers the group JSON."""
    body = _body(request)
    lib = emu.library
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request("name is required")
    fields = {
        "name": name,
        "description": body.get("description", ""),
        "disciplines": body.get("disciplines", []),
        "tags": body.get("tags", []),
        "webpage": body.get("webpage", ""),
        "owning_profile_id": body.get("owning_profile_id", lib.profile_id),
        "link": f"https://www.mendeley.com/community/{name.lower().replace(' ', '-')}/",
        "role": body.get("role", "owner"),
        "access_level": body.get("access_level", "private"),
    }
    with lib.lock:
        group = lib.add_group(Group(lib.new_id(), lib.clock.stamp(), fields))
        out = render.group(group)
    return json_response(out, status=201)


def library(emu: Emulator, request: Request) -> Response:
    """The whole state, each object exactly as the API renders it (documents in view=all with
    their files as the document-with-files-list listing shows them), in created order."""
    lib = emu.library
    with lib.lock:
        docs = list(lib.document_order)
        out = {
            "documents": [render.document(lib, d, "all", with_files=True) for d in docs
                          if d.group_id is None and not d.trashed],
            "group_documents": [render.document(lib, d, "all", with_files=True) for d in docs
                                if d.group_id is not None and not d.trashed],
            "trash": [render.document(lib, d, "all", with_files=True) for d in docs if d.trashed],
            "files": [render.file(f) for f in lib.file_order],
            "folders": [render.folder(f) for f in lib.folder_order],
            "annotations": [render.annotation(a) for a in lib.annotation_order],
            "groups": [render.group(g) for g in sorted(lib.groups.values(), key=lambda g: (g.created, g.id))],
            "deleted_documents": [d.id for d in lib.deleted_documents],
            "deleted_files": [d.id for d in lib.deleted_files],
            "deleted_annotations": [d.id for d in lib.deleted_annotations],
            "profile": lib.profile,
        }  # fmt: skip
    return json_response(out)


def file_content(emu: Emulator, request: Request, id: str) -> Response:
    """The bytes of a file, without signing, faults or counting."""
    with emu.library.lock:
        file = emu.library.files.get(id)
        if file is None:
            raise not_found("File")
    return Response(file_bytes(file), mimetype=file.mime_type)
