"""The ``Auth`` protocol every authentication mode implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import httpx2

__all__ = ["Auth"]


@runtime_checkable
class Auth(Protocol):
    """How a session authenticates its requests (TBA or OAuth 2.0 client credentials).

    The client calls :meth:`prepare` before waiting for a concurrency slot (token exchanges may do
    I/O and must not hold a slot), then :meth:`authorization` for the exact URL of every attempt.
    """

    realm: str
    """Canonical account id this auth belongs to."""

    async def prepare(self, http: httpx2.AsyncClient, base_url: str) -> None:
        """Make sure :meth:`authorization` can answer (fetch or renew a token if needed)."""

    def authorization(self, method: str, url: str, /) -> str:
        """The ``Authorization`` header value for one attempt of ``method url``."""

    def invalidate(self, signed_at: float | None = None, /) -> bool:
        """Drop cached tokens after a 401 of a request whose header was taken at ``signed_at``
        (``time.monotonic()``); return True if retrying with new ones may help."""
