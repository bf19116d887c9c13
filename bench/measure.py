"""Running the real tool once, as a subprocess, and measuring it: exit status, output, wall time, CPU time and
peak resident memory of the tool's process alone (through bench/peak.py: see there why)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PEAK = Path(__file__).with_name("peak.py")
REFERENCE_ITEMS = 200_000
REFERENCE_FILES = 2_000


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # user and system time of the tool's process, all its threads
    peak_bytes: int  # its peak resident memory (ru_maxrss)


def run_measured(command: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    """Run `command` to its end; stdout and stderr go through files so that no pipe can fill up."""
    with tempfile.TemporaryDirectory() as scratch:
        out, err, report = (Path(scratch) / name for name in ("stdout", "stderr", "report.json"))
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            subprocess.run([sys.executable, str(PEAK), str(report), *command], cwd=cwd, env=env,
                           stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, check=False)
        figures = json.loads(report.read_text())
        return Measured(stdout=out.read_text(errors="replace"), stderr=err.read_text(errors="replace"), **figures)


def reference_seconds() -> float:
    """How long this machine takes, now, for a fixed piece of work of the kinds a backup does (JSON, hashing, small
    files written and renamed, one thread): figures of two benchmarks compare only once scaled by it."""
    with tempfile.TemporaryDirectory(prefix="mendeley-bench-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        items = [{"id": f"{number:08d}", "title": f"On the consensus of graphs, part {number}",
                  "year": 1900 + number % 125} for number in range(REFERENCE_ITEMS)]
        text = json.dumps(items)
        json.loads(text)
        hashlib.sha1(text.encode()).hexdigest()
        for number in range(REFERENCE_FILES):
            temporary = folder / f"reference-{number}.tmp"
            temporary.write_bytes(text[number * 100:number * 100 + 1000].encode())
            os.replace(temporary, folder / f"reference-{number}")
        for number in range(REFERENCE_FILES):
            (folder / f"reference-{number}").unlink()
        return time.perf_counter() - started
