"""The `deleted_since` listings of files and annotations: what was deleted at or after a time, with its document."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.wrappers import Request, Response

from .context import Emulator
from .models import Deletion
from .state import since
from .web import json_response


def deleted_since_response(request: Request, emu: Emulator, deletions: Iterable[Deletion], at_or_after: int,
                           media: str, limit: int) -> Response:
    """One page of `{"id", "document_id"}` for the deletions of the request's scope (`group_id`, `document_id`);
    the tool only needs the ids."""
    lib = emu.library
    group_id = request.args.get("group_id") or None
    document_id = request.args.get("document_id") or None
    with lib.lock:
        lib.check_group(group_id)
        gone = [d for d in since(deletions, at_or_after, group_id) if document_id in (None, d.document_id)]
    page = emu.paginate(request, gone, lambda d: (d.at, d.id), sort="deleted", limit=limit)
    body = [{"id": d.id, "document_id": d.document_id} for d in page.items]
    return json_response(body, media, headers=page.headers())
