"""The emulator driven by the `mendeley` SDK, a client none of us wrote."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import requests
from mendeley import Mendeley
from mendeley.exception import MendeleyApiException
from mendeley.session import MendeleySession
from oauthlib.oauth2 import MissingTokenError

from tests.emulator import EmulatorProcess

REDIRECT_URI = "http://localhost:5000/oauth"


def login(emulator: EmulatorProcess, secret: str = "emulator-secret", state: str = "s") -> MendeleySession:
    """The authorization-code flow as the SDK does it, with the browser step done by requests."""
    mendeley = Mendeley("15049", secret, redirect_uri=REDIRECT_URI, host=emulator.url)
    flow = mendeley.start_authorization_code_flow(state=state)
    redirect = requests.get(flow.get_login_url(), allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    return flow.authenticate(redirect.headers["Location"])


@pytest.fixture
def session(emulator: EmulatorProcess) -> MendeleySession:
    return login(emulator)


def test_pages_of_documents(emulator: EmulatorProcess, session: MendeleySession) -> None:
    for i in range(45):
        session.documents.create(f"Document {i}", "journal", year=2000 + i % 20)
    emulator.reset_stats()

    first = session.documents.list(page_size=20)
    assert first.count == 45
    assert first.rsp.headers["Mendeley-Count"] == "45"
    titles = [doc.title for doc in session.documents.iter(page_size=20)]

    assert titles == [f"Document {i}" for i in range(45)]
    # One list() plus the three pages of iter().
    assert emulator.stats()["by_endpoint"]["GET /documents"] == 4
    second = first.next_page
    assert "Mendeley-Count" not in second.rsp.headers
    assert len(second.items) == 20 and len(second.next_page.items) == 5
    assert second.next_page.next_page is None


def test_attach_and_download_identical_bytes(
    emulator: EmulatorProcess, session: MendeleySession, tmp_path: Path
) -> None:
    content = b"%PDF-1.4\n" + bytes(range(256)) * 400 + b"\n%%EOF\n"
    source = tmp_path / "paper.pdf"
    source.write_bytes(content)
    doc = session.documents.create("With a file", "journal")

    attached = doc.attach_file(str(source))
    out = tmp_path / "out"
    out.mkdir()
    downloaded = Path(attached.download(str(out)))

    assert downloaded.read_bytes() == content
    assert attached.filehash == hashlib.sha1(content).hexdigest()
    assert attached.size == len(content) and attached.file_name == "paper.pdf"
    assert [f.id for f in session.files.iter()] == [attached.id]
    assert emulator.file_content(attached.id) == content


def test_update_raises_last_modified(session: MendeleySession) -> None:
    doc = session.documents.create("Before", "journal")
    updated = doc.update(title="After")
    assert updated.title == "After"
    assert updated.last_modified > doc.last_modified
    assert session.documents.get(doc.id).last_modified == updated.last_modified


def test_move_to_trash_then_delete(emulator: EmulatorProcess, session: MendeleySession) -> None:
    kept = session.documents.create("Kept", "journal")
    trashed = session.documents.create("Trashed", "journal")
    deleted = session.documents.create("Deleted", "journal")

    trashed.move_to_trash()
    deleted.delete()

    assert [d.id for d in session.documents.iter()] == [kept.id]
    assert [d.id for d in session.trash.iter()] == [trashed.id]
    gone = session.get("/deleted_documents").json()
    assert gone == [{"id": deleted.id}]
    assert session.trash.get(trashed.id).last_modified > trashed.last_modified
    session.trash.get(trashed.id).delete()
    assert {d["id"] for d in session.get("/deleted_documents").json()} == {deleted.id, trashed.id}
    assert emulator.library()["trash"] == []


def test_expired_token_gets_401_and_refresh_works(emulator: EmulatorProcess) -> None:
    emulator.faults(token_lifetime_s=1)
    session = login(emulator)
    emulator.faults()  # tokens issued from now on live an hour again
    expired = session.token["access_token"]
    old_refresh = session.token["refresh_token"]
    assert session.token["expires_in"] == 1
    time.sleep(1.1)

    rsp = requests.get(f"{emulator.url}/documents", headers={"Authorization": f"Bearer {expired}"}, timeout=10)
    assert rsp.status_code == 401
    # oauthlib rounds expires_at to the second; make sure the SDK sees the expiry too, so that it
    # refreshes through /oauth/token and retries.
    session.token = {**session.token, "expires_at": time.time() - 1}
    session.documents.create("After expiry", "journal")

    assert session.token["access_token"] != expired
    assert session.token["refresh_token"] != old_refresh
    assert [d.title for d in session.documents.iter()] == ["After expiry"]
    # The used refresh token is spent.
    again = requests.post(
        f"{emulator.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=("15049", "emulator-secret"),
        timeout=10,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_server_rejects_an_expired_token_the_sdk_still_trusts(emulator: EmulatorProcess) -> None:
    mendeley = Mendeley("15049", "emulator-secret", redirect_uri=REDIRECT_URI, host=emulator.url)
    token = emulator.token(lifetime_s=1)
    del token["expires_in"]  # the SDK cannot know the token's age
    session = MendeleySession(mendeley, token)
    time.sleep(1.1)
    with pytest.raises(MendeleyApiException) as caught:
        session.documents.list()
    assert caught.value.status == 401


def test_wrong_client_secret_is_refused(emulator: EmulatorProcess) -> None:
    """The recorded 401 carries `{"message": …}`, not an OAuth error: oauthlib finds no token in it."""
    with pytest.raises(MissingTokenError):
        login(emulator, secret="not-the-secret")


def test_token_from_control_endpoint_works_with_the_sdk(emulator: EmulatorProcess) -> None:
    mendeley = Mendeley("15049", "emulator-secret", redirect_uri=REDIRECT_URI, host=emulator.url)
    session = MendeleySession(mendeley, emulator.token())
    assert session.profiles.me.display_name
    assert list(session.documents.iter()) == []


def test_groups_annotations_and_files_through_the_sdk(
    emulator: EmulatorProcess, session: MendeleySession
) -> None:
    created = emulator.seed(documents=3, annotations_per_document=2, groups=1, group_documents=2, seed=7)
    [group] = list(session.groups.iter())
    assert group.id == created["groups"][0]
    assert {d.id for d in group.documents.iter()} == set(created["group_documents"])
    assert {f.id for f in group.files.iter()} == {
        f["id"] for f in emulator.library()["files"] if f["document_id"] in created["group_documents"]
    }
    own = {a.id for a in session.annotations.iter()}
    assert own and own <= set(created["annotations"])
    doc = session.documents.get(created["documents"][0])
    [file] = list(doc.files.iter())
    note = file.add_sticky_note("Look here", 100, 200, 1)
    assert note.type == "sticky_note"


def test_sdk_upload_of_a_name_with_spaces(session: MendeleySession, tmp_path: Path) -> None:
    # The SDK sends `Content-Disposition: attachment; filename=my paper.pdf`, unquoted.
    source = tmp_path / "my paper.pdf"
    source.write_bytes(b"%PDF-1.4 spaced")
    doc = session.documents.create("Spaced", "journal")
    assert doc.attach_file(str(source)).file_name == "my paper.pdf"
