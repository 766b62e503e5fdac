"""One attempt's pieces outside the client's control flow: the wire form, error typing, span status.

:class:`NetSuiteClient` builds a :class:`Wire` once per logical request and sends it on every
attempt; a transport failure becomes a typed :class:`NetSuiteError` here, and an attempt's span
records the error class and code (never the URL or headers, which carry SuiteQL and signatures).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from opentelemetry import trace

from ._exceptions import NetSuiteError, NetSuiteHTTPError, NetSuiteNetworkError, NetSuiteTimeout, RequestInfo

__all__ = ["NOT_SENT", "Wire", "call_hook", "mark_span_failed", "network_error"]

logger = logging.getLogger("om_netsuite")

#: Transport errors raised before the request left the client: NetSuite never saw it.
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


@dataclass
class Wire:
    """A request as it goes on the wire: built once, sent (and signed afresh) on every attempt."""

    url: str
    content: bytes | None
    headers: dict[str, str]
    info: RequestInfo
    signed_at: float = 0.0
    """``time.monotonic()`` when the last attempt took its ``Authorization`` header."""
    retries_401: bool = False
    """A 401 on this attempt is retried at once with a new token (a bearer token not yet renewed):
    the guard hears the retry, not the 401, so a burst on an expired token opens no breaker."""


def network_error(exc: httpx2.RequestError, info: RequestInfo, idempotent: bool) -> NetSuiteError:
    """The typed error for a transport failure; ``__cause__`` is left to the caller."""
    cls = NetSuiteTimeout if isinstance(exc, httpx2.TimeoutException) else NetSuiteNetworkError
    error = cls(f"{info}: {type(exc).__name__}", request=info)
    # Once the request may have reached NetSuite, a create's outcome is unknown.
    error.outcome_unknown = not idempotent and not isinstance(exc, NOT_SENT)
    return error


def mark_span_failed(span: trace.Span, error: BaseException) -> None:
    """Set an attempt span's error status: the error class, and status and code for HTTP errors."""
    description = type(error).__name__
    if isinstance(error, NetSuiteHTTPError):
        span.set_attribute("http.response.status_code", error.status)
        description = f"{description} {error.status} {error.code}"
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(trace.Status(trace.StatusCode.ERROR, description))


def call_hook(hook: Callable[..., None], *args: Any) -> None:
    """Call an observability hook; a broken one must not fail (or retry) the request it observes."""
    try:
        hook(*args)
    except Exception:
        logger.exception("netsuite observability hook failed")
