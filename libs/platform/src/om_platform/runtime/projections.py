"""The projections every service may keep: integration settings and id mappings, from their topics.

* `consume_integrations`: the compacted `ordermentum.integrations.v1` topic into the service's
  MongoDB (`IntegrationStore`); new credentials or a reconnection make the connection monitor
  probe the supplier at once. The start-up gate waits for this projection.
* `consume_mappings`: `ordermentum.customers.v1` / `ordermentum.products.v1` into the service's
  `MappingStore` (one `MappingConsumer`), indexes created at start.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from om_contracts import INTEGRATIONS_TOPIC
from om_platform.adapters.mongo.integrations import IntegrationStore, integrations_decoder
from om_platform.adapters.mongo.mappings import MappingConsumer, MappingStore
from om_platform.core.decoding import contract_decoder
from om_platform.core.mappings import TOPICS, Kind, OnMapping
from om_platform.core.settings_changes import SettingsChange

if TYPE_CHECKING:
    from om_platform.runtime.service import ServiceRuntime

MAPPING_DESCRIPTIONS: dict[Kind, str | None] = {
    "customer": "Customers: their netsuite_id property maps them to NetSuite customers.",
    "product": "Products: their netsuite_id property maps them to NetSuite items.",
}


def consume_integrations(runtime: ServiceRuntime) -> IntegrationStore:
    """Project the integrations topic; the store is usable once the runtime has started."""
    store = IntegrationStore(runtime)
    runtime.consume(
        INTEGRATIONS_TOPIC,
        decode=integrations_decoder(),
        handle=store.handle,
        description="NetSuite Integration settings per supplier (compacted; tombstone disconnects).",
    )
    runtime.on_start(store.warm)
    connections = runtime.connections

    async def on_change(supplier_id: str, change: SettingsChange) -> None:
        """New credentials (or a reconnection) may fix a refused login: probe it now."""
        if change.credentials or change.connected:
            await connections.credentials_changed(supplier_id)

    store.watch(on_change)
    runtime.integrations = store
    return store


def consume_mappings(
    runtime: ServiceRuntime,
    kinds: Collection[Kind],
    *,
    on_mapping: OnMapping | None,
    lanes: int,
    descriptions: Mapping[Kind, str | None] | None,
) -> MappingStore:
    """Consume the topic of each kind in `kinds` into one store (see `ServiceRuntime.consume_mappings`)."""
    store = MappingStore(runtime)
    consumer = MappingConsumer(store, on_mapping)
    texts = {**MAPPING_DESCRIPTIONS, **(descriptions or {})}
    for kind in ("customer", "product"):
        if kind in kinds:
            topic = TOPICS[kind]
            runtime.consume(
                topic,
                decode=contract_decoder(topic, _entity_id),
                handle=consumer.handle,
                limit_for=lambda _supplier: lanes,
                description=texts[kind],
            )
    runtime.on_start(store.ensure_indexes)
    return store


def _entity_id(event: Any) -> str:
    """The lane of a customer/product event: events of one entity apply in order."""
    return str(event.data.id)
