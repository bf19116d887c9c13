"""The browser login: open (or print) `<api_host>/oauth/authorize?...`, then catch the answer on a loopback
listener (OAuthListener) or, with --no-browser, as the address pasted on standard input, for a machine reached
over SSH. And whether a person may be there to do it at all (cron has none).

Stand-in browser protocol (end-to-end tests set BROWSER to a script):
    `webbrowser.open` runs `$BROWSER <login URL>` in a background thread and may wait for it to exit, so
    a synchronous script is fine. It should write nothing to stdout (scripts parse the tool's stdout).
    - Authorization code: GET the login URL without following the redirect, then GET the `Location` it
      answers (`http://localhost:5000/oauth?code=…&state=…`). That request is answered once the code is
      exchanged and the token saved: 200 "Successfully logged in! You can close this tab", or a
      "Failed to log in!" page. In shell:
          loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$1"); curl -s -o /dev/null "$loc"
    - Implicit: the `Location` is `http://localhost:5000/oauth#access_token=…&state=…`. A real browser
      GETs `/oauth` (fragments are not sent), receives a page whose script then does
      `GET /oauth?fragment=<encodeURIComponent(fragment)>`; a stand-in makes that request directly:
          frag=${loc#*#}; curl -s -o /dev/null -G --data-urlencode "fragment=$frag" "${loc%%#*}"
    - A denied login redirects with `error=access_denied&error_description=…&state=…` (query, or fragment
      for implicit): the page says "Failed to log in!" and log_in raises LoginError with both.
    - A wrong or missing `state` gets HTTP 400 and the login keeps waiting; other paths get 404.
    With --no-browser nothing is opened: stderr gets "Open this URL in a browser to log in: <URL>", and
    the final redirect URL (with its query or fragment) may be written as one line on stdin instead.
"""

import contextlib
import logging
import os
import queue
import secrets
import stat
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from typing import IO, Any
from urllib.parse import urlsplit

from Config import LoginSettings
from Errors import LoginError
from OAuthListener import OAuthListener, RedirectCatcher, listen_address
from TokenStore import Token

log = logging.getLogger(__name__)

NO_TERMINAL = ("No usable saved Mendeley login and no terminal to log in from; run mendeley-backup once by hand "
               "(add --no-browser on a machine without a browser) to log in")

# How often the wait for the login answer looks at standard input and the browser opener.
POLL_S = 0.2


