"""A restore's writes against the emulator: the write session sends a POST again only where the server cannot have
acted on it (429, 503, no connection); every other failure reaches the caller at once, as an ApiError whose status
says whether the object may have been made (None, 500, 502, 504) or was refused."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from Config import HttpPolicy
from Errors import ApiError
from HttpSession import make_write_session, never_connected
from MendeleyApi import MendeleyApi
from tests.emulator import EmulatorProcess
from tests.test_mendeley_api import Login

RETRIES = 3
POLICY = HttpPolicy(retries=RETRIES, timeout_s=10, backoff_s=0.01, backoff_max_s=0.05)


def writer(emulator: EmulatorProcess, host: str | None = None) -> MendeleyApi:
    return MendeleyApi(host or emulator.url, make_write_session(POLICY), Login(emulator), POLICY)


def posts(emulator: EmulatorProcess, endpoint: str) -> int:
    return emulator.stats()["by_endpoint"].get(f"POST {endpoint}", 0)


@pytest.mark.parametrize(("faults", "sent", "status"), [
    ({"error_rate": 1.0, "error_status": 503}, RETRIES + 1, 503),  # the service took nothing: sent again
    ({"error_rate": 1.0, "error_status": 429, "no_retry_after": True}, RETRIES + 1, 429),
    ({"error_rate": 1.0, "error_status": 500}, 1, 500),  # it may have acted: the caller looks first
    ({"error_rate": 1.0, "error_status": 502}, 1, 502),
    ({"html_error_rate": 1.0}, 1, 502),
    ({"drop_rate": 1.0}, 1, None),  # read, then the connection closed: no telling
    ({"truncate_rate": 1.0}, 1, None),  # made, and its answer cut short
    ({"garbage_rate": 1.0}, 1, None),  # a portal's 200 instead of the API's 201
], ids=["503", "429", "500", "502", "html-502", "drop", "cut-short", "portal"])
def test_a_write_is_sent_again_only_where_the_server_cannot_have_acted(emulator: EmulatorProcess,
                                                                       faults: dict[str, Any], sent: int,
                                                                       status: int | None) -> None:
    api = writer(emulator)
    document = api.create_document({"title": "Filed", "type": "journal"})
    emulator.faults(**faults, seed=3)
    emulator.reset_stats()
    with pytest.raises(ApiError) as failed:
        api.create_folder("Reading", None, None)
    assert failed.value.status == status
    assert posts(emulator, "/folders") == sent
    with pytest.raises(ApiError) as failed:
        api.add_to_folder("no-such-folder", str(document["id"]))
    assert failed.value.status == status and posts(emulator, "/folders/{id}/documents") == sent


def test_a_write_answered_as_the_api_answers_is_taken(emulator: EmulatorProcess) -> None:
    api = writer(emulator)
    emulator.faults(latency_ms=5)
    folder = api.create_folder("Reading", None, None)
    document = api.create_document({"title": "Filed", "type": "journal"})
    api.add_to_folder(str(folder["id"]), str(document["id"]))
    api.trash_document(str(document["id"]))
    library = emulator.library()
    assert [item["id"] for item in library["folders"]] == [folder["id"]]
    assert [item["folder_uuids"] for item in library["trash"]] == [[folder["id"]]]
    assert emulator.stats()["by_endpoint"]["POST /documents/{id}/trash"] == 1


def test_a_refused_body_is_refused_once(emulator: EmulatorProcess) -> None:
    api = writer(emulator)
    emulator.reset_stats()
    with pytest.raises(ApiError) as failed:
        api.create_document({"type": "journal"})  # the reference requires a title
    assert failed.value.status == 400 and posts(emulator, "/documents") == 1


def test_an_unreachable_host_is_tried_again_since_nothing_was_sent(emulator: EmulatorProcess) -> None:
    with refusing_port() as port:
        api = writer(emulator, f"http://127.0.0.1:{port}")
        with pytest.raises(ApiError, match=f"tried {RETRIES + 1} times") as failed:
            api.create_folder("Reading", None, None)
    assert failed.value.status is None and failed.value.unreachable


def test_only_a_connection_never_made_counts_as_nothing_sent() -> None:
    with refusing_port() as port, pytest.raises(requests.ConnectionError) as refused:
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert never_connected(refused.value)
    assert never_connected(requests.exceptions.ConnectTimeout("connect timed out"))
    assert not never_connected(requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset")))
    assert not never_connected(requests.exceptions.ReadTimeout("read timed out"))


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port bound but not listening, for as long as the block lasts: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])
