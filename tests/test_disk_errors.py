"""A full disk or a read-only backup folder stops the run with one clear line and exit 1, the state consistent,
nothing backed up lost; once the problem is fixed the next run completes the backup.

The backup lives on a small tmpfs mounted in a mount namespace of its own (`unshare` as a mapped root), which
works with or without root privileges and leaves nothing mounted behind if a test dies: the tool runs inside the
namespace through `nsenter`, the test reads the backup through `/proc/<pid>/root`. As root, chmod would not stop
a write; a read-only remount does, for everyone. They need util-linux's `unshare` and `nsenter` (part of every
Debian); without them these tests fail rather than skip.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.library import attach_file, create_document, update_document
from tests.tool import (
    TEMP_FOLDER,
    BackupTool,
    assert_backup_matches,
    assert_nothing_lost,
    assert_state_consistent,
    folder_files,
)


class PrivateTmpfs:
    """A tmpfs of `size` mounted at `mountpoint` for the namespace's processes only, while the context lasts."""

    def __init__(self, mountpoint: Path, size: str) -> None:
        self.mountpoint = mountpoint
        self.size = size
        self.keeper: subprocess.Popen[str] | None = None

    def __enter__(self) -> PrivateTmpfs:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        script = f'mount -t tmpfs -o size={self.size} tmpfs "$1" && echo mounted && exec sleep 3600'
        self.keeper = subprocess.Popen(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
                                        str(self.mountpoint)], stdout=subprocess.PIPE, text=True)
        assert self.keeper.stdout is not None and self.keeper.stdout.readline() == "mounted\n", "tmpfs not mounted"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.keeper is not None
        self.keeper.kill()
        self.keeper.communicate()

    @property
    def view(self) -> Path:
        """The mounted folder as the test (outside the namespace) sees it."""
        assert self.keeper is not None
        return Path(f"/proc/{self.keeper.pid}/root") / self.mountpoint.relative_to("/")

    def enter(self) -> list[str]:
        """The command prefix that runs a command inside the namespace."""
        assert self.keeper is not None
        return ["nsenter", "--target", str(self.keeper.pid), "--user", "--mount", "--preserve-credentials", "--"]

    def remount(self, options: str) -> None:
        subprocess.run([*self.enter(), "mount", "-o", f"remount,{options}", str(self.mountpoint)], check=True)


class ToolOnTmpfs(BackupTool):
    """The tool backing up into `<tmpfs>/backup`, run inside the tmpfs's namespace."""

    def __init__(self, emulator: Any, tmp: Path, disk: PrivateTmpfs) -> None:
        super().__init__(emulator, tmp)
        self.disk = disk
        self.backup = disk.mountpoint / "backup"
        self.seen = disk.view / "backup"  # the same folder, from outside the namespace

    def command(self, *args: str, **options: Any) -> list[str]:
        return [*self.disk.enter(), *super().command(*args, **options)]


@pytest.fixture
def disk(tmp_path) -> Iterator[PrivateTmpfs]:
    with PrivateTmpfs(tmp_path / "disk", "400k") as mounted:
        yield mounted


@pytest.fixture
def tool(emulator, tmp_path, disk) -> ToolOnTmpfs:
    return ToolOnTmpfs(emulator, tmp_path, disk)


def assert_stopped_cleanly(tool: ToolOnTmpfs, words: str) -> None:
    """A run stops with exit 1 and one line naming the problem, its state consistent, no temporary file left."""
    stderr = tool.run(expect=1).stderr
    assert len(stderr.strip().splitlines()) == 1 and words in stderr, stderr
    assert_state_consistent(tool.seen)
    assert not (tool.seen / TEMP_FOLDER).exists()


def assert_completes_once_fixed(emulator: Any, tool: ToolOnTmpfs, remount: str) -> None:
    tool.disk.remount(remount)
    tool.run()
    assert_backup_matches(tool.seen, emulator.library())


def add_big_documents(api: Any, count: int, size: int) -> None:
    for number in range(count):
        document = create_document(api, f"Big paper {number}", ["Large"])
        attach_file(api, document["id"], f"big-{number}.pdf", bytes([number]) * size)


def test_a_full_disk_stops_the_first_run_and_the_next_completes(emulator, tool):
    emulator.seed(documents=40, files_per_document=1, file_size=20_000, seed=3)
    assert_stopped_cleanly(tool, "the disk is full")
    assert_completes_once_fixed(emulator, tool, "size=8m")


def test_a_full_disk_stops_an_incremental_run_losing_nothing(emulator, api, tool):
    emulator.seed(documents=10, files_per_document=1, file_size=10_000, seed=4)
    tool.run()
    before = folder_files(tool.seen)
    update_document(api, emulator.library()["documents"][0]["id"], abstract="Changed while the disk filled up.")
    add_big_documents(api, 12, 40_000)
    assert_stopped_cleanly(tool, "the disk is full")
    assert_nothing_lost(before, tool.seen)
    assert_completes_once_fixed(emulator, tool, "size=8m")


def test_a_read_only_backup_folder_stops_the_run_and_changes_nothing(emulator, api, tool, disk):
    emulator.seed(documents=10, files_per_document=1, file_size=10_000, seed=4)
    tool.run()
    before = folder_files(tool.seen, skip_volatile=False)
    update_document(api, emulator.library()["documents"][0]["id"], abstract="Changed while read-only.")
    add_big_documents(api, 2, 1000)
    disk.remount("ro")
    assert_stopped_cleanly(tool, "read-only file system")
    assert folder_files(tool.seen, skip_volatile=False) == before
    assert_completes_once_fixed(emulator, tool, "rw")
