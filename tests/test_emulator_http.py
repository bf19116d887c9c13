"""The emulator over raw HTTP: media types, paging, downloads, change tracking, OAuth, controls."""

from __future__ import annotations

import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.emulator import ApiSession, EmulatorProcess

DOC = "application/vnd.mendeley-document.1+json"
DOC_WITH_FILES = "application/vnd.mendeley-document-with-files-list+json"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def create(api: ApiSession, title: str = "A title", **fields: Any) -> dict[str, Any]:
    rsp = api.post("/documents", json={"title": title, "type": "journal", **fields}, headers={"Content-Type": DOC})
    assert rsp.status_code == 201, rsp.text
    return rsp.json()


def upload(api: ApiSession, doc_id: str, data: bytes, name: str = "paper.pdf") -> requests.Response:
    return api.post(
        "/files",
        data=data,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Link": f'<{api.base_url}/documents/{doc_id}>; rel="document"',
        },
    )


def get_doc(api: ApiSession, doc_id: str) -> dict[str, Any]:
    rsp = api.get(f"/documents/{doc_id}", params={"view": "all"})
    assert rsp.status_code == 200, rsp.text
    return rsp.json()


def all_pages(api: ApiSession, path: str, **params: Any) -> list[dict[str, Any]]:
    items, rsp = [], api.get(path, params=params)
    while True:
        assert rsp.status_code == 200, rsp.text
        items += rsp.json()
        if "next" not in rsp.links:
            return items
        rsp = api.get(rsp.links["next"]["url"])


# ----- media types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/documents", DOC),
        ("/trash", DOC),
        ("/files", "application/vnd.mendeley-file.1+json"),
        ("/folders", "application/vnd.mendeley-folder.1+json"),
        ("/annotations", "application/vnd.mendeley-annotation.1+json"),
        ("/groups", "application/vnd.mendeley-group.1+json"),
        ("/deleted_documents", "application/vnd.mendeley-deleted-document.1+json"),
        ("/profiles/me", "application/vnd.mendeley-profiles.1+json"),
    ],
)
def test_media_types(api: ApiSession, path: str, media: str) -> None:
    for accept in (None, "*/*", "application/json", media):
        rsp = api.get(path, headers={"Accept": accept} if accept else {})
        assert rsp.status_code == 200, (accept, rsp.text)
        assert rsp.headers["Content-Type"] == media
    other = "application/vnd.mendeley-catalog-document.1+json"
    assert api.get(path, headers={"Accept": other}).status_code == 406


def test_document_list_with_files(api: ApiSession) -> None:
    doc = create(api)
    data = b"%PDF-1.4 one file"
    file = upload(api, doc["id"], data).json()
    rsp = api.get("/documents", headers={"Accept": DOC_WITH_FILES})
    assert rsp.headers["Content-Type"] == DOC_WITH_FILES
    [listed] = rsp.json()
    assert listed["files"] == [
        {k: file[k] for k in ("id", "file_name", "mime_type", "size", "filehash", "created")}
    ]
    assert listed["files"][0]["filehash"] == hashlib.sha1(data).hexdigest()
    assert "files" not in api.get("/documents").json()[0]


def test_wrong_body_type_is_415(api: ApiSession) -> None:
    rsp = api.post("/folders", data='{"name": "x"}', headers={"Content-Type": "text/csv"})
    assert rsp.status_code == 415
    folder_type = "application/vnd.mendeley-folder.1+json"
    rsp = api.post("/documents", data='{"title": "x", "type": "journal"}', headers={"Content-Type": folder_type})
    assert rsp.status_code == 415


