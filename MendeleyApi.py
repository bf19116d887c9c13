"""The Mendeley API client: the one place that knows URLs, media types, paging, authorisation and file
downloads. The backup worker asks it for listings and files and never builds a URL itself.
"""

import hashlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from Errors import ApiError, LoginError
from HttpSession import RETRY_STATUSES, HttpPolicy
from Timestamps import format_time, parse_http_date

log = logging.getLogger(__name__)

DOCUMENT = "application/vnd.mendeley-document.1+json"
DOCUMENT_WITH_FILES = "application/vnd.mendeley-document-with-files-list+json"
FILE = "application/vnd.mendeley-file.1+json"
FOLDER = "application/vnd.mendeley-folder.1+json"
ANNOTATION = "application/vnd.mendeley-annotation.1+json"
GROUP = "application/vnd.mendeley-group.1+json"
DELETED_DOCUMENT = "application/vnd.mendeley-deleted-document.1+json"

PAGE_LIMIT = 500
# The reference allows 500 for annotations, but the real service refuses more than 200.
ANNOTATION_PAGE_LIMIT = 200
CHUNK_BYTES = 1 << 20
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# How urllib3 names the connection an error happened on: `HTTPConnectionPool(host='…', port=1): `.
_CONNECTION_PREFIX = re.compile(r"^(\w+\([^)]*\)|<[^>]*>): ")


class Credentials(Protocol):
    """What the client needs from a login (see Login.Credentials)."""

    def access_token(self) -> str: ...

    def refresh(self, rejected_token: str) -> str: ...


