"""A Python handle on the emulator for tests: start it as a subprocess, drive its controls.

    with EmulatorProcess() as emu:          # python -m tests.emulator --port 0
        emu.seed(documents=10, seed=1)
        api = emu.api_session()             # requests.Session with a bearer token, relative URLs
        docs = api.get("/documents", params={"view": "all"}).json()
        assert docs == emu.library()["documents"][:20] ...
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from .context import DEFAULT_CLIENT_SECRET

REPO_ROOT = Path(__file__).resolve().parents[2]


class ApiSession(requests.Session):
    """A requests session bound to a base URL (paths like "/documents") and a bearer token."""

    def __init__(self, base_url: str, access_token: str | None = None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        if access_token:
            self.headers["Authorization"] = f"Bearer {access_token}"

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)


class EmulatorClient:
    """The control API (`/_emulator/*`) of an emulator running at `url`."""

    def __init__(self, url: str, client_secret: str = DEFAULT_CLIENT_SECRET) -> None:
        self.url = url.rstrip("/")
        self.client_secret = client_secret
        self._http = ApiSession(self.url)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        rsp = self._http.request(method, "/_emulator/" + path, json=body)
        rsp.raise_for_status()
        return rsp.json() if rsp.content else None

    def reset(self) -> None:
        """Empty library, no tokens, counters zeroed, faults cleared."""
        self._call("POST", "reset")

    def token(self, **options: Any) -> dict[str, Any]:
        """A fresh token JSON (access_token, refresh_token, token_type, expires_in, scope).

        Options: lifetime_s, client_id (the refresh token is then bound to that client).
        """
        return self._call("POST", "token", options)

    def seed(self, **options: Any) -> dict[str, Any]:
        """Add a synthetic library (documents, files_per_document, file_size, folders,
        annotations_per_document, groups, group_documents, trashed, seed); answers the new ids."""
        return self._call("POST", "seed", options)

    def faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the fault setting (no arguments: no faults); answers the whole setting."""
        return self._call("POST", "faults", settings)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset_stats(self) -> None:
        self._call("POST", "stats/reset")

    def library(self) -> dict[str, Any]:
        """The whole server-side state, each object as the API renders it."""
        return self._call("GET", "library")

    def create_group(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "groups", {"name": name, **fields})

    def file_content(self, file_id: str) -> bytes:
        """A file's bytes, straight from the state (no faults, not counted)."""
        rsp = self._http.get(f"/_emulator/files/{file_id}/content")
        rsp.raise_for_status()
        return rsp.content

    def api_session(self, access_token: str | None = None) -> ApiSession:
        """A session for the API with a fresh token (or the one given)."""
        return ApiSession(self.url, access_token or self.token()["access_token"])


class EmulatorProcess(EmulatorClient):
    """`python -m tests.emulator` as a subprocess; a context manager. Stopped with SIGTERM.

    The emulator's stderr goes to a temporary file: `stderr_text()` reads it.
    """

    def __init__(
        self,
        *,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        seed_documents: int = 0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 60,
        extra_args: list[str] | None = None,
    ) -> None:
        self.args = [
            sys.executable, "-m", "tests.emulator", "--host", host, "--port", str(port),
            "--client-secret", client_secret, "--seed-documents", str(seed_documents), "--seed", str(seed),
            *(extra_args or []),
        ]  # fmt: skip
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        super().__init__("http://unstarted", client_secret)

    def start(self) -> EmulatorProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=self._stderr, env=env
        )
        line = self._first_line()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r}\n{self.stderr_text()}")
        self.url = line[len(prefix) :].strip()
        self._http.base_url = self.url
        return self

    def _first_line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.1):
                    return self.process.stdout.readline().decode()
                if self.process.poll() is not None:
                    return ""
        return ""

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, wait, and answer the exit status (SIGKILL if it does not stop in time)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._stderr.close()
