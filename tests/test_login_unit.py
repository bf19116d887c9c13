"""Unit tests of the login: token file, loopback listener, token endpoint client, refresh, interactivity
and the paste path. No emulator: a tiny stand-in token endpoint (http.server in a thread) where needed.
"""

import base64
import json
import logging
import os
import socket
import stat
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

import BrowserLogin
import Login
import TokenStore
from Config import HttpPolicy, LoginSettings
from Errors import ConfigError, LoginError, TokenRefused
from HttpSession import make_session
from Login import Credentials, SavedLogin, can_log_in_interactively, log_in
from OAuthListener import FAILURE_TITLE, SUCCESS_TITLE, OAuthListener, RedirectCatcher, listen_address
from TokenEndpoint import EXPIRED_OR_REVOKED, TokenEndpoint
from TokenStore import Token, load_token, save_token, token_file_lock

SECRET = "s3cret-client-secret"
STATE = "the-right-state"


# ---- helpers ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandInTokenEndpoint:
    """`POST /oauth/token` answering from a script of (status, body, content type); records requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                user = base64.b64decode(auth.split()[1]).decode() if auth.startswith("Basic ") else None
                outer.requests.append({"path": self.path, "form": form, "basic": user})
                status, body, ctype = outer.answers.pop(0) if outer.answers else (500, "{}", "application/json")
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def answer(self, status: int, body: Any, ctype: str = "application/json") -> None:
        self.answers.append((status, body if isinstance(body, str) else json.dumps(body), ctype))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[StandInTokenEndpoint]:
    e = StandInTokenEndpoint()
    yield e
    e.close()


@pytest.fixture
def http() -> requests.Session:
    return make_session(HttpPolicy(retries=0, timeout_s=5))


def token_answer(access: str, refresh: str = "r1", expires_in: int = 3600) -> dict[str, Any]:
    return {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": expires_in}


def fresh(access: str, refresh: str = "r1") -> Token:
    return Token.from_response(token_answer(access, refresh), time.time())


def expired(access: str, refresh: str = "r1") -> Token:
    return Token.from_response(token_answer(access, refresh), time.time() - 7200)


def settings(tmp_path: Path, api_host: str, secret: str | None = SECRET, **kw: Any) -> LoginSettings:
    port = kw.pop("port", None) or free_port()
    return LoginSettings(client_id="1234", client_secret=secret, redirect_uri=f"http://127.0.0.1:{port}/oauth",
                         token_file=tmp_path / "cache" / "token", api_host=api_host, **kw)


def serve(listener: OAuthListener, catcher: RedirectCatcher, stop: threading.Event) -> threading.Thread:
    """Run the listener's poll loop in a thread, as log_in does on its own thread."""
    def run() -> None:
        while not catcher.done.is_set() and not stop.is_set():
            listener.poll(0.05)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture
def listening() -> Iterator[Callable[..., tuple[str, RedirectCatcher, list[str]]]]:
    """Start a listener on a free port; gives (redirect URI, catcher, URLs handed to finish)."""
    opened: list[tuple[OAuthListener, threading.Thread]] = []
    stop = threading.Event()

    def start(implicit: bool = False, finish: Callable[[str], Any] | None = None):
        redirect = f"http://127.0.0.1:{free_port()}/oauth"
        finished: list[str] = []

        def default_finish(url: str) -> str:
            finished.append(url)
            return "the-result"
        catcher = RedirectCatcher(redirect, STATE, implicit, finish or default_finish)
        listener = OAuthListener(redirect, catcher, implicit)
        opened.append((listener, serve(listener, catcher, stop)))
        return redirect, catcher, finished

    yield start
    stop.set()
    for listener, thread in opened:
        thread.join(timeout=5)
        listener.close()


# ---- token file --------------------------------------------------------------------------------------------

