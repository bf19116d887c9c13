"""The one exception endpoints raise to answer with an error status and a JSON body."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: `status` and a JSON body `{"message": ...}` (what the SDK reads).

    `body` replaces that body (OAuth errors have their own shape; a string is sent as it is, under the
    JSON media type, as the real service does for some errors); `headers` are added.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        body: dict | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body if body is not None else {"message": message}
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def missing_group(group_id: str) -> ApiError:
    """The recorded answer for a group that does not exist: plain text, although labelled JSON."""
    text = f"Group {group_id} does not exist"
    return ApiError(404, text, body=text)
