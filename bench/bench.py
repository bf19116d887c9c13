"""`make bench`: the real tool with its default settings, as a subprocess, against the emulator over real sockets.

Two parts, one table:
- the link: libraries of 1,000 and 10,000 documents (one 50 KB file each) behind 20 ms of latency a request and
  one shared link of limited bandwidth, and the 1,000 behind 100 ms; the initial backup, a rerun with no change
  and a rerun after 1% of the documents changed, and on the 1,000 the initial backup again with --annotated-pdfs
  (three annotations a document). The initial backup's wall time is set against the least the link allows:
  max(bytes / bandwidth, the latency floor at the concurrency the server saw);
- the tool's own cost: libraries of 30,000 and 100,000 documents with 1 KB files and no latency, where only the
  tool's CPU, memory and disk count.

Then the issue's targets, each met or missed; exits 1 if one is missed or a run did the wrong thing.
`--quick` leaves out the 30,000 and 100,000 rows (two minutes instead of about fourteen).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from BackupFolder import TEMP_DIR, AtomicWriter, BackupFolder
from BackupWorker import doubtful_files
from bench.changes import Changes, change_library
from bench.measure import Measured, reference_seconds, run_measured
from MendeleyApi import ANNOTATION_PAGE_LIMIT, PAGE_LIMIT
from tests.emulator import EmulatorProcess
from tests.tool import BackupTool, Run, Summary, assert_backup_matches, compile_tool, state_of

BANDWIDTH = 8_000_000  # bytes per second, one link shared by every download
LINK_FILE_BYTES = 50_000
SCALE_FILE_BYTES = 1_000
ANNOTATIONS = 3  # per document of the 1,000-document library, for --annotated-pdfs
COPY = " (annotated).pdf"
# The listings every incremental run must make whatever changed: documents modified since the cut-off,
# documents deleted since, the trash, the folders, annotations modified since and annotations deleted since.
INCREMENTAL_LISTINGS = 6


@dataclass(frozen=True)
class Library:
    """One benchmark library and the conditions it is backed up under."""

    documents: int
    file_bytes: int
    latency_ms: int
    bandwidth: int | None  # bytes per second for file content, None for no limit
    annotations: int = 0  # per document
    changed_runs: bool = True  # also the rerun with no change and the 1% rerun

    @property
    def label(self) -> str:
        if self.bandwidth is None:
            return "no latency"
        return f"{self.latency_ms} ms, {self.bandwidth / 1e6:g} MB/s"


LINK = [Library(1_000, LINK_FILE_BYTES, 20, BANDWIDTH, annotations=ANNOTATIONS),
        Library(1_000, LINK_FILE_BYTES, 100, BANDWIDTH, changed_runs=False),
        Library(10_000, LINK_FILE_BYTES, 20, BANDWIDTH)]
SCALE = [Library(30_000, SCALE_FILE_BYTES, 0, None), Library(100_000, SCALE_FILE_BYTES, 0, None)]

FLOORS = f"""Floors (requests the work needs at the least; a page holds {PAGE_LIMIT} documents, \
{ANNOTATION_PAGE_LIMIT} annotations):
  initial   = 2 x files (GET /files/{{id}} and its content) + the document pages + the annotation pages
              + 2 (the first pages of the trash and folders listings)
  no change = {INCREMENTAL_LISTINGS} (documents modified since, /deleted_documents, trash, folders, annotations modified
              since, annotations deleted since)
  1%        = {INCREMENTAL_LISTINGS} + 2 x new files + the document pages beyond the first for the changed documents
