"""NetSuite customers/items as catalog events, and the polling cursor arithmetic (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from om_contracts import NetSuiteCustomer, NetSuiteItem

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # matches the SuiteQL mask 'YYYY-MM-DD HH24:MI:SS'
EPOCH = "1970-01-01 00:00:00"


def _flag(value: Any) -> bool:
    return value in (True, "T", "t", "true", "True")


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def customer_of(row: dict[str, Any], ordermentum_id: str | None) -> NetSuiteCustomer:
    name = _text(row.get("companyname")) or _text(row.get("entityid")) or f"customer {row['id']}"
    return NetSuiteCustomer(
        netsuite_id=str(row["id"]),
        name=name,
        email=_text(row.get("email")),
        is_inactive=_flag(row.get("isinactive")),
        ordermentum_id=ordermentum_id,
    )


def item_of(row: dict[str, Any], ordermentum_id: str | None) -> NetSuiteItem:
    sku = _text(row.get("itemid"))
    return NetSuiteItem(
        netsuite_id=str(row["id"]),
        name=_text(row.get("displayname")) or sku or f"item {row['id']}",
        sku=sku,
        is_inactive=_flag(row.get("isinactive")),
        ordermentum_id=ordermentum_id,
    )


def start_from(high_water: str | None, overlap_s: float) -> str:
    """Where the next poll starts: the high-water mark minus an overlap.

    NetSuite's lastmodifieddate has one-second resolution and a record saved during the previous
    poll's second could be missed; re-reading a short overlap republishes a few unchanged records
    (catalog events are states, so that is harmless) and never skips one.
    """
    if high_water is None:
        return EPOCH
    # NetSuite returns these in the account's time zone; only differences matter here.
    moment = datetime.strptime(high_water, TIMESTAMP_FORMAT).replace(tzinfo=UTC) - timedelta(
        seconds=overlap_s
    )
    return max(moment.strftime(TIMESTAMP_FORMAT), EPOCH)
