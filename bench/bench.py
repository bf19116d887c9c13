"""`make bench`: the real tool, as a subprocess, against the emulator over real sockets, on libraries of
1,000 and 10,000 documents (one 50 KB file each), with 20 ms of latency on every request and one shared
link of limited bandwidth for file content. Three runs per library: the initial backup, a rerun with no
change, and a rerun after 1% of the documents changed. Prints one table: requests against the floor for
that work, wall time, wall time against bytes over bandwidth, and the tool's peak memory.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.changes import Changes, change_library
from bench.measure import Measured, run_measured
from tests.emulator import EmulatorProcess
from tests.tool import BackupTool, Run, Summary, state_of

SIZES = (1_000, 10_000)
FILE_BYTES = 50_000
LATENCY_MS = 20
BANDWIDTH = 4_000_000  # bytes per second, one link shared by every download
PAGE = 500  # documents per listing page (the API's maximum)
# The listings every incremental run must make whatever changed: documents modified since the cut-off,
# documents deleted since, the trash, the folders, annotations modified since and annotations deleted since.
INCREMENTAL_LISTINGS = 6
# The listings an initial (full) run makes besides the document pages: the trash, the folders, the annotations.
FULL_LISTINGS = 3

FLOORS = f"""Floors (requests the work needs at the least; pages hold {PAGE} documents):
  initial  = 2 x files (GET /files/{{id}} and its content) + ceil(documents/{PAGE}) document pages
             + {FULL_LISTINGS} (first pages of the trash, folders and annotations listings)
  no change = {INCREMENTAL_LISTINGS} (documents modified since, /deleted_documents, trash, folders,
             annotations modified since, annotations deleted since)
  1%       = {INCREMENTAL_LISTINGS} + 2 x new files + the document pages beyond the first for the changed documents"""


@dataclass(frozen=True)
class Row:
    documents: int
    run: str
    requests: int
    floor: int
    bytes_served: int
    measured: Measured
    correct: bool  # the run said what it should have done, and the backup holds the library

    def cells(self, bandwidth: float) -> list[str]:
        transfer = self.bytes_served / bandwidth
        return [f"{self.documents:,}", self.run, str(self.requests), str(self.floor),
                f"{self.requests / self.floor:.2f}", f"{self.measured.wall_s:.1f}", f"{self.measured.cpu_s:.1f}",
                f"{self.bytes_served / 1e6:.1f}", f"{transfer:.1f}" if self.bytes_served else "-",
                f"{self.measured.wall_s / transfer:.2f}" if self.bytes_served else "-",
                f"{self.measured.peak_bytes / 2**20:.0f}",
                "ok" if self.correct else "WRONG"]


HEADER = ["docs", "run", "requests", "floor", "ratio", "wall s", "cpu s", "MB", "MB/bw s", "wall/(MB/bw)", "peak MB",
          "result"]


def table(rows: list[Row], bandwidth: float) -> str:
    lines = [HEADER] + [row.cells(bandwidth) for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
                     for line in lines)


def initial_floor(documents: int, files: int) -> int:
    return 2 * files + math.ceil(documents / PAGE) + FULL_LISTINGS


def change_floor(changes: Changes) -> int:
    extra_pages = max(0, math.ceil(len(changes.listed) / PAGE) - 1)
    return INCREMENTAL_LISTINGS + extra_pages + 2 * len(changes.new_files)


def holds_library(backup: Path, library: dict[str, Any]) -> bool:
    """Whether the backup's state records exactly the library's documents, each with its files' SHA-1."""
    held = {doc_id: {file_id: record["sha1"] for file_id, record in entry["files"].items()}
            for doc_id, entry in state_of(backup)["entries"].items()}
    return held == {document["id"]: {item["id"]: item["filehash"] for item in document.get("files", [])}
                    for document in library["documents"]}


class LibraryBench:
    """The three runs over one seeded library, in one backup folder."""

    def __init__(self, emulator: EmulatorProcess, tmp: Path, tool_args: list[str], bandwidth: float) -> None:
        self.emulator = emulator
        self.tool = BackupTool(emulator, tmp)
        self.tool_args = tool_args
        self.faults = {"latency_ms": LATENCY_MS, "bandwidth_bytes_per_s": bandwidth}
        self.environment = {**os.environ, "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
                            "XDG_CACHE_HOME": str(tmp / "cache")}

    def run(self, documents: int) -> list[Row]:
        seeded = self.emulator.seed(documents=documents, files_per_document=1, file_size=FILE_BYTES, seed=documents)
        self.emulator.faults(**self.faults)
        rows = [self.measure(documents, "initial", initial_floor(documents, documents), Summary(new=documents)),
                self.measure(documents, "no change", INCREMENTAL_LISTINGS, Summary())]
        self.emulator.faults()
        changes = change_library(self.emulator, seeded["documents"], FILE_BYTES)
        self.emulator.faults(**self.faults)
        expected = Summary(updated=len(changes.listed), removed=len(changes.deleted))
        rows.append(self.measure(documents, "1% changed", change_floor(changes), expected))
        return rows

    def measure(self, documents: int, run: str, floor: int, expected: Summary) -> Row:
        self.emulator.reset_stats()
        measured = run_measured(self.tool.command(*self.tool_args), self.tool.tmp, self.environment)
        stats = self.emulator.stats()
        correct = measured.returncode == 0 and Run(0, measured.stdout, "").summary == expected \
            and holds_library(self.tool.backup, self.emulator.library())
        if not correct:
            print(f"{run} over {documents} documents went wrong (exit {measured.returncode}):\n{measured.stdout}"
                  f"{measured.stderr}", file=sys.stderr)
        row = Row(documents, run, stats["total_requests"], floor, stats["bytes_served"], measured, correct)
        print(f"  {documents:,} {run}: {row.requests} requests {dict(sorted(stats['by_endpoint'].items()))} "
              f"{measured.wall_s:.1f} s", file=sys.stderr, flush=True)
        return row


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda text: [int(size) for size in text.split(",")], default=list(SIZES),
                        help="library sizes, comma-separated (default: 1000,10000)")
    parser.add_argument("--bandwidth", type=float, default=BANDWIDTH, help="bytes per second of the shared link")
    parser.add_argument("--tool-args", default="", help="extra arguments for the tool, e.g. '--jobs 8'")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    rows: list[Row] = []
    with EmulatorProcess() as emulator:
        for documents in args.sizes:
            emulator.reset()
            with tempfile.TemporaryDirectory(prefix="mendeley-bench-") as tmp:
                rows += LibraryBench(emulator, Path(tmp), args.tool_args.split(), args.bandwidth).run(documents)
    print(f"mendeley-backup benchmark: one {FILE_BYTES // 1000} KB file per document, {LATENCY_MS} ms latency per "
          f"request, a shared link of {args.bandwidth / 1e6:g} MB/s for file content")
    print(table(rows, args.bandwidth))
    print(FLOORS)
    return 0 if all(row.cells(args.bandwidth)[-1] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