Link floor (initial backups): max(bytes served / bandwidth, files x 2 requests x latency / the most requests in
  flight at once, as the server counted them); ratio = wall / link floor."""


@dataclass(frozen=True)
class Row:
    library: Library
    documents: int  # documents in the library at this run
    run: str
    requests: int
    floor: int
    files: int  # files the run downloaded (2 requests each)
    bytes_served: int
    in_flight_peak: int
    measured: Measured
    problem: str | None  # what the run did wrong, if anything

    @property
    def initial(self) -> bool:
        return self.run.startswith("initial")

    @property
    def link_floor_s(self) -> float | None:
        """The least time the link allows the run: bytes over bandwidth, or the requests' latency spread over
        the concurrency reached, whichever is more."""
        if self.library.bandwidth is None or not self.initial:
            return None
        latency_floor = self.files * 2 * self.library.latency_ms / 1000 / max(1, self.in_flight_peak)
        return max(self.bytes_served / self.library.bandwidth, latency_floor)

    @property
    def link_ratio(self) -> float | None:
        floor = self.link_floor_s
        return None if floor is None else self.measured.wall_s / floor

    @property
    def cpu_ms_per_document(self) -> float:
        return self.measured.cpu_s / self.documents * 1000

    @property
    def peak_mb(self) -> float:
        return self.measured.peak_bytes / 2**20

    def cells(self) -> list[str]:
        floor, ratio = self.link_floor_s, self.link_ratio
        return [f"{self.documents:,}", self.library.label, self.run, str(self.requests), str(self.floor),
                f"{self.requests / self.floor:.2f}", str(self.in_flight_peak), f"{self.measured.wall_s:.1f}",
                "-" if floor is None else f"{floor:.1f}", "-" if ratio is None else f"{ratio:.2f}",
                f"{self.measured.cpu_s:.1f}", f"{self.cpu_ms_per_document:.2f}", f"{self.peak_mb:.0f}",
                "ok" if self.problem is None else "WRONG"]


HEADER = ["docs", "link", "run", "requests", "floor", "ratio", "in flight", "wall s", "link floor s", "wall/floor",
          "cpu s", "cpu ms/doc", "peak MB", "result"]


def table(rows: list[Row]) -> str:
    lines = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
                     for line in lines)


def initial_floor(library: dict) -> tuple[int, int]:
    """The initial backup's request floor, and the files it downloads."""
    documents = library["documents"]
    files = sum(len(document.get("files", [])) for document in documents)
    annotations = len(library.get("annotations", []))
    pages = math.ceil(len(documents) / PAGE_LIMIT) + max(1, math.ceil(annotations / ANNOTATION_PAGE_LIMIT))
    return 2 * files + pages + 2, files


def change_floor(changes: Changes) -> int:
    extra_pages = max(0, math.ceil(len(changes.listed) / PAGE_LIMIT) - 1)
    return INCREMENTAL_LISTINGS + extra_pages + 2 * len(changes.new_files)


@dataclass
class LibraryBench:
    """Runs of the tool with its default settings, backing up the emulator's library into `tmp/backup`."""

    emulator: EmulatorProcess
    library: Library
    tmp: Path
    rows: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tool = BackupTool(self.emulator, self.tmp)
        self.faults = {"latency_ms": self.library.latency_ms}
        if self.library.bandwidth is not None:
            self.faults["bandwidth_bytes_per_s"] = self.library.bandwidth

    def all_runs(self, document_ids: list[str]) -> None:
        """The initial backup, then (where the library asks for them) a rerun with no change and a rerun after 1%
        of the documents changed."""
        self.initial("initial")
        if not self.library.changed_runs:
            return
        self.measure("no change", INCREMENTAL_LISTINGS, 0, Summary(), self.listed_again())
        self.emulator.faults()  # changes made quickly, by another client
        changes = change_library(self.emulator, document_ids, self.library.file_bytes)
        self.measure("1% changed", change_floor(changes), len(changes.new_files),
                     Summary(updated=len(changes.listed), removed=len(changes.deleted)), None)

    def initial(self, run: str, *options: str) -> None:
        library = self.emulator.library()
        floor, files = initial_floor(library)
        expected = Summary(new=len(library["documents"]), annotations=len(library.get("annotations", [])))
        self.measure(run, floor, files, expected, None, *options)

    def listed_again(self) -> str | None:
        """The next run lists documents modified since the cut-off the last one saved (the server's `Date`
        minus an overlap); after a backup of a seeded library, whose documents carry historical times, none."""
        cutoff = state_of(self.tool.backup)["last_backup_time"]
        with self.emulator.api_session() as api:
            count = int(api.get("/documents", params={"modified_since": cutoff, "limit": 1}).headers["Mendeley-Count"])
        return f"{count} documents listed again since the cut-off {cutoff}" if count else None

    def measure(self, run: str, floor: int, files: int, expected: Summary, problem: str | None,
                *options: str) -> None:
        self.emulator.faults(**self.faults)
        self.emulator.reset_stats()
        measured = run_measured(self.tool.command(*options), self.tool.tmp, self.tool.environment())
        stats = self.emulator.stats()
        self.emulator.faults()
        library = self.emulator.library()
        problem = problem or self.check(measured, expected, library, options)
        if problem:
            print(f"{run} with {len(library['documents'])} documents went wrong: {problem}", file=sys.stderr)
        row = Row(self.library, len(library["documents"]), run, stats["total_requests"], floor, files,
                  stats["bytes_served"], stats["in_flight_peak"], measured, problem)
        self.rows.append(row)
        print(f"  {row.documents:,} ({self.library.label}) {run}: {row.requests} requests, "
              f"{measured.wall_s:.1f} s, {measured.cpu_s:.1f} s CPU, {row.peak_mb:.0f} MB", file=sys.stderr,
              flush=True)

    def check(self, measured: Measured, expected: Summary, library: dict, options: tuple[str, ...]) -> str | None:
        """What is wrong with a run: its exit status, its summary, or a backup that does not hold the library."""
        if measured.returncode != 0:
            return f"exit status {measured.returncode}: {measured.stderr.strip()[-500:]}"
        summary = Run(0, measured.stdout, "").summary
        if summary != expected:
            return f"summary {summary}, expected {expected}"
        annotated = "--annotated-pdfs" in options
        try:
            assert_backup_matches(self.tool.backup, library, also=lambda path: annotated and path.endswith(COPY))
        except AssertionError as error:
            return f"the backup differs from the library: {str(error)[:500]}"
        if annotated and not any(self.tool.backup.rglob(f"*{COPY}")):
            return "--annotated-pdfs made no annotated copy"
        return None


