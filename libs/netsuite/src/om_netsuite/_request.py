"""One NetSuite request as a value: what a session asks for and the client sends.

The session (`_session.py`) knows NetSuite's record and query services and builds a `Request`;
the client (`_client.py`) knows how to send one (budget slot, signing, retries, guard, tracing)
and never calls back into the session. The session reaches the client only through the
`RequestSender` port below, so the arrows point one way: client -> session -> request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx2

from ._accounts import account_base_url
from ._auth import Auth
from ._exceptions import RequestInfo
from ._guard import RequestGuard

__all__ = ["Request", "RequestSender", "encode_query"]


def encode_query(params: Sequence[tuple[str, str]]) -> str:
    """RFC 3986 query encoding (space = %20), so the signed and the sent URL agree byte for byte."""
    return "&".join(f"{quote(k, safe='-._~')}={quote(v, safe='-._~')}" for k, v in params)


@dataclass(frozen=True)
class Request:
    """One logical request of one account, before budget, signing and retries.

    ``limit`` is the account's concurrency limit (its budget); ``idempotent`` says whether a
    failure whose outcome is unknown may be retried; ``guard`` (the session's) hears every attempt
    and the outcome, and may veto an attempt.
    """

    account_id: str
    auth: Auth
    limit: int
    method: str
    path: str
    operation: str
    idempotent: bool
    query: Sequence[tuple[str, str]] = ()
    body: Any = None
    headers: Mapping[str, str] | None = None
    guard: RequestGuard | None = None

    def base_url(self, override: str | None) -> str:
        """``https://<account host>``, or ``override`` (simulator, tests)."""
        return account_base_url(self.account_id, override)

    def url(self, override: str | None) -> str:
        """The URL exactly as signed and sent (query encoded once, here)."""
        return self.base_url(override) + self.path + (f"?{encode_query(self.query)}" if self.query else "")

    def content(self) -> bytes | None:
        """The JSON body as sent (compact), or None without a body."""
        return None if self.body is None else json.dumps(self.body, separators=(",", ":")).encode()

    def send_headers(self) -> dict[str, str]:
        """The request's own headers, plus ``Content-Type`` when it has a body (never ``Authorization``)."""
        headers = dict(self.headers or {})
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def info(self, url: str) -> RequestInfo:
        return RequestInfo(self.method, url, self.operation)


class RequestSender(Protocol):
    """What a session needs of the client: send a request, and two account-wide settings."""

    base_url_override: str | None
    property_name_validation: str

    async def execute(self, request: Request) -> httpx2.Response:
        """Send one logical request with budget, signing and retries; return the 2xx response."""
        ...
