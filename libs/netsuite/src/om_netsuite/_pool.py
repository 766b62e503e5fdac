"""``AccountPools``: one HTTP connection pool per NetSuite account instead of one for all of them.

httpcore's pool looks at every connection it holds each time a request arrives or finishes (to drop
expired ones), and asks the socket of each idle one whether the server closed it (a ``poll`` and,
through anyio, a ``getpeername``). With one pool for the whole process that scan grows with the
number of accounts in use: with 1,000 suppliers it took ~12% of order_sync's samples (py-spy).
Each account has its own host in production (``<account>.suitetalk.api.netsuite.com``), so no
connection is ever shared between accounts anyway; a pool per account makes the scan as long as
that account's connections (at most its concurrency limit in practice).

Pools are keyed on the request's ``netsuite_account`` extension (set by the client; against the
simulator every account has the same host), else on the URL's origin. At most ``max_pools`` are
kept: when a new one would exceed that, the least recently used pool with no request in flight is
closed (its connections would have expired after ``keepalive_expiry`` anyway).
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpx2

__all__ = ["ACCOUNT_EXTENSION", "AccountPools"]

ACCOUNT_EXTENSION = "netsuite_account"
"""The request extension naming the account whose pool carries the request."""


class _Pool:
    def __init__(self, transport: httpx2.AsyncHTTPTransport) -> None:
        self.transport = transport
        self.in_flight = 0


class _Released(httpx2.AsyncByteStream):
    """The response body; counts the request as finished when the body is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, pool: _Pool) -> None:
        self._stream = stream
        self._pool: _Pool | None = pool

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._pool is not None:
                self._pool.in_flight -= 1
                self._pool = None


class AccountPools(httpx2.AsyncBaseTransport):
    """An ``httpx2`` transport holding one connection pool per account (see the module docstring)."""

    def __init__(
        self,
        *,
        limits: httpx2.Limits,
        max_pools: int = 512,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limits = limits
        self._max_pools = max_pools
        # One TLS context for every pool: building one loads the CA bundle (milliseconds).
        self._verify: ssl.SSLContext | bool = (
            httpx2.create_ssl_context(verify=verify) if verify is True else verify
        )
        self._pools: OrderedDict[str, _Pool] = OrderedDict()

    def pools(self) -> int:
        """Pools open now (tests and diagnostics)."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        key = request.extensions.get(ACCOUNT_EXTENSION)
        if not isinstance(key, str):
            key = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        pool = self._pools.get(key)
        if pool is None:
            await self._make_room()
            pool = self._pools[key] = _Pool(
                httpx2.AsyncHTTPTransport(verify=self._verify, limits=self._limits)
            )
        else:
            self._pools.move_to_end(key)
        pool.in_flight += 1
        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.in_flight -= 1
            raise
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _Released(response.stream, pool)
        return response

    async def _make_room(self) -> None:
        if len(self._pools) < self._max_pools:
            return
        # Least recently used first; usually the first one is idle. No copy of the whole dict.
        idle = next((key for key, pool in self._pools.items() if pool.in_flight == 0), None)
        if idle is not None:
            await self._pools.pop(idle).transport.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()
