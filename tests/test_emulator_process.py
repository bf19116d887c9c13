"""`python -m tests.emulator` as a program: start-up line, seeding at start, clean exit on signals."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.emulator import EmulatorProcess

REPO = Path(__file__).resolve().parents[1]


def test_prints_its_address_serves_and_exits_0_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match and int(match.group(2)) > 0
        assert requests.get(match.group(1) + "/documents", timeout=10).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert process.stdout.read() == ""  # exactly one line
    finally:
        process.kill()
        process.wait()


def test_sigint_also_exits_0() -> None:
    emulator = EmulatorProcess().start()
    assert emulator.process is not None
    emulator.process.send_signal(signal.SIGINT)
    assert emulator.process.wait(10) == 0


def test_seeded_at_start_like_the_control_endpoint(emulator: EmulatorProcess) -> None:
    with EmulatorProcess(seed_documents=25, seed=3, client_secret="s3cret") as started:
        at_start = started.library()
        token = requests.post(f"{started.url}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=("x", "s3cret"), timeout=10)  # fmt: skip
        assert token.status_code == 200
        assert started.stop() == 0
    emulator.seed(documents=25, seed=3)
    assert len(at_start["documents"]) == 25
    assert at_start == emulator.library()
