"""SuiteQL text for the stock scan (reference/netsuite.md §5.2, §5.4; Help section_157909186990).

Per-location quantities come from `inventoryitemlocations` (one row per item and location),
pivoted to one row per item so a keyset page of N rows is N items: `LEFT JOIN` keeps items with
no stock record (their columns are null, NetSuite omits them, and they count as zero).
`FETCH FIRST n ROWS ONLY` bounds the work NetSuite does per page (it would otherwise count the
whole remaining range for `totalResults` on every page).
"""

from __future__ import annotations

from om_contracts import StockField
from stock_sync.domain.levels import StockView, column

_FIGURE = {StockField.AVAILABLE: "quantityavailable", StockField.ON_HAND: "quantityonhand"}


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


def stripes(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """Split ids `low..high` into at most `count` ranges `(after, up_to)` for concurrent keyset scans."""
    if high < low:
        return []
    count = max(1, min(count, high - low + 1))
    span = high - low + 1
    bounds = [low - 1 + (span * k) // count for k in range(count + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(count) if bounds[k + 1] > bounds[k]]


def stripe_count(concurrency_limit: int, max_stripes: int) -> int:
    """How many stripes to scan at once: twice the account's budget, at most `max_stripes`.

    The budget (shared with the other services) bounds requests in flight; the extra stripes
    have their next request queued for a slot while others parse and compare a page, so the
    budget stays in use instead of idling between a response and the next request.
    """
    return max(1, min(max_stripes, 2 * concurrency_limit))
