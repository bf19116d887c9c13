"""Running the real tool once, as a subprocess, and measuring it: exit status, output, wall time, CPU time and
peak resident memory of the tool's process alone (through bench/peak.py: see there why)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PEAK = Path(__file__).with_name("peak.py")


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
