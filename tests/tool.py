"""Running the real tool, as a subprocess, against the emulator, and reading what it left on disk.

    tool = BackupTool(emulator, tmp_path)        # a saved login (token file) for the emulator
    run = tool.run()                             # ./mendeley-backup.py -o <tmp>/backup ... ; exit 0 expected
    assert run.summary == Summary(new=3)
    assert folder_files(tool.backup)["Doe/2024 - T 1/document1.pdf"] == sha1(pdf_bytes)
"""

from __future__ import annotations

import compileall
import fcntl
import hashlib
import json
import os
import pty
import re
import selectors
import shlex
import socket
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.emulator import EmulatorProcess

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "mendeley-backup.py"
BROWSER = REPO / "tests" / "browsers" / "browser.py"
SECRET = "emulator-secret"
SUMMARY = re.compile(
    r"^(\d+) new documents were added\n(\d+) documents were removed\n(\d+) documents were updated\n"
    r"(\d+) documents were moved and possibly updated\n(\d+) annotations were added, changed or removed$", re.M)
# The same lines in a dry run, worded as what would happen.
WOULD_SUMMARY = re.compile(
    r"^(\d+) new documents would be added\n(\d+) documents would be removed\n(\d+) documents would be updated\n"
    r"(\d+) documents would be moved and possibly updated\n(\d+) annotations would be added, changed or removed$",
    re.M)
# Files of the backup that legitimately differ between two runs reaching the same content.
VOLATILE = {"info.json", ".mendeley-backup.lock", ".mendeley-backup-export.cache"}


@dataclass(frozen=True)
class Summary:
    new: int = 0
    removed: int = 0
    updated: int = 0
    moved: int = 0
    annotations: int = 0


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> Summary:
        match = SUMMARY.search(self.stdout)
        assert match, f"no summary in the output:\n{self.stdout}\n{self.stderr}"
        return Summary(*(int(group) for group in match.groups()))

    @property
    def dry_summary(self) -> Summary:
        """The summary of a dry run."""
        match = WOULD_SUMMARY.search(self.stdout)
        assert match and not SUMMARY.search(self.stdout), f"no dry-run summary in the output:\n{self.stdout}"
        return Summary(*(int(group) for group in match.groups()))

    @property
    def json(self) -> dict[str, Any]:
        """The one JSON object a run with --json prints."""
        lines = self.stdout.splitlines()
        assert len(lines) == 1, f"not one line of JSON:\n{self.stdout}"
        return json.loads(lines[0])

    @property
    def error_line(self) -> str:
        """The one line a failed run writes: on stderr, prefixed with the program's name, nothing on stdout."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mendeley-backup: ") and not self.stdout, \
            f"not one error line:\n{self.stdout}\n{self.stderr}"
        return lines[0]


class BackupTool:
    """The tool with a saved authorization-code login on an emulator, backing up into `tmp/backup`."""

    def __init__(self, emulator: EmulatorProcess, tmp: Path, **token_options: Any) -> None:
        self.emulator = emulator
        self.tmp = tmp
        self.backup = tmp / "backup"
        self.token_file = tmp / "login" / "token.json"
        self.browser_log = tmp / "login" / "browser.log"
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        self.save_token(emulator.token(**token_options))

    def save_token(self, token: dict[str, Any]) -> None:
        self.token_file.write_text(json.dumps(token))
        self.token_file.chmod(0o600)

    def command(self, *args: str, login: bool = True, output: bool = True) -> list[str]:
        """The command line; `login=False` leaves out the client secret and token file, `output=False` the -o."""
        base = [sys.executable, str(SCRIPT), "--api-host", self.emulator.url]
        if output:
            base += ["-o", str(self.backup)]
        if login:
            base += ["-s", SECRET, "-t", str(self.token_file)]
        return [*base, "--retries", "3", *args]

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """HOME and the XDG folders under tmp; no browser or display, like cron, unless `env` gives them."""
        environment = {**os.environ, "HOME": str(self.tmp), "XDG_CONFIG_HOME": str(self.tmp / "config"),
                       "XDG_CACHE_HOME": str(self.tmp / "cache")}
        for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
            environment.pop(name, None)
        environment.update(env or {})
        return environment

    def run(self, *args: str, expect: int | None = 0, login: bool = True, output: bool = True,
            env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300) -> Run:
        stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        done = subprocess.run(self.command(*args, login=login, output=output), capture_output=True, text=True,
                              env=self.environment(env), timeout=timeout, cwd=self.tmp, **stdin)
        run = Run(done.returncode, done.stdout, done.stderr)
        if expect is not None:
            assert run.returncode == expect, f"exit {run.returncode}, expected {expect}\n{run.stdout}\n{run.stderr}"
        return run

    def start(self, *args: str, login: bool = True, env: dict[str, str] | None = None,
              **streams: Any) -> subprocess.Popen[bytes]:
        """The tool running in the background, with pipes (bytes) for stdin, stdout and stderr unless
        `streams` (Popen's stdin=, stdout=, stderr=) say otherwise. The caller waits for it."""
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **streams}
        return subprocess.Popen(self.command(*args, login=login), env=self.environment(env), cwd=self.tmp, **pipes)

    def stand_in_browser(self) -> dict[str, str]:
        """The environment of a run whose browser login tests/browsers/browser.py does; `browser_visits()`
        then tells what it saw. (BROWSER must name one executable, hence a small wrapper script.)"""
        wrapper = self.tmp / "browser.sh"
        wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(BROWSER))} \"$@\"\n")
        wrapper.chmod(0o755)
        return {"BROWSER": str(wrapper), "STAND_IN_BROWSER_LOG": str(self.browser_log)}

    def browser_visits(self) -> list[dict[str, Any]]:
        """What the stand-in browser did, one visit per login it was opened for."""
        if not self.browser_log.exists():
            return []
        return [json.loads(line) for line in self.browser_log.read_text().splitlines()]