@dataclass
class Listing:
    """Every item of a paginated listing, with what its first page said about it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    expected_count: int | None = None  # the first page's Mendeley-Count, when the server sent one
    server_time: datetime | None = None  # the first page's Date header

    @property
    def complete(self) -> bool:
        """Whether the pages together hold as many distinct items as the server announced."""
        if self.expected_count is None:
            return True
        return len({item.get("id") for item in self.items}) == self.expected_count


class DownloadError(Exception):
    """One download attempt went wrong in a way another attempt may not."""


class MendeleyApi:
    """The Mendeley API of one user, over one pooled, retrying HTTP session."""

    def __init__(self, host: str, http: requests.Session, credentials: Credentials, policy: HttpPolicy) -> None:
        self._host = host.rstrip("/")
        self._http = http
        self._credentials = credentials
        self._policy = policy

    # Listings -------------------------------------------------------------------------------------------

    def documents(self, group_id: str | None = None, modified_since: datetime | None = None,
                  on_page: Callable[[Listing], None] | None = None) -> Listing:
        """Documents with every field (`view=all`) and, through the with-files media type, their files;
        `on_page` is shown the listing so far after each page (for a progress bar)."""
        params = {"view": "all", "group_id": group_id, "modified_since": _time(modified_since)}
        return self._list("/documents", params, DOCUMENT_WITH_FILES, on_page=on_page)

    def document(self, document_id: str) -> dict[str, Any] | None:
        """One document with every field and its files (as a listing gives them), or None if it is gone."""
        response = self._send("GET", f"/documents/{document_id}", params={"view": "all"}, accept=DOCUMENT,
                              missing_ok=True)
        if response.status_code == 404:
            return None
        document = _json(response)
        document["files"] = self._list("/files", {"document_id": document_id}, FILE).items
        return document

    def deleted_documents(self, since: datetime, group_id: str | None = None) -> Listing:
        """Ids of documents permanently deleted at or after `since`."""
        return self._list("/deleted_documents", {"since": _time(since), "group_id": group_id}, DELETED_DOCUMENT)

    def trash(self, group_id: str | None = None, modified_since: datetime | None = None) -> Listing:
        """Documents in the trash (core fields: the ids are what a backup needs)."""
        return self._list("/trash", {"group_id": group_id, "modified_since": _time(modified_since)}, DOCUMENT)

    def folders(self, group_id: str | None = None) -> Listing:
        return self._list("/folders", {"group_id": group_id}, FOLDER)

    def folder_document_ids(self, folder_id: str) -> Listing:
        return self._list(f"/folders/{folder_id}/documents", {}, DOCUMENT)

    def annotations(self, group_id: str | None = None, modified_since: datetime | None = None,
                    deleted_since: datetime | None = None, document_id: str | None = None) -> Listing:
        params = {"group_id": group_id, "modified_since": _time(modified_since), "deleted_since": _time(deleted_since),
                  "document_id": document_id}
        return self._list("/annotations", params, ANNOTATION, limit=ANNOTATION_PAGE_LIMIT)

    def groups(self) -> Listing:
        return self._list("/groups", {}, GROUP)

    # Files ----------------------------------------------------------------------------------------------

    def download(self, file_id: str, destination: Path, size: int | None, sha1: str | None,
                 on_bytes: Callable[[int], None] = lambda _: None) -> str:
        """Write a file's bytes to `destination`, checked against the expected size and SHA-1 and fsynced.

        Each attempt asks `/files/{id}` afresh for its 303 (signed content URLs expire) and fetches the
        content without the Authorization header, which is for the API only. The session retries each of
        those requests; an attempt is retried here only for what the session cannot retry (content cut
        short, mismatching, or refused as an expired link), so --retries bounds the tries of a request, not
        their square. The last failure raises ApiError. Returns the SHA-1 of what was written.
        """
        failure: Exception = DownloadError("not attempted")
        for attempt in range(self._policy.retries + 1):
            if attempt:
                time.sleep(_backoff(self._policy, attempt))
            try:
                return self._download_once(file_id, destination, size, sha1, on_bytes)
            except (requests.RequestException, DownloadError) as error:
                failure = error
                log.info("Download of file %s failed (attempt %d): %s", file_id, attempt + 1, _reason(error))
        raise ApiError(f"Could not download file {file_id}: {_reason(failure)}")

    def _download_once(self, file_id: str, destination: Path, size: int | None, sha1: str | None,
                       on_bytes: Callable[[int], None]) -> str:
        response = self._send("GET", f"/files/{file_id}", allow_redirects=False, stream=True)
        if response.status_code in REDIRECTS:
            response.close()
            location = urljoin(response.url, response.headers.get("Location", ""))
            try:
                response = self._http.get(location, stream=True)
            except requests.RequestException as error:  # retried by the session already
                raise ApiError(f"Could not download file {file_id}: {_reason(error)}") from error
        with response:
            if response.status_code in RETRY_STATUSES:  # retried by the session already
                raise ApiError(f"Could not download file {file_id}: content answered {response.status_code} "
                               f"{response.reason}", response.status_code)
            if response.status_code != 200:
                raise DownloadError(f"content answered {response.status_code} {response.reason}")
            digest = hashlib.sha1()
            written = 0
            with open(destination, "wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    on_bytes(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        if size is not None and written != size:
            raise DownloadError(f"got {written} bytes, expected {size}")
        if sha1 and digest.hexdigest() != sha1.lower():
            raise DownloadError(f"SHA-1 {digest.hexdigest()} differs from the API's {sha1}")
        return digest.hexdigest()

    # Plumbing -------------------------------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, Any], accept: str, limit: int = PAGE_LIMIT,
              on_page: Callable[[Listing], None] | None = None) -> Listing:
        listing = Listing()
        for number, response in enumerate(self._pages(path, {**params, "limit": limit}, accept)):
            if number == 0:
                count = response.headers.get("Mendeley-Count")
                listing.expected_count = int(count) if count and count.isdigit() else None
                listing.server_time = parse_http_date(response.headers.get("Date"))
            page = _json(response)
            if not isinstance(page, list):
                raise ApiError(f"GET {path} answered something that is not a list")
            listing.items.extend(item for item in page if isinstance(item, dict))
            if on_page is not None:
                on_page(listing)
        return listing

    def _pages(self, path: str, params: dict[str, Any], accept: str) -> Iterator[requests.Response]:
        response = self._send("GET", path, params=params, accept=accept)
        yield response
        while next_url := response.links.get("next", {}).get("url"):
            response = self._send("GET", urljoin(response.url, next_url), accept=accept)
            yield response

    def _send(self, method: str, path_or_url: str, *, params: dict[str, Any] | None = None, accept: str | None = None,
              missing_ok: bool = False, **options: Any) -> requests.Response:
        """One API request with the bearer token; a 401 gets exactly one token refresh, then an error."""
        url = path_or_url if "://" in path_or_url else self._host + path_or_url
        params = {key: value for key, value in (params or {}).items() if value is not None}
        token = self._credentials.access_token()
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {token}"}
            if accept:
                headers["Accept"] = accept
            try:
                response = self._http.request(method, url, params=params, headers=headers, **options)
            except requests.RequestException as error:
                raise ApiError(f"{method} {_path(url)} failed: {_reason(error)}") from error
            if response.status_code != 401:
                break
            response.close()
            if attempt:
                raise LoginError("Mendeley refused the login even after refreshing it; "
                                 "run mendeley-backup by hand once to log in again")
            token = self._credentials.refresh(token)
        if response.status_code >= 400 and not (missing_ok and response.status_code == 404):
            detail = response.text[:200].strip() if not options.get("stream") else ""
            response.close()
            raise ApiError(f"{method} {_path(url)} answered {response.status_code} {response.reason} {detail}".strip(),
                           response.status_code)
        return response


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise ApiError(f"GET {_path(response.url)} answered with something that is not JSON") from error


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def _path(url: str) -> str:
    """The path of a URL without its query, which may carry signatures."""
    return urlsplit(url).path


def _reason(error: BaseException) -> str:
    """What went wrong, in words ("Read timed out.", "Connection refused"), from inside the layers requests and
    urllib3 wrap it in, without the URL they name: a content URL's query carries its signature."""
    cause = error
    while (inner := _wrapped(cause)) is not None:
        cause = inner
    return _CONNECTION_PREFIX.sub("", str(cause)).split("(Caused by")[0].strip() or type(cause).__name__


def _wrapped(error: BaseException) -> BaseException | None:
    """The exception `error` wraps: urllib3's `reason`, or one among its arguments (requests, ProtocolError)."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    return next((arg for arg in error.args if isinstance(arg, BaseException)), None)


def _backoff(policy: HttpPolicy, attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(0, min(policy.backoff_max_s, policy.backoff_s * 2 ** attempt))
