"""stock_sync's one NetSuite boundary: the SuiteQL of the stock scan, its rows as `ItemLevels`, and
NetSuite errors as `StockReadFailed` (reference/netsuite.md §5.2, §5.4; Help section_157909186990).

Per-location quantities come from `inventoryitemlocations` (one row per item and location),
pivoted to one row per item so a keyset page of N rows is N items: `LEFT JOIN` keeps items with
no stock record (their columns are null, NetSuite omits them, and they count as zero).
`FETCH FIRST n ROWS ONLY` bounds the work NetSuite does per page (it would otherwise count the
whole remaining range for `totalResults` on every page).

NetSuite errors become `StockReadFailed` with a stable code; the client has already retried
429s, 5xx and timeouts within its policy (reference/netsuite.md §6.3) by the time one arrives.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Protocol, TypeVar, cast

from om_contracts import IntegrationSettings, StockField
from om_netsuite import AuthenticationFailed, NetSuiteError, NetSuiteSession, PermanentError
from om_platform.adapters.netsuite_access import NetSuiteAccess
from stock_sync.domain.levels import ItemLevels, StockView
from stock_sync.service_layer.ports import StockReadFailed

T = TypeVar("T")

ZERO = Decimal(0)
_FIGURE = {StockField.AVAILABLE: "quantityavailable", StockField.ON_HAND: "quantityonhand"}


# -- SuiteQL ------------------------------------------------------------------------------------


def _digits(value: str) -> str:
    # Location ids and item types are inlined (a CASE cannot take them as parameters everywhere);
    # only digit strings are ever inlined as numbers.
    if not value.isdigit():
        raise ValueError(f"not a NetSuite internal id: {value!r}")
    return value


def _types(item_types: tuple[str, ...]) -> str:
    for item_type in item_types:
        if not item_type.isalnum():
            raise ValueError(f"not an item type code: {item_type!r}")
    return ", ".join(f"'{t}'" for t in item_types)


def column(index: int) -> str:
    """Name of the SuiteQL result column holding the quantity at the view's `index`-th location."""
    return f"q{index}"


def locations_query(location_ids: tuple[str, ...]) -> str:
    """Which of the configured locations NetSuite knows (one cheap query before scanning)."""
    return f"SELECT id FROM location WHERE id IN ({', '.join(_digits(i) for i in location_ids)})"  # noqa: S608


def range_query(item_types: tuple[str, ...]) -> str:
    """Lowest and highest id and count of the stocked items, to split the scan into stripes."""
    return (
        "SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM item "  # noqa: S608
        f"WHERE itemtype IN ({_types(item_types)}) AND isinactive = 'F'"
    )


def levels_query(view: StockView, item_types: tuple[str, ...], page_size: int) -> str:
    """Keyset-paged levels of items with `:last < id <= ?` (the stripe's upper bound)."""
    figure = _FIGURE[view.field]
    pivots = ", ".join(
        f"SUM(CASE WHEN iil.location = {_digits(location)} THEN iil.{figure} END) AS {column(index)}"
        for index, location in enumerate(view.location_ids)
    )
    wanted = ", ".join(_digits(location) for location in view.location_ids)
    return (
        f"SELECT i.id AS id, {pivots} FROM item i "  # noqa: S608
        f"LEFT JOIN inventoryitemlocations iil ON iil.item = i.id AND iil.location IN ({wanted}) "
        f"WHERE i.itemtype IN ({_types(item_types)}) AND i.isinactive = 'F' "
        "AND i.id > :last AND i.id <= ? "
        f"GROUP BY i.id ORDER BY i.id FETCH FIRST {int(page_size)} ROWS ONLY"
    )


# -- rows ---------------------------------------------------------------------------------------


@cache
def _columns(count: int) -> tuple[str, ...]:
    return tuple(column(index) for index in range(count))


@lru_cache(maxsize=4096)
def _quantity(raw: str) -> Decimal:
    # Stock figures repeat a lot, and a scan parses a hundred thousand rows: a cache lookup costs
    # a fraction of building a Decimal from text (Decimals are immutable, so sharing is safe).
    return Decimal(raw)


def parse_row(row: Mapping[str, object], view: StockView) -> ItemLevels:
    """One SuiteQL row (`id`, `q0`..`qn`, strings) as levels; an absent column is zero.

    NetSuite omits null columns, and an item without a stock record at a location has none.
    """
    quantities: list[Decimal] = []
    for name in _columns(len(view.location_ids)):
        raw = row.get(name)
        if raw is None or raw == "":
            quantities.append(ZERO)
            continue
        try:
            quantities.append(_quantity(raw if isinstance(raw, str) else str(raw)))
        except InvalidOperation as exc:
            raise ValueError(f"quantity {raw!r} of item {row.get('id')!r} is not a number") from exc
    return ItemLevels(str(row["id"]), tuple(quantities))


# -- errors -------------------------------------------------------------------------------------


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


# -- the reader ---------------------------------------------------------------------------------


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


class HasNetSuite(Protocol):
    """Whatever holds the NetSuite access once it has started (the `ServiceRuntime`)."""

    @property
    def netsuite(self) -> NetSuiteAccess: ...


class NetSuiteStockReaders:
    """`StockReaders`: a `NetSuiteStockReader` over each supplier's own session (its account,
    credentials and share of the NetSuite budget)."""

    def __init__(self, access: HasNetSuite, *, item_types: tuple[str, ...], page_size: int = 1000) -> None:
        self._access = access
        self._item_types = item_types
        self._page_size = page_size

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> NetSuiteStockReader:
        return NetSuiteStockReader(
            self._access.netsuite.session(supplier_id, integration),
            item_types=self._item_types,
            page_size=self._page_size,
        )