def test_views_and_validation(api: ApiSession) -> None:
    doc = create(api, "Viewed", pages="1-2", tags=["t"], patent_owner="ACME", read=True, notes="n")
    core = api.get(f"/documents/{doc['id']}").json()
    assert "pages" not in core and "tags" not in core and "read" not in core
    assert api.get(f"/documents/{doc['id']}", params={"view": "bib"}).json()["pages"] == "1-2"
    assert api.get(f"/documents/{doc['id']}", params={"view": "tags"}).json()["tags"] == ["t"]
    assert api.get(f"/documents/{doc['id']}", params={"view": "patent"}).json()["patent_owner"] == "ACME"
    client = api.get(f"/documents/{doc['id']}", params={"view": "client"}).json()
    assert client["read"] is True and client["starred"] is False and client["file_attached"] is False
    full = get_doc(api, doc["id"])
    assert full["notes"] == "n" and full["folder_uuids"] == []
    assert ISO_MS.match(full["created"]) and ISO_MS.match(full["last_modified"])
    assert api.get(f"/documents/{doc['id']}", params={"view": "nope"}).status_code == 400
    assert api.post("/documents", json={"type": "journal"}).status_code == 400  # no title
    assert api.post("/documents", json={"title": "x", "type": "novel"}).status_code == 400
    assert api.post("/documents", json={"title": "x" * 256, "type": "journal"}).status_code == 400
    assert api.post("/documents", json={"title": "x", "type": "journal", "colour": 1}).status_code == 400
    assert api.get("/documents/00000000-0000-0000-0000-000000000000").status_code == 404


# ----- paging ------------------------------------------------------------------------------------


def test_link_headers_and_count(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=45, files_per_document=0, seed=3)
    first = api.get("/documents", params={"limit": 20, "view": "all"})
    assert first.headers["Mendeley-Count"] == "45"
    assert {"first", "next", "last"} <= first.links.keys() and "prev" not in first.links
    assert len(first.headers["Link"].split(", <")) == 3  # one Link header line per relation
    nxt = first.links["next"]["url"]
    assert parse_qs(urlsplit(nxt).query)["view"] == ["all"]  # other parameters are kept
    second = api.get(nxt)
    assert "Mendeley-Count" not in second.headers and "prev" in second.links
    third = api.get(second.links["next"]["url"])
    assert "next" not in third.links and len(third.json()) == 5
    assert api.get(first.links["last"]["url"]).json() == third.json()
    ids = [d["id"] for d in first.json() + second.json() + third.json()]
    assert ids == [d["id"] for d in emulator.library()["documents"]]
    created = [d["created"] for d in first.json() + second.json() + third.json()]
    assert created == sorted(created)


def test_pages_are_stable_while_the_library_changes(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=30, files_per_document=0, seed=4)
    first = api.get("/documents", params={"limit": 10})
    page1 = [d["id"] for d in first.json()]
    expected_rest = [d["id"] for d in emulator.library()["documents"]][10:]
    assert api.delete(f"/documents/{page1[3]}").status_code == 204  # behind the marker
    assert api.delete(f"/documents/{expected_rest[5]}").status_code == 204  # ahead of it
    new = create(api, "Added while paging")  # newest: joins the end
    rest = []
    rsp = api.get(first.links["next"]["url"])
    while True:
        rest += [d["id"] for d in rsp.json()]
        if "next" not in rsp.links:
            break
        rsp = api.get(rsp.links["next"]["url"])
    assert rest == [i for i in expected_rest if i != expected_rest[5]] + [new["id"]]


def test_limits(api: ApiSession) -> None:
    for path in ("/documents", "/files", "/folders", "/trash", "/groups", "/deleted_documents"):
        assert api.get(path, params={"limit": 500}).status_code == 200, path
        assert api.get(path, params={"limit": 501}).status_code == 400, path
    assert api.get("/annotations", params={"limit": 200}).status_code == 200
    assert api.get("/annotations", params={"limit": 500}).status_code == 400
    assert api.get("/documents", params={"limit": 0}).status_code == 400
    assert api.get("/documents", params={"marker": "garbage!"}).status_code == 400


def test_sort_and_order(api: ApiSession) -> None:
    for title in ("banana", "Cherry", "apple"):
        create(api, title)
    titles = [d["title"] for d in api.get("/documents", params={"sort": "title", "order": "desc"}).json()]
    assert titles == ["Cherry", "banana", "apple"]
    pages = all_pages(api, "/documents", sort="title", limit=1)
    assert [d["title"] for d in pages] == ["apple", "banana", "Cherry"]
    newest = all_pages(api, "/documents", order="desc", limit=2)
    assert [d["title"] for d in newest] == ["apple", "Cherry", "banana"]


