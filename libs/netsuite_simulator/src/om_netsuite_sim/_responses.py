"""NetSuite-shaped HTTP responses: JSON encoding and the error bodies of Help section_156570709583."""

from __future__ import annotations

import json
import secrets
import string
from decimal import Decimal
from typing import Any

from starlette.responses import Response

__all__ = [
    "ApiError",
    "concurrency_response",
    "error_response",
    "invalid_login_response",
    "json_response",
]

_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_TITLES = {
    400: ("#sec10.4.1", "Bad Request"),
    401: ("#sec10.4.2", "Unauthorized"),
    403: ("#sec10.4.4", "Forbidden"),
    404: ("#sec10.4.5", "Not Found"),
    405: ("#sec10.4.6", "Method Not Allowed"),
    500: ("#sec10.5.1", "Internal Server Error"),
}
SINGULAR = "application/vnd.oracle.resource+json; type=singular"
COLLECTION = "application/vnd.oracle.resource+json; type=collection"
ERROR = "application/vnd.oracle.resource+json; type=error"
_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)


class ApiError(Exception):
    """A REST error to be rendered in NetSuite's nested ``o:errorDetails`` shape."""

    def __init__(
        self, status: int, code: str, detail: str, path: str | None = None, *, flat: bool = False
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.flat = flat


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """Encode like NetSuite: decimals become JSON numbers, compact separators."""
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    value: Any, status: int = 200, media_type: str = SINGULAR, headers: dict[str, str] | None = None
) -> Response:
    return Response(dumps(value), status_code=status, media_type=media_type, headers=headers)


def error_response(error: ApiError) -> Response:
    """Nested shape for record/query errors, flat shape for record actions (Help 156631158782)."""
    anchor, title = _TITLES.get(error.status, ("", "Error"))
    body: dict[str, Any] = {"type": _TYPE + anchor, "title": title, "status": error.status}
    if error.flat:
        body.update({"detail": error.detail, "o:errorCode": error.code})
    else:
        detail: dict[str, Any] = {"detail": error.detail, "o:errorCode": error.code}
        if error.path is not None:
            detail["o:errorPath"] = error.path
        body["o:errorDetails"] = [detail]
    return json_response(body, error.status, ERROR)


def invalid_login_response(www_authenticate: str | None = None) -> Response:
    """The one 401 body every authentication failure gets (reason kept server-side only)."""
    body = {
        "type": _TYPE + "#sec10.4.2",
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [{"detail": _LOGIN_DETAIL, "o:errorCode": "INVALID_LOGIN"}],
    }
    headers = {"WWW-Authenticate": www_authenticate} if www_authenticate else None
    return json_response(body, 401, ERROR, headers)


def concurrency_response() -> Response:
    """The documented 429 body (Help section_156570709583): title "Bad Request", status 429."""
    body = {
        "type": _TYPE,
        "title": "Bad Request",
        "status": 429,
        "o:errorCode": "USER_ERROR",
        "o:errorDetails": [
            {
                "detail": "Concurrent request limit exceeded. Request blocked.",
                "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
            }
        ],
    }
    return json_response(body, 429, ERROR)


def error_id() -> str:
    """A NetSuite-looking error id (20 lower-case letters)."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))


def unexpected_error(status: int = 500, eid: str | None = None) -> Response:
    detail = f"An unexpected error occurred. Error ID: {eid or error_id()}"
    return error_response(ApiError(status, "UNEXPECTED_ERROR", detail))
