"""The stock scan's NetSuite reads over one supplier's `NetSuiteSession` (SuiteQL only).

NetSuite errors become `StockReadFailed` with a stable code; the client has already retried
429s, 5xx and timeouts within its policy (reference/netsuite.md §6.3) by the time one arrives.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import TypeVar, cast

from om_netsuite import AuthenticationFailed, NetSuiteError, NetSuiteSession, PermanentError
from stock_sync.domain.levels import ItemLevels, StockView, parse_row
from stock_sync.domain.queries import levels_query, locations_query, range_query
from stock_sync.service_layer.ports import StockReadFailed

T = TypeVar("T")


def _failure(error: NetSuiteError) -> StockReadFailed:
    if isinstance(error, AuthenticationFailed):
        return StockReadFailed("NETSUITE_AUTH_FAILED", str(error), retryable=False)
    if isinstance(error, PermanentError):
        return StockReadFailed("NETSUITE_REJECTED", f"{error.code}: {error.detail}", retryable=False)
    return StockReadFailed("NETSUITE_UNAVAILABLE", str(error), retryable=True)


async def _guard(call: Awaitable[T]) -> T:
    try:
        return await call
    except NetSuiteError as error:
        raise _failure(error) from error


class NetSuiteStockReader:
    """`StockReader` for one account."""

    def __init__(
        self, session: NetSuiteSession, *, item_types: tuple[str, ...], page_size: int = 1000
    ) -> None:
        self._session = session
        self._item_types = item_types
        self._page_size = page_size

    async def _rows(self, query: str) -> list[dict[str, object]]:
        return [row async for row in self._session.suiteql(query)]

    async def known_locations(self, location_ids: tuple[str, ...]) -> set[str]:
        rows = await _guard(self._rows(locations_query(location_ids)))
        return {str(row["id"]) for row in rows if "id" in row}

    async def id_range(self) -> tuple[int, int] | None:
        rows = await _guard(self._rows(range_query(self._item_types)))
        if not rows or rows[0].get("lo") is None or rows[0].get("hi") is None:
            return None
        return int(str(rows[0]["lo"])), int(str(rows[0]["hi"]))

    async def pages(self, view: StockView, after: int, up_to: int) -> AsyncIterator[list[ItemLevels]]:
        """Pages of `page_size` items with `after < id <= up_to`, in id order.

        A stripe whose last row reached `up_to` is done: the keyset paging alone (which knows no
        upper bound) would ask for one more page after a full one and get it empty.
        """
        rows = cast(
            AsyncGenerator[dict[str, object], None],
            self._session.suiteql_keyset(
                levels_query(view, self._item_types, self._page_size),
                [str(up_to)],
                key="id",
                start=str(after),
                page_size=self._page_size,
            ),
        )
        page: list[ItemLevels] = []
        try:
            async with contextlib.aclosing(rows):
                async for row in rows:
                    levels = parse_row(row, view)
                    page.append(levels)
                    if int(levels.item_id) >= up_to:
                        break
                    if len(page) == self._page_size:
                        yield page
                        page = []
        except NetSuiteError as error:
            raise _failure(error) from error
        if page:
            yield page
