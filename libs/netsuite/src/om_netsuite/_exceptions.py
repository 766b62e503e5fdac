"""Typed errors raised by the NetSuite client.

The whole tree (branch on the class or on ``.kind`` / ``.retryable``, never on message text)::

    NetSuiteError                      base class, carries ``request`` (method, URL without secrets)
    ├── NetSuiteHTTPError              NetSuite answered with a non-2xx status
    │   ├── RateLimited                429 CONCURRENCY_LIMIT_EXCEEDED              (retryable)
    │   ├── Transient                  500/502/503/504 and other 5xx               (retryable)
    │   ├── AuthenticationFailed       401/403 INVALID_LOGIN, INSUFFICIENT_PERMISSION
    │   └── PermanentError             400/404/409/... the request cannot succeed as it is
    ├── NetSuiteNetworkError           connect/read/write failure, no usable response (retryable)
    │   └── NetSuiteTimeout            the request timed out                       (retryable)
    ├── BudgetTimeout                  no concurrency slot within the configured wait (retryable)
    ├── SuiteQLPagingError             a query would page past NetSuite's 100,000-row window
    └── InvalidAccountId               an account id that cannot be part of a host name (ValueError)

NetSuite error bodies come in two shapes (Help Center "REST Web Services Error Format",
section_156570709583 and section_156631158782): the nested one with ``o:errorDetails`` and the
flat one with top-level ``detail`` and ``o:errorCode`` (record actions). :func:`error_from_response`
accepts both.

A create (POST) is never retried blindly; when its response was lost the error has
``outcome_unknown = True``: the record may or may not exist, and only an upsert by external id or a
lookup can tell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

__all__ = [
    "AuthenticationFailed",
    "BudgetTimeout",
    "ErrorDetail",
    "ErrorKind",
    "InvalidAccountId",
    "NetSuiteError",
    "NetSuiteHTTPError",
    "NetSuiteNetworkError",
    "NetSuiteTimeout",
    "PermanentError",
    "RateLimited",
    "RequestInfo",
    "SuiteQLPagingError",
    "Transient",
    "error_from_response",
]

ErrorKind = Literal["rate_limited", "transient", "auth", "permanent", "network", "timeout"]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What was asked, safe to log: method, URL (no credentials live in NetSuite URLs) and operation."""

    method: str
    url: str
    operation: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of ``o:errorDetails`` (or the flat body itself)."""

    code: str | None
    detail: str | None
    path: str | None = None


class NetSuiteError(Exception):
    """Base class of every error raised by this library."""

    kind: ErrorKind = "permanent"
    retryable: bool = False

    def __init__(self, message: str, *, request: RequestInfo | None = None) -> None:
        super().__init__(message)
        self.request = request
        #: True when a non-idempotent request (create) may have been applied although no
        #: response arrived: do not assume it failed.
        self.outcome_unknown = False


class InvalidAccountId(NetSuiteError, ValueError):
    """The account id is not ``digits[_SB<n>|_RP<n>]`` (or ``TSTDRV<digits>``)."""


class SuiteQLPagingError(NetSuiteError):
    """Offset paging would pass NetSuite's 100,000-row window; use a keyset scan instead."""


class BudgetTimeout(NetSuiteError):
    """No concurrency slot became free within the budget's maximum wait."""

    kind: ErrorKind = "rate_limited"
    retryable = True


class NetSuiteNetworkError(NetSuiteError):
    """The request failed below HTTP (connection refused, reset, protocol error)."""

    kind: ErrorKind = "network"
    retryable = True


class NetSuiteTimeout(NetSuiteNetworkError):
    """The request timed out (connect, read, write or pool)."""

    kind: ErrorKind = "timeout"


class NetSuiteHTTPError(NetSuiteError):
    """NetSuite answered with a non-success status.

    Attributes: ``status``, ``code`` (first ``o:errorCode``), ``detail``, ``error_path``
    (``o:errorPath``), ``details`` (every entry), ``retry_after`` (seconds, if sent), ``request``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        details: tuple[ErrorDetail, ...] = (),
        top_code: str | None = None,
        title: str | None = None,
        retry_after: float | None = None,
        request: RequestInfo | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.status = status
        self.details = details
        self.title = title
        self.retry_after = retry_after
        first = details[0] if details else ErrorDetail(None, None)
        self.code: str | None = first.code or top_code
        self.top_code = top_code
        self.detail: str | None = first.detail
        self.error_path: str | None = first.path


class RateLimited(NetSuiteHTTPError):
    """429: the account's concurrency limit was exceeded; the request was blocked, not applied."""

    kind: ErrorKind = "rate_limited"
    retryable = True


class Transient(NetSuiteHTTPError):
    """5xx (and 408): a server-side failure that may succeed later."""

    kind: ErrorKind = "transient"
    retryable = True


class AuthenticationFailed(NetSuiteHTTPError):
    """401/403: bad or revoked credentials, wrong realm, clock skew, or missing permission."""

    kind: ErrorKind = "auth"


class PermanentError(NetSuiteHTTPError):
    """4xx other than 401/403/408/429: the request cannot succeed as it is."""


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        # An HTTP-date is legal too; NetSuite is not known to send one, so treat it as absent.
        return None
    return max(0.0, seconds)


def _parse_body(content: bytes) -> tuple[tuple[ErrorDetail, ...], str | None, str | None]:
    try:
        body: Any = json.loads(content) if content else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return (), None, None
    details: list[ErrorDetail] = []
    nested = body.get("o:errorDetails")
    if isinstance(nested, list):
        details.extend(
            ErrorDetail(
                code=_str_or_none(item.get("o:errorCode")),
                detail=_str_or_none(item.get("detail")),
                path=_str_or_none(item.get("o:errorPath")),
            )
            for item in nested
            if isinstance(item, dict)
        )
    top_code = _str_or_none(body.get("o:errorCode"))
    if not details and (top_code or body.get("detail")):
        details.append(ErrorDetail(code=top_code, detail=_str_or_none(body.get("detail"))))
    return tuple(details), top_code, _str_or_none(body.get("title"))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def error_from_response(
    status: int,
    content: bytes,
    headers: httpx2.Headers | None = None,
    request: RequestInfo | None = None,
) -> NetSuiteHTTPError:
    """Build the typed error for a non-2xx NetSuite response (either body shape)."""
    details, top_code, title = _parse_body(content)
    retry_after = _parse_retry_after(headers.get("retry-after") if headers is not None else None)
    cls: type[NetSuiteHTTPError]
    if status == 429:
        cls = RateLimited
    elif status >= 500 or status == 408:
        cls = Transient
    elif status in (401, 403):
        cls = AuthenticationFailed
    else:
        cls = PermanentError
    first = details[0] if details else None
    code = (first.code if first else None) or top_code or "HTTP_ERROR"
    text = (first.detail if first else None) or title or "no detail"
    where = f" at {first.path}" if first and first.path else ""
    prefix = f"{request}: " if request else ""
    return cls(
        f"{prefix}{status} {code}: {text}{where}",
        status=status,
        details=details,
        top_code=top_code,
        title=title,
        retry_after=retry_after,
        request=request,
    )
