"""`make demo`: a real backup of a seeded emulator library into ./demo-backup, then an incremental rerun.

Starts the bundled Mendeley API emulator, seeds a library (documents with files, folders, annotations, a group),
saves a login for it as a token file (as a first interactive login would), runs ./mendeley-backup.py, changes a
few things through the API as another Mendeley client would, and runs it again.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.emulator import EmulatorProcess  # noqa: E402  (the repository root must be importable first)

BACKUP = REPO / "demo-backup"
LOGIN = REPO / "demo-state"
DOCUMENT = "application/vnd.mendeley-document.1+json"


def run_tool(emulator: EmulatorProcess, *extra: str) -> None:
    command = [sys.executable, str(REPO / "mendeley-backup.py"), "-o", str(BACKUP), "--api-host", emulator.url,
               "-s", emulator.client_secret, "-t", str(LOGIN / "token.json"), "--groups", "all", *extra]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


def change_library(emulator: EmulatorProcess) -> None:
    """A new paper with a PDF, a corrected title, and a deleted document."""
    api = emulator.api_session()
    documents = emulator.library()["documents"]
    new = api.post("/documents", headers={"Content-Type": DOCUMENT}, json={
        "type": "journal", "title": "A paper added after the first backup", "year": 2026,
        "authors": [{"first_name": "Ada", "last_name": "Lovelace"}]}).json()
    api.post("/files", data=b"%PDF-1.4 demo\n" * 1000, headers={
        "Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="lovelace.pdf"',
        "Link": f'<{emulator.url}/documents/{new["id"]}>; rel="document"'}).raise_for_status()
    api.patch(f"/documents/{documents[0]['id']}", headers={"Content-Type": DOCUMENT},
              json={"title": "A corrected title"}).raise_for_status()
    api.delete(f"/documents/{documents[1]['id']}").raise_for_status()


def main() -> None:
    for folder in (BACKUP, LOGIN):
        shutil.rmtree(folder, ignore_errors=True)
    LOGIN.mkdir(mode=0o700)
    with EmulatorProcess() as emulator:
        emulator.seed(documents=200, files_per_document=1, file_size=50_000, folders=6, annotations_per_document=1,
                      groups=1, group_documents=20, seed=7)
        token_file = LOGIN / "token.json"
        token_file.write_text(json.dumps(emulator.token()))
        token_file.chmod(0o600)
        print(f"Emulator at {emulator.url} with a seeded library; first, a full backup:", flush=True)
        run_tool(emulator)
        change_library(emulator)
        print("\nThree changes made through the API (one added, one updated, one deleted); an incremental run:",
              flush=True)
        run_tool(emulator)
    print(f"\nThe backup is in {BACKUP.relative_to(REPO)}/ (library.bib and library.ris at its top).")


if __name__ == "__main__":
    main()
