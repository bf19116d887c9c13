"""Paging by marker, with `Link` headers and `Mendeley-Count`, in the shapes the real service sends.

Three link styles (the fault setting `link_style`):
- `default`: an opaque marker (base64 of JSON: the sort name and the last key served), one header line
  each for `first`, `prev` (not on the first page), `next` (while more remain) and `last`.
- `real`, as the recorded answers of api.mendeley.com: `next` carries `limit`, `reverse=false`,
  `order=asc` and `marker=<the last item's id>`; the documents and trash listings also send `last`
  (`reverse=true`, no marker) and, on later pages, `first` and `previous`. Other listings send `next` alone.
- `minimal`: `next` alone, with the opaque marker.
Either marker names a position, not an item that must still exist: the next page starts after that key,
so pages stay stable while items are added or removed between requests. An id marker is resolved through
the keys the emulator handed out (an item deleted meanwhile still marks its place), else the item itself.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from .errors import ApiError, bad_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 500
# The contract: the real service refuses limit=500 for annotations, although the reference allows it.
MAX_ANNOTATION_LIMIT = 200
_PAGING_ARGS = ("marker", "limit", "reverse", "order")

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Paging:
    """How listings are paged under the current fault setting."""

    style: str = "default"
    max_items: int | None = None  # a page holds at most this many items, whatever the limit asked
    count: bool = True  # the first page carries Mendeley-Count


class MarkerMemory:
    """The sort keys behind the id markers handed out (bounded), so that an id marks its place for good."""

    SIZE = 20_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: OrderedDict[tuple[str, str], Key] = OrderedDict()

    def remember(self, sort: str, ident: str, key: Key) -> None:
        with self._lock:
            self._keys[(sort, ident)] = key
            self._keys.move_to_end((sort, ident))
            while len(self._keys) > self.SIZE:
                self._keys.popitem(last=False)

    def recall(self, sort: str, ident: str) -> Key | None:
        with self._lock:
            return self._keys.get((sort, ident))


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


def _ident(item: Any) -> str:
    return str(item.id)


def paginate(
    request: Request,
    ascending: Sequence[Any],
    key: Callable[[Any], Key],
    *,
    paging: Paging,
    markers: MarkerMemory,
    sort: str = "created",
    descending: bool = False,
    limit: int = DEFAULT_LIMIT,
    ident: Callable[[Any], str] = _ident,
    rich: bool = False,
) -> Page:
    """One page of `ascending` (sorted by `key`) in the requested direction, with its links.

    `rich`: the listing is one of those (documents, trash) whose real links include last/first/previous.
    """
    n = len(ascending)
    marker = request.args.get("marker")
    backwards = request.args.get("reverse", "").lower() == "true"
    shown = min(limit, paging.max_items or limit)

    def at(position: int) -> Any:
        return ascending[n - 1 - position] if descending else ascending[position]

    def position_after(marker_key: Key) -> int:
        """How many items (in the requested direction) lie at or before the marker's key."""
        try:
            if descending:
                return n - bisect.bisect_left(ascending, marker_key, key=key)
            return bisect.bisect_right(ascending, marker_key, key=key)
        except TypeError:  # a marker whose key does not compare with this list's keys
            raise bad_request("Invalid marker") from None

    if marker is None:
        stop = n  # backwards from the end, or forwards from the start
        start = max(0, n - shown) if backwards else 0
    elif backwards:  # the page ends just before the marker's item (the first of the page after it)
        stop = max(0, position_after(_marker_key(marker, sort, ascending, key, ident, markers)) - 1)
        start = max(0, stop - shown)
    else:
        start = position_after(_marker_key(marker, sort, ascending, key, ident, markers))
        stop = n
    end = min(start + shown, stop)
    items = [at(i) for i in range(start, end)]
    if paging.style == "real":
        links = _real_links(request, items, start, end, n, limit, sort, descending, rich, key, ident, markers)
    else:
        links = _opaque_links(request, start, end, n, shown, sort, at, key, minimal=paging.style == "minimal")
    first_page = marker is None and not backwards
    return Page(items, n if first_page and paging.count else None, links)


def _marker_key(marker: str, sort: str, ascending: Sequence[Any], key: Callable[[Any], Key],
                ident: Callable[[Any], str], markers: MarkerMemory) -> Key:
    """The sort key a marker names: an opaque marker's own, or the key of the item whose id it is."""
    try:
        return decode_marker(sort, marker)
    except ApiError:  # not an opaque marker: an id, as the real service's markers are
        pass
    remembered = markers.recall(sort, marker)
    if remembered is not None:
        return remembered
    for item in ascending:
        if ident(item) == marker:
            return key(item)
    raise bad_request("Invalid marker")


def _query(request: Request, extra: list[tuple[str, str]], drop: tuple[str, ...]) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in drop]
    query = urlencode(args + extra)
    return request.base_url + ("?" + query if query else "")


def _opaque_links(request: Request, start: int, end: int, n: int, shown: int, sort: str,
                  at: Callable[[int], Any], key: Callable[[Any], Key], *, minimal: bool) -> list[tuple[str, str]]:
    def link(position: int) -> str:
        """The URL of the page starting at `position` (0: the first page, no marker)."""
        extra = [("marker", encode_marker(sort, key(at(position - 1))))] if position > 0 else []
        return _query(request, extra, ("marker", "reverse"))

    if minimal:
        return [("next", link(end))] if end < n else []
    links = [("first", link(0))]
    if start > 0:
        links.append(("prev", link(max(0, start - shown))))
    if end < n:
        links.append(("next", link(end)))
    # The last page: where paging from the first page would end if nothing changed meanwhile.
    links.append(("last", link((n - 1) // shown * shown if n else 0)))
    return links


def _real_links(request: Request, items: list[Any], start: int, end: int, n: int, limit: int, sort: str,
                descending: bool, rich: bool, key: Callable[[Any], Key], ident: Callable[[Any], str],
                markers: MarkerMemory) -> list[tuple[str, str]]:
    order = "desc" if descending else "asc"

    def link(reverse: bool, item: Any | None) -> str:
        extra = [("limit", str(limit)), ("reverse", "true" if reverse else "false"), ("order", order)]
        if item is not None:
            markers.remember(sort, ident(item), key(item))
            extra.append(("marker", ident(item)))
        return _query(request, extra, _PAGING_ARGS)

    links = []
    if end < n and items:
        links.append(("next", link(False, items[-1])))
    if rich:
        links.append(("last", link(True, None)))
        if start > 0 and items:
            links.append(("first", link(False, None)))
            links.append(("previous", link(True, items[0])))
    return links