def compile_tool() -> None:
    """Byte-compile the tool's modules, as its first run on a machine (or `make install`) leaves them: where the
    environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE), every run would compile them from source again,
    some 60 ms of each run that no user's everyday run spends."""
    compileall.compile_dir(REPO, maxlevels=0, quiet=1)


def run_with_terminal_stderr(tool: BackupTool, *args: str, timeout: float = 60) -> tuple[Run, bytes]:
    """Run the tool with stderr on an 80-column pseudo-terminal (a new one has no size, and tqdm draws nothing
    in 0 columns) and stdout on a pipe: the run, and what the terminal got."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = tool.start(*args, stdin=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(controller, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(deadline - time.monotonic()):
                continue
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the tool has exited and the terminal is closed
                break
            if not chunk:
                break
            shown += chunk
    os.close(controller)
    stdout, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    return Run(process.returncode, stdout.decode(), ""), shown


def loopback_redirect_uri() -> str:
    """A redirect URI on a loopback port that is free now, so a browser login meets no other listener."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/oauth"


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def folder_files(root: Path, skip_volatile: bool = True) -> dict[str, str]:
    """Every regular file under `root`, relative path -> SHA-1, without the state file and the lock."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not (skip_volatile and relative in VOLATILE):
            found[relative] = sha1(path.read_bytes())
    return found


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def state_of(root: Path) -> dict[str, Any]:
    return read_json(root / "info.json")


def document_folders(root: Path) -> dict[str, str]:
    """Document id -> its folder, as the state file records it."""
    return state_of(root)["documents"]


def annotations_of(library: dict[str, Any], doc_id: str) -> list[dict[str, Any]]:
    """The emulator's annotations of one document (from `emulator.library()`), in annotations.json's order."""
    found = [item for item in library["annotations"] if item["document_id"] == doc_id]
    return sorted(found, key=lambda item: (item["created"], item["id"]))


# What a backup holds besides its documents' folders (and groups/, which these checks leave to group tests).
BACKUP_OWN_FILES = {"info.json", ".mendeley-backup.lock", "folders.json", "library.bib", "library.ris",
                    ".mendeley-backup-export.cache"}
TEMP_FOLDER = ".mendeley-backup-tmp"
# Files a run rewrites: their bytes may change between runs, their presence may not.
REWRITTEN = (".json", ".bib", ".ris")


def assert_backup_matches(root: Path, library: dict[str, Any],
                          also: Callable[[str], bool] = lambda path: False) -> None:
    """The backup in `root` holds exactly the user's library of `emulator.library()`: each document has the
    folder the state names, whose info.json "document" is the library's document without its `files`, whose
    "files" name each of its files, whose bytes have the library's size and SHA-1 `filehash`, and whose
    annotations.json holds its annotations. Nothing else: no other document, file, temporary file or empty
    folder, but the files whose relative path `also` accepts (a run's own additions, checked by the caller)."""
    documents = {document["id"]: document for document in library["documents"]}
    folders = document_folders(root)
    assert set(folders) == set(documents), \
        f"documents only in the backup: {sorted(set(folders) - set(documents))}, " \
        f"only in the library: {sorted(set(documents) - set(folders))}"
    expected = set(BACKUP_OWN_FILES)
    for doc_id, document in documents.items():
        folder = root / folders[doc_id]
        info = read_json(folder / "info.json")
        assert info["document"] == {key: value for key, value in document.items() if key != "files"}, doc_id
        remote_files = {item["id"]: item for item in document.get("files") or []}
        assert set(info["files"]) == set(remote_files), f"{folders[doc_id]}: files {info['files']}"
        for file_id, name in info["files"].items():
            data = (folder / name).read_bytes()
            assert (len(data), sha1(data)) == (remote_files[file_id]["size"], remote_files[file_id]["filehash"]), \
                f"{folders[doc_id]}/{name} differs from file {file_id} of the library"
            expected.add(f"{folders[doc_id]}/{name}")
        expected.add(f"{folders[doc_id]}/info.json")
        annotations = annotations_of(library, doc_id)
        if annotations:
            assert read_json(folder / "annotations.json") == annotations, folders[doc_id]
            expected.add(f"{folders[doc_id]}/annotations.json")
    present = {path for path in folder_files(root, skip_volatile=False) if not also(path)}
    assert present <= expected, f"files the library does not account for: {sorted(present - expected)}"
    missing = {path for path in expected - present if path not in BACKUP_OWN_FILES}
    assert not missing, f"missing from the backup: {sorted(missing)}"
    empty = [path for path in root.rglob("*") if path.is_dir() and not any(path.iterdir())]
    assert not (root / TEMP_FOLDER).exists() and not empty, f"left behind: {TEMP_FOLDER} or empty {empty}"


def assert_state_consistent(root: Path) -> None:
    """The state file parses and every document it lists is complete on disk: its info.json names the files
    the state records for it, each there with the SHA-1 the state records."""
    state = state_of(root)
    for doc_id, folder in state["documents"].items():
        info = read_json(root / folder / "info.json")
        recorded = state["entries"][doc_id]["files"]
        assert info["files"] == {file_id: record["name"] for file_id, record in recorded.items()}, folder
        for record in recorded.values():
            assert sha1((root / folder / record["name"]).read_bytes()) == record["sha1"], f"{folder}/{record['name']}"


def assert_nothing_lost(before: dict[str, str], root: Path) -> None:
    """Every file of an earlier `folder_files(root)` is still there, and the documents' own files (not the
    info.json, annotations and exports a run rewrites) still have the same bytes."""
    after = folder_files(root)
    missing = sorted(set(before) - set(after))
    changed = sorted(path for path, digest in before.items()
                     if path in after and not path.endswith(REWRITTEN) and after[path] != digest)
    assert not missing and not changed, f"lost: {missing}, changed: {changed}"


WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def assert_safe_component(name: str) -> None:
    """One path component any common file system takes as it is: what the tool promises of every name it makes."""
    assert name not in ("", ".", ".."), repr(name)
    assert len(name.encode()) <= 255, repr(name)
    assert name == unicodedata.normalize("NFC", name), repr(name)
    assert not re.search(r'[\x00-\x1f\x7f/\\:*?"<>|]', name), repr(name)
    assert not WINDOWS_DEVICE.match(name), repr(name)
    assert name.endswith(" et al.") or not name.endswith((".", " ")), repr(name)


def state_text(state: Any) -> str:
    """A BackupState's state file, whole, as BackupState.text gives it in parts."""
    text = state.text()
    return "".join([text.head, *text.documents, text.tail])


def state_json(state: Any) -> dict[str, Any]:
    """A BackupState as its state file holds it."""
    return json.loads(state_text(state))
