"""The Mendeley API client: the one place that knows URLs, media types, paging, authorisation and file
downloads. The backup worker asks it for listings and files and never builds a URL itself.

Every answer is checked for the JSON it should hold (a list for a listing page, an object for a document)
and tried again, within the session's one retry budget, when it does not: a page that is an HTML portal, an
object where a list is due, or a body cut short is never taken for an empty or shorter listing.
"""

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote, urljoin, urlsplit

import requests

from Config import HttpPolicy
from Errors import ApiError, BodyRejected, DownloadError, LoginError, RetriesExhausted
from HttpSession import (
    RETRY_STATUSES,
    Fetched,
    RetryingSession,
    backoff,
    describe_error,
    one_line,
    page_title,
    release,
)
from Timestamps import format_time, parse_http_date
from Transfers import Bandwidth

log = logging.getLogger(__name__)

DOCUMENT = "application/vnd.mendeley-document.1+json"
DOCUMENT_WITH_FILES = "application/vnd.mendeley-document-with-files-list+json"
FILE = "application/vnd.mendeley-file.1+json"
FOLDER = "application/vnd.mendeley-folder.1+json"
ANNOTATION = "application/vnd.mendeley-annotation.1+json"
GROUP = "application/vnd.mendeley-group.1+json"
DELETED_DOCUMENT = "application/vnd.mendeley-deleted-document.1+json"
PROFILE = "application/vnd.mendeley-profiles.1+json"

PAGE_LIMIT = 500
# The reference allows 500 for annotations, but the real service refuses more than 200.
ANNOTATION_PAGE_LIMIT = 200
CHUNK_BYTES = 1 << 16  # small enough for --bwlimit to keep an even pace
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REFRESHES = 3  # token renewals within one request, each after its token expired during retries
ERROR_BODY_BYTES = 4096  # enough of an error body to find its message
# One link-value of a `Link` header (RFC 8288): `<uri>` and its parameters, up to the next `<`.
_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.I)
_XML_FIELD = re.compile(r"<(Code|Message)>(.*?)</\1>", re.S)


class Credentials(Protocol):
    """What the client needs from a login (see Login.Credentials)."""

    def access_token(self) -> str: ...

    def refresh(self, rejected_token: str) -> str: ...