# ----- files -------------------------------------------------------------------------------------


def test_download_is_a_303_to_a_signed_url(emulator: EmulatorProcess, api: ApiSession) -> None:
    created = emulator.seed(documents=2, file_size=50_000, seed=9)
    file = api.get(f"/files/{created['files'][0]}")  # follows the redirect
    assert file.history[0].status_code == 303
    location = file.history[0].headers["Location"]
    assert location.startswith(emulator.url + "/")
    listed = {f["id"]: f for f in api.get("/files").json()}[created["files"][0]]
    # The content URL needs no Authorization header.
    content = requests.get(location, timeout=10)
    assert content.status_code == 200
    assert content.headers["Content-Length"] == "50000" == str(listed["size"])
    assert content.headers["Content-Type"] == listed["mime_type"]
    assert hashlib.sha1(content.content).hexdigest() == listed["filehash"]
    assert content.content == file.content == emulator.file_content(listed["id"])
    # A bad signature, or an expired URL, is refused.
    assert requests.get(location.replace("signature=", "signature=0"), timeout=10).status_code == 403
    emulator.faults(content_url_lifetime_s=0.001)
    expired = api.get(f"/files/{listed['id']}", allow_redirects=False).headers["Location"]
    time.sleep(1.01)
    assert requests.get(expired, timeout=10).status_code == 403


def test_api_needs_a_bearer_token(emulator: EmulatorProcess) -> None:
    bare = ApiSession(emulator.url)
    assert bare.get("/documents").status_code == 401
    assert ApiSession(emulator.url, "not-a-token").get("/documents").status_code == 401
    rsp = bare.get("/files/x")
    assert rsp.status_code == 401 and "WWW-Authenticate" in rsp.headers


def test_upload_rules(api: ApiSession) -> None:
    doc = create(api)
    first = upload(api, doc["id"], b"same bytes", "été: draft?.pdf")
    assert first.status_code == 201
    assert first.headers["Location"].endswith(f"/files/{first.json()['id']}")
    assert first.json()["file_name"] == "été: draft?.pdf"
    assert upload(api, doc["id"], b"same bytes", "other.pdf").status_code == 400  # same bytes again
    assert upload(api, doc["id"], b"other bytes", "été: draft?.pdf").status_code == 201  # same name is fine
    assert upload(api, "no-such-document", b"x").status_code == 404
    no_link = api.post("/files", data=b"x", headers={"Content-Disposition": 'attachment; filename="a"'})
    assert no_link.status_code == 400
    # Non-ASCII names come back in Content-Disposition with an RFC 5987 form.
    rsp = api.get(f"/files/{first.json()['id']}")
    assert rsp.headers["Content-Disposition"].startswith('attachment; filename="')
    assert "filename*=UTF-8''%C3%A9t%C3%A9" in rsp.headers["Content-Disposition"]


# ----- change tracking ---------------------------------------------------------------------------


def test_modified_since_trash_restore_delete(api: ApiSession) -> None:
    a, b, c = create(api, "a"), create(api, "b"), create(api, "c")
    cut = b["created"]
    # At or after: b itself is included.
    assert [d["id"] for d in api.get("/documents", params={"modified_since": cut}).json()] == [b["id"], c["id"]]

    assert api.post(f"/documents/{a['id']}/trash").status_code == 204
    assert [d["id"] for d in api.get("/documents").json()] == [b["id"], c["id"]]
    [trashed] = api.get("/trash").json()
    assert trashed["id"] == a["id"] and trashed["last_modified"] > c["last_modified"]
    assert api.get(f"/documents/{a['id']}").status_code == 404
    assert api.get(f"/trash/{a['id']}").json()["title"] == "a"

    assert api.post(f"/trash/{a['id']}/restore").status_code == 204
    restored = get_doc(api, a["id"])
    assert restored["last_modified"] > trashed["last_modified"]
    assert api.get("/documents", params={"modified_since": restored["last_modified"]}).json()[0]["id"] == a["id"]

    mark = api.get("/documents", params={"modified_since": "2000-01-01T00:00:00Z"}).json()[-1]["last_modified"]
    assert api.delete(f"/documents/{b['id']}").status_code == 204
    api.post(f"/documents/{c['id']}/trash")
    assert api.delete(f"/trash/{c['id']}").status_code == 204
    gone = {"id": b["id"]}, {"id": c["id"]}
    assert api.get("/deleted_documents").json() == list(gone)
    assert api.get("/deleted_documents", params={"since": mark}).json() == list(gone)
    deleted = api.get("/documents", params={"deleted_since": mark})
    assert deleted.json() == list(gone) and deleted.headers["Content-Type"] == DOC
    assert api.get("/documents", params={"deleted_since": "2999-01-01T00:00:00Z"}).json() == []
    assert api.get("/documents", params={"modified_since": "yesterday"}).status_code == 400


