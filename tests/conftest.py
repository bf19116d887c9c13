"""Pytest fixtures for the Mendeley API emulator (tests/emulator/).

- `emulator_process`: one `python -m tests.emulator` subprocess for the whole session.
- `emulator`: that process, reset (empty library, no faults, counters zeroed) before each test;
  an `EmulatorProcess` with `.url`, `.seed()`, `.faults()`, `.stats()`, `.library()`, `.token()`.
- `api`: a requests session on the emulator with a fresh bearer token; takes paths: api.get("/documents").
- `tool`: the real mendeley-backup.py with a saved login on the emulator (tests/tool.py's BackupTool).
- `other_emulator`: a second emulator process (another account, say, to restore into), reset before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator import ApiSession, EmulatorProcess
from tests.tool import BackupTool, compile_tool


@pytest.fixture(scope="session", autouse=True)
def compiled_tool() -> None:
    """The tool's modules byte-compiled once, not at each of the suite's runs of the tool."""
    compile_tool()


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def other_emulator_process() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as emulator:
        yield emulator


def _reset(emulator: EmulatorProcess) -> EmulatorProcess:
    if emulator.process is not None and emulator.process.poll() is not None:
        pytest.fail(f"the emulator has exited:\n{emulator.stderr_text()}")
    emulator.reset()
    return emulator


@pytest.fixture
def emulator(emulator_process: EmulatorProcess) -> EmulatorProcess:
    return _reset(emulator_process)


@pytest.fixture
def other_emulator(other_emulator_process: EmulatorProcess) -> EmulatorProcess:
    return _reset(other_emulator_process)


@pytest.fixture
def api(emulator: EmulatorProcess) -> Iterator[ApiSession]:
    with emulator.api_session() as session:
        yield session


@pytest.fixture
def tool(emulator: EmulatorProcess, tmp_path) -> BackupTool:
    """The tool with a saved login on the emulator, backing up into `tmp_path/backup`."""
    return BackupTool(emulator, tmp_path)