@dataclass
class Listing:
    """Every item of a paginated listing (or, when they were handed to a `keep` as they came, their ids), with what
    its first page said about it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    expected_count: int | None = None  # the first page's Mendeley-Count, when the server sent one
    server_time: datetime | None = None  # the first page's Date header
    listed: int = 0  # items the pages held
    ids: set[Any] = field(default_factory=set)  # their distinct ids

    def __post_init__(self) -> None:
        if self.items and not self.ids:  # a listing made whole, not page by page
            self.listed, self.ids = len(self.items), {item.get("id") for item in self.items}

    @property
    def complete(self) -> bool:
        """Whether the pages together hold as many distinct items as the server announced."""
        return self.expected_count is None or len(self.ids) == self.expected_count


class MendeleyApi:
    """The Mendeley API of one user, over one pooled, retrying HTTP session."""

    def __init__(self, host: str, http: RetryingSession, credentials: Credentials, policy: HttpPolicy,
                 bandwidth: Bandwidth | None = None) -> None:
        """`bandwidth`: the budget every download takes its bytes from (--bwlimit)."""
        self._host = host.rstrip("/")
        self._http = http
        self._credentials = credentials
        self._policy = policy
        self._bandwidth = bandwidth or Bandwidth(None)

    # Listings -------------------------------------------------------------------------------------------

    def documents(self, group_id: str | None = None, modified_since: datetime | None = None,
                  on_page: Callable[[Listing], None] | None = None,
                  keep: Callable[[dict[str, Any]], None] | None = None) -> Listing:
        """Documents with every field (`view=all`) and, through the with-files media type, their files;
        `on_page` is shown the listing so far after each page (for a progress bar). With `keep`, each document is
        handed to it as its page arrives instead of being held in the listing's items."""
        params = {"view": "all", "group_id": group_id, "modified_since": _time(modified_since)}
        return self._list("/documents", params, DOCUMENT_WITH_FILES, on_page=on_page, keep=keep)

    def document(self, document_id: str) -> dict[str, Any] | None:
        """One document with every field and its files (as a listing gives them), or None if it is gone."""
        document = self.document_record(document_id)
        if document is not None:
            document["files"] = self._list("/files", {"document_id": document_id}, FILE).items
        return document

    def document_record(self, document_id: str, trashed: bool = False) -> dict[str, Any] | None:
        """One document with every field but its files, from the library or (`trashed`) the trash; None if it is not
        there."""
        fetched = self._send("GET", f"/{'trash' if trashed else 'documents'}/{document_id}", params={"view": "all"},
                             accept=DOCUMENT, missing_ok=True, parse=_json_object)
        return None if fetched.response.status_code == 404 else fetched.value

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

    def profile(self, profile_id: str | None = None) -> dict[str, Any] | None:
        """A profile (`first_name`, `last_name`, `display_name`, ...): the user's own (`GET /profiles/me`) when
        `profile_id` is None; None when the server knows no such profile."""
        path = f"/profiles/{profile_id}" if profile_id is not None else "/profiles/me"
        fetched = self._send("GET", path, accept=PROFILE, missing_ok=True, parse=_json_object)
        return None if fetched.response.status_code == 404 else fetched.value

    # Files ----------------------------------------------------------------------------------------------

    def download(self, file_id: str, destination: BinaryIO, size: int | None, sha1: str | None,
                 on_bytes: Callable[[int], None] = lambda _: None) -> str:
        """Write a file's bytes to `destination` (an empty file open for writing), checked against the expected size
        and SHA-1 (the caller makes the file durable as it installs it).

        Each attempt asks `/files/{id}` afresh for its 303 (signed content URLs expire) and fetches the
        content, which may live on another origin (an S3 bucket), without the Authorization header: that is
        for the API only, and S3 refuses a request carrying one. The session retries each of those requests;
        an attempt is retried here only for what the session cannot retry (content cut short while streaming,
        mismatching, or refused), so --retries bounds the tries of a request, not their square. The last
        failure raises ApiError. Returns the SHA-1 of what was written.
        """
        failure: Exception = DownloadError("not attempted")
        for attempt in range(self._policy.retries + 1):
            if attempt:
                time.sleep(backoff(self._policy, attempt))
            try:
                return self._download_once(file_id, destination, size, sha1, on_bytes)
            except (requests.RequestException, DownloadError) as error:
                failure = error
                log.info("Download of file %s failed (attempt %d of %d): %s", file_id, attempt + 1,
                         self._policy.retries + 1, _reason(error))
        raise ApiError(f"Could not download file {file_id}: {_reason(failure)}, tried {self._policy.retries + 1} "
                       "times")

    def _download_once(self, file_id: str, destination: BinaryIO, size: int | None, sha1: str | None,
                       on_bytes: Callable[[int], None]) -> str:
        if destination.tell():  # what an earlier attempt wrote
            destination.seek(0)
            destination.truncate()
        fetched = self._send("GET", f"/files/{file_id}", allow_redirects=False, stream=True)
        if fetched.response.status_code in REDIRECTS:
            release(fetched.response)
            location = urljoin(fetched.response.url, fetched.response.headers.get("Location", ""))
            try:
                fetched = self._http.fetch("GET", location, stream=True, auth=_without_authorization)
            except RetriesExhausted as error:  # retried by the session already
                raise ApiError(f"Could not download file {file_id}: {_exhausted(error)}", unreachable=not
                               error.answered, host=error.host) from error
        response = fetched.response
        started = time.monotonic()
        with response:
            if response.status_code in RETRY_STATUSES:  # retried by the session already
                raise ApiError(f"Could not download file {file_id}: content answered {response.status_code} "
                               f"{response.reason}{_tried(fetched)}", response.status_code)
            if response.status_code != 200:
                raise DownloadError(f"content answered {response.status_code} {response.reason}"
                                    f"{_detail(response, prefix=': ')}")
            digest = hashlib.sha1()
            written = 0
            for chunk in response.iter_content(CHUNK_BYTES):
                self._bandwidth.take(len(chunk))
                destination.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                on_bytes(len(chunk))
        log.debug("File %s: %d bytes in %d ms", file_id, written, round((time.monotonic() - started) * 1000))
        if size is not None and written != size:
            raise DownloadError(f"got {written} bytes, expected {size}")
        if sha1 and digest.hexdigest() != sha1.lower():
            raise DownloadError(f"SHA-1 {digest.hexdigest()} differs from the API's {sha1}")
        return digest.hexdigest()

    # Writing, for a restore -----------------------------------------------------------------------------
    # One POST each, with the media types the reference gives. A client on a write session
    # (HttpSession.WriteSession) sends again only what cannot have reached the server; `created_once` retries the
    # rest, once it has made sure the object was not made. Bodies are checked here, not by the session, which
    # would send the write again on a body it rejected.

    def create_document(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """POST /documents from metadata; in a group when `fields` names its `group_id`. Answers the document."""
        return self._written("/documents", DOCUMENT, DOCUMENT, json=dict(fields))

    def upload_file(self, document_id: str, file_name: str, media_type: str, data: bytes) -> dict[str, Any]:
        """POST /files: a file's bytes, attached to the document under `file_name`. Answers the file."""
        headers = {"Content-Disposition": _attachment(file_name),
                   "Link": f'<{self._host}/documents/{document_id}>; rel="document"'}
        return self._written("/files", FILE, media_type, headers, data=data)

    def create_folder(self, name: str, parent_id: str | None, group_id: str | None) -> dict[str, Any]:
        """POST /folders; a group's folder is made with the group's id in the query, as the core resources say."""
        body = {"name": name} | ({"parent_id": parent_id} if parent_id else {})
        return self._written("/folders", FOLDER, FOLDER, json=body, params={"group_id": group_id})

    def add_to_folder(self, folder_id: str, document_id: str) -> None:
        """POST /folders/{id}/documents: the document is filed in the folder too."""
        self._acted(f"/folders/{folder_id}/documents", CREATED, DOCUMENT, json={"id": document_id})

    def create_annotation(self, annotation: Mapping[str, Any]) -> dict[str, Any]:
        """POST /annotations (on the document its `document_id` names). Answers the annotation."""
        return self._written("/annotations", ANNOTATION, ANNOTATION, json=dict(annotation))

    def trash_document(self, document_id: str) -> None:
        """POST /documents/{id}/trash: the document moves to the trash (it can be restored from there)."""
        self._acted(f"/documents/{document_id}/trash", NO_CONTENT, None)

    def created_once(self, create: Callable[[], str], find: Callable[[], str | None], check_first: bool,
                     what: str) -> str:
        """Make one object in the account exactly once; its id. `create` sends the request and answers the id;
        `find` looks for the object by its content and answers its id, or None. A failure after which the object
        may or may not exist (no answer, an answer cut short or not the API's, a 500, 502 or 504, a conflict) is
        followed by a look with `find`, and only then by another try, up to --retries more; `check_first` looks
        before the first try too (an earlier run died while making it). Any other failure raises ApiError at once."""
        failure: ApiError | None = None
        for attempt in range(self._policy.retries + 1):
            if attempt:
                time.sleep(backoff(self._policy, attempt))
            if attempt or check_first:
                found = find()
                if found is not None:
                    log.info("Found %s in the account: an earlier try had made it", what)
                    return found
            try:
                return create()
            except ApiError as error:
                if error.status is not None and error.status not in MAY_HAVE_BEEN_MADE:
                    raise
                failure = error
                log.info("Creating %s failed (attempt %d of %d): %s; looking for it before trying again", what,
                         attempt + 1, self._policy.retries + 1, error)
        raise ApiError(f"Could not create {what}: {failure}", failure.status if failure else None)

    def _written(self, path: str, accept: str, media_type: str, headers: Mapping[str, str] | None = None,
                 **options: Any) -> dict[str, Any]:
        """One POST that answers the object it made. A body that is not that object says nothing of whether it was
        made: ApiError without a status, which created_once takes for "may have been made"."""
        fetched = self._write(path, accept, media_type, headers, **options)
        try:
            made = _json_object(fetched.response)
        except BodyRejected as rejected:
            raise ApiError(f"POST {path} {rejected}{_tried(fetched)}") from None
        if not made.get("id"):
            raise ApiError(f"POST {path} answered an object without an id{_tried(fetched)}")
        return made

    def _acted(self, path: str, status: int, media_type: str | None, **options: Any) -> None:
        """One POST the server answers without a body, with `status` (the reference's). Another 2xx answer is not the
        API's (a captive portal's page, which the session cannot tell when no media type is asked for): the write may
        or may not have been made."""
        fetched = self._write(path, None, media_type, **options)
        response = fetched.response
        response.close()
        if response.status_code != status:
            raise ApiError(f"POST {path} answered {response.status_code} {response.reason} where the API answers "
                           f"{status}{_tried(fetched)}")

    def _write(self, path: str, accept: str | None, media_type: str | None,
               headers: Mapping[str, str] | None = None, **options: Any) -> Fetched:
        """One POST whose body is of `media_type`, with `headers` of its own."""
        own = {**(headers or {}), **({"Content-Type": media_type} if media_type else {})}
        return self._send("POST", path, accept=accept, headers=own, **options)

    # Plumbing -------------------------------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, Any], accept: str, limit: int = PAGE_LIMIT,
              on_page: Callable[[Listing], None] | None = None,
              keep: Callable[[dict[str, Any]], None] | None = None) -> Listing:
        listing = Listing()
        for number, fetched in enumerate(self._pages(path, {**params, "limit": limit}, accept)):
            if number == 0:
                count = fetched.response.headers.get("Mendeley-Count", "").strip()
                listing.expected_count = int(count) if count.isdigit() else None
                listing.server_time = parse_http_date(fetched.response.headers.get("Date"))
            listing.listed += len(fetched.value)
            listing.ids.update(item.get("id") for item in fetched.value)
            if keep is None:
                listing.items.extend(fetched.value)
            else:
                for item in fetched.value:
                    keep(item)
            if on_page is not None:
                on_page(listing)
        return listing

    def _pages(self, path: str, params: dict[str, Any], accept: str) -> Iterator[Fetched]:
        """Each page of a listing, following the `next` links. A page tried again is the same URL: a retry
        neither skips nor repeats a document."""
        fetched = self._send("GET", path, params=params, accept=accept, parse=_json_list)
        yield fetched
        seen = {fetched.response.url}
        while next_url := self._next_page(fetched.response):
            if next_url in seen:
                raise ApiError(f"GET {path} answered a next page it had already given; the listing cannot finish")
            seen.add(next_url)
            fetched = self._send("GET", next_url, accept=accept, parse=_json_list)
            yield fetched

    def _next_page(self, response: requests.Response) -> str | None:
        """The `next` link of a page, absolute, on the API's own origin (the token goes nowhere else: a link to
        another origin, such as api.mendeley.com behind a proxy given as --api-host, is taken relative to it)."""
        target = next_link(response.raw.headers.getlist("Link") if response.raw is not None else
                           [response.headers.get("Link", "")])
        if not target:
            return None
        url = urljoin(response.url, target)
        if _origin(url) != _origin(self._host):
            parts = urlsplit(url)
            url = self._host + parts.path + (f"?{parts.query}" if parts.query else "")
        return url

    def _send(self, method: str, path_or_url: str, *, params: dict[str, Any] | None = None, accept: str | None = None,
              missing_ok: bool = False, parse: Callable[[requests.Response], Any] | None = None,
              headers: Mapping[str, str] | None = None, **options: Any) -> Fetched:
        """One API request with the bearer token (and `headers` of its own); a 401 gets a token refresh, and a
        refreshed token refused at once is an error. `parse` checks a 2xx body (the session tries again when it
        rejects one)."""
        url = path_or_url if "://" in path_or_url else self._host + path_or_url
        params = {key: value for key, value in (params or {}).items() if value is not None}
        token = self._credentials.access_token()
        refreshes = 0
        while True:
            sent = dict(headers or {})
            if accept:
                sent["Accept"] = accept
            try:
                fetched = self._http.fetch(method, url, parse, params=params, headers=sent, auth=_Bearer(token),
                                           **options)
            except RetriesExhausted as error:
                raise ApiError(f"{method} {_path(url)} failed: {_exhausted(error)}", unreachable=not error.answered,
                               host=error.host) from error
            except requests.RequestException as error:
                raise ApiError(f"{method} {_path(url)} failed: {_reason(error)}") from error
            response = fetched.response
            if response.status_code != 401:
                break
            response.close()
            # A fresh token refused at its first try is refused for good; one refused after the session's retries
            # may only have expired meanwhile (a short-lived token, a long outage), and is renewed again.
            if refreshes and (fetched.tries == 1 or refreshes >= MAX_REFRESHES):
                raise LoginError("Mendeley refused the login even after refreshing it; "
                                 "run mendeley-backup by hand once to log in again")
            token = self._credentials.refresh(token)
            refreshes += 1
        if response.status_code >= 400 and not (missing_ok and response.status_code == 404):
            detail = _detail(response, prefix=": ")
            response.close()
            raise ApiError(f"{method} {_path(url)} answered {response.status_code} {response.reason}{detail}"
                           f"{_tried(fetched)}", response.status_code)
        return fetched


