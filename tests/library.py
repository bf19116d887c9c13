"""Changing the emulator's library through the Mendeley API itself, as another client would."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.emulator import ApiSession

DOCUMENT = "application/vnd.mendeley-document.1+json"
ANNOTATION = "application/vnd.mendeley-annotation.1+json"
FOLDER = "application/vnd.mendeley-folder.1+json"


def _ok(response: Any) -> Any:
    assert response.status_code < 300, f"{response.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def create_document(api: ApiSession, title: str, authors: list[str] | None = None, year: int | None = 2024,
                    **fields: Any) -> dict[str, Any]:
    body = {"title": title, "type": fields.pop("type", "journal"), **fields}
    if authors is not None:
        body["authors"] = [{"first_name": "J", "last_name": name} for name in authors]
    if year is not None:
        body["year"] = year
    return _ok(api.post("/documents", json=body, headers={"Content-Type": DOCUMENT}))


def update_document(api: ApiSession, doc_id: str, **fields: Any) -> dict[str, Any]:
    return _ok(api.patch(f"/documents/{doc_id}", json=fields, headers={"Content-Type": DOCUMENT}))


def attach_file(api: ApiSession, doc_id: str, name: str, data: bytes, mime: str = "application/pdf") -> dict[str, Any]:
    headers = {"Content-Type": mime, "Content-Disposition": _content_disposition(name),
               "Link": f'<{api.base_url}/documents/{doc_id}>; rel="document"'}
    return _ok(api.post("/files", data=data, headers=headers))


def _content_disposition(name: str) -> str:
    """`filename="…"`, or RFC 5987's `filename*` for a name a quoted header cannot carry (any character)."""
    if name.isascii() and name.isprintable() and not set(name) & set('"\\'):
        return f'attachment; filename="{name}"'
    return "attachment; filename*=UTF-8''" + quote(name, safe="")


def delete_file(api: ApiSession, file_id: str) -> None:
    _ok(api.delete(f"/files/{file_id}"))


def delete_document(api: ApiSession, doc_id: str) -> None:
    _ok(api.delete(f"/documents/{doc_id}"))


def trash_document(api: ApiSession, doc_id: str) -> None:
    _ok(api.post(f"/documents/{doc_id}/trash"))


def restore_document(api: ApiSession, doc_id: str) -> None:
    _ok(api.post(f"/trash/{doc_id}/restore"))


def delete_trashed(api: ApiSession, doc_id: str) -> None:
    """Delete a document in the trash for good."""
    _ok(api.delete(f"/trash/{doc_id}"))


def create_annotation(api: ApiSession, doc_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    body = {"document_id": doc_id, "type": kind, **fields}
    return _ok(api.post("/annotations", json=body, headers={"Content-Type": ANNOTATION}))


def update_annotation(api: ApiSession, annotation_id: str, **fields: Any) -> dict[str, Any]:
    return _ok(api.patch(f"/annotations/{annotation_id}", json=fields, headers={"Content-Type": ANNOTATION}))


def delete_annotation(api: ApiSession, annotation_id: str) -> None:
    _ok(api.delete(f"/annotations/{annotation_id}"))


def create_folder(api: ApiSession, name: str, parent_id: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": name, **fields}
    if parent_id:
        body["parent_id"] = parent_id
    return _ok(api.post("/folders", json=body, headers={"Content-Type": FOLDER}))


def update_folder(api: ApiSession, folder_id: str, **fields: Any) -> Any:
    return _ok(api.patch(f"/folders/{folder_id}", json=fields, headers={"Content-Type": FOLDER}))


def add_to_folder(api: ApiSession, folder_id: str, doc_id: str) -> None:
    _ok(api.post(f"/folders/{folder_id}/documents", json={"id": doc_id}, headers={"Content-Type": DOCUMENT}))


def remove_from_folder(api: ApiSession, folder_id: str, doc_id: str) -> None:
    _ok(api.delete(f"/folders/{folder_id}/documents/{doc_id}"))
