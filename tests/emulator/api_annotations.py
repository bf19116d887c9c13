"""Endpoints: annotations (notes, highlights, sticky notes)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from . import render
from .context import Emulator
from .deletions import deleted_since_response
from .errors import ApiError, bad_request
from .models import Annotation, Document
from .pagination import MAX_ANNOTATION_LIMIT, parse_limit
from .state import Library
from .validation import annotation_fields, annotation_type, check_annotation_shape
from .web import ANNOTATION, accepted, json_object, json_response, no_content, time_arg


def list_annotations(emu: Emulator, request: Request) -> Response:
    """Annotations on the user's own documents, or with group_id on a group's.

    Annotations of trashed documents stay listed (a guess; the reference does not say); those of
    deleted documents are gone and show in `deleted_since`.
    """
    media = accepted(request, ANNOTATION)
    limit = parse_limit(request, MAX_ANNOTATION_LIMIT)
    group_id = request.args.get("group_id") or None
    document_id = request.args.get("document_id") or None
    lib = emu.library
    deleted_since = time_arg(request, "deleted_since")
    if deleted_since is not None:
        return deleted_since_response(request, emu, lib.deleted_annotations, deleted_since, media, limit)
    modified_since = time_arg(request, "modified_since")
    with lib.lock:
        lib.check_group(group_id)
        found = [
            a
            for a in lib.annotation_order
            if (a.document_id == document_id if document_id else lib.documents[a.document_id].group_id == group_id)
            and (modified_since is None or a.last_modified >= modified_since)
        ]
        page = emu.paginate(request, found, lambda a: (a.created, a.id), limit=limit)
        body = [render.annotation(a) for a in page.items]
    return json_response(body, media, headers=page.headers())


def get_annotation(emu: Emulator, request: Request, id: str) -> Response:
    media = accepted(request, ANNOTATION)
    with emu.library.lock:
        out = render.annotation(emu.library.annotation(id))
    return json_response(out, media)


def create_annotation(emu: Emulator, request: Request) -> Response:
    media = accepted(request, ANNOTATION)
    body = json_object(request, ANNOTATION)
    fields = {k: v for k, v in annotation_fields(body, creating=True).items() if v is not None}
    kind = annotation_type(body)
    document_id = body.get("document_id")
    if not isinstance(document_id, str):
        raise bad_request("document_id is required")
    lib = emu.library
    with lib.lock:
        doc = lib.document(document_id)
        check_annotation_shape(kind, fields.get("positions"), fields.get("filehash"), _filehashes(lib, doc))
        if kind == "note" and any(lib.annotations[a].type == "note" for a in doc.annotation_ids):
            # The core resources: "Only a single note annotation can be attached to a document".
            raise ApiError(409, "This document already has a note")
        if kind != "note" and "filehash" not in fields and doc.file_ids:
            fields["filehash"] = lib.files[doc.file_ids[0]].filehash
        now = lib.clock.stamp()
        ann = lib.add_annotation(Annotation(lib.new_id(), kind, now, now, doc.id, lib.profile_id, fields))
        out = render.annotation(ann)
    return json_response(out, media, 201, [("Location", f"{request.host_url}annotations/{ann.id}")])


def update_annotation(emu: Emulator, request: Request, id: str) -> Response:
    """PATCH: text, color, positions, privacy_level and filehash; bumps the annotation's last_modified
    (not its document's)."""
    media = accepted(request, ANNOTATION)
    changes = annotation_fields(json_object(request, ANNOTATION), creating=False)
    lib = emu.library
    with lib.lock:
        ann = lib.annotation(id)
        merged = {**ann.fields, **changes}
        check_annotation_shape(ann.type, merged.get("positions"), merged.get("filehash"),
                               _filehashes(lib, lib.documents[ann.document_id]))
        for name, value in changes.items():
            if value is None:
                ann.fields.pop(name, None)
            else:
                ann.fields[name] = value
        ann.last_modified = lib.clock.stamp()
        out = render.annotation(ann)
    return json_response(out, media)


def _filehashes(lib: Library, doc: Document) -> set[str]:
    return {lib.files[f].filehash for f in doc.file_ids}


def delete_annotation(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        lib.delete_annotation(lib.annotation(id))
    return no_content()