CREATED, NO_CONTENT = 201, 204
# A POST answered so may still have made its object: the answer may come from after the server acted, or say
# that an object of that name is there already (perhaps the one an earlier, unanswered try made).
MAY_HAVE_BEEN_MADE = frozenset({409, 500, 502, 504})


def _attachment(file_name: str) -> str:
    """`Content-Disposition` for an upload: the name quoted, as the reference shows it, and, for a name a quoted
    header cannot carry as it is (not plain ASCII, or with quotes), also RFC 5987's `filename*`, which servers
    prefer when they know it (RFC 6266); the quoted one then has `_` for those characters."""
    plain = "".join(char if char.isascii() and char.isprintable() and char not in '"\\' else "_"
                    for char in file_name)
    if plain == file_name:
        return f'attachment; filename="{file_name}"'
    return f'attachment; filename="{plain}"; filename*=UTF-8\'\'{quote(file_name, safe="")}'


def next_link(headers: list[str]) -> str | None:
    """The target of the `next` relation among `Link` header values: several links in one header or in several
    headers, relations in any order, `rel` quoted or not and holding several relation types."""
    for header in headers:
        for target, parameters in _LINK.findall(header or ""):
            for quoted, bare in _REL.findall(parameters):
                if "next" in (quoted or bare).lower().split():
                    return target.strip()
    return None


