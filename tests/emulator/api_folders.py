"""Endpoints: folders and the documents in them."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from . import render
from .context import Emulator
from .errors import ApiError, bad_request
from .models import Folder
from .pagination import parse_limit
from .state import Library
from .validation import folder_document_id, folder_fields
from .web import DOCUMENT, FOLDER, accepted, json_object, json_response, no_content


def _check_name(lib: Library, name: str, parent_id: str | None, group_id: str | None, own_id: str = "") -> str:
    """Folder names are unique among their siblings (409 otherwise)."""
    for other in lib.folders.values():
        if (
            other.id != own_id
            and other.name == name
            and other.parent_id == parent_id
            and other.group_id == group_id
        ):
            raise ApiError(409, f"A folder named {name!r} already exists here")
    return name


def _check_parent(lib: Library, parent_id: Any, group_id: str | None) -> str | None:
    if parent_id is None:
        return None
    if not isinstance(parent_id, str) or parent_id not in lib.folders:
        raise bad_request("parent_id is not a folder")
    if lib.folders[parent_id].group_id != group_id:
        raise bad_request("parent_id is a folder of another library")
    return parent_id


def list_folders(emu: Emulator, request: Request) -> Response:
    media = accepted(request, FOLDER)
    limit = parse_limit(request)
    group_id = request.args.get("group_id") or None
    lib = emu.library
    with lib.lock:
        lib.check_group(group_id)
        found = [f for f in lib.folder_order if f.group_id == group_id]
        page = emu.paginate(request, found, lambda f: (f.created, f.id), limit=limit)
        body = [render.folder(f) for f in page.items]
    return json_response(body, media, headers=page.headers())


def create_folder(emu: Emulator, request: Request) -> Response:
    media = accepted(request, FOLDER)
    body = folder_fields(json_object(request, FOLDER), creating=True)
    # The group may come in the body (as for documents) or, as the core resources say, the query.
    group_id = body.get("group_id") or request.args.get("group_id") or None
    lib = emu.library
    with lib.lock:
        lib.check_group(group_id)
        parent_id = _check_parent(lib, body.get("parent_id"), group_id)
        name = _check_name(lib, body.get("name"), parent_id, group_id)
        now = lib.clock.stamp()
        folder = lib.add_folder(Folder(lib.new_id(), name, parent_id, group_id, now, now))
        out = render.folder(folder)
    return json_response(out, media, 201, [("Location", f"{request.host_url}folders/{folder.id}")])


def get_folder(emu: Emulator, request: Request, id: str) -> Response:
    media = accepted(request, FOLDER)
    lib = emu.library
    with lib.lock:
        out = render.folder(lib.folder(id))
    return json_response(out, media)


def update_folder(emu: Emulator, request: Request, id: str) -> Response:
    """PATCH /folders/{id}: name and parent_id. The reference answers 204 No Content."""
    body = folder_fields(json_object(request, FOLDER), creating=False)
    lib = emu.library
    with lib.lock:
        folder = lib.folder(id)
        parent_id = folder.parent_id
        if "parent_id" in body:
            parent_id = _check_parent(lib, body["parent_id"], folder.group_id)
            if parent_id is not None and lib.folders[parent_id] in lib.descendants(folder):
                raise bad_request("A folder cannot move below itself")
        name = folder.name
        if "name" in body or parent_id != folder.parent_id:
            name = _check_name(lib, body.get("name", folder.name), parent_id, folder.group_id, folder.id)
        folder.name, folder.parent_id = name, parent_id
        folder.modified = lib.clock.stamp()
    return no_content()


def delete_folder(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        lib.delete_folder(lib.folder(id))
    return no_content()


def list_folder_documents(emu: Emulator, request: Request, id: str) -> Response:
    """GET /folders/{id}/documents: `[{"id": …}]` of the documents in it (not those in the trash)."""
    media = accepted(request, DOCUMENT)
    limit = parse_limit(request)
    lib = emu.library
    with lib.lock:
        folder = lib.folder(id)
        docs = [lib.documents[d] for d in folder.document_ids if not lib.documents[d].trashed]
        docs.sort(key=lambda d: (d.created, d.id))
        page = emu.paginate(request, docs, lambda d: (d.created, d.id), limit=limit)
    return json_response([{"id": d.id} for d in page.items], media, headers=page.headers())


def add_folder_document(emu: Emulator, request: Request, id: str) -> Response:
    """POST /folders/{id}/documents `{"id": …}`: 201; adding it again is harmless (also 201)."""
    doc_id = folder_document_id(json_object(request, DOCUMENT))
    lib = emu.library
    with lib.lock:
        folder = lib.folder(id)
        doc = lib.document(doc_id)
        if doc.group_id != folder.group_id:
            raise bad_request("The document and the folder belong to different libraries")
        lib.file_into_folder(folder, doc)
    return Response(status=201, headers=[("Location", f"{request.host_url}folders/{id}/documents/{doc_id}")])


def remove_folder_document(emu: Emulator, request: Request, id: str, document_id: str) -> Response:
    lib = emu.library
    with lib.lock:
        folder = lib.folder(id)
        if document_id not in folder.document_ids:
            raise ApiError(404, "Document not in folder")
        lib.take_out_of_folder(folder, lib.documents[document_id])
    return no_content()
