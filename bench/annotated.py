"""The cost of --annotated-pdfs on the benchmark's 1,000-document run: the same seeded library (one 50 KB file a
document, 20 ms of latency a request, one shared 8 MB/s link, --jobs 16, as bench/bench.py) backed up without the
option and with it, three runs each: the initial backup, a rerun with no change, and a rerun after a new highlight
on 1% of the documents; then the option turned on for the backup made without it, and off for the one made with
it. Prints one table: requests, wall and CPU time, peak memory, copies written and removed, the bytes written.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import BANDWIDTH, FILE_BYTES, JOBS, LATENCY_MS
from bench.measure import Measured, run_measured
from tests.emulator import EmulatorProcess
from tests.library import create_annotation
from tests.tool import BackupTool, Run

HEADER = ("backup", "run", "requests", "wall s", "cpu s", "peak MB", "copies written", "removed", "copies MB",
          "summary")
ON = "--annotated-pdfs"


def copies(backup: Path) -> dict[str, tuple[int, int]]:
    """Each annotated copy: (mtime, size)."""
    return {path.as_posix(): (path.stat().st_mtime_ns, path.stat().st_size)
            for path in backup.rglob("* (annotated).pdf")}


def highlight_one_percent(emulator: EmulatorProcess, documents: list[dict]) -> None:
    """A new highlight on every hundredth document with a PDF, through the API."""
    with emulator.api_session() as api:
        for document in documents[::100]:
            file = document["files"][0]
            create_annotation(api, document["id"], "highlight", filehash=file["filehash"],
                              positions=[{"top_left": {"x": 72, "y": 400}, "bottom_right": {"x": 272, "y": 388},
                                          "page": 1}], color={"r": 0, "g": 200, "b": 0})


def bench(emulator: EmulatorProcess, documents: int, option: list[str], tmp: Path) -> list[tuple[str, ...]]:
    emulator.reset()
    emulator.seed(documents=documents, files_per_document=1, file_size=FILE_BYTES, annotations_per_document=3,
                  seed=documents)
    tool = BackupTool(emulator, tmp)
    rows = []
    turned = ("turned on", [ON]) if not option else ("turned off", [])
    for run, given in (("initial", option), ("no change", option), ("1% highlighted", option), turned):
        if run == "1% highlighted":
            emulator.faults()
            highlight_one_percent(emulator, emulator.library()["documents"])
        before = copies(tool.backup) if tool.backup.exists() else {}
        emulator.faults(latency_ms=LATENCY_MS, bandwidth_bytes_per_s=BANDWIDTH)
        emulator.reset_stats()
        measured: Measured = run_measured(tool.command("--jobs", str(JOBS), *given), tmp, tool.environment())
        if measured.returncode != 0:
            raise SystemExit(f"{run} {option}: exit {measured.returncode}: {measured.stderr}")
        after = copies(tool.backup)
        written = [path for path, signature in after.items() if before.get(path) != signature]
        summary = Run(0, measured.stdout, "").summary
        rows.append(("with copies" if option else "without", run, str(emulator.stats()["total_requests"]),
                     f"{measured.wall_s:.1f}", f"{measured.cpu_s:.1f}", f"{measured.peak_bytes / 2**20:.0f}",
                     str(len(written)), str(len(set(before) - set(after))),
                     f"{sum(after[path][1] for path in written) / 1e6:.1f}",
                     f"new {summary.new} updated {summary.updated} annotations {summary.annotations}"))
        print("  " + "  ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1_000)
    arguments = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with EmulatorProcess() as emulator:
        for option in ([], [ON]):
            with tempfile.TemporaryDirectory(prefix="mendeley-bench-annotated-") as tmp:
                rows += bench(emulator, arguments.documents, option, Path(tmp))
    lines = [HEADER, *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    print(f"--annotated-pdfs on {arguments.documents:,} documents (one {FILE_BYTES // 1000} KB file each, 3 "
          f"annotations each; {LATENCY_MS} ms latency, {BANDWIDTH / 1e6:g} MB/s, --jobs {JOBS})")
    for line in lines:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
