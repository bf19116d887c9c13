"""Fault injection, observed from the client side: every kind as the contract specifies it."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
import requests

from tests.emulator import ApiSession, EmulatorProcess
from tests.emulator.clock import UTC


def raw_get(url: str, headers: dict[str, str] | None = None) -> bytes:
    """Everything the server sends for one GET that asks for the connection's close, up to that close."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def content_url(api: ApiSession, file_id: str) -> str:
    rsp = api.get(f"/files/{file_id}", allow_redirects=False)
    assert rsp.status_code == 303
    return rsp.headers["Location"]


def test_dropped_request_gets_no_answer(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(drop_rate=1)
    token = api.headers["Authorization"]
    assert raw_get(f"{emulator.url}/documents", {"Authorization": token}) == b""
    with pytest.raises(requests.ConnectionError):
        api.get("/documents")
    assert emulator.stats()["by_endpoint"]["GET /documents"] == 2  # faulted requests count too
    emulator.faults()
    assert api.get("/documents").status_code == 200


def test_truncated_download_closes_early(emulator: EmulatorProcess, api: ApiSession) -> None:
    created = emulator.seed(documents=1, file_size=40_000, seed=5)
    url = content_url(api, created["files"][0])
    emulator.faults(truncate_rate=1)
    emulator.reset_stats()

    received = raw_get(url)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Length: 40000" in head
    assert 0 < len(body) < 40_000
    assert body == emulator.file_content(created["files"][0])[: len(body)]
    assert emulator.stats()["bytes_served"] == len(body)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.get(url, timeout=10).content  # noqa: B018
    # The 303 itself is not a content response: it is never truncated.
    assert api.get(f"/files/{created['files'][0]}", allow_redirects=False).status_code == 303


def test_latency_applies_to_the_api_not_to_controls(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(latency_ms=300)
    start = time.monotonic()
    assert api.get("/documents").status_code == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    emulator.stats()
    assert time.monotonic() - start < 0.29


def test_requests_are_served_in_parallel(emulator: EmulatorProcess, api: ApiSession) -> None:
    created = emulator.seed(documents=4, file_size=1000, seed=6)
    emulator.faults(latency_ms=300)
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda f: api.get(f"/files/{f}").status_code, created["files"]))
    assert statuses == [200] * 4
    # Two requests each (the 303 and the content): 0.6 s in parallel, 2.4 s one after the other.
    assert time.monotonic() - start < 1.5


def test_error_rate_answers_the_chosen_status(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(error_rate=1, error_status=502)
    rsp = api.get("/documents")
    assert rsp.status_code == 502 and "message" in rsp.json() and rsp.headers["Date"]
    assert emulator.stats()["total_requests"] == 1  # control endpoints are never faulted

    def sequence() -> list[int]:
        emulator.faults(error_rate=0.5, error_status=500, seed=42)
        return [api.get("/profiles/me").status_code for _ in range(30)]

    first = sequence()
    assert set(first) == {200, 500}
    assert sequence() == first  # reproducible with a seed


def test_rate_limit_answers_429_with_retry_after(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(rate_limit_per_s=5)
    answers = [api.get("/profiles/me") for _ in range(12)]
    statuses = [r.status_code for r in answers]
    assert statuses[:5] == [200] * 5 and 429 in statuses
    limited = answers[statuses.index(429)]
    assert limited.headers["Retry-After"] == "1"
    time.sleep(0.5)
    assert api.get("/profiles/me").status_code == 200


def test_fail_after_requests(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(fail_after_requests=3)
    statuses = [api.get("/documents").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 503, 503, 503]
    emulator.faults()
    assert api.get("/documents").status_code == 200


def test_fail_after_requests_to_one_path(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.faults(fail_after_requests=1, fail_path="/documents")
    statuses = [api.get(path).status_code for path in ("/folders", "/documents", "/trash", "/documents", "/folders")]
    assert statuses == [200, 200, 200, 503, 200]


def test_clock_offset_shifts_dates_and_comparisons(emulator: EmulatorProcess, api: ApiSession) -> None:
    now = datetime.now(UTC)
    emulator.faults(clock_offset_s=7200)
    rsp = api.post("/documents", json={"title": "Ahead", "type": "journal"})
    date = parsedate_to_datetime(rsp.headers["Date"])
    assert abs((date - now - timedelta(hours=2)).total_seconds()) < 5
    created = datetime.fromisoformat(rsp.json()["created"].replace("Z", "+00:00"))
    assert abs((created - now - timedelta(hours=2)).total_seconds()) < 5
    later = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(api.get("/documents", params={"modified_since": later}).json()) == 1

    emulator.faults(clock_offset_s=-7200)
    behind = api.post("/documents", json={"title": "Behind", "type": "journal"}).json()
    assert datetime.fromisoformat(behind["created"].replace("Z", "+00:00")) < now - timedelta(hours=1)
    recent = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [d["title"] for d in api.get("/documents", params={"modified_since": recent}).json()] == ["Ahead"]


def test_token_lifetime(emulator: EmulatorProcess) -> None:
    emulator.faults(token_lifetime_s=120)
    assert emulator.token()["expires_in"] == 120
    params = {"response_type": "code", "client_id": "1", "redirect_uri": "http://localhost:5000/oauth"}
    authorize = requests.get(f"{emulator.url}/oauth/authorize", params=params, allow_redirects=False, timeout=10)
    code = authorize.headers["Location"].split("code=")[1]
    token = requests.post(f"{emulator.url}/oauth/token", auth=("1", "emulator-secret"), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:5000/oauth"})  # fmt: skip
    assert token.json()["expires_in"] == 120


def test_bandwidth_is_one_shared_link(emulator: EmulatorProcess, api: ApiSession) -> None:
    created = emulator.seed(documents=2, file_size=60_000, seed=8)
    urls = [content_url(api, f) for f in created["files"]]
    emulator.faults(bandwidth_bytes_per_s=200_000)
    start = time.monotonic()
    assert len(requests.get(urls[0], timeout=10).content) == 60_000
    single = time.monotonic() - start
    start = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        sizes = list(pool.map(lambda u: len(requests.get(u, timeout=10).content), urls))
    both = time.monotonic() - start
    assert sizes == [60_000, 60_000]
    assert 0.25 <= single < 1.0
    assert both >= 0.55  # 120 KB over one 200 KB/s link, not two


def test_faults_apply_to_oauth_and_content(emulator: EmulatorProcess, api: ApiSession) -> None:
    created = emulator.seed(documents=1, file_size=100, seed=1)
    url = content_url(api, created["files"][0])
    emulator.faults(error_rate=1, error_status=503)
    assert requests.get(url, timeout=10).status_code == 503
    token = requests.post(f"{emulator.url}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=("1", "emulator-secret"), timeout=10)  # fmt: skip
    assert token.status_code == 503 and token.headers["Retry-After"] == "1"


def test_fault_settings_replace_each_other(emulator: EmulatorProcess) -> None:
    emulator.faults(latency_ms=50, error_rate=0.1)
    current = emulator.faults(drop_rate=0.2)
    assert current["latency_ms"] == 0 and current["error_rate"] == 0 and current["drop_rate"] == 0.2
    with pytest.raises(requests.HTTPError):
        emulator.faults(latency=5)  # unknown field
    with pytest.raises(requests.HTTPError):
        emulator.faults(error_rate=2)
