"""Logging in, end to end: the real tool as a subprocess, the emulator's OAuth endpoints, and a stand-in
browser (tests/browsers/browser.py) given through BROWSER, or the login address pasted on standard input."""

from __future__ import annotations

import json
import os
import pty
import re
import selectors
import stat
import subprocess
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.library import attach_file, create_document
from tests.tool import SECRET, BackupTool, Run, Summary, folder_files, loopback_redirect_uri, read_json, sha1

PDF = b"%PDF-1.4 a paper worth logging in for\n" * 50
SUCCESS = "Successfully logged in! You can close this tab"
FAILURE = "Failed to log in!"
LOGIN_URL_LINE = re.compile(rb"Open this URL in a browser to log in: (\S+)")


@pytest.fixture
def logged_out(tool) -> BackupTool:
    """The tool with no saved login at all."""
    tool.token_file.unlink()
    return tool


@pytest.fixture
def paper(api) -> dict[str, Any]:
    document = create_document(api, "Logging In", ["Doe"])
    attach_file(api, document["id"], "paper.pdf", PDF)
    return document


def browser_run(tool: BackupTool, *args: str, expect: int = 0, login: bool = True) -> Run:
    """A run whose browser login, if it needs one, the stand-in browser does on a free redirect URI."""
    return tool.run(*args, "-r", loopback_redirect_uri(), expect=expect, login=login, env=tool.stand_in_browser())


def assert_backed_up(tool: BackupTool, run: Run) -> None:
    assert run.summary == Summary(new=1)
    assert folder_files(tool.backup)["Doe/2024 - Logging In/paper.pdf"] == sha1(PDF)


