"""Which blocked records a settings change can unblock (pure).

A failed record waits for the ids its failure names (`blockers.blockers`: `customer:<id>`,
`product:<id>`, `freight:<customer id>`, `surcharge`). Each way a fix arrives provides some of
them; a record is worth re-syncing when its latest failure waits for at least one of those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, Protocol

from om_contracts import ErrorCode, PropertyName
from om_platform.core.freshness import PARKED_CODES as PARKED_BY_CONNECTION
from order_sync.domain.blockers import SURCHARGE, customer_blocker, freight_blocker, product_blocker

BlockerKind = Literal["customer", "product", "freight", "surcharge"]

CONNECTION = "connection"
"""Heal request: the supplier's NetSuite connection came back (a probe, new credentials)."""
INTEGRATION = "integration"
"""Heal request: the supplier's integration settings arrived (it was not configured)."""
WAITING_FOR: dict[str, tuple[ErrorCode, ...]] = {
    CONNECTION: tuple(ErrorCode(code) for code in PARKED_BY_CONNECTION),
    INTEGRATION: (ErrorCode.INTEGRATION_NOT_CONFIGURED,),
}
"""Heal requests that re-sync by failure code rather than by a mapping id: the codes each heals.

Records failing with these codes are found through the ledger's `(supplier_id, status,
last_error.code)` index, not through `blocked_by`: what they wait for is the supplier's, not an id's.
"""


class UpsertedEntity(Protocol):
    @property
    def id(self) -> str: ...
    def property(self, name: PropertyName) -> str | None: ...


def provided_by_entity(kind: Literal["customer", "product"], entity: UpsertedEntity) -> tuple[str, ...]:
    """What a `customer.upserted` / `product.upserted` provides: its `netsuite_id`, and for a
    customer its `netsuite_freight_item_id`."""
    provided: list[str] = []
    if entity.property("netsuite_id") is not None:
        provided.append(customer_blocker(entity.id) if kind == "customer" else product_blocker(entity.id))
    if kind == "customer" and entity.property("netsuite_freight_item_id") is not None:
        provided.append(freight_blocker(entity.id))
    return tuple(provided)


def provided_by_settings(
    customers: Iterable[str], products: Iterable[str], *, surcharge_item: bool
) -> tuple[str, ...]:
    """What new integration settings provide: the Ordermentum ids whose tab mapping was added or
    changed, and whether a surcharge item was set (om_platform's `SettingsChange`)."""
    provided = [customer_blocker(i) for i in sorted(customers)]
    provided += [product_blocker(i) for i in sorted(products)]
    if surcharge_item:
        provided.append(SURCHARGE)
    return tuple(provided)


def provided_by_import(pairs: Mapping[Literal["customer", "product"], Iterable[str]]) -> tuple[str, ...]:
    """What an operator's mapping import provides (Ordermentum ids per kind)."""
    return tuple(
        customer_blocker(i) if kind == "customer" else product_blocker(i)
        for kind, ids in sorted(pairs.items())
        for i in sorted(ids)
    )


def parse_blocker(blocker: str) -> tuple[BlockerKind, str] | None:
    """`product:prd_1` -> ("product", "prd_1"); `surcharge` -> ("surcharge", ""); None if unknown."""
    if blocker == SURCHARGE:
        return "surcharge", ""
    kind, sep, om_id = blocker.partition(":")
    if not sep or not om_id:
        return None
    if kind == "customer":
        return "customer", om_id
    if kind == "product":
        return "product", om_id
    if kind == "freight":
        return "freight", om_id
    return None


def unblocks(blocked_by: Iterable[str], provided: Iterable[str]) -> bool:
    """Whether a record waiting for `blocked_by` may sync once `provided` arrived (it may still
    fail for another id it waits for, and then names only what is still missing)."""
    return not set(blocked_by).isdisjoint(provided)
