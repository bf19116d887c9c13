"""MendeleyApi on its own against the emulator: listings in every paging shape, retries of answers cut short or
not the API's, downloads from either origin, errors and logging; asserting what was sent and what came back."""

from __future__ import annotations

import hashlib
import logging
import socket
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from Config import HttpPolicy
from Errors import ApiError
from HttpSession import make_session, retry_after
from MendeleyApi import MendeleyApi, next_link
from tests.emulator import EmulatorProcess
from tests.emulator.clock import UTC

RETRIES = 3
POLICY = HttpPolicy(retries=RETRIES, timeout_s=10, backoff_s=0.01, backoff_max_s=0.05)
LIBRARY = {"documents": 13, "files_per_document": 1, "file_size": 1500, "annotations_per_document": 1, "seed": 21}


class Login:
    """Credentials from the emulator's control endpoint; counts the refreshes asked for."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        self.token = emulator.token()["access_token"]
        self.refreshes = 0

    def access_token(self) -> str:
        return self.token

    def refresh(self, rejected_token: str) -> str:
        self.refreshes += 1
        self.token = self.emulator.token()["access_token"]
        return self.token


def client(emulator: EmulatorProcess, host: str | None = None) -> tuple[MendeleyApi, Login]:
    login = Login(emulator)
    return MendeleyApi(host or emulator.url, make_session(POLICY), login, POLICY), login


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


@pytest.mark.parametrize("style", ["default", "real", "minimal"])
def test_listings_follow_every_link_style_to_the_last_item(emulator: EmulatorProcess, style: str) -> None:
    emulator.seed(**LIBRARY)
    library = emulator.library()
    api, _ = client(emulator)
    emulator.faults(link_style=style, max_page_items=4)
    emulator.reset_stats()
    documents = api.documents()
    assert documents.items == library["documents"]  # view=all with the files, in order, none twice
    assert documents.expected_count == 13 and documents.complete and documents.server_time is not None
    assert ids(api.annotations().items) == ids(library["annotations"])
    assert emulator.stats()["by_endpoint"]["GET /documents"] == 4  # 4 + 4 + 4 + 1: one request a page
    emulator.faults(link_style=style, max_page_items=4, no_count=True)
    listing = api.trash()
    assert listing.items == [] and listing.expected_count is None and listing.complete


@pytest.mark.parametrize("faults", [
    {"truncate_rate": 0.3},  # a connection reset mid-page (fixed Content-Length; gzip too, requests asks for it)
    {"garbage_rate": 0.3},  # a captive portal's 200
    {"html_error_rate": 0.3},  # a load balancer's 502
    {"drop_rate": 0.3},
    {"error_rate": 0.3, "error_status": 429, "no_retry_after": True},
    {"rate_limit_per_s": 40, "retry_after_date": True},
], ids=["cut-short", "portal", "html-502", "drop", "429-bare", "429-date"])
def test_pages_retried_neither_skip_nor_repeat_a_document(emulator: EmulatorProcess, faults: dict[str, Any]) -> None:
    emulator.seed(**LIBRARY)
    library = emulator.library()
    api, _ = client(emulator)
    emulator.faults(**faults, link_style="real", max_page_items=3, seed=5)
    emulator.reset_stats()
    assert api.documents().items == library["documents"]
    assert ids(api.annotations().items) == ids(library["annotations"])
    by_endpoint = emulator.stats()["by_endpoint"]
    pages = by_endpoint["GET /documents"] + by_endpoint["GET /annotations"]
    assert pages > 5 + 5 or "rate_limit_per_s" in faults  # some of the 5 + 5 pages were tried again


@pytest.mark.parametrize(("faults", "said"), [
    ({"garbage_rate": 1}, "answered an HTML page instead of the API (Sign in to the network)"),
    ({"truncate_rate": 1}, "answer cut short"),
    ({"html_error_rate": 1}, "answered 502 BAD GATEWAY: 502 Bad Gateway"),
])
def test_an_answer_never_usable_is_an_error_after_the_retries_not_a_short_listing(emulator: EmulatorProcess,
                                                                                   faults: dict[str, Any],
                                                                                   said: str) -> None:
    emulator.seed(**LIBRARY)
    api, _ = client(emulator)
    emulator.faults(**faults)
    emulator.reset_stats()
    with pytest.raises(ApiError) as caught:
        api.documents()
    message = str(caught.value)
    assert message.startswith("GET /documents ") and said in message and f"tried {RETRIES + 1} times" in message
    assert "\n" not in message and not caught.value.unreachable
    assert emulator.stats()["by_endpoint"]["GET /documents"] == RETRIES + 1


def test_an_unreachable_host_is_named_with_what_was_tried(emulator: EmulatorProcess) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api, _ = client(emulator, f"http://127.0.0.1:{port}")
    with pytest.raises(ApiError) as caught:
        api.documents()
    error = caught.value
    assert error.unreachable and error.host == f"127.0.0.1:{port}"
    assert str(error).startswith(f"GET /documents failed: cannot reach 127.0.0.1:{port} (connection refused), "
                                 f"tried {RETRIES + 1} times over ")


def test_error_bodies_that_are_not_json_give_their_first_line(emulator: EmulatorProcess) -> None:
    api, _ = client(emulator)
    with pytest.raises(ApiError) as caught:
        api.documents(group_id="0f0f")
    assert str(caught.value) == "GET /documents answered 404 NOT FOUND: Group 0f0f does not exist"
    assert caught.value.status == 404


def test_a_401_gets_one_refresh(emulator: EmulatorProcess) -> None:
    emulator.seed(documents=2, seed=1)
    api, login = client(emulator)
    login.token = "not-a-token"
    assert len(api.documents().items) == 2 and login.refreshes == 1


@pytest.mark.parametrize("faults", [{}, {"chunked_content": True}, {"separate_content_host": True},
                                    {"separate_content_host": True, "chunked_content": True, "truncate_rate": 0.4}],
                         ids=["same-origin", "chunked", "s3", "s3-chunked-cut"])
def test_downloads_from_either_origin_are_checked_and_carry_no_authorization(emulator: EmulatorProcess,
                                                                             tmp_path: Path,
                                                                             faults: dict[str, Any]) -> None:
    emulator.seed(**LIBRARY)
    files = emulator.library()["files"][:6]
    api, _ = client(emulator)
    emulator.faults(**faults, seed=3)
    for file in files:
        target = tmp_path / file["id"]
        with open(target, "wb") as out:  # a download cut short is tried again into the same file
            assert api.download(file["id"], out, file["size"], file["filehash"]) == file["filehash"]
        assert hashlib.sha1(target.read_bytes()).hexdigest() == file["filehash"]
    by_endpoint = emulator.stats()["by_endpoint"]
    content = by_endpoint.get("GET /mendeley-emulator-files/{id}", 0) + by_endpoint.get("GET /_content/{id}", 0)
    assert content >= len(files)
    if faults.get("separate_content_host"):
        # The content host answers 400 to any request with Authorization: a single download would have failed.
        assert by_endpoint.get("GET /_content/{id}", 0) == 0


@pytest.mark.parametrize(("faults", "origins"), [({}, 1), ({"separate_content_host": True}, 2)], ids=["same", "s3"])
def test_downloads_one_after_another_keep_one_connection_to_each_origin(emulator: EmulatorProcess, tmp_path: Path,
                                                                        faults: dict[str, Any], origins: int) -> None:
    emulator.seed(documents=5, file_size=2000, seed=6)
    files = emulator.library()["files"]
    api, _ = client(emulator)
    api.documents()  # the login's own requests done
    emulator.faults(**faults)
    emulator.reset_stats()
    for file in files:
        with open(tmp_path / file["id"], "wb") as out:
            api.download(file["id"], out, file["size"], file["filehash"])
    stats = emulator.stats()
    # Each 303 is read, not closed unread: closing it took its connection along, and every file connected anew.
    assert stats["by_endpoint"]["GET /files/{id}"] == len(files) and stats["connections"] <= origins + 1


def test_a_download_whose_content_never_matches_ends_in_one_error(emulator: EmulatorProcess, tmp_path: Path) -> None:
    emulator.seed(documents=1, file_size=1500, seed=2)
    file = emulator.library()["files"][0]
    api, _ = client(emulator)
    emulator.faults(chunked_content=True, truncate_rate=1, truncate_content_only=True)
    with pytest.raises(ApiError) as caught, open(tmp_path / "f", "wb") as out:
        api.download(file["id"], out, file["size"], file["filehash"])
    assert str(caught.value).startswith(f"Could not download file {file['id']}: ")
    assert emulator.stats()["by_endpoint"]["GET /_content/{id}"] == RETRIES + 1


def test_requests_are_logged_at_debug_without_tokens_or_signatures(emulator: EmulatorProcess, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    emulator.seed(documents=2, file_size=1500, seed=4)
    file = emulator.library()["files"][0]
    api, login = client(emulator)
    emulator.faults(separate_content_host=True, error_rate=0.5, error_status=503, seed=1)
    with caplog.at_level(logging.DEBUG, logger="HttpSession"):
        api.documents()
        with open(tmp_path / "f", "wb") as out:
            api.download(file["id"], out, file["size"], file["filehash"])
    text = caplog.text
    assert "GET 127.0.0.1" in text and "/documents?view=all&limit=500: 200" in text and " ms" in text
    assert "/mendeley-emulator-files/" in text and "response-content-type=" in text
    assert "Signature" not in text and "AWSAccessKeyId" not in text and "expires" not in text.lower()
    assert login.token not in text and "Bearer" not in text
    retries = [r for r in caplog.records if r.levelno == logging.INFO]
    assert retries and all("answered 503" in r.getMessage() and "trying again in" in r.getMessage() for r in retries)


@pytest.mark.parametrize("header", [
    ['<https://api.example/documents?marker=abc>; rel="next"'],
    ['<https://api.example/x>; rel="last", <https://api.example/documents?marker=abc>; rel="next"'],
    ['<https://api.example/x>; rel="last"', '</documents?marker=abc>; rel=next'],
    ['<https://api.example/documents?marker=abc>; title="a, b"; rel="next last"'],
    ['<https://api.example/documents?marker=abc>; REL="Next"'],
])
def test_next_link_shapes(header: list[str]) -> None:
    found = next_link(header)
    assert found is not None and found.endswith("/documents?marker=abc")


def test_no_next_link() -> None:
    assert next_link(['<https://api.example/x>; rel="last"', '<https://api.example/y>; rel="previous"']) is None
    assert next_link([""]) is None


def answer(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


def test_retry_after_in_seconds_or_as_a_date_from_the_servers_own_clock() -> None:
    policy = HttpPolicy(backoff_max_s=30)
    assert retry_after(answer({"Retry-After": "7"}), policy) == 7
    assert retry_after(answer({"Retry-After": "3600"}), policy) == 30  # capped
    assert retry_after(answer({}), policy) is None  # backoff applies instead
    server_now = datetime.now(UTC) + timedelta(hours=5)  # a server clock hours ahead
    dated = {"Date": format_datetime(server_now, usegmt=True),
             "Retry-After": format_datetime(server_now + timedelta(seconds=4), usegmt=True)}
    assert retry_after(answer(dated), policy) == 4
    assert retry_after(answer({"Retry-After": "soon"}), policy) is None


def test_the_proxy_environment_is_read_once_per_host(emulator: EmulatorProcess,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """requests reads the proxy variables for every request; the session keeps what it found, per scheme and host."""
    emulator.seed(documents=3, seed=1)
    api, _ = client(emulator)
    looked_up: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: Any = None) -> Any:
        looked_up.append(url)
        return real(url, no_proxy=no_proxy)
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for _ in range(3):
        assert len(api.documents().items) == 3
    assert len(looked_up) == 1 and looked_up[0].startswith(emulator.url)
