"""Running the real tool once, as a subprocess, and measuring it: exit status, output, wall time, CPU time and
the peak resident memory of that one process (from `os.wait4`, which returns the rusage of the child waited
for, unlike `RUSAGE_CHILDREN`, which keeps the maximum over every child ever waited for)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


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
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        return Measured(process.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