def test_files_bump_their_document(api: ApiSession) -> None:
    doc = create(api)
    before = get_doc(api, doc["id"])["last_modified"]
    file = upload(api, doc["id"], b"content").json()
    attached = get_doc(api, doc["id"])
    assert attached["last_modified"] > before and attached["file_attached"] is True
    assert api.delete(f"/files/{file['id']}").status_code == 204
    detached = get_doc(api, doc["id"])
    assert detached["last_modified"] > attached["last_modified"]
    assert api.get("/files", params={"deleted_since": before}).json() == [
        {"id": file["id"], "document_id": doc["id"]}
    ]
    assert api.get("/files").json() == []


def test_trashed_documents_files_are_hidden_unless_asked(api: ApiSession) -> None:
    doc, other = create(api, "trashed"), create(api, "kept")
    hidden = upload(api, doc["id"], b"1").json()
    shown = upload(api, other["id"], b"2").json()
    api.post(f"/documents/{doc['id']}/trash")
    assert [f["id"] for f in api.get("/files").json()] == [shown["id"]]
    assert [f["id"] for f in api.get("/files", params={"include_trashed": "true"}).json()] == [
        hidden["id"], shown["id"],
    ]  # fmt: skip
    assert [f["id"] for f in api.get("/files", params={"document_id": other["id"]}).json()] == [shown["id"]]
    added = api.get("/files", params={"added_since": shown["created"]}).json()
    assert [f["id"] for f in added] == [shown["id"]]


def test_deleting_a_document_deletes_its_files_and_annotations(api: ApiSession) -> None:
    doc = create(api)
    file = upload(api, doc["id"], b"bytes").json()
    note = api.post("/annotations", json={"document_id": doc["id"], "text": "hi"}).json()
    start = doc["created"]
    api.delete(f"/documents/{doc['id']}")
    assert api.get("/files", params={"deleted_since": start}).json() == [{"id": file["id"], "document_id": doc["id"]}]
    assert api.get("/annotations", params={"deleted_since": start}).json() == [
        {"id": note["id"], "document_id": doc["id"]}
    ]
    assert api.get("/annotations").json() == []


# ----- folders, annotations, groups ----------------------------------------------------------------


def test_folders(api: ApiSession) -> None:
    doc = create(api)
    before = get_doc(api, doc["id"])["last_modified"]
    parent = api.post("/folders", json={"name": "Thesis"}).json()
    child = api.post("/folders", json={"name": "Chapter 1", "parent_id": parent["id"]}).json()
    assert child["parent_id"] == parent["id"] and "parent_id" not in parent
    assert api.post("/folders", json={"name": "Thesis"}).status_code == 409
    assert api.post(f"/folders/{child['id']}/documents", json={"id": doc["id"]}).status_code == 201
    assert api.get(f"/folders/{child['id']}/documents").json() == [{"id": doc["id"]}]
    after = get_doc(api, doc["id"])
    assert after["folder_uuids"] == [child["id"]] and after["last_modified"] == before

    assert api.patch(f"/folders/{child['id']}", json={"name": "Chapter One"}).status_code == 204
    renamed = {f["id"]: f for f in api.get("/folders").json()}[child["id"]]
    assert renamed["name"] == "Chapter One" and renamed["modified"] > child["modified"]

    assert api.delete(f"/folders/{child['id']}/documents/{doc['id']}").status_code == 204
    assert api.get(f"/folders/{child['id']}/documents").json() == []
    api.post(f"/folders/{child['id']}/documents", json={"id": doc["id"]})
    assert api.delete(f"/folders/{parent['id']}").status_code == 204  # cascades to the child
    assert api.get("/folders").json() == []
    assert get_doc(api, doc["id"])["folder_uuids"] == []


