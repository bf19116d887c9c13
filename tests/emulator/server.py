"""The WSGI apps (route tables, dispatch, auth, faults, stats) and the threaded HTTP servers: the API's
origin, and the second origin that serves file content as S3 does (see content_host.py)."""

from __future__ import annotations

import ipaddress
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from . import api_annotations as annotations
from . import api_documents as documents
from . import api_files as files
from . import api_folders as folders
from . import api_groups as groups
from . import control, oauth
from .answers import counted_in_flight, fault_answer, finish, stamp
from .content_host import ContentHostApp
from .context import Emulator
from .errors import ApiError
from .keep_alive import KeepAliveHandler
from .web import error_response


def _rule(path: str, method: str, endpoint: Callable[..., Response]) -> Rule:
    return Rule(path, methods=[method], endpoint=endpoint)


# The Mendeley API: every route needs a bearer token except those in PUBLIC.
API_ROUTES = [
    _rule("/oauth/authorize", "GET", oauth.authorize),
    _rule("/oauth/token", "POST", oauth.token),
    _rule("/documents", "GET", documents.list_documents),
    _rule("/documents", "POST", documents.create_document),
    _rule("/documents/<id>", "GET", documents.get_document),
    _rule("/documents/<id>", "PATCH", documents.update_document),
    _rule("/documents/<id>", "DELETE", documents.delete_document),
    _rule("/documents/<id>/trash", "POST", documents.trash_document),
    _rule("/deleted_documents", "GET", documents.list_deleted_documents),
    _rule("/trash", "GET", documents.list_trash),
    _rule("/trash/<id>", "GET", documents.get_trashed),
    _rule("/trash/<id>", "DELETE", documents.delete_trashed),
    _rule("/trash/<id>/restore", "POST", documents.restore_trashed),
    _rule("/files", "GET", files.list_files),
    _rule("/files", "POST", files.upload_file),
    _rule("/files/<id>", "GET", files.download_file),
    _rule("/files/<id>", "DELETE", files.delete_file),
    # Where GET /files/{id} redirects: signed and short-lived, like the real service's S3 URLs.
    _rule("/_content/<id>", "GET", files.file_content),
    _rule("/folders", "GET", folders.list_folders),
    _rule("/folders", "POST", folders.create_folder),
    _rule("/folders/<id>", "GET", folders.get_folder),
    _rule("/folders/<id>", "PATCH", folders.update_folder),
    _rule("/folders/<id>", "DELETE", folders.delete_folder),
    _rule("/folders/<id>/documents", "GET", folders.list_folder_documents),
    _rule("/folders/<id>/documents", "POST", folders.add_folder_document),
    _rule("/folders/<id>/documents/<document_id>", "DELETE", folders.remove_folder_document),
    _rule("/annotations", "GET", annotations.list_annotations),
    _rule("/annotations", "POST", annotations.create_annotation),
    _rule("/annotations/<id>", "GET", annotations.get_annotation),
    _rule("/annotations/<id>", "PATCH", annotations.update_annotation),
    _rule("/annotations/<id>", "DELETE", annotations.delete_annotation),
    _rule("/groups", "GET", groups.list_groups),
    _rule("/groups/<id>", "GET", groups.get_group),
    _rule("/groups/<id>/members", "GET", groups.list_group_members),
    _rule("/profiles/me", "GET", groups.my_profile),
    _rule("/profiles/<id>", "GET", groups.get_profile),
]
PUBLIC = {oauth.authorize, oauth.token, files.file_content}

# Not Mendeley's: the tests' controls. Loopback only, no auth, no faults, not counted.
CONTROL_ROUTES = [
    _rule("/_emulator/reset", "POST", control.reset),
    _rule("/_emulator/token", "POST", control.token),
    _rule("/_emulator/seed", "POST", control.seed_library),
    _rule("/_emulator/faults", "GET", control.get_faults),
    _rule("/_emulator/faults", "POST", control.set_faults),
    _rule("/_emulator/stats", "GET", control.get_stats),
    _rule("/_emulator/stats/reset", "POST", control.reset_stats),
    _rule("/_emulator/groups", "POST", control.create_group),
    _rule("/_emulator/library", "GET", control.library),
    _rule("/_emulator/files/<id>/content", "GET", control.file_content),
]

_PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_key(method: str, rule: Rule) -> str:
    """The stats key of a route: `GET /files/{id}`."""
    return method + " " + _PLACEHOLDER.sub(r"{\1}", rule.rule)


class EmulatorApp:
    """The WSGI application of the API's origin."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.api = Map(API_ROUTES, strict_slashes=False)
        self.control = Map(CONTROL_ROUTES, strict_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/_emulator/"):
            response = self._control(request)
            stamp(self.emulator, response)
            return response(environ, start_response)
        return counted_in_flight(self.emulator, environ, start_response, lambda: finish(
            self.emulator, request, self._api(request)))

    def _control(self, request: Request) -> Response:
        if not ipaddress.ip_address(request.remote_addr or "0.0.0.0").is_loopback:
            return error_response(ApiError(403, "Control endpoints answer loopback clients only"))
        try:
            rule, args = self.control.bind_to_environ(request.environ).match(return_rule=True)
        except HTTPException as e:
            return error_response(ApiError(e.code or 404, e.description or "Not found"))
        return self._run(rule.endpoint, request, args)

    def _api(self, request: Request) -> Response:
        emu = self.emulator
        try:
            rule, args = self.api.bind_to_environ(request.environ).match(return_rule=True)
            emu.stats.count(route_key(request.method, rule))
        except HTTPException as e:
            rule, args = None, {}
            emu.stats.count(f"{request.method} (unmatched)")
            failure = e
        faulted = fault_answer(emu, request, error_response)
        if faulted is not None:
            return faulted
        if rule is None:
            if isinstance(failure, MethodNotAllowed):
                return error_response(ApiError(405, "Method not allowed"))
            return error_response(ApiError(404, "Not found"))
        if rule.endpoint not in PUBLIC:
            denied = self._check_token(request)
            if denied is not None:
                return denied
        return self._run(rule.endpoint, request, args)

    def _check_token(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            error = ApiError(401, "Missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="Mendeley"'})
            return error_response(error)
        problem = self.emulator.tokens.check(token.strip())
        if problem is None:
            return None
        status, reason = problem
        headers = {"WWW-Authenticate": f'Bearer realm="Mendeley", error="invalid_token", error_description="{reason}"'}
        return error_response(ApiError(status, reason, headers=headers if status == 401 else {}))

    def _run(self, endpoint: Callable[..., Response], request: Request, args: dict[str, Any]) -> Response:
        try:
            return endpoint(self.emulator, request, **args)
        except ApiError as e:
            return error_response(e)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return error_response(ApiError(500, "Internal emulator error"))


def make_emulator_server(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A threaded server (one thread per connection, kept alive) bound and listening; call serve_forever()."""
    return _threaded_server(host, port, EmulatorApp(emulator), emulator)


def make_content_server(emulator: Emulator, host: str = "127.0.0.1") -> BaseWSGIServer:
    """The second origin (another port): file content as S3 serves it. Records its URL in the emulator."""
    server = _threaded_server(host, 0, ContentHostApp(emulator), emulator)
    shown = f"[{host}]" if ":" in host else host
    emulator.content_host_url = f"http://{shown}:{server.socket.getsockname()[1]}"
    return server


def _threaded_server(host: str, port: int, app: Callable[..., Iterable[bytes]], emulator: Emulator) -> BaseWSGIServer:
    class Handler(KeepAliveHandler):
        """The emulator's handler, counting the connections it is given in the stats."""

        def setup(self) -> None:
            super().setup()
            emulator.stats.connected()

    server = make_server(host, port, app, threaded=True, request_handler=Handler)
    # Closing the server does not wait for the threads of connections a client still keeps open.
    server.block_on_close = False  # type: ignore[attr-defined]
    return server
