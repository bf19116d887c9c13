"""`python bench/peak.py REPORT COMMAND...`: run COMMAND, then write its exit status, wall time, CPU time and
peak memory to the file REPORT as JSON, and exit with its status.

The command is started from this small process on purpose: Linux counts in a child's `ru_maxrss` what it
held before it exec'd, which for a child of the benchmark (holding a 10,000-document library) is the
benchmark's memory, not the tool's.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    report, command = Path(sys.argv[1]), sys.argv[2:]
    start = time.monotonic()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
    report.write_text(json.dumps({"returncode": process.returncode, "wall_s": wall,
                                  "cpu_s": usage.ru_utime + usage.ru_stime, "peak_bytes": usage.ru_maxrss * 1024}))
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