def _json_list(response: requests.Response) -> list[dict[str, Any]]:
    """A listing page: a JSON list of objects, or BodyRejected."""
    page = _json_body(response)
    if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
        raise BodyRejected(f"answered {_kind(page)} where a list of items was due")
    return page


def _json_object(response: requests.Response) -> dict[str, Any]:
    body = _json_body(response)
    if not isinstance(body, dict):
        raise BodyRejected(f"answered {_kind(body)} where an object was due")
    return body


def _json_body(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise BodyRejected(f"answered something that is not JSON ({one_line(response.text, 60) or 'empty'})") from None


def _kind(value: Any) -> str:
    kinds: dict[type, str] = {list: "a list", dict: "an object", str: "a string"}
    return kinds.get(type(value), "a JSON value")


def _detail(response: requests.Response, prefix: str) -> str:
    """An error answer's message in one readable line: the JSON's `message` (or OAuth `error`), S3's XML
    `Code: Message`, an HTML page's title, else the body's first line."""
    try:
        raw = next(response.iter_content(ERROR_BODY_BYTES), b"")
    except requests.RequestException:
        return ""
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        found = body.get("message") or ": ".join(str(body[key]) for key in ("error", "error_description")
                                                  if body.get(key))
        text = str(found) if found else text
    elif "<html" in text[:200].lower() or "<!doctype html" in text[:200].lower():
        text = page_title(text)
    elif xml := dict(_XML_FIELD.findall(text)):
        text = ": ".join(xml[key] for key in ("Code", "Message") if key in xml)
    line = one_line(text)
    return prefix + line if line else ""


class _Bearer(requests.auth.AuthBase):
    """The access token on an API request. Being given, it keeps a `~/.netrc` entry for the API's host from replacing
    it, and spares requests the reading of that file for every request."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _without_authorization(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An auth hook that takes Authorization off a request (and, being given, keeps .netrc's away)."""
    request.headers.pop("Authorization", None)
    return request


def _exhausted(error: RetriesExhausted) -> str:
    """`cannot reach api.mendeley.com:443 (connection refused), tried 6 times over 16 s`, or what the answers
    were when some came."""
    tried = f"tried {error.tries} times over {error.seconds:.0f} s" if error.tries > 1 else "tried once"
    if not error.answered:
        return f"cannot reach {error.host} ({error.reason}), {tried}"
    return f"{error.reason}, {tried}"


def _tried(fetched: Fetched) -> str:
    return f", tried {fetched.tries} times over {fetched.seconds:.0f} s" if fetched.tries > 1 else ""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.netloc or "").lower()


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def _path(url: str) -> str:
    """The path of a URL without its query, which may carry signatures."""
    return urlsplit(url).path


def _reason(error: BaseException) -> str:
    if isinstance(error, RetriesExhausted):
        return _exhausted(error)
    return describe_error(error)