def test_annotations(api: ApiSession) -> None:
    doc = create(api)
    upload(api, doc["id"], b"pdf")
    doc_modified = get_doc(api, doc["id"])["last_modified"]
    point = {"x": 1.5, "y": 2.5}
    note = api.post("/annotations", json={"document_id": doc["id"], "text": "A note"})
    pin = [{"top_left": point, "bottom_right": point, "page": 1}]
    sticky = api.post("/annotations/", json={"document_id": doc["id"], "text": "s", "positions": pin})
    box = {"top_left": point, "bottom_right": {"x": 9, "y": 1}, "page": 2}
    highlight = api.post("/annotations", json={"document_id": doc["id"], "positions": [box],
                                               "color": {"r": 1, "g": 2, "b": 3}})  # fmt: skip
    assert [r.status_code for r in (note, sticky, highlight)] == [201, 201, 201]
    assert [r.json()["type"] for r in (note, sticky, highlight)] == ["note", "sticky_note", "highlight"]
    assert api.post("/annotations", json={"document_id": doc["id"], "text": "again"}).status_code == 409
    assert get_doc(api, doc["id"])["last_modified"] == doc_modified  # annotations do not bump it

    changed = api.patch(f"/annotations/{note.json()['id']}", json={"text": "Edited"}).json()
    assert changed["text"] == "Edited" and changed["last_modified"] > note.json()["last_modified"]
    listed = api.get("/annotations", params={"modified_since": changed["last_modified"]}).json()
    assert [a["id"] for a in listed] == [changed["id"]]
    assert api.delete(f"/annotations/{changed['id']}").status_code == 204
    assert len(api.get("/annotations").json()) == 2
    assert api.get("/annotations", params={"document_id": doc["id"]}).json()[1]["filehash"]


def test_group_documents(emulator: EmulatorProcess, api: ApiSession) -> None:
    group = emulator.create_group("Reading club")
    own = create(api, "mine")
    shared = create(api, "ours", group_id=group["id"])
    assert shared["group_id"] == group["id"]
    assert [d["id"] for d in api.get("/documents").json()] == [own["id"]]
    assert [d["id"] for d in api.get("/documents", params={"group_id": group["id"]}).json()] == [shared["id"]]
    assert api.get(f"/groups/{group['id']}").json()["name"] == "Reading club"
    assert api.get("/documents", params={"group_id": "nope"}).status_code == 404
    folder = api.post("/folders", json={"name": "Shared", "group_id": group["id"]}).json()
    assert folder["group_id"] == group["id"]
    assert api.get("/folders").json() == []
    assert api.get("/folders", params={"group_id": group["id"]}).json() == [folder]
    library = emulator.library()
    assert [d["id"] for d in library["group_documents"]] == [shared["id"]]


# ----- OAuth -------------------------------------------------------------------------------------


def authorize(emulator: EmulatorProcess, response_type: str = "code", **extra: str) -> str:
    params = {"response_type": response_type, "client_id": "15049", "redirect_uri": "http://localhost:5000/oauth",
              "scope": "all", "state": "st8", **extra}  # fmt: skip
    rsp = requests.get(f"{emulator.url}/oauth/authorize", params=params, allow_redirects=False, timeout=10)
    assert rsp.status_code == 302
    return rsp.headers["Location"]


def token_request(emulator: EmulatorProcess, secret: str = "emulator-secret", **form: str) -> requests.Response:
    return requests.post(f"{emulator.url}/oauth/token", data=form, auth=("15049", secret), timeout=10)