def test_token_file_is_written_0600_under_umask_022_in_a_new_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "token"
    old = os.umask(0o022)
    try:
        save_token(path, fresh("a1"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved["access_token"] == "a1" and saved["refresh_token"] == "r1"
    assert abs(saved["expires_at"] - (time.time() + 3600)) < 5
    assert os.listdir(path.parent) == ["token"]  # no temporary file left


def test_token_file_is_0600_before_the_rename_and_replaced_whole(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "token"
    save_token(path, fresh("old"))
    seen = []
    real_replace = os.replace

    def checking_replace(src: Any, dst: Any) -> None:
        seen.append((stat.S_IMODE(os.stat(src).st_mode), json.loads(Path(src).read_text())["access_token"]))
        real_replace(src, dst)
    monkeypatch.setattr(os, "replace", checking_replace)
    old = os.umask(0)  # even the loosest umask
    try:
        save_token(path, fresh("new"))
    finally:
        os.umask(old)
    assert seen == [(0o600, "new")]
    assert load_token(path).access_token == "new"


def test_a_failed_write_keeps_the_old_token_and_leaves_no_temporary_file(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "token"
    save_token(path, fresh("old"))

    def failing_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(TokenStore.TokenFileError, match="No space left"):
        save_token(path, fresh("new"))
    assert load_token(path).access_token == "old"
    assert os.listdir(tmp_path) == ["token"]


@pytest.mark.parametrize("content", [b"not json", b"\xff\xfe garbage", b"[1, 2]", b'{"refresh_token": "r"}',
                                     b'{"access_token": "a", "expires_at": "tomorrow"}', b""])
def test_an_unusable_token_file_counts_as_no_saved_login(tmp_path: Path, content: bytes,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert load_token(path) is None
    assert "Ignoring the token file" in caplog.text


def test_an_unreadable_token_file_counts_as_no_saved_login(tmp_path: Path) -> None:
    (tmp_path / "token").mkdir()  # reading a folder fails even for root
    assert load_token(tmp_path / "token") is None
    assert load_token(tmp_path / "missing") is None


def test_a_token_file_of_the_original_tool_loads_and_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(json.dumps({"access_token": "a", "refresh_token": "r", "expires_in": 3600,
                                "expires_at": 1700000000.5, "scope": ["all"], "token_type": "Bearer"}))
    path.chmod(0o644)
    token = load_token(path)
    assert (token.access_token, token.refresh_token, token.expires_at) == ("a", "r", 1700000000.5)
    assert token.expired()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_token_secrets_stay_out_of_repr() -> None:
    token = fresh("ACCESS-xyz", "REFRESH-xyz")
    text = repr(token) + repr(Credentials(token))
    assert "ACCESS-xyz" not in text and "REFRESH-xyz" not in text
    assert SECRET not in repr(LoginSettings("1", SECRET, "http://localhost/o", Path("/t"), "https://x"))


def test_a_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    token = Token.from_response({"access_token": "a2", "expires_in": 60}, 1000.0, previous=fresh("a1", "keep"))
    assert token.refresh_token == "keep" and token.raw["refresh_token"] == "keep"
    assert token.expires_at == 1060.0


def test_the_token_file_lock_can_be_taken_again(tmp_path: Path) -> None:
    for _ in range(2):
        with token_file_lock(tmp_path / "token"):
            pass


# ---- redirect URI ------------------------------------------------------------------------------------------

def test_listen_address_is_loopback_only() -> None:
    assert listen_address("http://localhost:5000/oauth") == ("127.0.0.1", 5000, "/oauth")
    assert listen_address("http://127.0.0.1/") == ("127.0.0.1", 80, "/")
    assert listen_address("http://[::1]:8080/cb") == ("::1", 8080, "/cb")
    for bad in ("http://0.0.0.0:5000/oauth", "http://example.com:5000/oauth", "https://localhost:5000/oauth",
                "http://192.168.1.2:5000/oauth"):
        with pytest.raises(ValueError):
            listen_address(bad)


def test_log_in_refuses_unusable_uris(tmp_path: Path, http: requests.Session) -> None:
    good = settings(tmp_path, "https://api.mendeley.com")
    with pytest.raises(ConfigError, match="redirect URI"):
        log_in(LoginSettings(**{**good.__dict__, "redirect_uri": "http://0.0.0.0:5000/oauth"}), http)
    with pytest.raises(ConfigError, match="API host"):
        log_in(LoginSettings(**{**good.__dict__, "api_host": "http://api.example.com"}), http)


# ---- the listener ------------------------------------------------------------------------------------------

def test_wrong_or_missing_state_gets_400_and_the_listener_keeps_waiting(listening) -> None:
    redirect, catcher, finished = listening()
    rsp = requests.get(f"{redirect}?code=c1&state=forged", timeout=5)
    assert rsp.status_code == 400 and "state" in rsp.text
    rsp = requests.get(f"{redirect}?code=c1", timeout=5)
    assert rsp.status_code == 400
    assert not catcher.done.is_set() and finished == []
    rsp = requests.get(f"{redirect}?code=c2&state={STATE}", timeout=5)
    assert rsp.status_code == 200 and SUCCESS_TITLE in rsp.text
    assert catcher.result("timeout") == "the-result"
    assert finished == [f"{redirect}?code=c2&state={STATE}"]


def test_other_paths_get_404_and_the_listener_keeps_waiting(listening) -> None:
    redirect, catcher, _ = listening()
    base = redirect.rsplit("/", 1)[0]
    assert requests.get(f"{base}/favicon.ico", timeout=5).status_code == 404
    assert requests.get(f"{base}/oauth/other?code=c&state={STATE}", timeout=5).status_code == 404
    assert not catcher.done.is_set()
    assert requests.get(f"{redirect}?code=c&state={STATE}", timeout=5).status_code == 200


def test_an_error_redirect_shows_failed_and_becomes_a_login_error(listening) -> None:
    redirect, catcher, finished = listening()
    rsp = requests.get(f"{redirect}?error=access_denied&error_description=The+user+said+no&state={STATE}",
                       timeout=5)
    assert FAILURE_TITLE in rsp.text and "access_denied" in rsp.text and "The user said no" in rsp.text
    with pytest.raises(LoginError, match=r"access_denied \(The user said no\)"):
        catcher.result("timeout")
    assert finished == []


def test_an_error_redirect_with_a_wrong_state_is_refused(listening) -> None:
    redirect, catcher, _ = listening()
    rsp = requests.get(f"{redirect}?error=access_denied&state=forged", timeout=5)
    assert rsp.status_code == 400 and not catcher.done.is_set()


def test_a_failed_finish_shows_on_the_page(listening) -> None:
    def finish(url: str) -> None:
        raise LoginError("Mendeley refused the client id/secret: invalid_client")
    redirect, catcher, _ = listening(finish=finish)
    rsp = requests.get(f"{redirect}?code=c&state={STATE}", timeout=5)
    assert FAILURE_TITLE in rsp.text and "invalid_client" in rsp.text
    with pytest.raises(LoginError, match="invalid_client"):
        catcher.result("timeout")


def test_only_the_first_answer_counts(listening) -> None:
    redirect, catcher, finished = listening()
    assert requests.get(f"{redirect}?code=c1&state={STATE}", timeout=5).status_code == 200
    assert len(finished) == 1
    assert catcher.offer(f"{redirect}?code=c2&state={STATE}").title == "Already logged in"
    assert len(finished) == 1


def test_the_implicit_page_sends_the_fragment_back(listening) -> None:
    redirect, catcher, finished = listening(implicit=True)
    page = requests.get(redirect, timeout=5)
    assert page.status_code == 200
    assert "location.hash" in page.text and '"?fragment=" + encodeURIComponent(hash)' in page.text
    assert not catcher.done.is_set()
    fragment = f"access_token=tok&token_type=bearer&expires_in=3600&state={STATE}"
    rsp = requests.get(redirect, params={"fragment": fragment}, timeout=5)
    assert SUCCESS_TITLE in rsp.text
    assert finished == [f"{redirect}#{fragment}"]


def test_an_implicit_error_in_the_fragment_is_reported(listening) -> None:
    redirect, catcher, _ = listening(implicit=True)
    rsp = requests.get(redirect, params={"fragment": f"error=access_denied&state={STATE}"}, timeout=5)
    assert FAILURE_TITLE in rsp.text
    with pytest.raises(LoginError, match="access_denied"):
        catcher.result("timeout")


def test_the_listener_logs_no_codes(listening, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        redirect, catcher, _ = listening()
        requests.get(f"{redirect}?code=SECRET-CODE&state={STATE}", timeout=5)
        catcher.result("timeout")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name in ("OAuthListener", "Login"))
    assert "Login listener" in ours
    assert "SECRET-CODE" not in ours and STATE not in ours


# ---- the token endpoint ------------------------------------------------------------------------------------

def make_endpoint(stand_in: StandInTokenEndpoint, http: requests.Session) -> TokenEndpoint:
    return TokenEndpoint(http, stand_in.host, "1234", SECRET, "http://localhost:5000/oauth")


def test_the_code_is_exchanged_with_basic_auth(endpoint: StandInTokenEndpoint, http: requests.Session) -> None:
    endpoint.answer(200, token_answer("a1"))
    token = make_endpoint(endpoint, http).exchange_code("the-code")
    assert token.access_token == "a1" and token.refresh_token == "r1" and not token.expired()
    assert endpoint.requests == [{"path": "/oauth/token", "basic": f"1234:{SECRET}", "form": {
        "grant_type": "authorization_code", "code": "the-code", "redirect_uri": "http://localhost:5000/oauth"}}]


def test_a_bad_secret_is_one_line_without_the_secret(endpoint: StandInTokenEndpoint,
                                                     http: requests.Session) -> None:
    endpoint.answer(401, {"error": "invalid_client", "error_description": f"bad secret {SECRET}\nreally"})
    with pytest.raises(LoginError) as e:
        make_endpoint(endpoint, http).exchange_code("c")
    message = str(e.value)
    assert message.startswith("Mendeley refused the client id/secret: invalid_client")
    assert "\n" not in message and SECRET not in message


def test_a_plain_text_401_is_a_bad_client_too(endpoint: StandInTokenEndpoint, http: requests.Session) -> None:
    endpoint.answer(401, "Invalid client credentials", "text/plain")
    with pytest.raises(LoginError, match="refused the client id/secret"):
        make_endpoint(endpoint, http).exchange_code("c")


def test_a_non_json_answer_is_a_clear_error(endpoint: StandInTokenEndpoint, http: requests.Session) -> None:
    endpoint.answer(502, "<html>Bad gateway</html>", "text/html")
    with pytest.raises(LoginError, match="HTTP 502 and no JSON"):
        make_endpoint(endpoint, http).exchange_code("c")
    endpoint.answer(200, "access_token=a", "text/plain")
    with pytest.raises(LoginError, match="no JSON"):
        make_endpoint(endpoint, http).exchange_code("c")


@pytest.mark.parametrize("status,body", [(400, {"error": "invalid_grant"}), (401, {"error": "invalid_token"})])
def test_a_refused_refresh_says_log_in_again(endpoint: StandInTokenEndpoint, http: requests.Session,
                                             status: int, body: dict) -> None:
    endpoint.answer(status, body)
    with pytest.raises(TokenRefused) as e:
        make_endpoint(endpoint, http).refresh(expired("a1", "r1"))
    assert str(e.value) == EXPIRED_OR_REVOKED
    assert endpoint.requests[0]["form"] == {"grant_type": "refresh_token", "refresh_token": "r1",
                                            "redirect_uri": "http://localhost:5000/oauth"}


def test_an_unreachable_endpoint_is_a_login_error(http: requests.Session) -> None:
    dead = TokenEndpoint(http, f"http://127.0.0.1:{free_port()}", "1", SECRET, "http://localhost/o")
    with pytest.raises(LoginError, match="Could not reach"):
        dead.refresh(expired("a", "r"))


# ---- refreshing ---------------------------------------------------------------------------------------------

def test_refresh_saves_the_rotated_token_at_once(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                 http: requests.Session) -> None:
    path = tmp_path / "token"
    save_token(path, fresh("a1", "r1"))
    credentials = Credentials(load_token(path), SavedLogin(path, make_endpoint(endpoint, http)).renew)
    endpoint.answer(200, token_answer("a2", "r2"))
    assert credentials.refresh("a1") == "a2"
    assert credentials.access_token() == "a2"
    assert endpoint.requests[0]["form"]["refresh_token"] == "r1"
    on_disk = load_token(path)
    assert (on_disk.access_token, on_disk.refresh_token) == ("a2", "r2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refresh_adopts_a_token_another_run_has_already_rotated(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                                http: requests.Session) -> None:
    path = tmp_path / "token"
    save_token(path, fresh("a1", "r1"))
    credentials = Credentials(load_token(path), SavedLogin(path, make_endpoint(endpoint, http)).renew)
    save_token(path, fresh("a2-other-run", "r2"))  # an overlapping run refreshed and used up r1
    assert credentials.refresh("a1") == "a2-other-run"
    assert endpoint.requests == []


def test_refresh_uses_the_newest_refresh_token_on_disk(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                       http: requests.Session) -> None:
    path = tmp_path / "token"
    save_token(path, expired("a1", "r1"))
    credentials = Credentials(load_token(path), SavedLogin(path, make_endpoint(endpoint, http)).renew)
    save_token(path, expired("a2", "r2"))  # another run rotated, but its token has expired as well
    endpoint.answer(200, token_answer("a3", "r3"))
    assert credentials.refresh("a1") == "a3"
    assert endpoint.requests[0]["form"]["refresh_token"] == "r2"


def test_concurrent_refreshes_refresh_once(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                           http: requests.Session) -> None:
    path = tmp_path / "token"
    save_token(path, fresh("a1", "r1"))
    credentials = Credentials(load_token(path), SavedLogin(path, make_endpoint(endpoint, http)).renew)
    endpoint.answer(200, token_answer("a2", "r2"))
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(credentials.refresh("a1"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["a2"] * 8 and len(endpoint.requests) == 1


def test_a_token_already_replaced_is_not_refreshed_again() -> None:
    calls = []
    credentials = Credentials(fresh("a2"), lambda old: calls.append(old) or fresh("a3"))
    assert credentials.refresh("a1") == "a2" and calls == []


def test_a_token_replaced_by_another_thread_but_expired_since_is_refreshed() -> None:
    """A thread whose request waited out retries comes back with the token before another thread's renewal, and
    that renewal has expired too by then: it gets a new token, not the dead one."""
    calls = []
    credentials = Credentials(expired("a2"), lambda old: calls.append(old.access_token) or fresh("a3"))
    assert credentials.refresh("a1") == "a3" and calls == ["a2"]


def test_the_implicit_login_cannot_be_refreshed() -> None:
    with pytest.raises(LoginError, match="cannot be renewed without a client secret"):
        Credentials(fresh("a1"), renew=None).refresh("a1")


# ---- log_in with a saved token ------------------------------------------------------------------------------

@pytest.fixture
def no_person(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody at the keyboard: cron."""
    monkeypatch.setattr(Login, "can_log_in_interactively", lambda open_browser: False)


def test_a_saved_token_is_used_without_any_request(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                   http: requests.Session, no_person: None) -> None:
    s = settings(tmp_path, endpoint.host)
    save_token(s.token_file, fresh("a1"))
    assert log_in(s, http).access_token() == "a1"
    assert endpoint.requests == []


def test_an_expired_token_is_refreshed_and_saved_at_start(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                          http: requests.Session, no_person: None) -> None:
    s = settings(tmp_path, endpoint.host)
    save_token(s.token_file, expired("a1", "r1"))
    endpoint.answer(200, token_answer("a2", "r2"))
    assert log_in(s, http).access_token() == "a2"
    assert load_token(s.token_file).refresh_token == "r2"


def test_a_refused_refresh_in_cron_is_one_line(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                               http: requests.Session, no_person: None) -> None:
    s = settings(tmp_path, endpoint.host)
    save_token(s.token_file, expired("a1", "r1"))
    endpoint.answer(400, {"error": "invalid_grant"})
    with pytest.raises(LoginError, match="expired or was revoked"):
        log_in(s, http)


def test_a_refused_refresh_with_a_person_there_logs_in_again(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                             http: requests.Session,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path, endpoint.host)
    save_token(s.token_file, expired("a1", "r1"))
    endpoint.answer(400, {"error": "invalid_grant"})
    monkeypatch.setattr(Login, "can_log_in_interactively", lambda open_browser: True)
    monkeypatch.setattr(Login, "browser_login", lambda settings, finish_code: fresh("from-browser"))
    assert log_in(s, http).access_token() == "from-browser"


def test_no_saved_token_in_cron_fails_at_once(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                              http: requests.Session, no_person: None) -> None:
    s = settings(tmp_path, endpoint.host)
    with pytest.raises(LoginError) as e:
        log_in(s, http)
    assert str(e.value).startswith(f"There is no saved Mendeley login ({s.token_file} does not exist), and there is "
                                   "no terminal to log in from; run mendeley-backup once by hand")
    with pytest.raises(LoginError, match="Without a client secret"):
        log_in(settings(tmp_path, endpoint.host, secret=None), http)


# ---- interactivity ------------------------------------------------------------------------------------------

class FakeStdin:
    def __init__(self, tty: bool, fd: int | None = None) -> None:
        self.tty, self.fd = tty, fd

    def isatty(self) -> bool:
        return self.tty

    def fileno(self) -> int:
        if self.fd is None:
            raise OSError("no descriptor")
        return self.fd


def test_browser_mode_needs_a_terminal_or_a_display() -> None:
    def check(tty: bool, env: dict, platform: str = "linux") -> bool:
        return can_log_in_interactively(True, stdin=FakeStdin(tty), environ=env, platform=platform)
    assert check(True, {})
    assert check(False, {"BROWSER": "/bin/stand-in"})
    assert check(False, {"DISPLAY": ":0"}) and check(False, {"WAYLAND_DISPLAY": "wayland-0"})
    assert not check(False, {})
    assert not check(False, {"DISPLAY": ""})
    assert not check(False, {}, "darwin") and check(True, {}, "darwin")


def test_no_browser_mode_needs_a_terminal_or_a_pipe(tmp_path: Path) -> None:
    def check(stdin: Any) -> bool:
        return can_log_in_interactively(False, stdin=stdin, environ={"DISPLAY": ":0"})
    assert check(FakeStdin(True))
    read_end, write_end = os.pipe()
    try:
        assert check(FakeStdin(False, read_end))
    finally:
        os.close(read_end)
        os.close(write_end)
    with open(os.devnull) as devnull:
        assert not check(devnull)
    assert not check(FakeStdin(False, None))


# ---- browser login: paste, stand-in browser, timeout ---------------------------------------------------------

@pytest.fixture
def fixed_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BrowserLogin, "_new_state", lambda: STATE)


@pytest.fixture
def stdin_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """sys.stdin replaced by a pipe; gives a function writing to it ("" closes it)."""
    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end)
    monkeypatch.setattr("sys.stdin", reader)
    state = {"open": True}

    def write(text: str) -> None:
        if text:
            os.write(write_end, text.encode())
        elif state["open"]:
            os.close(write_end)
            state["open"] = False
    yield write
    write("")
    reader.close()


def test_a_pasted_url_logs_in_and_a_wrong_state_is_refused(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                           http: requests.Session, fixed_state: None,
                                                           stdin_pipe: Callable[[str], None],
                                                           capsys: pytest.CaptureFixture) -> None:
    s = settings(tmp_path, endpoint.host, open_browser=False)
    endpoint.answer(200, token_answer("a1", "r1"))
    stdin_pipe("http://localhost:5000/elsewhere?code=x\n")
    stdin_pipe(f"{s.redirect_uri}?code=old&state=older-attempt\n")
    stdin_pipe(f"  {s.redirect_uri}?code=the-code&state={STATE}  \n")
    assert log_in(s, http).access_token() == "a1"
    err = capsys.readouterr().err
    assert f"Open this URL in a browser to log in: {endpoint.host}/oauth/authorize?response_type=code" in err
    assert "That is not the address the login ends on" in err and "Refused:" in err
    assert [r["form"].get("code") for r in endpoint.requests] == ["the-code"]
    assert load_token(s.token_file).access_token == "a1"
    assert stat.S_IMODE(s.token_file.stat().st_mode) == 0o600


def test_no_browser_with_stdin_ending_at_once_fails_at_once(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                            http: requests.Session,
                                                            stdin_pipe: Callable[[str], None]) -> None:
    stdin_pipe("")
    started = time.monotonic()
    with pytest.raises(LoginError) as e:
        log_in(settings(tmp_path, endpoint.host, open_browser=False), http)
    assert str(e.value) == BrowserLogin.NO_TERMINAL
    assert time.monotonic() - started < 3


def test_no_browser_still_takes_the_listeners_answer(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                     http: requests.Session, fixed_state: None,
                                                     stdin_pipe: Callable[[str], None]) -> None:
    s = settings(tmp_path, endpoint.host, open_browser=False)
    endpoint.answer(200, token_answer("a1"))
    threading.Timer(0.3, lambda: requests.get(f"{s.redirect_uri}?code=c&state={STATE}", timeout=5)).start()
    assert log_in(s, http).access_token() == "a1"


def stand_in_browser(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str, dict], str]) -> list[str]:
    """webbrowser.open replaced by a stand-in that GETs the redirect `answer(redirect_uri, params)` builds."""
    opened: list[str] = []

    def open_(url: str) -> bool:
        opened.append(url)
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        requests.get(answer(params["redirect_uri"], params), timeout=5)
        return True
    monkeypatch.setattr(webbrowser, "open", open_)
    return opened


def test_a_browser_login_with_the_authorization_code(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                     http: requests.Session,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "stand-in")
    opened = stand_in_browser(monkeypatch, lambda r, p: f"{r}?code=c1&state={p['state']}")
    endpoint.answer(200, token_answer("a1"))
    s = settings(tmp_path, endpoint.host)
    assert log_in(s, http).access_token() == "a1"
    query = parse_qs(urlsplit(opened[0]).query)
    assert opened[0].startswith(f"{endpoint.host}/oauth/authorize?")
    assert {k: v[0] for k, v in query.items() if k != "state"} == {
        "response_type": "code", "client_id": "1234", "redirect_uri": s.redirect_uri, "scope": "all"}
    assert load_token(s.token_file).access_token == "a1"


def test_an_implicit_browser_login_saves_nothing(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                 http: requests.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "stand-in")

    def answer(redirect: str, params: dict) -> str:
        assert requests.get(redirect, timeout=5).text.count("location.hash")  # the fragment page first
        fragment = f"access_token=imp1&token_type=bearer&expires_in=3600&state={params['state']}"
        return f"{redirect}?fragment={quote(fragment, safe='')}"
    opened = stand_in_browser(monkeypatch, answer)
    s = settings(tmp_path, endpoint.host, secret=None)
    credentials = log_in(s, http)
    assert credentials.access_token() == "imp1"
    assert "response_type=token" in opened[0]
    assert not s.token_file.exists() and endpoint.requests == []


def test_a_denied_browser_login_is_a_login_error(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                 http: requests.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "stand-in")
    stand_in_browser(monkeypatch, lambda r, p: f"{r}?error=access_denied&error_description=Denied+by+user"
                                               f"&state={p['state']}")
    with pytest.raises(LoginError, match=r"access_denied \(Denied by user\)"):
        log_in(settings(tmp_path, endpoint.host), http)
    assert endpoint.requests == []


def test_no_answer_times_out(tmp_path: Path, endpoint: StandInTokenEndpoint, http: requests.Session,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "stand-in")
    monkeypatch.setattr(webbrowser, "open", lambda url: True)
    with pytest.raises(LoginError, match=r"No login answer within 0.5 s"):
        log_in(settings(tmp_path, endpoint.host, login_timeout_s=0.5), http)


def test_a_taken_port_is_a_clear_error(tmp_path: Path, endpoint: StandInTokenEndpoint, http: requests.Session,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "stand-in")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        s = settings(tmp_path, endpoint.host, port=busy.getsockname()[1])
        with pytest.raises(LoginError, match=r"cannot listen on 127\.0\.0\.1"):
            log_in(s, http)


def test_a_short_lived_token_is_not_expired_at_once() -> None:
    token = Token.from_response(token_answer("a", expires_in=4), 1000.0)
    assert not token.expired(now=1002.0) and token.expired(now=1003.5)
    assert fresh("a").expired(now=time.time() + 3590)  # a minute's margin for an hour-long token


def test_close_waits_until_the_answers_page_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    import OAuthListener as listener_module
    sent = threading.Event()
    real_send = listener_module._Handler._send

    def slow_send(self: Any, status: int, page: bytes) -> None:
        time.sleep(0.3)
        real_send(self, status, page)
        sent.set()
    monkeypatch.setattr(listener_module._Handler, "_send", slow_send)

    def finish(url: str) -> None:
        raise LoginError("refused")
    redirect = f"http://127.0.0.1:{free_port()}/oauth"
    catcher = RedirectCatcher(redirect, STATE, False, finish)
    listener = OAuthListener(redirect, catcher, False)
    threading.Thread(target=requests.get, args=(f"{redirect}?code=c&state={STATE}",), kwargs={"timeout": 5},
                     daemon=True).start()
    while not catcher.done.is_set():
        listener.poll(0.05)
    listener.close()  # a run stopping on the LoginError right after must not cut the page short
    assert sent.is_set()


def test_an_implicit_token_with_another_scope_is_taken(tmp_path: Path, endpoint: StandInTokenEndpoint,
                                                       http: requests.Session,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER", "stand-in")
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)
    fragment = "access_token=imp2&token_type=bearer&expires_in=3600&scope=read&state={}"
    stand_in_browser(monkeypatch, lambda r, p: f"{r}?fragment={quote(fragment.format(p['state']), safe='')}")
    assert log_in(settings(tmp_path, endpoint.host, secret=None), http).access_token() == "imp2"
