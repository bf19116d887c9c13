"""The tool where researchers are, as they start it: by a Python without the packages or too old for it, on a
system without POSIX's modules, under any umask, with the client secret in the environment."""

from __future__ import annotations

import ast
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import Bootstrap
from tests.library import attach_file, create_annotation, create_document, trash_document
from tests.tool import REPO, SCRIPT, SECRET, BackupTool, Run, Summary, assert_backup_matches, read_json
from TokenStore import Token, save_token

# The Python of the operating system itself, without the tool's packages: how `./mendeley-backup.py` starts.
SYSTEM_PYTHON = Path("/usr/bin/python3")
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
OLD_PYTHONS = sorted(PYENV_VERSIONS.glob("3.[6-9].*/bin/python3"))
POSIX_ONLY = ("fcntl", "termios", "pwd", "grp")
# Runs the script (as Python runs one: its folder first on the path) with POSIX's own modules made unimportable, as
# on Windows.
WITHOUT_POSIX = ("import os, runpy, sys\n"
                 f"for name in {POSIX_ONLY!r}:\n"
                 "    sys.modules[name] = None\n"
                 "sys.argv = sys.argv[1:]\n"
                 "sys.path.insert(0, os.path.dirname(sys.argv[0]))\n"
                 "runpy.run_path(sys.argv[0], run_name='__main__')\n")
PDF = b"%PDF-1.4 portable\n" * 300


JOBS_REFUSED = "--jobs: '0' is neither auto nor a whole number of 1 or more"


def run(command: list[str], tool: BackupTool, env: dict[str, str] | None = None) -> Run:
    done = subprocess.run(command, capture_output=True, text=True, env=tool.environment(env), cwd=tool.tmp,
                          stdin=subprocess.DEVNULL, timeout=300)
    return Run(done.returncode, done.stdout, done.stderr)


def clone_without_venv(tmp: Path) -> Path:
    """The tool's own files, as a fresh clone has them before `make venv`."""
    clone = tmp / "clone"
    clone.mkdir()
    for module in REPO.glob("*.py"):
        shutil.copy2(module, clone)
    return clone


def system_python() -> str:
    """The system's python3, checked to lack the tool's packages (else the tests using it would prove nothing)."""
    assert SYSTEM_PYTHON.is_file(), f"{SYSTEM_PYTHON} is missing"
    lacks = subprocess.run([str(SYSTEM_PYTHON), "-c", "import tqdm, requests, bidict"], capture_output=True)
    assert lacks.returncode != 0, f"{SYSTEM_PYTHON} has the tool's packages"
    return str(SYSTEM_PYTHON)


def paper(api) -> dict:
    document = create_document(api, "Portable paper", ["Doe"])
    attach_file(api, document["id"], "paper.pdf", PDF)
    return document


# Started by a Python without the packages, or too old ---------------------------------------------------------

def test_the_system_python_reruns_the_script_under_the_venv_beside_it(emulator, api, tool):
    clone = clone_without_venv(tool.tmp)
    (clone / ".venv").symlink_to(sys.prefix)  # this suite's virtual environment, as `make venv` would make it
    paper(api)
    command = [system_python(), str(clone / "mendeley-backup.py"), *tool.command()[2:]]
    backup = run(command, tool)
    assert backup.returncode == 0, backup.stderr
    assert backup.summary == Summary(new=1) and backup.stderr == ""
    assert_backup_matches(tool.backup, emulator.library())
    version = run([system_python(), str(clone / "mendeley-backup.py"), "--version"], tool)
    assert version.stdout.startswith(f"mendeley-backup 2.0.0 (Python {sys.version.split()[0]},")  # the venv's
    usage = run([system_python(), str(clone / "mendeley-backup.py"), "--jobs", "0"], tool)
    assert usage.returncode == 2 and JOBS_REFUSED in usage.stderr  # its exit status passed on


def test_the_system_python_without_a_venv_says_in_one_line_how_to_set_up(tool):
    clone = clone_without_venv(tool.tmp)
    started = run([system_python(), str(clone / "mendeley-backup.py"), "--help"], tool)
    assert started.returncode == 1 and started.stdout == ""
    assert started.stderr.count("\n") == 1 and "Traceback" not in started.stderr
    assert started.stderr.startswith(f"mendeley-backup: this Python ({SYSTEM_PYTHON}) lacks the packages")
    assert f'run "make venv" in {clone}' in started.stderr and "tqdm" in started.stderr


def test_old_pythons_are_there_to_test_with():
    assert {path.parts[-3].rsplit(".", 1)[0] for path in OLD_PYTHONS} >= {"3.8", "3.9"}, PYENV_VERSIONS


@pytest.mark.parametrize("python", OLD_PYTHONS, ids=lambda path: path.parts[-3])
def test_an_older_python_is_told_in_one_line_which_python_is_needed(tool, python):
    for where in (SCRIPT, clone_without_venv(tool.tmp) / "mendeley-backup.py"):
        started = run([str(python), str(where), "--version"], tool)
        version = python.parts[-3]
        assert (started.returncode, started.stdout) == (1, "")
        assert started.stderr == f"mendeley-backup: Python 3.10 or newer is needed; this is Python {version} " \
                                 f"({python})\n"


