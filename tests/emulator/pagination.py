"""Paging by opaque marker, with `Link` headers and `Mendeley-Count`.

A marker is the sort key of the last item served (base64 of JSON, tagged with the sort name): the
next page starts after that key, so pages stay stable while items are added or removed between
requests (the real service's markers behave the same way as far as clients can see).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from .errors import bad_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 500
# The contract: the real service refuses limit=500 for annotations, although the reference allows it.
MAX_ANNOTATION_LIMIT = 200

Key = tuple[Any, ...]


@dataclass
class Page:
    items: list[Any]
    count: int | None = None  # set on the first page only
    links: list[tuple[str, str]] = field(default_factory=list)  # (rel, url)

    def headers(self) -> list[tuple[str, str]]:
        out = [("Link", f'<{url}>; rel="{rel}"') for rel, url in self.links]
        if self.count is not None:
            out.append(("Mendeley-Count", str(self.count)))
        return out


def parse_limit(request: Request, maximum: int = MAX_LIMIT) -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request("limit must be an integer") from None
    if limit < 1 or limit > maximum:
        raise bad_request(f"limit must be between 1 and {maximum}")
    return limit


def encode_marker(sort: str, key: Key) -> str:
    raw = json.dumps([sort, *key], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_marker(sort: str, marker: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad_request("Invalid marker") from None
    if not isinstance(decoded, list) or not decoded or decoded[0] != sort:
        raise bad_request("Invalid marker")
    return tuple(decoded[1:])


def paginate(
    request: Request,
    ascending: Sequence[Any],
    key: Callable[[Any], Key],
    *,
    sort: str = "created",
    descending: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """One page of `ascending` (sorted by `key`) in the requested direction, with its links."""
    n = len(ascending)
    marker = request.args.get("marker")
    try:
        if marker is None:
            start = 0
        elif descending:  # positions count from the end: the items with key < marker remain
            start = n - bisect.bisect_left(ascending, decode_marker(sort, marker), key=key)
        else:
            start = bisect.bisect_right(ascending, decode_marker(sort, marker), key=key)
    except TypeError:  # a marker whose key does not compare with this list's keys
        raise bad_request("Invalid marker") from None

    def at(position: int) -> Any:
        return ascending[n - 1 - position] if descending else ascending[position]

    items = [at(i) for i in range(start, min(start + limit, n))]

    def link(position: int) -> str:
        """The URL of the page starting at `position` (0: the first page, no marker)."""
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "marker"]
        if position > 0:
            args.append(("marker", encode_marker(sort, key(at(position - 1)))))
        query = urlencode(args)
        return request.base_url + ("?" + query if query else "")

    links = [("first", link(0))]
    if start > 0:
        links.append(("prev", link(max(0, start - limit))))
    if start + limit < n:
        links.append(("next", link(start + limit)))
    # The last page: where paging from the first page would end if nothing changed meanwhile.
    links.append(("last", link((n - 1) // limit * limit if n else 0)))
    return Page(items, n if marker is None else None, links)
