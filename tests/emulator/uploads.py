"""Reading a raw file upload: body, `Content-Disposition` file name, `Link` to the document."""

from __future__ import annotations

import re
from dataclasses import dataclass

from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request

from .content import sha1
from .errors import bad_request
from .models import Document, File
from .state import Library

_BARE_FILENAME = re.compile(r'(?:^|;)\s*filename\s*=\s*([^";][^;]*)', re.IGNORECASE)
_DOCUMENT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?document"?', re.IGNORECASE)


@dataclass
class Upload:
    file_name: str
    mime_type: str
    data: bytes

    def to_file(self, lib: Library, doc: Document) -> File:
        return File(
            id=lib.new_id(),
            document_id=doc.id,
            file_name=self.file_name,
            mime_type=self.mime_type,
            size=len(self.data),
            filehash=sha1(self.data),
            created=lib.clock.stamp(),
            content=self.data,
        )


def _header_text(value: str) -> str:
    """A header as the client meant it: WSGI hands over latin-1, clients often send UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def read_upload(request: Request) -> Upload:
    disposition = request.headers.get("Content-Disposition")
    if not disposition:
        raise bad_request("Content-Disposition with a filename is required")
    disposition = _header_text(disposition)
    _, options = parse_options_header(disposition)
    file_name = options.get("filename")
    bare = _BARE_FILENAME.search(disposition)
    if bare and "filename*" not in disposition.lower():
        # The SDK sends `filename=my paper.pdf` unquoted; like a lenient server we take the whole
        # value up to the next `;` rather than stopping at the first space.
        file_name = bare.group(1).strip()
    if not file_name:
        raise bad_request("Content-Disposition has no filename")
    if not request.mimetype:
        raise bad_request("Content-Type is required: the file's media type")  # the reference: must be set
    data = request.get_data()
    if not data:
        raise bad_request("The file is empty")
    return Upload(file_name, request.mimetype, data)


def linked_document_id(request: Request) -> str:
    """The id in `Link: <…/documents/ID>; rel="document"`; 400 without one."""
    match = _DOCUMENT_LINK.search(request.headers.get("Link", ""))
    if not match:
        raise bad_request('A Link header with rel="document" is required')
    return match.group(1).rstrip("/").rsplit("/", 1)[-1]