def test_authorization_code_flow(emulator: EmulatorProcess) -> None:
    location = authorize(emulator)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith("http://localhost:5000/oauth?") and query["state"] == ["st8"]
    code = query["code"][0]
    wrong_uri = token_request(emulator, grant_type="authorization_code", code=code, redirect_uri="http://x/")
    assert wrong_uri.status_code == 400
    assert wrong_uri.json() == {"error": "invalid_grant", "error_description": "Invalid access code"}  # as recorded

    code = parse_qs(urlsplit(authorize(emulator)).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:5000/oauth"}
    bad_secret = token_request(emulator, "wrong", **form)
    # As recorded: a Basic challenge and a `message`, not an OAuth error object.
    assert bad_secret.status_code == 401 and set(bad_secret.json()) == {"message"}
    assert bad_secret.headers["WWW-Authenticate"] == 'Basic realm="oauth"'
    good = token_request(emulator, **form)
    assert good.status_code == 200 and good.headers["Content-Type"] == "application/json"
    token = good.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 3600 and token["refresh_token"]
    assert token_request(emulator, **form).json()["error"] == "invalid_grant"  # codes are single-use
    assert ApiSession(emulator.url, token["access_token"]).get("/documents").status_code == 200

    lost = token_request(emulator, grant_type="refresh_token", refresh_token=token["refresh_token"]).json()
    # Until the tokens answered for it are used, a spent refresh token works once more (the answer was lost),
    # and the lost answer's tokens die.
    refreshed = token_request(emulator, grant_type="refresh_token", refresh_token=token["refresh_token"]).json()
    assert len({token["refresh_token"], lost["refresh_token"], refreshed["refresh_token"]}) == 3
    assert ApiSession(emulator.url, lost["access_token"]).get("/documents").status_code == 401
    assert token_request(emulator, grant_type="refresh_token", refresh_token=lost["refresh_token"]).status_code == 400
    assert ApiSession(emulator.url, refreshed["access_token"]).get("/documents").status_code == 200
    again = token_request(emulator, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # Client credentials in the form body are accepted too.
    body = requests.post(f"{emulator.url}/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"],
        "client_id": "15049", "client_secret": "emulator-secret"})  # fmt: skip
    assert body.status_code == 200
    assert token_request(emulator, grant_type="password").json()["error"] == "unsupported_grant_type"


def test_implicit_flow_and_denied_login(emulator: EmulatorProcess) -> None:
    fragment = parse_qs(urlsplit(authorize(emulator, "token")).fragment)
    assert fragment["token_type"] == ["bearer"] and fragment["state"] == ["st8"]
    assert fragment["expires_in"] == ["3600"]
    assert ApiSession(emulator.url, fragment["access_token"][0]).get("/profiles/me").status_code == 200

    emulator.faults(deny_login=True)
    denied = parse_qs(urlsplit(authorize(emulator)).query)
    assert denied["error"] == ["access_denied"] and denied["state"] == ["st8"] and "code" not in denied
    denied_fragment = parse_qs(urlsplit(authorize(emulator, "token")).fragment)
    assert denied_fragment["error"] == ["access_denied"]


def test_client_credentials_token_reaches_no_library(emulator: EmulatorProcess) -> None:
    token = token_request(emulator, grant_type="client_credentials").json()
    assert "refresh_token" not in token
    assert ApiSession(emulator.url, token["access_token"]).get("/documents").status_code == 403


# ----- controls ----------------------------------------------------------------------------------


def test_every_response_has_a_date(emulator: EmulatorProcess, api: ApiSession) -> None:
    for rsp in (api.get("/documents"), api.get("/nowhere"), requests.get(f"{emulator.url}/_emulator/stats", timeout=5)):
        assert rsp.headers["Date"].endswith(" GMT")
        assert rsp.headers["Date"].count("GMT") == 1


def test_stats_count_by_endpoint(emulator: EmulatorProcess, api: ApiSession) -> None:
    created = emulator.seed(documents=2, file_size=1234, seed=1)
    emulator.reset_stats()
    api.get("/documents")
    api.get("/documents", params={"limit": 1})
    api.get(f"/documents/{created['documents'][0]}")
    api.get(f"/files/{created['files'][0]}")
    api.get("/nowhere")
    emulator.library()  # control requests are not counted
    stats = emulator.stats()
    assert stats["by_endpoint"] == {
        "GET /documents": 2,
        "GET /documents/{id}": 1,
        "GET /files/{id}": 1,
        "GET /_content/{id}": 1,
        "GET (unmatched)": 1,
    }
    assert stats["total_requests"] == 6 and stats["bytes_served"] == 1234 and stats["in_flight_peak"] == 1
    emulator.reset_stats()
    emptied = emulator.stats()
    assert emptied.pop("connections") <= 1  # the stats' own request, if its connection was not kept
    assert emptied == {"total_requests": 0, "by_endpoint": {}, "bytes_served": 0, "in_flight_peak": 0}


