"""What order_sync reads back from NetSuite, as typed values (pure).

`adapters/netsuite_gateway.py` parses NetSuite's records and SuiteQL rows into these; the use cases
decide on them and never see a raw record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from om_contracts import NetSuiteCustomer, NetSuiteItem, NetSuiteRecordRef, TransactionTotals


@dataclass(frozen=True)
class Written:
    """The record an upsert wrote, and NetSuite's totals read back after it (None if not read)."""

    record: NetSuiteRecordRef
    netsuite_totals: TransactionTotals | None = None


@dataclass(frozen=True)
class FoundTransaction:
    """A transaction found by its external id, in the terms a cancel or a void decides on."""

    ref: NetSuiteRecordRef
    status: str | None = None
    """NetSuite's status id (sales orders: ``C`` cancelled, ``H`` closed, ``E``-``G`` billed)."""
    billed: bool = False
    """Some item line has a billed quantity."""
    amount_paid: Decimal = Decimal(0)
    lines_to_close: tuple[Mapping[str, object], ...] = ()
    """Its item lines as a close sends them back (``isClosed`` and what keeps each line as it is):
    built by the gateway from the record it read, sent by `Gateway.close_lines`."""


@dataclass(frozen=True)
class CatalogChange:
    """A NetSuite customer or item changed since a cursor, and its place in the keyset order."""

    record: NetSuiteCustomer | NetSuiteItem
    """As NetSuite has it; `ordermentum_id` is filled by the use case from the id mappings."""
    position: int
    """The record's internal id, the second key of the ``(lastmodifieddate, id)`` order."""
    modified: str | None
    """Its ``lastmodifieddate`` as ``YYYY-MM-DD HH24:MI:SS`` (the cursor's high-water mark)."""