def can_log_in_interactively(open_browser: bool, *, stdin: IO[Any] | None = None,
                             environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether a person may be there to finish a browser login, so that waiting for one makes sense.

    Browser mode: standard input is a terminal, or BROWSER, DISPLAY or WAYLAND_DISPLAY is set (on macOS
    and Windows, which have no DISPLAY, the terminal test is what counts). --no-browser: standard input
    is a terminal, or a pipe, file or socket that may deliver the pasted URL (if it ends before any line
    the wait stops at once); /dev/null, a closed or missing standard input do not count.
    `stdin`, `environ` and `platform` default to the process's own.
    """
    stream = sys.stdin if stdin is None else stdin
    env = os.environ if environ is None else environ
    tty = _isatty(stream)
    if open_browser:
        plat = sys.platform if platform is None else platform
        graphical = any(env.get(name) for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"))
        return tty or graphical or (plat in ("darwin", "win32") and tty)
    return tty or _may_deliver_lines(stream)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _fileno(stream: Any) -> int | None:
    try:
        return None if stream is None else stream.fileno()
    except (AttributeError, OSError, ValueError):  # closed, or replaced by an object without a descriptor
        return None


def _may_deliver_lines(stream: Any) -> bool:
    fd = _fileno(stream)
    if fd is None:
        return False
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def _new_state() -> str:
    return secrets.token_urlsafe(24)


def tell(text: str) -> None:
    """A line the person logging in must see (it may hold the login URL): stderr, not the log."""
    print(text, file=sys.stderr, flush=True)


def browser_login(settings: LoginSettings, finish_code: Callable[[str, Any], Token] | None,
                   stdin: IO[Any] | None = None) -> Token:
    """One browser login; `finish_code` (None: implicit grant) exchanges and saves an accepted code."""
    # The SDK, and the packages it brings (oauthlib, `future`, which imports tkinter), only for a run that logs in:
    # 50 ms off the start of every other run.
    from mendeley import Mendeley, is_localhost

    implicit = finish_code is None
    mendeley = Mendeley(settings.client_id, settings.client_secret or None, settings.redirect_uri,
                        host=settings.api_host.rstrip("/"))
    if not is_localhost(settings.redirect_uri):
        # The SDK allows oauthlib plain http for localhost and 127.0.0.1 only; the redirect URI is a
        # loopback address too (checked), e.g. [::1]. The API host was checked on its own.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    state = _new_state()
    if implicit:
        flow = mendeley.start_implicit_grant_flow(state=state)

        def finish(url: str) -> Token:
            return _token_from_fragment(flow, url)
    else:
        flow = mendeley.start_authorization_code_flow(state=state)

        def finish(url: str) -> Token:
            return finish_code(url, flow)  # type: ignore[misc]
    url = flow.get_login_url()
    catcher: RedirectCatcher[Token] = RedirectCatcher(settings.redirect_uri, state, implicit, finish)
    stream = sys.stdin if stdin is None else stdin

    listener: OAuthListener | None = None
    try:
        listener = OAuthListener(settings.redirect_uri, catcher, implicit)
    except OSError as e:
        address, port, _ = listen_address(settings.redirect_uri)
        problem = f"cannot listen on {address}:{port} for the login answer ({e.strerror or e})"
        if settings.open_browser:
            raise LoginError(f"Mendeley login: {problem}; stop what uses that port or register another "
                             "redirect URI") from e
        log.warning("%s; only a pasted address will do", problem[0].upper() + problem[1:])
    try:
        return _await_answer(settings, url, catcher, listener, stream)
    finally:
        if listener is not None:
            listener.close()


def _token_from_fragment(flow: Any, url: str) -> Token:
    """The implicit grant's token, through the SDK (oauthlib checks the state again)."""
    from oauthlib.oauth2 import OAuth2Error  # as the SDK, only for a run that logs in

    received_at = time.time()
    try:
        token = flow.authenticate(url).token
    except OAuth2Error as e:
        raise LoginError(f"Mendeley refused the login: {e.error}; run mendeley-backup again") from e
    except Warning as w:
        # oauthlib raises its scope-change "warning" when the granted scope differs from the one asked
        # for. SDK 0.3.2 passes no requested scope, so it does not fire today; the token is fine anyway.
        token = getattr(w, "token", None)
        if token is None:
            raise LoginError("The Mendeley login answer could not be read; run mendeley-backup again") from w
        log.debug("Scope changed at login: %s", w)
    except ValueError as e:
        raise LoginError("The Mendeley login answer could not be read; run mendeley-backup again") from e
    try:
        return Token.from_response(dict(token), received_at)
    except ValueError:
        raise LoginError("The Mendeley login answer carries no access token; run mendeley-backup again") \
            from None


def _open_browser(url: str, failed: threading.Event) -> None:
    """Open the login page; runs in its own thread since a BROWSER command may take its time to exit."""
    try:
        opened = webbrowser.open(url)
    except Exception as e:  # webbrowser raises little of its own, but a broken BROWSER must not kill us
        log.debug("Opening the browser failed: %s", type(e).__name__)
        opened = False
    if not opened:
        failed.set()


def _await_answer(settings: LoginSettings, url: str, catcher: RedirectCatcher[Token],
                  listener: OAuthListener | None, stdin: IO[Any] | None) -> Token:
    """Open or print the login URL, then wait for the first accepted answer: from the listener, or
    pasted on standard input (--no-browser, or when no browser could be opened and stdin is a terminal).
    """
    log.info("Mendeley login URL: %s", url)
    stdin_fd = _fileno(stdin)
    tty = _isatty(stdin)
    reader: _LineReader | None = None
    browser_failed = threading.Event()
    if settings.open_browser:
        threading.Thread(target=_open_browser, args=(url, browser_failed), name="login-browser",
                         daemon=True).start()
    else:
        if stdin_fd is None and listener is None:
            raise LoginError(NO_TERMINAL)
        tell(f"Open this URL in a browser to log in: {url}")
        if stdin_fd is not None:
            tell(_paste_hint(settings.redirect_uri))
            reader = _LineReader(stdin_fd)
    timeout_message = (f"No login answer within {settings.login_timeout_s:g} s; run mendeley-backup again "
                       "and finish the login in the browser"
                       + ("" if settings.open_browser else " (or paste the address it ends on)"))
    deadline = time.monotonic() + settings.login_timeout_s
    announced = False
    lines_seen = 0
    while not catcher.done.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if listener is not None:
            listener.poll(min(POLL_S, remaining))
        else:
            catcher.done.wait(min(POLL_S, remaining))
        if browser_failed.is_set() and not announced:
            announced = True
            tell(f"Could not open a browser. Open this URL in a browser to log in: {url}")
            if tty and stdin_fd is not None and reader is None:
                tell(_paste_hint(settings.redirect_uri))
                reader = _LineReader(stdin_fd)
        while reader is not None and not catcher.done.is_set():
            try:
                line = reader.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:  # end of input: a pipe that ran dry, or Ctrl-D at the terminal
                if tty:
                    return catcher.result("The login was given up at the terminal (end of input) before a login "
                                          "address was pasted; run mendeley-backup again to log in")
                return catcher.result(NO_TERMINAL if lines_seen == 0 else
                                      "Standard input ended without a usable login address; "
                                      "run mendeley-backup again to log in")
            if line.strip():
                lines_seen += 1
                _offer_pasted(catcher, line.strip(), settings.redirect_uri)
    return catcher.result(timeout_message)


def _paste_hint(redirect_uri: str) -> str:
    return ("If that browser cannot reach this machine, paste here the address it ends on "
            f"(it starts with {redirect_uri}) and press Enter.")


def _offer_pasted(catcher: RedirectCatcher[Token], line: str, redirect_uri: str) -> None:
    """Judge a pasted address; tell the person why it was refused (the wait goes on)."""
    pasted, expected = urlsplit(line), urlsplit(redirect_uri)
    if pasted.scheme not in ("http", "https") or pasted.path != (expected.path or "/"):
        tell(f"That is not the address the login ends on; it starts with {redirect_uri}. Paste it again.")
        return
    reply = catcher.offer(line)
    if not reply.accepted:
        tell(f"Refused: {reply.message} Paste it again, or wait for the browser.")


class _LineReader:
    """Lines of a file descriptor, read by a daemon thread into `lines` (None marks the end).

    It reads with os.read, so no Python-level lock is held while it blocks: a reader left waiting on a
    terminal after the login cannot trouble the interpreter's shutdown.
    """

    def __init__(self, fd: int) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._run, args=(fd,), name="login-paste-reader", daemon=True).start()

    def _run(self, fd: int) -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 4096):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self.lines.put(line.decode("utf-8", "replace"))
        if pending.strip():
            self.lines.put(pending.decode("utf-8", "replace"))
        self.lines.put(None)
