"""What new integration settings provide that the old ones did not (pure).

The projection that stores the settings and calls the watchers with these changes is
`om_platform.adapters.mongo.integrations.IntegrationStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from om_contracts import IntegrationSettings


@dataclass(frozen=True)
class SettingsChange:
    """What new settings provide that the old ones did not: mappings added or changed in the
    Customer/Product Fields tabs, a new surcharge item, and whether the supplier was (re)connected
    (every setting is new then, and mappings stored while it was disconnected count again).
    Removals are not listed: they unblock nothing."""

    customers: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    surcharge_item: bool = False
    connected: bool = False
    credentials: bool = False
    """The account id or a sealed credential differs from the stored settings' (a rotation, a
    re-authorised token): a connection refused before may work now. Sealed values are compared
    (this store never opens them), so the same secret sealed again also counts: what follows is
    harmless (an open breaker probed, parked records run again)."""

    def __bool__(self) -> bool:
        return bool(
            self.customers or self.products or self.surcharge_item or self.connected or self.credentials
        )

    def __or__(self, other: SettingsChange) -> SettingsChange:
        return SettingsChange(
            self.customers | other.customers,
            self.products | other.products,
            self.surcharge_item or other.surcharge_item,
            self.connected or other.connected,
            self.credentials or other.credentials,
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "customers": sorted(self.customers),
            "products": sorted(self.products),
            "surcharge_item": self.surcharge_item,
            "connected": self.connected,
            "credentials": self.credentials,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> SettingsChange:
        if not document:
            return cls()
        return cls(
            frozenset(document.get("customers") or ()),
            frozenset(document.get("products") or ()),
            bool(document.get("surcharge_item")),
            bool(document.get("connected")),
            bool(document.get("credentials")),
        )


def settings_changes(old: IntegrationSettings | None, new: IntegrationSettings | None) -> SettingsChange:
    """What `new` maps or sets that `old` did not (see `SettingsChange`)."""
    if new is None:
        return SettingsChange()

    def added(before: dict[str, str], after: dict[str, str]) -> frozenset[str]:
        return frozenset(om_id for om_id, ns_id in after.items() if before.get(om_id) != ns_id)

    return SettingsChange(
        customers=added(old.customer_mappings if old else {}, new.customer_mappings),
        products=added(old.product_mappings if old else {}, new.product_mappings),
        surcharge_item=new.surcharge_item_id is not None
        and (old is None or old.surcharge_item_id != new.surcharge_item_id),
        connected=old is None,
        credentials=old is not None and _credentials_of(old) != _credentials_of(new),
    )


def _credentials_of(settings: IntegrationSettings) -> tuple[str, ...]:
    return (settings.account_id, settings.credentials.fingerprint())