@dataclass(frozen=True)
class StatCheck:
    """The check every plain run makes of every backed-up file (a stat each against the state's size and mtime)."""

    documents: int
    files: int
    seconds: float  # the best of a few, in this process, on a backup the runs made


def stat_check(backup: Path) -> StatCheck:
    folder = BackupFolder(backup, AtomicWriter(backup / TEMP_DIR))
    state = folder.load_state()
    assert state is not None
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        doubts = doubtful_files(folder, state)
        timings.append(time.perf_counter() - started)
    assert not doubts, f"{len(doubts)} documents' files differ from the state"
    return StatCheck(len(state.entries), sum(len(entry.files) for entry in state.entries.values()), min(timings))


def bench_library(emulator: EmulatorProcess, library: Library, tmp: Path) -> tuple[list[Row], StatCheck]:
    """The runs on a fresh library, and the check of its backup's files; where the library has annotations, also
    an initial backup with --annotated-pdfs."""
    emulator.reset()
    seeded = emulator.seed(documents=library.documents, files_per_document=1, file_size=library.file_bytes,
                           annotations_per_document=library.annotations, seed=library.documents)
    bench = LibraryBench(emulator, library, tmp / "plain")
    bench.all_runs(seeded["documents"])
    checked = stat_check(bench.tool.backup)
    if library.annotations:
        annotated = LibraryBench(emulator, library, tmp / "annotated")
        annotated.initial("initial, annotated", "--annotated-pdfs")
        bench.rows += annotated.rows
    return bench.rows, checked


def find(rows: list[Row], documents: int, run: str, latency_ms: int | None = None) -> Iterator[Row]:
    return (row for row in rows if row.library.documents == documents and row.run == run
            and (latency_ms is None or row.library.latency_ms == latency_ms))


def request_ratio(row: Row) -> str:
    return f"{row.documents:,}: {row.requests / row.floor:.2f}"


