"""Endpoints: documents, the trash and deleted documents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from werkzeug.http import parse_date
from werkzeug.wrappers import Request, Response

from . import render
from .context import Emulator
from .errors import ApiError, bad_request
from .models import VIEWS, Document
from .pagination import parse_limit
from .state import since
from .uploads import read_upload
from .validation import document_fields
from .web import (
    DELETED_DOCUMENT,
    DOCUMENT,
    DOCUMENT_WITH_FILES,
    accepted,
    json_object,
    json_response,
    no_content,
    time_arg,
)

SORT_KEYS: dict[str, Callable[[Document], tuple[Any, ...]]] = {
    "created": lambda d: (d.created, d.id),
    "last_modified": lambda d: (d.last_modified, d.id),
    "title": lambda d: ((d.fields.get("title") or "").casefold(), d.id),
}


def _view(request: Request, default: str = "core") -> str:
    view = request.args.get("view") or default
    if view not in VIEWS:
        raise bad_request(f"Unknown view {view!r}; use one of {', '.join(VIEWS)}")
    return view


def _list(emu: Emulator, request: Request, *, trashed: bool) -> Response:
    """GET /documents and GET /trash: one page of a library's (or group's) documents."""
    if request.args.get("deleted_since"):
        return _deleted(emu, request, time_arg(request, "deleted_since"), DOCUMENT)
    media = accepted(request, DOCUMENT, DOCUMENT_WITH_FILES)
    view = _view(request)
    limit = parse_limit(request)
    group_id = request.args.get("group_id") or None
    modified_since = time_arg(request, "modified_since")
    sort = request.args.get("sort") or "created"
    order = request.args.get("order") or "asc"
    if sort not in SORT_KEYS:
        raise bad_request("sort must be created, last_modified or title")
    if order not in ("asc", "desc"):
        raise bad_request("order must be asc or desc")
    lib = emu.library
    with lib.lock:
        lib.check_group(group_id)
        docs = [
            d
            for d in lib.iter_documents(group_id, trashed=trashed)
            if modified_since is None or d.last_modified >= modified_since
        ]
        if sort != "created":  # the index is already in created order
            docs.sort(key=SORT_KEYS[sort])
        page = emu.paginate(request, docs, SORT_KEYS[sort], sort=sort, descending=order == "desc", limit=limit,
                            rich=True)
        with_files = media == DOCUMENT_WITH_FILES
        body = [render.document(lib, d, view, with_files=with_files) for d in page.items]
    return json_response(body, media, headers=page.headers())


def _deleted(emu: Emulator, request: Request, at_or_after: int | None, media: str) -> Response:
    """Ids of permanently deleted documents, at or after a time, oldest deletion first."""
    limit = parse_limit(request)
    group_id = request.args.get("group_id") or None
    lib = emu.library
    with lib.lock:
        lib.check_group(group_id)
        found = since(lib.deleted_documents, at_or_after, group_id)
    page = emu.paginate(request, found, lambda d: (d.at, d.id), sort="deleted", limit=limit)
    return json_response([{"id": d.id} for d in page.items], media, headers=page.headers())


def list_documents(emu: Emulator, request: Request) -> Response:
    return _list(emu, request, trashed=False)


def list_trash(emu: Emulator, request: Request) -> Response:
    return _list(emu, request, trashed=True)


def list_deleted_documents(emu: Emulator, request: Request) -> Response:
    accepted(request, DELETED_DOCUMENT)
    return _deleted(emu, request, time_arg(request, "since"), DELETED_DOCUMENT)


def _one(emu: Emulator, request: Request, id: str, *, trashed: bool) -> Response:
    media = accepted(request, DOCUMENT)
    view = _view(request)
    lib = emu.library
    with lib.lock:
        body = render.document(lib, lib.document(id, trashed=trashed), view)
    return json_response(body, media)


def get_document(emu: Emulator, request: Request, id: str) -> Response:
    return _one(emu, request, id, trashed=False)


def get_trashed(emu: Emulator, request: Request, id: str) -> Response:
    return _one(emu, request, id, trashed=True)


def create_document(emu: Emulator, request: Request) -> Response:
    """POST /documents: from metadata (JSON), or from a file (any other Content-Type)."""
    media = accepted(request, DOCUMENT)
    lib = emu.library
    mimetype = request.mimetype
    if mimetype.startswith("application/vnd.mendeley-") and mimetype != DOCUMENT:
        raise ApiError(415, f"Unsupported media type {mimetype}; send {DOCUMENT}")
    if mimetype not in ("", DOCUMENT, "application/json"):
        return _create_from_file(emu, request, media)
    body = json_object(request, DOCUMENT)
    fields = {k: v for k, v in document_fields(body, creating=True).items() if v is not None}
    group_id = body.get("group_id")
    if group_id is not None and not isinstance(group_id, str):
        raise bad_request("group_id must be a string")
    with lib.lock:
        lib.check_group(group_id)
        doc = lib.create_document(fields, group_id)
        out = render.document(lib, doc, "all")
    return json_response(out, media, 201, [("Location", f"{request.host_url}documents/{doc.id}")])


def _create_from_file(emu: Emulator, request: Request, media: str) -> Response:
    # The real service extracts metadata from the file; we only take the title from its name.
    upload = read_upload(request)
    lib = emu.library
    with lib.lock:
        title = PurePosixPath(upload.file_name).stem or upload.file_name
        doc = lib.create_document({"title": title[:255], "type": "generic"}, None)
        lib.add_file(upload.to_file(lib, doc), touch=False)
        out = render.document(lib, doc, "all")
    return json_response(out, media, 201, [("Location", f"{request.host_url}documents/{doc.id}")])


def update_document(emu: Emulator, request: Request, id: str) -> Response:
    """PATCH /documents/{id}: only the fields sent change; answers the document (view all)."""
    media = accepted(request, DOCUMENT)
    view = _view(request, "all")
    body = json_object(request, DOCUMENT)
    changes = document_fields(body, creating=False)
    lib = emu.library
    with lib.lock:
        doc = lib.document(id)
        if "group_id" in body and body["group_id"] != doc.group_id:
            raise bad_request("group_id cannot be changed")
        condition = request.headers.get("If-Unmodified-Since")
        if condition:
            when = parse_date(condition)
            if when is None:
                raise bad_request("If-Unmodified-Since is not an HTTP date")
            if doc.last_modified // 1000 > int(when.timestamp()):
                raise ApiError(412, "Document was modified since " + condition)
        lib.update_document(doc, changes)
        out = render.document(lib, doc, view)
    return json_response(out, media)


def delete_document(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        lib.delete_document(lib.document(id))
    return no_content()


def trash_document(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        lib.trash_document(lib.document(id))
    return no_content()


def delete_trashed(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        lib.delete_document(lib.document(id, trashed=True))
    return no_content()


def restore_trashed(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        lib.restore_document(lib.document(id, trashed=True))
    return no_content()
