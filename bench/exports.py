"""The exports' own cost on synthetic backups of N documents: a cold build (no export cache), then an update
after 1% of the documents changed. Each step runs in a fresh process, which prints its wall time and the peak
memory it added over holding the state's entries (the export's own share of a run's peak).

    .venv/bin/python bench/exports.py 10000 100000
"""

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from BackupFolder import BIBTEX_FILE, EXPORT_CACHE, AtomicWriter, BackupFolder
from DocumentInfo import Entry, FileRecord
from LibraryExport import update_exports

FOLDERS = {f"f{i}": {"id": f"f{i}", "name": f"Folder {i}", "parent_id": f"f{i // 4}" if i >= 4 else None}
           for i in range(40)}


def document(number: int, version: int) -> dict:
    rng = random.Random(number)
    return {
        "id": f"{number:08d}-0000-4000-8000-000000000000", "type": rng.choice(["journal", "book", "thesis"]),
        "title": f"Robust inference number {number} for graphs in {rng.choice(['ecology', 'economics'])}",
        "authors": [{"first_name": "Anna", "last_name": rng.choice(["Müller", "Smith", "王", "Ødegård"])}
                    for _ in range(rng.randint(1, 4))],
        "year": rng.randint(1950, 2024), "source": "Journal of Documentation", "volume": "12", "pages": "1-20",
        "abstract": "We present a new method for the problem. " * rng.randint(1, 6),
        "identifiers": {"doi": f"10.1000/{number}", "pmid": str(number)}, "keywords": ["backup", "metadata"],
        "tags": ["to-read"], "created": f"20{10 + number % 14}-01-01T00:00:{number % 60:02d}.{number % 1000:03d}Z",
        "last_modified": f"2025-01-01T00:00:{version:02d}.000Z", "citation_key": f"Key{number}" if number % 5 else None,
        "notes": "<p>First paragraph.</p><p>Second &amp; last.</p>" if number % 7 == 0 else None,
    }


def entry(number: int, version: int = 1) -> Entry:
    return Entry(path=f"d/{number}", last_modified=f"2025-01-01T00:00:{version:02d}.000Z",
                 files={"file": FileRecord(name="paper.pdf")}, folder_uuids=[f"f{number % 40}"])


def write(root: Path, number: int, version: int) -> None:
    folder = root / "d" / str(number)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"document": {k: v for k, v in document(number, version).items() if v is not None},
            "files": {"file": "paper.pdf"}}
    (folder / "info.json").write_text(json.dumps(data), encoding="utf-8")


def child(root: Path, size: int, step: str) -> None:
    changed = set(range(0, size, 100)) if step == "change" else set()
    entries = {document(n, 1)["id"]: entry(n, 2 if n in changed else 1) for n in range(size)}
    for number in changed:
        write(root, number, 2)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    writer = AtomicWriter(root / ".tmp")
    writer.temp_dir.mkdir(exist_ok=True)
    start = time.perf_counter()
    update_exports(BackupFolder(root, writer), entries, {document(n, 1)["id"] for n in changed}, FOLDERS)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": round(elapsed, 3), "added_mb": round((peak - baseline) / 1024, 1),
                      "peak_mb": round(peak / 1024, 1)}))


def main() -> None:
    for size in map(int, sys.argv[1:] or ["10000"]):
        with tempfile.TemporaryDirectory() as directory:
            root = Path(directory)
            for number in range(size):
                write(root, number, 1)
            for step in ("cold", "change"):
                out = subprocess.run([sys.executable, __file__, "--child", str(root), str(size), step], check=True,
                                     capture_output=True, text=True).stdout
                result = json.loads(out)
                print(f"{size:>7} documents, {step:>6}: {result['seconds']:7.3f} s, export's own memory "
                      f"{result['added_mb']:6.1f} MB (process peak {result['peak_mb']:.1f} MB)")
            megabytes = {name: (root / name).stat().st_size / 2**20 for name in (EXPORT_CACHE, BIBTEX_FILE)}
            print(f"{size:>7} documents: cache {megabytes[EXPORT_CACHE]:.0f} MB, "
                  f"library.bib {megabytes[BIBTEX_FILE]:.0f} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
