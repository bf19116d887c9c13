"""Installing for daily use, as the README says: `make install` gives a `mendeley-backup` command (its own virtual
environment beside the tool's copy), `make uninstall` takes both away; the example config lists every key."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from pathlib import Path

from Config import CONFIG_KEYS, DEFAULTS, read_config_file
from tests.library import attach_file, create_document
from tests.test_portability import OLD_PYTHONS, run
from tests.tool import REPO, Summary, assert_backup_matches

EXAMPLE = REPO / "mendeley-backup.conf.example"


def make(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """make in the repository, building with the Python that runs the tests."""
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *arguments, f"PYTHON={sys.executable}"],
                          capture_output=True, text=True, env=env, timeout=600)


def tree(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


def test_make_install_gives_a_command_that_backs_up_and_make_uninstall_takes_it_away(emulator, api, tool):
    home = tool.tmp / "home"
    # PREFIX defaults to ~/.local; pip keeps the cache it has.
    environment = tool.environment({"HOME": str(home), "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")})
    installed = make("install", env=environment)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    command = home / ".local" / "bin" / "mendeley-backup"
    version = run([str(command), "--version"], tool)
    assert version.stdout == f"mendeley-backup 2.0.0 (Python {platform.python_version()}, mendeley SDK 0.3.2)\n"
    document = create_document(api, "Installed", ["Doe"])
    attach_file(api, document["id"], "paper.pdf", b"%PDF-1.4 installed\n" * 100)
    backup = run([str(command), *tool.command()[2:]], tool)
    assert backup.returncode == 0, backup.stderr
    assert backup.summary == Summary(new=1)
    assert_backup_matches(tool.backup, emulator.library())
    library = home / ".local" / "lib" / "mendeley-backup"
    assert (library / ".venv").is_dir()
    # Byte-compiled at install: no run compiles a module again.
    assert {path.name.split(".")[0] for path in (library / "__pycache__").glob("*.pyc")} == {
        path.stem for path in library.glob("*.py")}
    removed = make("uninstall", env=environment)
    assert removed.returncode == 0, removed.stderr
    assert tree(home / ".local") == ["bin", "lib"]  # the folders it may have made, empty


def test_make_install_wants_an_absolute_prefix(tmp_path):
    refused = make("install", "PREFIX=relative/place")
    assert refused.returncode != 0 and "PREFIX must be an absolute path, not relative/place" in refused.stdout
    assert not (REPO / "relative").exists()


def test_make_install_with_an_older_python_names_the_python_needed_and_installs_nothing(tmp_path):
    python = OLD_PYTHONS[-1]
    refused = subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "install", f"PREFIX={tmp_path}",
                              f"PYTHON={python}"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert f"mendeley-backup: Python 3.10 or newer is needed; this is Python {python.parts[-3]}" in refused.stderr
    assert tree(tmp_path) == []


def test_the_readmes_config_file_example_is_a_config_file_of_the_tool(tmp_path):
    blocks = re.findall(r"```\n(\[login-method\]\n.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        (tmp_path / "example.conf").write_text(block)
        values = read_config_file(tmp_path / "example.conf", required=True)
        assert values["output_dir"] == "~/Documents/mendeley-backup" and values["keep_trashed"] is True


def test_the_example_config_lists_every_key_with_its_default():
    text = EXAMPLE.read_text(encoding="utf-8")
    for _, key in CONFIG_KEYS:
        assert re.search(rf"^{key} =", text, re.M) or f"`{key}`" in text, key  # set, or named as another spelling
    values = read_config_file(EXAMPLE, required=True)
    assert set(values) == {name for name, _ in CONFIG_KEYS.values()}
    assert values.pop("client_secret") == "" and DEFAULTS["client_secret"] is None  # empty: none
    assert values == {name: DEFAULTS[name] for name in values}