def test_on_windows_the_rerun_waits_for_the_script_and_ends_with_its_exit_status(tool):
    """Windows has no exec that replaces a process: the rerun is a child process, waited for."""
    as_on_windows = "import os, sys\nimport Bootstrap\nos.name = 'nt'\n" \
                    "Bootstrap.rerun(sys.executable, sys.argv[1], sys.argv[2:])\nprint('not reached')\n"
    child = run([sys.executable, "-c", as_on_windows, str(SCRIPT), "--jobs", "0"], tool,
                env={"PYTHONPATH": str(REPO)})
    assert child.returncode == 2 and child.stdout == "" and JOBS_REFUSED in child.stderr


def test_the_packages_looked_for_are_those_the_tool_imports():
    local = {path.stem for path in REPO.glob("*.py")}
    imported = set()
    for module in REPO.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert set(Bootstrap.PACKAGES) == imported - local - set(sys.stdlib_module_names)


# Without POSIX's modules --------------------------------------------------------------------------------------

def test_a_backup_runs_without_fcntl_termios_pwd_and_grp(emulator, api, tool):
    first = paper(api)
    create_annotation(api, first["id"], "note", text="No POSIX here")
    create_document(api, "Second paper", ["Roe"])
    command = [sys.executable, "-c", WITHOUT_POSIX, *tool.command()[1:]]
    backup = run(command, tool)
    assert backup.returncode == 0, backup.stderr
    assert backup.summary == Summary(new=2, annotations=1)
    assert backup.stderr == f"mendeley-backup: This system cannot lock files: make sure that no other run works " \
                            f"on {tool.backup} at the same time\n"
    assert_backup_matches(tool.backup, emulator.library())
    again = run(command, tool)
    assert again.returncode == 0 and again.summary == Summary()


# Modes --------------------------------------------------------------------------------------------------------

def modes(root: Path) -> dict[str, tuple[bool, int]]:
    return {path.relative_to(root).as_posix(): (path.is_dir(), stat.S_IMODE(path.lstat().st_mode))
            for path in [root, *root.rglob("*")]}


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_the_backup_follows_the_umask_and_the_token_file_stays_private(emulator, api, tool, umask):
    kept, trashed = paper(api), create_document(api, "Trashed paper", ["Roe"])
    create_annotation(api, kept["id"], "note", text="a note")
    group = emulator.create_group("Lab")
    attach_file(api, create_document(api, "Group paper", ["Poe"], group_id=group["id"])["id"], "g.pdf", PDF)
    token = emulator.token()
    tool.save_token({**token, "expires_at": time.time() - 60})  # the run refreshes it, and saves the new one
    old = os.umask(umask)
    try:
        tool.run("--groups", "all", "--keep-trashed")
        trash_document(api, trashed["id"])
        tool.run("--groups", "all", "--keep-trashed")
    finally:
        os.umask(old)
    found = modes(tool.backup)
    assert {".trash", "groups/Lab/Poe/2024 - Group paper/g.pdf", "library.bib", ".mendeley-backup.lock",
            "Doe/2024 - Portable paper/annotations.json"} <= set(found)
    wrong = {path: oct(mode) for path, (is_dir, mode) in found.items()
             if mode != (0o777 if is_dir else 0o666) & ~umask}
    assert not wrong, wrong
    assert read_json(tool.token_file)["refresh_token"] != token["refresh_token"]
    login = modes(tool.token_file.parent)
    assert login["token.json"] == (False, 0o600) and login["token.json.lock"] == (False, 0o600)


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_token_file_and_its_temporary_files_are_private_whatever_the_umask(tmp_path, monkeypatch, umask):
    seen = {}
    rename = os.replace

    def spying_rename(source, target):
        seen[Path(source).name] = stat.S_IMODE(os.lstat(source).st_mode)
        rename(source, target)

    monkeypatch.setattr(os, "replace", spying_rename)
    old = os.umask(umask)
    try:
        save_token(tmp_path / "login" / "token", Token.from_response({"access_token": "a"}, time.time()))
    finally:
        os.umask(old)
    assert list(seen.values()) == [0o600] and next(iter(seen)).endswith(".part")
    assert stat.S_IMODE((tmp_path / "login" / "token").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "login").stat().st_mode) == 0o700
    assert json.loads((tmp_path / "login" / "token").read_text())["access_token"] == "a"


# The client secret in the environment -------------------------------------------------------------------------

def test_the_client_secret_may_come_from_the_environment(emulator, api, tool):
    paper(api)
    tool.save_token({**emulator.token(), "expires_at": time.time() - 60})  # a refresh, which needs the secret
    config = tool.tmp / "config" / "mendeley-backup" / "mendeley-backup.conf"
    config.parent.mkdir(parents=True)
    config.write_text("[login-method]\nclient-secret = not-the-secret\n")  # the environment wins over the file
    command = [*tool.command(login=False), "-t", str(tool.token_file)]
    backup = run(command, tool, env={"MENDELEY_CLIENT_SECRET": SECRET})
    assert backup.returncode == 0, backup.stderr
    assert backup.summary == Summary(new=1) and SECRET not in " ".join(command)
    tool.save_token({**emulator.token(), "expires_at": time.time() - 60})
    refused = run([*command, "-s", "not-the-secret"], tool, env={"MENDELEY_CLIENT_SECRET": SECRET})
    assert refused.returncode == 1 and "invalid_client" in refused.error_line  # the command line wins over both


def test_malloc_arenas_are_limited_with_glibc_on_linux_only_and_never_against_the_users_setting(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert Bootstrap.limit_malloc_arenas() is glibc
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert Bootstrap.limit_malloc_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setattr(sys, "platform", "win32")
    assert Bootstrap.limit_malloc_arenas() is False