def test_stats_count_the_most_requests_in_flight_at_once(emulator: EmulatorProcess) -> None:
    emulator.faults(latency_ms=300)
    emulator.reset_stats()
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: requests.get(f"{emulator.url}/documents", timeout=10), range(5)))
    assert [answer.status_code for answer in answers] == [401] * 5
    assert emulator.stats()["in_flight_peak"] == 5


def test_library_matches_what_was_created(emulator: EmulatorProcess, api: ApiSession) -> None:
    docs = [create(api, f"Doc {i}", authors=[{"first_name": "Jürgen", "last_name": "Müller"}]) for i in range(3)]
    upload(api, docs[0]["id"], b"first")
    upload(api, docs[0]["id"], b"second", "second.pdf")
    folder = api.post("/folders", json={"name": "F"}).json()
    api.post(f"/folders/{folder['id']}/documents", json={"id": docs[1]["id"]})
    api.post("/annotations", json={"document_id": docs[2]["id"], "text": "note"})
    api.post(f"/documents/{docs[2]['id']}/trash")
    library = emulator.library()
    listed = api.get("/documents", params={"view": "all"}, headers={"Accept": DOC_WITH_FILES}).json()
    assert library["documents"] == listed
    assert library["trash"] == api.get("/trash", params={"view": "all"}, headers={"Accept": DOC_WITH_FILES}).json()
    assert library["files"] == api.get("/files", params={"include_trashed": "true"}).json()
    assert library["folders"] == api.get("/folders").json()
    assert library["annotations"] == api.get("/annotations").json()
    assert [f["filehash"] for f in library["documents"][0]["files"]] == [
        hashlib.sha1(b"first").hexdigest(), hashlib.sha1(b"second").hexdigest(),
    ]  # fmt: skip
    assert library["deleted_documents"] == [] and library["groups"] == []


def test_reset_empties_everything(emulator: EmulatorProcess, api: ApiSession) -> None:
    emulator.seed(documents=3, seed=2)
    emulator.faults(latency_ms=1)
    emulator.reset()
    assert emulator.library()["documents"] == [] and emulator.stats()["total_requests"] == 0
    assert api.get("/documents").status_code == 401  # tokens are gone too
    assert emulator.faults()["latency_ms"] == 0


def test_control_endpoints_refuse_other_hosts() -> None:
    from werkzeug.test import Client

    from tests.emulator.context import Emulator
    from tests.emulator.server import EmulatorApp

    client = Client(EmulatorApp(Emulator()))
    assert client.get("/_emulator/stats", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403
    assert client.get("/_emulator/stats", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


def test_conditional_update(api: ApiSession) -> None:
    doc = create(api)
    stale = "Sat, 01 Jan 2000 00:00:00 GMT"
    rsp = api.patch(f"/documents/{doc['id']}", json={"year": 2001}, headers={"If-Unmodified-Since": stale})
    assert rsp.status_code == 412
    fresh = "Fri, 01 Jan 2100 00:00:00 GMT"
    rsp = api.patch(f"/documents/{doc['id']}", json={"year": 2001}, headers={"If-Unmodified-Since": fresh})
    assert rsp.status_code == 200 and rsp.json()["year"] == 2001
    cleared = api.patch(f"/documents/{doc['id']}", json={"year": None}).json()
    assert "year" not in cleared
    assert api.patch(f"/documents/{doc['id']}", json={"title": None}).status_code == 400


def test_tiny_seeded_files(emulator: EmulatorProcess) -> None:
    created = emulator.seed(documents=20, files_per_document=3, file_size=1, seed=1)
    assert created["counts"]["files"] == 60
    assert all(f["size"] == 1 for f in emulator.library()["files"])