def assert_private(path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def assert_no_secrets(run: Run, *secrets: str) -> None:
    """Neither the tokens, nor the client secret, nor the signatures of content URLs are in the output."""
    output = run.stdout + run.stderr
    for secret in (*secrets, SECRET):
        assert secret and secret not in output
    assert "signature=" not in output.lower()


def accepted(emulator, access_token: str) -> bool:
    return emulator.api_session(access_token).get("/profiles/me").status_code == 200


def save_token(tool: BackupTool, token: dict[str, Any], expires_at: float) -> None:
    """A token file as the tool writes it, with its own idea of when the token expires."""
    tool.save_token({**token, "expires_at": expires_at})


def use_up(emulator, refresh_token: str) -> None:
    """Spend a refresh token (they are single-use), as another machine sharing the login would."""
    answer = requests.post(f"{emulator.url}/oauth/token", auth=("1", SECRET), timeout=30,
                           data={"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert answer.status_code == 200, answer.text


def token_requests(emulator) -> int:
    return emulator.stats()["by_endpoint"].get("POST /oauth/token", 0)


def test_first_code_login_saves_a_private_token_and_the_backup_completes(emulator, logged_out, paper):
    tool = logged_out
    run = browser_run(tool, "-vv")
    (visit,) = tool.browser_visits()
    login = urlsplit(visit["login_url"])
    assert f"{login.scheme}://{login.netloc}{login.path}" == f"{emulator.url}/oauth/authorize"
    assert parse_qs(login.query)["response_type"] == ["code"]
    assert visit["status"] == 200 and SUCCESS in visit["page"]
    assert_private(tool.token_file)
    saved = read_json(tool.token_file)
    assert accepted(emulator, saved["access_token"]) and saved["refresh_token"]
    assert_backed_up(tool, run)
    assert_no_secrets(run, saved["access_token"], saved["refresh_token"])


def test_a_second_run_reuses_the_saved_token_without_the_browser(emulator, logged_out, paper):
    tool = logged_out
    browser_run(tool)
    saved = tool.token_file.read_bytes()
    emulator.reset_stats()
    run = browser_run(tool, "-vv")
    assert run.summary == Summary()
    assert len(tool.browser_visits()) == 1
    assert tool.token_file.read_bytes() == saved
    assert token_requests(emulator) == 0
    assert_no_secrets(run, *(read_json(tool.token_file)[key] for key in ("access_token", "refresh_token")))


def test_implicit_login_logs_in_through_the_page_script_every_run_and_saves_nothing(emulator, tool, paper):
    run = browser_run(tool, "-vv", login=False)
    (visit,) = tool.browser_visits()
    assert parse_qs(urlsplit(visit["login_url"]).query)["response_type"] == ["token"]
    assert "?fragment=" in visit["script_page"]  # the page whose script hands the fragment back
    assert visit["status"] == 200 and SUCCESS in visit["page"]
    assert_backed_up(tool, run)
    access_token = parse_qs(urlsplit(visit["redirect"]).fragment)["access_token"][0]
    assert_no_secrets(run, access_token)
    assert not (tool.tmp / "cache").exists()
    browser_run(tool, login=False)
    assert len(tool.browser_visits()) == 2


@pytest.mark.parametrize("login", [True, False], ids=["code", "implicit"])
def test_a_denied_login_is_one_line_and_exit_1(emulator, logged_out, paper, login):
    tool = logged_out
    emulator.faults(deny_login=True)
    run = browser_run(tool, expect=1, login=login)
    assert "access_denied" in run.error_line
    (visit,) = tool.browser_visits()
    assert FAILURE in visit["page"]
    assert not tool.token_file.exists() and not tool.backup.exists()


def test_a_bad_client_secret_at_login_is_one_line_naming_invalid_client(emulator, logged_out, paper):
    tool = logged_out
    run = browser_run(tool, "-s", "not-the-secret", expect=1)
    assert "invalid_client" in run.error_line
    assert "not-the-secret" not in run.stderr
    (visit,) = tool.browser_visits()
    assert FAILURE in visit["page"]
    assert not tool.token_file.exists() and not tool.backup.exists()


def test_a_bad_client_secret_at_refresh_is_one_line_naming_invalid_client(emulator, tool, paper):
    save_token(tool, emulator.token(), expires_at=time.time() - 60)
    saved = tool.token_file.read_bytes()
    run = tool.run("-s", "not-the-secret", expect=1)
    assert "invalid_client" in run.error_line
    assert "not-the-secret" not in run.stderr
    assert tool.token_file.read_bytes() == saved


@pytest.mark.parametrize("how", ["expired on disk", "refused by the server"])
def test_an_expired_token_is_refreshed_and_the_new_token_saved(emulator, tool, paper, how):
    if how == "expired on disk":
        old = emulator.token()
        save_token(tool, old, expires_at=time.time() - 60)
    else:  # the tool believes it valid; the server has let it lapse: a 401 mid-run
        old = emulator.token(lifetime_s=0.2)
        save_token(tool, old, expires_at=time.time() + 3600)
        time.sleep(0.3)
    run = tool.run("-vv")
    assert_backed_up(tool, run)
    text = tool.token_file.read_text()
    new = json.loads(text)
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert old["refresh_token"] not in text
    assert_private(tool.token_file)
    assert accepted(emulator, new["access_token"])
    assert token_requests(emulator) == 1
    assert_no_secrets(run, old["access_token"], old["refresh_token"], new["access_token"], new["refresh_token"])
    emulator.reset_stats()
    tool.run()
    assert token_requests(emulator) == 0  # the original re-refreshed on every run from then on


def read_until(stream, pattern: re.Pattern[bytes], timeout: float) -> re.Match[bytes]:
    """Read a pipe (unbuffered) until `pattern` matches what came so far; fail after `timeout` seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while (match := pattern.search(seen)) is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no match for {pattern.pattern!r} in:\n{seen.decode(errors='replace')}"
            if selector.select(remaining):
                chunk = os.read(stream.fileno(), 4096)
                assert chunk, f"the stream ended before {pattern.pattern!r}:\n{seen.decode(errors='replace')}"
                seen += chunk
    return match


def test_no_browser_login_with_the_redirected_address_pasted_on_stdin(emulator, logged_out, paper):
    tool = logged_out
    process = tool.start("--no-browser", "-vv", "-r", loopback_redirect_uri())
    try:
        login_url = read_until(process.stderr, LOGIN_URL_LINE, timeout=30).group(1).decode()
        answer = requests.get(login_url, allow_redirects=False, timeout=30)
        assert answer.status_code == 302
        stdout, stderr = process.communicate((answer.headers["Location"] + "\n").encode(), timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    run = Run(process.returncode, stdout.decode(), stderr.decode())
    assert run.returncode == 0, run.stderr
    assert_backed_up(tool, run)
    assert_private(tool.token_file)
    saved = read_json(tool.token_file)
    assert accepted(emulator, saved["access_token"])
    assert_no_secrets(run, saved["access_token"], saved["refresh_token"])


@pytest.mark.parametrize("case", ["no token file", "no client secret", "refresh token used up",
                                  "--no-browser, stdin not a pipe"])
def test_without_a_terminal_or_a_usable_login_cron_fails_at_once_saying_how_to_log_in(emulator, tool, paper, case):
    args: tuple[str, ...] = ()
    if case == "refresh token used up":
        token = emulator.token()
        use_up(emulator, token["refresh_token"])
        save_token(tool, token, expires_at=time.time() - 60)
    else:
        tool.token_file.unlink()
    if case == "--no-browser, stdin not a pipe":
        args = ("--no-browser",)
    run = tool.run(*args, expect=1, login=case != "no client secret", timeout=30)
    assert "by hand" in run.error_line
    assert not tool.backup.exists()


def test_a_refresh_saved_at_once_survives_a_killed_run(emulator, tool, api):
    """The new token is on disk before the backup goes on: a run killed mid-download has not lost the login."""
    document = create_document(api, "Slow", ["Doe"])
    attach_file(api, document["id"], "slow.pdf", PDF * 40)
    old = emulator.token()
    save_token(tool, old, expires_at=time.time() - 60)
    emulator.faults(bandwidth_bytes_per_s=20_000)
    process = tool.start(stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while old["refresh_token"] in tool.token_file.read_text():
            assert time.monotonic() < deadline and process.poll() is None, "the refreshed token was not saved"
            time.sleep(0.05)
    finally:
        process.kill()
        process.communicate()
    saved = read_json(tool.token_file)
    assert accepted(emulator, saved["access_token"])
    assert_private(tool.token_file)


@pytest.mark.parametrize(("case", "reason"), [
    ("missing", "There is no saved Mendeley login ({path} does not exist)"),
    ("garbage", "The saved Mendeley login in {path} cannot be used: it is not JSON"),
    ("not a token", "The saved Mendeley login in {path} cannot be used: it holds no usable token (no access_token)"),
    ("expired, no refresh token",
     "The saved Mendeley login in {path} has expired and has no refresh token to renew it"),
])
def test_why_a_saved_login_cannot_be_used_is_one_line_even_with_quiet(emulator, tool, paper, case, reason):
    if case == "missing":
        tool.token_file.unlink()
    elif case == "garbage":
        tool.token_file.write_text("{not json")
    elif case == "not a token":
        tool.token_file.write_text('{"refresh_token": "r"}')
    else:
        save_token(tool, {key: value for key, value in emulator.token().items() if key != "refresh_token"},
                   expires_at=time.time() - 60)
    line = tool.run("-q", expect=1, timeout=30).error_line
    assert line.startswith(f"mendeley-backup: {reason.format(path=tool.token_file)}"), line
    assert line.endswith(", and there is no terminal to log in from; run mendeley-backup once by hand (add "
                         "--no-browser on a machine without a browser) to log in")
    assert not tool.backup.exists()


def test_a_first_login_says_where_it_was_saved(logged_out, paper):
    run = browser_run(logged_out, "-q")
    assert f"Logged in to Mendeley; the login is saved in {logged_out.token_file}" in run.stderr
    assert run.stdout == "" and read_json(logged_out.token_file)["access_token"]


def test_end_of_input_at_the_paste_prompt_stops_the_wait_at_once(logged_out, paper):
    controller, terminal = pty.openpty()
    process = logged_out.start("--no-browser", "-r", loopback_redirect_uri(), stdin=terminal)
    os.close(terminal)
    try:
        read_until(process.stderr, re.compile(rb"paste here the address"), timeout=30)
        started = time.monotonic()
        os.write(controller, b"\x04")  # Ctrl-D at the start of a line: end of input
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    assert process.returncode == 1 and time.monotonic() - started < 5
    assert "The login was given up at the terminal (end of input)" in stderr.decode().splitlines()[-1]
    assert not logged_out.token_file.exists() and not logged_out.backup.exists()
