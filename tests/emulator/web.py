"""Small request and response helpers shared by the endpoint modules."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from .clock import parse_iso
from .errors import ApiError, bad_request

DOCUMENT = "application/vnd.mendeley-document.1+json"
DOCUMENT_WITH_FILES = "application/vnd.mendeley-document-with-files-list+json"
FILE = "application/vnd.mendeley-file.1+json"
FOLDER = "application/vnd.mendeley-folder.1+json"
ANNOTATION = "application/vnd.mendeley-annotation.1+json"
GROUP = "application/vnd.mendeley-group.1+json"
DELETED_DOCUMENT = "application/vnd.mendeley-deleted-document.1+json"
PROFILE = "application/vnd.mendeley-profiles.1+json"
MEMBERSHIP = "application/vnd.mendeley-membership.1+json"
JSON = "application/json"


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    data: Any,
    content_type: str = JSON,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    return Response(dumps(data), status=status, headers=headers, content_type=content_type)


def no_content() -> Response:
    return Response(status=204)


def error_response(error: ApiError) -> Response:
    headers = list(error.headers.items())
    if isinstance(error.body, str):
        return Response(error.body.encode(), error.status, headers, content_type=JSON)
    return json_response(error.body, JSON, error.status, headers)


def accepted(request: Request, *types: str) -> str:
    """The media type to answer with: the first of `types` unless the client asked for another.

    A missing Accept, `*/*`, `application/*` and `application/json` take the resource's own type;
    a request for another vendor type is refused with 406, as the reference's error table says.
    """
    header = request.headers.get("Accept", "").strip()
    if not header:
        return types[0]
    offered = [part.split(";")[0].strip().lower() for part in header.split(",")]
    for media in offered:
        if media in types:
            return media
    if any(media in ("*/*", "application/*", JSON, "") for media in offered):
        return types[0]
    raise ApiError(406, f"Not acceptable: {header}; this resource serves {types[0]}")


def json_body(request: Request, *types: str) -> Any:
    """The request's JSON body; its Content-Type must be one of `types` or application/json."""
    media = request.mimetype
    if media and media not in types and media != JSON:
        raise ApiError(415, f"Unsupported media type {media}; send {types[0]}")
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise bad_request("Request body is not valid JSON") from None


def json_object(request: Request, *types: str) -> dict[str, Any]:
    body = json_body(request, *types)
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


def time_arg(request: Request, name: str) -> int | None:
    """An ISO-8601 query parameter in milliseconds, None when absent; 400 when malformed."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise bad_request(f"{name} must be an ISO 8601 timestamp") from None


def bool_arg(request: Request, name: str) -> bool:
    return request.args.get(name, "").lower() in ("true", "1", "yes")
