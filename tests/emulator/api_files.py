"""Endpoints: files (list, upload, delete, download redirect) and the signed content URL."""

from __future__ import annotations

from collections.abc import Iterator

from werkzeug.wrappers import Request, Response

from . import render
from .answers import DropConnection
from .content import content_disposition, file_bytes
from .context import Emulator
from .deletions import deleted_since_response
from .errors import ApiError, not_found
from .models import File
from .pagination import parse_limit
from .uploads import linked_document_id, read_upload
from .web import FILE, accepted, bool_arg, json_response, no_content, time_arg


def list_files(emu: Emulator, request: Request) -> Response:
    media = accepted(request, FILE)
    limit = parse_limit(request)
    group_id = request.args.get("group_id") or None
    document_id = request.args.get("document_id") or None
    deleted_since = time_arg(request, "deleted_since")
    lib = emu.library
    if deleted_since is not None:
        return deleted_since_response(request, emu, lib.deleted_files, deleted_since, media, limit)
    added_since = time_arg(request, "added_since")
    include_trashed = bool_arg(request, "include_trashed")
    with lib.lock:
        lib.check_group(group_id)
        if document_id is not None:
            doc = lib.documents.get(document_id)
            candidates = lib.files_of(doc) if doc is not None else []
            candidates.sort(key=lambda f: (f.created, f.id))
        else:
            candidates = lib.file_order
        found = []
        for f in candidates:
            doc = lib.documents[f.document_id]
            if doc.group_id != group_id and document_id is None:
                continue
            if doc.trashed and not include_trashed:
                continue
            if added_since is not None and f.created < added_since:
                continue
            found.append(f)
        page = emu.paginate(request, found, lambda f: (f.created, f.id), limit=limit)
        body = [render.file(f) for f in page.items]
    return json_response(body, media, headers=page.headers())


def upload_file(emu: Emulator, request: Request) -> Response:
    """POST /files: raw body; file name from Content-Disposition, document from the Link header."""
    media = accepted(request, FILE)
    document_id = linked_document_id(request)
    upload = read_upload(request)
    lib = emu.library
    with lib.lock:
        doc = lib.document(document_id)
        file = lib.add_file(upload.to_file(lib, doc))
        body = render.file(file)
    return json_response(body, media, 201, [("Location", f"{request.host_url}files/{file.id}")])


def _file(emu: Emulator, id: str) -> File:
    file = emu.library.files.get(id)
    if file is None:
        raise not_found("File")
    return file


def download_file(emu: Emulator, request: Request, id: str) -> Response:
    """GET /files/{id}: 303 See Other to a signed, short-lived content URL: on this server, or (with
    `separate_content_host`) on the second origin, signed as S3 signs its query-string URLs."""
    lib = emu.library
    with lib.lock:
        file = _file(emu, id)
        year = lib.documents[file.document_id].fields.get("year")
    lifetime = emu.faults.settings.content_url_lifetime_s
    if emu.faults.settings.separate_content_host and emu.content_host_url:
        location = emu.signer.s3_url(emu.content_host_url, file, year, lifetime)
    else:
        location = emu.signer.url(request.host_url, id, lifetime)
    return Response(status=303, headers=[("Location", location)])


def delete_file(emu: Emulator, request: Request, id: str) -> Response:
    lib = emu.library
    with lib.lock:
        file = _file(emu, id)
        if lib.documents[file.document_id].trashed:
            raise not_found("File")
        lib.delete_file(file)
    return no_content()


def file_content(emu: Emulator, request: Request, id: str) -> Response:
    """GET /_content/{id}?expires=&signature=: the bytes; no Authorization needed (like S3)."""
    if not emu.signer.valid(id, request.args.get("expires"), request.args.get("signature")):
        raise ApiError(403, "Request has expired or its signature does not match")
    with emu.library.lock:
        file = _file(emu, id)
    headers = [("Content-Disposition", content_disposition(file.file_name))]
    return stream_file(emu, request, file_bytes(file), headers, file.mime_type)


def stream_file(emu: Emulator, request: Request, data: bytes, headers: list[tuple[str, str]], mimetype: str,
                status: int = 200) -> Response:
    """File content through the shared link: with `Content-Length`, or chunked without it
    (`chunked_content`); `truncate_rate` cuts it short and closes the connection."""
    cut = max(1, len(data) // 2) if len(data) > 1 and emu.faults.truncate() else None
    if not emu.faults.settings.chunked_content:
        headers = [*headers, ("Content-Length", str(len(data)))]
    body = _stream(emu, data, cut) if request.method != "HEAD" else iter(())
    # direct_passthrough: the body goes out as it is, neither compressed nor cut again (see answers.finish).
    return Response(body, status, headers, mimetype=mimetype, direct_passthrough=True)


def _stream(emu: Emulator, data: bytes, cut: int | None) -> Iterator[bytes]:
    """The bytes in chunks through the shared link; with `cut`, stop there and drop the line."""
    end = len(data) if cut is None else cut
    step = emu.faults.chunk_size()
    for start in range(0, end, step):
        chunk = data[start : min(start + step, end)]
        emu.faults.throttle(len(chunk))
        yield chunk
        emu.stats.add_bytes(len(chunk))
    if cut is not None:
        raise DropConnection("truncated download")
