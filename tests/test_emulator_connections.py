"""The emulator's connections, as the real service keeps them: alive from one request to the next, closed when an
answer is dropped or cut short, when the client asks, and never confused by a request body the app left unread."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.emulator import ApiSession, EmulatorProcess


@pytest.fixture
def connection(emulator: EmulatorProcess) -> Iterator[http.client.HTTPConnection]:
    parts = urlsplit(emulator.url)
    opened = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    yield opened
    opened.close()


def bearer(api: ApiSession) -> dict[str, str]:
    return {"Authorization": str(api.headers["Authorization"])}


def get(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection.request("GET", path, headers=headers)
    return connection.getresponse()


def test_one_connection_carries_a_whole_download(emulator: EmulatorProcess, api: ApiSession,
                                                 connection: http.client.HTTPConnection) -> None:
    created = emulator.seed(documents=2, file_size=3000, seed=5)
    answers = []
    for file_id in created["files"]:
        redirect = get(connection, f"/files/{file_id}", bearer(api))
        redirect.read()
        location = urlsplit(redirect.headers["Location"])
        content = get(connection, location.path + "?" + location.query, {})
        answers.append((redirect.status, redirect.headers["Connection"], content.status, content.read()))
        opened = connection.sock
    assert [(status, kept, code) for status, kept, code, _ in answers] == [(303, None, 200)] * 2
    assert [data for *_, data in answers] == [emulator.file_content(file_id) for file_id in created["files"]]
    assert connection.sock is opened is not None  # never reconnected


def test_a_request_body_left_unread_does_not_reach_the_next_request(api: ApiSession,
                                                                    connection: http.client.HTTPConnection) -> None:
    # Refused for its media type before its body is read: the body must still not be taken for the next request.
    connection.request("POST", "/folders", body=b'{"name": "x"}' * 5000, headers={**bearer(api),
                                                                                 "Content-Type": "text/csv"})
    refused = connection.getresponse()
    refused.read()
    listed = get(connection, "/folders", bearer(api))
    assert (refused.status, listed.status, listed.read()) == (415, 200, b"[]")


def until_closed(emulator: EmulatorProcess, request: str) -> bytes:
    """What the server sends for `request` on a new connection until it closes it (a connection it kept open times
    the read out)."""
    parts = urlsplit(emulator.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        raw.sendall(request.encode())
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    return received


def test_a_dropped_answer_closes_its_connection_at_once(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(drop_rate=1.0)
    request = f"GET /folders HTTP/1.1\r\nAuthorization: {api.headers['Authorization']}\r\n\r\n"
    assert until_closed(emulator, request) == b""


def test_an_answer_cut_short_closes_its_connection_after_its_first_part(emulator: EmulatorProcess,
                                                                         api: ApiSession) -> None:
    emulator.seed(documents=3, file_size=100, seed=1)
    emulator.faults(truncate_rate=1.0)
    request = f"GET /documents HTTP/1.1\r\nAuthorization: {api.headers['Authorization']}\r\n\r\n"
    head, _, body = until_closed(emulator, request).partition(b"\r\n\r\n")
    declared = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
                   .split(b":")[1])
    assert head.startswith(b"HTTP/1.1 200 ") and 0 < len(body) < declared


def test_a_client_that_asks_for_close_gets_it(api: ApiSession, connection: http.client.HTTPConnection) -> None:
    answer = get(connection, "/folders", {**bearer(api), "Connection": "close"})
    assert (answer.status, answer.headers["Connection"], answer.read()) == (200, "close", b"[]")


def test_an_http_1_0_client_gets_its_answer_and_the_connection_closed(emulator: EmulatorProcess,
                                                                       api: ApiSession) -> None:
    request = f"GET /folders HTTP/1.0\r\nAuthorization: {api.headers['Authorization']}\r\n\r\n"
    head, _, body = until_closed(emulator, request).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == b"[]"
