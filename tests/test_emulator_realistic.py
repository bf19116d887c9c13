"""The emulator's answers shaped like the real service's recorded ones, and the ways real networks break them,
observed over raw sockets where the bytes matter (gzip, truncation, chunking, the second origin)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import mimetypes
import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pypdf import PdfReader

from tests.emulator import ApiSession, EmulatorProcess

DOC = "application/vnd.mendeley-document.1+json"


def raw(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    """One request over a socket that asks for its close: the status line, the headers (lower-cased names), and every
    byte of the body up to that close (chunked bodies left as sent)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    return status, found, body


def auth(api: ApiSession) -> dict[str, str]:
    return {"Authorization": api.headers["Authorization"]}


def dechunk(body: bytes) -> tuple[bytes, bool]:
    """The data of a chunked body, and whether it ended with the last (zero-size) chunk."""
    data, stream = b"", io.BytesIO(body)
    while line := stream.readline():
        size = int(line.strip() or b"0", 16)
        if size == 0:
            return data, True
        data += stream.read(size)
        stream.read(2)
    return data, False


# ----- gzip and trace ids ----------------------------------------------------------------------------------


def test_get_answers_are_gzipped_when_asked_and_others_are_not(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=8, seed=2)
    plain_status, plain_headers, plain = raw(f"{emulator.url}/documents?view=all", auth(api))
    status, headers, body = raw(f"{emulator.url}/documents?view=all", {**auth(api), "Accept-Encoding": "gzip"})
    assert status == plain_status == "HTTP/1.1 200 OK"
    assert headers["content-encoding"] == "gzip" and "Accept-Encoding" in headers["vary"]
    assert int(headers["content-length"]) == len(body) < len(plain)  # the compressed size
    assert json.loads(gzip.decompress(body)) == json.loads(plain)
    assert "content-encoding" not in plain_headers
    # Token answers are compressed too; 201, 204, 303 and errors are not.
    gzipped = {"Accept-Encoding": "gzip"}
    token = requests.post(f"{emulator.url}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=("1", "emulator-secret"), headers=gzipped, timeout=10)
    assert token.headers["Content-Encoding"] == "gzip" and token.json()["access_token"]
    refused = raw(f"{emulator.url}/oauth/token", gzipped, "POST")
    assert refused[0].startswith("HTTP/1.1 401") and "content-encoding" not in refused[1]
    created = api.post("/documents", json={"title": "T", "type": "journal"}, headers={**gzipped, "Content-Type": DOC})
    assert created.status_code == 201 and "Content-Encoding" not in created.headers
    redirect = api.get(f"/files/{emulator.library()['files'][0]['id']}", allow_redirects=False, headers=gzipped)
    assert redirect.status_code == 303 and "Content-Encoding" not in redirect.headers
    missing = api.get("/documents/nope", headers=gzipped)
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers
    gone = api.delete(f"/documents/{created.json()['id']}", headers=gzipped)
    for answer in (created, redirect, missing, gone):
        assert len(answer.headers["X-Mendeley-Trace-Id"]) == 11
    assert headers["x-mendeley-trace-id"] != plain_headers["x-mendeley-trace-id"]


# ----- truncation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_truncate_rate_cuts_api_answers_after_a_full_content_length(emulator: EmulatorProcess, api: ApiSession,
                                                                    encoding: str) -> None:
    emulator.seed(documents=30, seed=3)
    emulator.faults(truncate_rate=1)
    status, headers, body = raw(f"{emulator.url}/documents?view=all", {**auth(api), "Accept-Encoding": encoding})
    assert status == "HTTP/1.1 200 OK" and "transfer-encoding" not in headers
    assert 0 < len(body) < int(headers["content-length"])
    emulator.faults()
    _, _, whole = raw(f"{emulator.url}/documents?view=all", {**auth(api), "Accept-Encoding": encoding})
    assert whole.startswith(body)  # the same answer, cut short
    emulator.faults(truncate_rate=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("/documents")


# ----- link styles and counts ------------------------------------------------------------------------------


def pages(api: ApiSession, path: str, **params: Any) -> list[requests.Response]:
    found = [api.get(path, params=params)]
    while "next" in found[-1].links:
        found.append(api.get(found[-1].links["next"]["url"]))
    return found


def test_real_link_style_as_recorded(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=11, annotations_per_document=1, seed=4)
    emulator.faults(link_style="real", max_page_items=4)
    listing = pages(api, "/documents", view="all", limit=500)
    assert [len(page.json()) for page in listing] == [4, 4, 3]
    ids = [doc["id"] for page in listing for doc in page.json()]
    assert ids == [doc["id"] for doc in emulator.library()["documents"]]
    first, second = listing[0], listing[1]
    assert set(first.links) == {"next", "last"} and first.headers["Mendeley-Count"] == "11"
    query = parse_qs(urlsplit(first.links["next"]["url"]).query)
    assert {k: v for k, v in query.items() if k != "view"} == {
        "limit": ["500"], "reverse": ["false"], "order": ["asc"], "marker": [first.json()[-1]["id"]]}
    assert query["view"] == ["all"]  # the other parameters are kept
    assert parse_qs(urlsplit(first.links["last"]["url"]).query)["reverse"] == ["true"]
    assert set(second.links) == {"next", "last", "first", "previous"} and "Mendeley-Count" not in second.headers
    assert api.get(second.links["previous"]["url"]).json() == first.json()
    assert api.get(first.links["last"]["url"]).json()[-1]["id"] == ids[-1]
    for path in ("/files", "/annotations", "/groups"):  # these send next alone
        assert all(set(page.links) <= {"next"} for page in pages(api, path)), path
    # A marker names a place, not an item that must still exist.
    assert api.delete(f"/documents/{first.json()[-1]['id']}").status_code == 204
    assert api.get(first.links["next"]["url"]).json() == second.json()


def test_minimal_link_style_and_no_count(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=9, seed=5)
    emulator.faults(link_style="minimal", max_page_items=4, no_count=True)
    listing = pages(api, "/documents")
    assert [len(page.json()) for page in listing] == [4, 4, 1]
    assert all(set(page.links) <= {"next"} and "Mendeley-Count" not in page.headers for page in listing)
    assert len({doc["id"] for page in listing for doc in page.json()}) == 9


# ----- pages that are not the API's, and Retry-After ----------------------------------------------------


def test_garbage_and_html_errors(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(garbage_rate=1)
    portal = api.get("/documents")
    assert portal.status_code == 200 and portal.headers["Content-Type"].startswith("text/html")
    assert "<title>Sign in to the network</title>" in portal.text
    emulator.faults(html_error_rate=1)
    gateway = api.get("/documents")
    assert gateway.status_code == 502 and gateway.text.startswith("<html>") and "502 Bad Gateway" in gateway.text


def test_retry_after_as_a_date_or_not_at_all(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(error_rate=1, error_status=429, retry_after_date=True, clock_offset_s=3600)
    limited = api.get("/documents")
    wait = parsedate_to_datetime(limited.headers["Retry-After"]) - parsedate_to_datetime(limited.headers["Date"])
    assert limited.status_code == 429 and 1 <= wait.total_seconds() <= 2  # on the server's (shifted) clock
    emulator.faults(error_rate=1, error_status=429, no_retry_after=True)
    assert "Retry-After" not in api.get("/documents").headers
    emulator.faults(error_rate=1, error_status=503, no_retry_after=True)
    assert "Retry-After" not in api.get("/documents").headers


def test_a_missing_group_answers_text_under_a_json_media_type(api: ApiSession) -> None:
    missing = api.get("/documents", params={"group_id": "a0b1c2d3"})
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/json"
    assert missing.text == "Group a0b1c2d3 does not exist"


# ----- file content: chunked, and on a second origin ---------------------------------------------------------


def content_location(api: ApiSession, file_id: str) -> str:
    redirect = api.get(f"/files/{file_id}", allow_redirects=False)
    assert redirect.status_code == 303
    return redirect.headers["Location"]


def test_chunked_content_whole_and_cut_short(emulator: EmulatorProcess, api: ApiSession) -> None:
    file_id = emulator.seed(documents=1, file_size=50_000, seed=6)["files"][0]
    expected = emulator.file_content(file_id)
    emulator.faults(chunked_content=True)
    status, headers, body = raw(content_location(api, file_id))
    assert status == "HTTP/1.1 200 OK" and headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert dechunk(body) == (expected, True)
    emulator.faults(chunked_content=True, truncate_rate=1)
    _, _, cut = raw(content_location(api, file_id))
    data, ended = dechunk(cut)
    assert not ended and 0 < len(data) < len(expected) and expected.startswith(data)


def test_separate_content_host_serves_like_s3(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=6, seed=7)
    document = next(d for d in emulator.library()["documents"]
                    if d.get("year") and d["files"][0]["file_name"].isascii() and '"' not in d["files"][0]["file_name"])
    file = document["files"][0]
    emulator.faults(separate_content_host=True)
    before = int(time.time())
    location = content_location(api, file["id"])
    parts = urlsplit(location)
    assert parts.port != urlsplit(emulator.url).port  # another origin
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(query) == {"AWSAccessKeyId", "Expires", "Signature", "response-content-disposition",
                          "response-content-type"}
    assert before + 600 <= int(query["Expires"]) <= time.time() + 600  # as recorded: now + 600 s
    content = requests.get(location, timeout=10)
    assert content.status_code == 200 and content.content == emulator.file_content(file["id"])
    assert content.headers["ETag"] == f'"{hashlib.md5(content.content).hexdigest()}"'
    assert content.headers["Accept-Ranges"] == "bytes" and parsedate_to_datetime(content.headers["Last-Modified"])
    assert content.headers["Content-Type"].startswith(file["mime_type"])
    name = file["file_name"].replace(" ", "_")
    if "." not in name:
        name += mimetypes.guess_extension(file["mime_type"]) or ""
    assert content.headers["Content-Disposition"] == f'attachment; filename="{document["year"]}-{name}"'
    refused = requests.get(location, headers=auth(api), timeout=10)
    assert refused.status_code == 400 and "<Code>InvalidArgument</Code>" in refused.text
    assert "Only one auth mechanism allowed" in refused.text
    tampered = location.replace("Signature=", "Signature=x")
    assert requests.get(tampered, timeout=10).status_code == 403
    ranged = requests.get(location, headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == content.content[10:20]
    assert emulator.stats()["by_endpoint"]["GET /mendeley-emulator-files/{id}"] == 4
    emulator.faults(separate_content_host=True, content_url_lifetime_s=-1)
    expired = requests.get(content_location(api, file["id"]), timeout=10)
    assert expired.status_code == 403 and "<Message>Request has expired</Message>" in expired.text


def test_content_host_names_files_as_recorded(emulator: EmulatorProcess, api: ApiSession) -> None:
    doc = api.post("/documents", json={"title": "Underwater", "type": "journal", "year": 2014},
                   headers={"Content-Type": DOC}).json()
    upload = api.post("/files", data=b"basket weaving, a primer\n", headers={
        "Content-Type": "text/plain", "Content-Disposition": 'attachment; filename="Underwater basket weaving"',
        "Link": f'<{api.base_url}/documents/{doc["id"]}>; rel="document"'})
    assert upload.status_code == 201 and upload.json()["file_name"] == "Underwater basket weaving"
    emulator.faults(separate_content_host=True)
    content = requests.get(content_location(api, upload.json()["id"]), timeout=10)
    assert content.headers["Content-Disposition"] == 'attachment; filename="2014-Underwater_basket_weaving.txt"'


# ----- the seeded library: real PDFs, extension-less names, files without created --------------------------


def test_annotated_documents_have_real_pdfs_with_the_annotations_inside_their_pages(emulator: EmulatorProcess) -> None:
    emulator.seed(documents=40, annotations_per_document=2, file_size=3000, seed=8)
    library = emulator.library()
    files = {f["filehash"]: f for f in library["files"]}
    located = [a for a in library["annotations"] if a["type"] != "note"]
    assert {a["type"] for a in located} == {"highlight", "sticky_note"}
    for annotation in located:
        data = emulator.file_content(files[annotation["filehash"]]["id"])
        assert hashlib.sha1(data).hexdigest() == annotation["filehash"]
        reader = PdfReader(io.BytesIO(data), strict=True)
        assert 2 <= len(reader.pages) <= 5
        (box,) = annotation["positions"]
        page = reader.pages[box["page"] - 1]
        assert "Emulator document" in page.extract_text()
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        for corner in ("top_left", "bottom_right"):
            assert 0 <= box[corner]["x"] <= width and 0 <= box[corner]["y"] <= height
        if annotation["type"] == "sticky_note":
            assert box["top_left"] == box["bottom_right"]
        else:
            assert box["top_left"]["y"] > box["bottom_right"]["y"]  # origin at the bottom left
    assert len({a["filehash"] for a in located}) == len({a["document_id"] for a in located})  # distinct files


def test_seeded_files_without_extension_or_created(emulator: EmulatorProcess) -> None:
    emulator.seed(documents=120, seed=9)
    files = emulator.library()["files"]
    assert any("." not in f["file_name"].rsplit(" ", 1)[-1] for f in files)
    assert any("created" not in f for f in files) and any("created" in f for f in files)


# ----- validation of write calls ----------------------------------------------------------------------------


def test_write_calls_validate_their_bodies(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=1, seed=10)
    document = emulator.library()["documents"][0]
    doc_id, filehash = document["id"], document["files"][0]["filehash"]
    folder = api.post("/folders", json={"name": "F"}).json()
    box = {"top_left": {"x": 10, "y": 20}, "bottom_right": {"x": 30, "y": 10}, "page": 1}
    point = {"top_left": {"x": 10, "y": 20}, "bottom_right": {"x": 10, "y": 20}, "page": 1}
    bad = [
        ("POST", "/documents", {"title": "t", "type": "journal", "identifiers": {"doi": "x" * 501}}),
        ("POST", "/documents", {"title": "t", "type": "journal", "websites": ["a" * 200, "b" * 56]}),
        ("POST", "/documents", {"title": "t", "type": "journal", "accessed": "yesterday"}),
        ("POST", "/documents", {"title": "t", "type": "journal", "authors": [{"first_name": "No last name"}]}),
        ("POST", "/documents", {"title": "t", "type": "journal", "edition": "x" * 11}),
        ("PATCH", f"/documents/{doc_id}", {"year": "1999"}),
        ("POST", "/folders", {}),
        ("POST", "/folders", {"name": "emoji \U0001f600"}),
        ("POST", "/folders", {"name": "x", "colour": "red"}),
        ("POST", "/folders", {"name": "x", "parent_id": 7}),
        ("PATCH", f"/folders/{folder['id']}", {"name": ""}),
        ("POST", f"/folders/{folder['id']}/documents", {}),
        ("POST", f"/folders/{folder['id']}/documents", {"id": doc_id, "extra": 1}),
        ("POST", "/annotations", {"type": "note", "text": "t"}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "highlight", "filehash": filehash}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "sticky_note", "positions": [box]}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "note", "positions": [point]}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "highlight", "positions": [{**box, "page": 0}]}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "highlight", "positions": [box], "filehash": "f"}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "note", "text": 5}),
        ("POST", "/annotations", {"document_id": doc_id, "type": "note", "colour": {}}),
    ]
    for method, path, body in bad:
        answer = api.request(method, path, json=body)
        assert answer.status_code == 400 and answer.json()["message"], (method, path, body, answer.text)
    highlight = api.post("/annotations", json={"document_id": doc_id, "type": "highlight", "positions": [box],
                                               "filehash": filehash})
    assert highlight.status_code == 201, highlight.text
    assert api.patch(f"/annotations/{highlight.json()['id']}", json={"type": "note"}).status_code == 400
    assert api.patch(f"/annotations/{highlight.json()['id']}", json={"positions": []}).status_code == 400
    assert api.patch(f"/annotations/{highlight.json()['id']}", json={"text": "ok", "id": "ignored"}).status_code == 200
    link = f'<{api.base_url}/documents/{doc_id}>; rel="document"'
    no_type = api.post("/files", data=b"bytes", headers={"Content-Disposition": 'attachment; filename="a.bin"',
                                                         "Link": link})
    assert no_type.status_code == 400 and "Content-Type" in no_type.json()["message"]
