"""``RequestGuard``: what a session's owner may plug in to watch, and veto, its requests.

The client stays policy-free: it reports every attempt and every request's outcome to the
session's guard, and lets the guard refuse an attempt at the last moment (holding the account's
budget slot, right before it is sent). The services use it for their per-supplier circuit breaker
(``om_platform.connections``): a supplier whose login NetSuite refuses is not sent one more
request, however many records are queued for its budget, until a probe or new credentials say
the connection is back.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._exceptions import NetSuiteError

__all__ = ["RequestGuard"]


@runtime_checkable
class RequestGuard(Protocol):
    """Called by :class:`~om_netsuite.NetSuiteClient` for one session's requests.

    * :meth:`admit` holding the budget slot, right before each attempt goes on the wire: raise
      (any exception) to send nothing; the exception ends the request without a retry.
    * :meth:`attempted` after each attempt, still holding the slot: ``error`` is the typed error of
      a failed attempt (401, 429, 5xx, network...), None when NetSuite answered 2xx. It must not
      block (no I/O): it is how a burst of queued requests learns of a refusal at once.
    * :meth:`finished` once per request, with its outcome (None on success), after retries;
      awaited, so it may record a change durably. Its own failures are logged, never raised.
    """

    def admit(self, operation: str) -> None: ...

    def attempted(self, operation: str, error: NetSuiteError | None) -> None: ...

    async def finished(self, operation: str, error: BaseException | None) -> None: ...