def targets(rows: list[Row], checks: list[StatCheck]) -> list[tuple[str, bool]]:
    """The issue's targets, each with whether the runs it is about meet it (a target whose runs were left out, by
    --quick, is not listed)."""
    chosen: list[tuple[str, list[Row], Callable[[Row], bool], Callable[[Row], str]]] = [
        ("initial, default settings: wall within 1.3 x the link floor",
         [row for row in rows if row.run == "initial" and row.link_ratio is not None],
         lambda row: row.link_ratio is not None and row.link_ratio <= 1.3,
         lambda row: f"{row.documents:,} at {row.library.latency_ms} ms: {row.link_ratio:.2f}"),
        ("initial: requests within 1.05 x the floor", [row for row in rows if row.initial],
         lambda row: row.requests <= 1.05 * row.floor, request_ratio),
        ("1% changed: requests within 1.1 x the floor", [row for row in rows if row.run == "1% changed"],
         lambda row: row.requests <= 1.1 * row.floor, request_ratio),
        ("no change: at most 10 requests", [row for row in rows if row.run == "no change"],
         lambda row: row.requests <= 10, lambda row: f"{row.documents:,}: {row.requests}"),
        ("1% changed at 10,000 documents: at most 1 s", list(find(rows, 10_000, "1% changed")),
         lambda row: row.measured.wall_s <= 1, lambda row: f"{row.measured.wall_s:.2f} s"),
        ("initial at 100,000 documents: at most 1.5 ms of CPU per document", list(find(rows, 100_000, "initial")),
         lambda row: row.cpu_ms_per_document <= 1.5, lambda row: f"{row.cpu_ms_per_document:.2f} ms"),
        ("no change at 100,000 documents, the stat check of every file included: at most 2 s",
         list(find(rows, 100_000, "no change")), lambda row: row.measured.wall_s <= 2,
         lambda row: f"{row.measured.wall_s:.2f} s"),
        ("peak memory at 30,000 documents, initial and no change: at most 150 MB",
         [row for run in ("initial", "no change") for row in find(rows, 30_000, run)],
         lambda row: row.peak_mb <= 150, lambda row: f"{row.run} {row.peak_mb:.0f} MB"),
        ("peak memory at 100,000 documents: at most 250 MB", list(find(rows, 100_000, "initial"))
         + list(find(rows, 100_000, "no change")) + list(find(rows, 100_000, "1% changed")),
         lambda row: row.peak_mb <= 250, lambda row: f"{row.run} {row.peak_mb:.0f} MB"),
    ]
    met = [(f"{text} ({', '.join(map(figure, about))})", all(map(ok, about)))
           for text, about, ok, figure in chosen if about]
    at_10k = [check for check in checks if check.documents == 10_000]
    met += [(f"stat check of every file at 10,000 documents well under 1 s ({check.seconds:.3f} s)",
             check.seconds < 0.5) for check in at_10k]
    return met


def annotated_cost(rows: list[Row]) -> str | None:
    plain = next(find(rows, 1_000, "initial", latency_ms=20), None)
    annotated = next(find(rows, 1_000, "initial, annotated"), None)
    if plain is None or annotated is None:
        return None
    extra_ms = (annotated.measured.cpu_s - plain.measured.cpu_s) / annotated.documents * 1000
    return (f"--annotated-pdfs on the 1,000-document initial backup: {annotated.measured.wall_s:.1f} s against "
            f"{plain.measured.wall_s:.1f} s, {annotated.measured.cpu_s:.1f} s of CPU against "
            f"{plain.measured.cpu_s:.1f} s ({extra_ms:.1f} ms a document more), "
            f"peak {annotated.peak_mb:.0f} MB against {plain.peak_mb:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="leave out the 30,000 and 100,000-document libraries")
    libraries = LINK + ([] if parser.parse_args().quick else SCALE)
    started = time.monotonic()
    compile_tool()  # as a user's second and later runs find them (see compile_tool)
    reference_before = reference_seconds()
    rows: list[Row] = []
    checks: list[StatCheck] = []
    with EmulatorProcess() as emulator:
        for library in libraries:
            with tempfile.TemporaryDirectory(prefix="mendeley-bench-") as tmp:
                library_rows, checked = bench_library(emulator, library, Path(tmp))
                rows += library_rows
                checks.append(checked)
    print(f"mendeley-backup benchmark, default settings (--jobs auto): {LINK_FILE_BYTES // 1000} KB files on the "
          f"link, {SCALE_FILE_BYTES // 1000} KB files without latency")
    print(table(rows))
    print(FLOORS)
    print("in flight: the most requests the server had in flight at once. peak MB: the tool process's ru_maxrss. "
          "result: exit 0, the expected summary, and the backup holds exactly the library. The tool's modules are "
          "byte-compiled first, as its first run or make install leaves them.")
    for check in checks:
        print(f"stat check of every backed-up file (each plain run): {check.documents:,} documents, "
              f"{check.files:,} files in {check.seconds:.3f} s")
    cost = annotated_cost(rows)
    if cost:
        print(cost)
    met = targets(rows, checks)
    print("Targets:")
    for text, ok in met:
        print(f"  {'met   ' if ok else 'MISSED'} {text}")
    reference_after = reference_seconds()
    print(f"This machine's speed: a fixed piece of work (JSON, SHA-1, 2,000 small files written, renamed and deleted; "
          f"see bench/measure.py) took {reference_before:.2f} s before the runs and {reference_after:.2f} s after. "
          "Compare two benchmarks' figures only in proportion to it.")
    print(f"The whole benchmark took {(time.monotonic() - started) / 60:.1f} minutes.")
    return 0 if all(ok for _, ok in met) and all(row.problem is None for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
