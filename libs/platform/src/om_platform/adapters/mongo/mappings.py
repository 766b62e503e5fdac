"""Ordermentum customer/product id <-> NetSuite internal id, from the three places CONTRACTS.md names.

Precedence (CONTRACTS.md): the integration's mapping tabs (`customer_mappings` /
`product_mappings`), then the `netsuite_id` property on the record carried by the event being
processed, then the latest `customer.upserted` / `product.upserted` seen for it (kept here), then
an operator's mapping imported with `omctl mappings import` (kept here too, used only when none of
the Ordermentum-owned sources names an id). Each service keeps its own copy (its own collection,
fed by its own consumer of the customers/products topics); the logic is this one module.

Usage in a service's `wire` (the consumers of the customers/products topics, written once here):

    mappings = runtime.consume_mappings(("customer", "product"), on_mapping=heal_what_it_unblocks)

`ServiceRuntime.consume_mappings` builds the `MappingStore`, consumes the topic of each kind named
(`ordermentum.customers.v1`, `ordermentum.products.v1`) with a `MappingConsumer`, creates the
store's indexes at start and returns the store. `on_mapping(supplier_id, kind, entity)` runs after
an upsert was stored (never for an older event than the one kept): order_sync heals the records the
new mapping unblocks there; stock_sync (products only) and finance_sync pass none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from om_contracts import (
    KNOWN_PROPERTIES,
    CustomerUpserted,
    IntegrationSettings,
    ProductUpserted,
    PropertyName,
)
from om_platform.adapters.mongo.database import HasDatabase
from om_platform.core.mappings import Kind, MappedEntity, OnMapping, Resolution, Source
from om_platform.core.records import RecordContext


def _key(supplier_id: str, kind: Kind, ordermentum_id: str) -> str:
    return f"{supplier_id}:{kind}:{ordermentum_id}"


class MappingStore:
    """The per-service mapping collection and the precedence rules over it."""

    def __init__(self, db: HasDatabase) -> None:
        self._db = db
        # NetSuite id -> Ordermentum id per tab, keyed by the tab object itself: a supplier's
        # settings object is reused until it changes, so a 100,000-item tab is inverted once, not
        # once per page of a stock scan.
        self._inverted: dict[int, tuple[dict[str, str], dict[str, str]]] = {}

    @property
    def _collection(self) -> AsyncCollection[dict[str, Any]]:
        return self._db.db["mappings"]

    async def ensure_indexes(self) -> None:
        # `reverse` looks stored mappings up by either NetSuite id field.
        await self._collection.create_index([("supplier_id", 1), ("kind", 1), ("event_netsuite_id", 1)])
        await self._collection.create_index([("supplier_id", 1), ("kind", 1), ("operator_netsuite_id", 1)])

    async def record_entity(
        self,
        supplier_id: str,
        kind: Kind,
        entity: MappedEntity,
        *,
        name: str | None,
        occurred_at: datetime,
        event_id: str,
    ) -> bool:
        """Remember the latest upsert event for an entity (its `netsuite_id` and other NetSuite
        properties, name, ...); False when a newer event is stored already (nothing changed)."""
        document = {
            "supplier_id": supplier_id,
            "kind": kind,
            "ordermentum_id": entity.id,
            "event_netsuite_id": entity.property("netsuite_id"),
            "event_properties": {
                name: value
                for name in sorted(KNOWN_PROPERTIES - {"netsuite_id"})
                if (value := entity.property(name)) is not None
            },
            "name": name,
            "occurred_at": occurred_at,
            "event_id": event_id,
            "updated_at": datetime.now(UTC),
        }
        updated = await self._collection.update_one(
            {
                "_id": _key(supplier_id, kind, entity.id),
                "$or": [{"occurred_at": {"$lte": occurred_at}}, {"occurred_at": None}],
            },
            {"$set": document},
            upsert=False,
        )
        inserted = await self._collection.update_one(
            {"_id": _key(supplier_id, kind, entity.id)}, {"$setOnInsert": document}, upsert=True
        )
        return updated.matched_count > 0 or inserted.upserted_id is not None

    async def set_operator_mappings(self, supplier_id: str, kind: Kind, pairs: Mapping[str, str]) -> int:
        """Store operator-imported mappings (lowest precedence); returns how many were written."""
        now = datetime.now(UTC)
        requests = [
            UpdateOne(
                {"_id": _key(supplier_id, kind, om_id)},
                {
                    "$set": {"operator_netsuite_id": ns_id, "updated_at": now},
                    "$setOnInsert": {
                        "supplier_id": supplier_id,
                        "kind": kind,
                        "ordermentum_id": om_id,
                        "occurred_at": None,
                    },
                },
                upsert=True,
            )
            for om_id, ns_id in pairs.items()
        ]
        if requests:
            await self._collection.bulk_write(requests, ordered=False)
        return len(requests)

    async def resolve(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        kind: Kind,
        entities: Iterable[MappedEntity],
    ) -> dict[str, str | None]:
        """NetSuite id for each entity (None when unmapped), by the precedence in the module docstring."""
        resolved = await self.resolve_sources(supplier_id, integration, kind, entities)
        return {om_id: resolution.netsuite_id for om_id, resolution in resolved.items()}

    async def resolve_sources(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        kind: Kind,
        entities: Iterable[MappedEntity],
    ) -> dict[str, Resolution]:
        """`resolve`, saying for each id where it came from (same precedence, same reads)."""
        from_event = integration.netsuite_customer_id if kind == "customer" else integration.netsuite_item_id
        tab = integration.customer_mappings if kind == "customer" else integration.product_mappings
        result: dict[str, Resolution] = {}
        missing: list[str] = []
        for entity in entities:
            found = from_event(entity)  # the mapping tab, then the event's netsuite_id property
            if found is None:
                missing.append(entity.id)
            source: Source = "tab" if tab.get(entity.id) == found else "property"
            result[entity.id] = Resolution(found, source if found is not None else None)
        if missing:
            stored = await self._stored(supplier_id, kind, missing)
            for om_id in missing:
                result[om_id] = stored.get(om_id, Resolution(None, None))
        return result

    async def mapped(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, ids: Iterable[str]
    ) -> set[str]:
        """Which of `ids` have a NetSuite id now from a mapping tab or a stored mapping (not from
        a property carried by some event): whether an event that failed for them can sync now."""
        tab = integration.customer_mappings if kind == "customer" else integration.product_mappings
        wanted = set(ids)
        found = {om_id for om_id in wanted if om_id in tab}
        if wanted - found:
            found |= (await self._stored(supplier_id, kind, sorted(wanted - found))).keys()
        return found

    async def stored_property(
        self, supplier_id: str, kind: Kind, ordermentum_id: str, name: PropertyName
    ) -> str | None:
        """A NetSuite property (e.g. `netsuite_freight_item_id`) of the latest upsert of an entity."""
        document = await self._collection.find_one(
            {"_id": _key(supplier_id, kind, ordermentum_id)}, {"event_properties": 1}
        )
        value = ((document or {}).get("event_properties") or {}).get(name)
        return value if isinstance(value, str) else None

    async def _stored(self, supplier_id: str, kind: Kind, ids: list[str]) -> dict[str, Resolution]:
        found: dict[str, Resolution] = {}
        cursor = self._collection.find({"_id": {"$in": [_key(supplier_id, kind, i) for i in ids]}})
        async for document in cursor:
            if document.get("event_netsuite_id"):
                found[document["ordermentum_id"]] = Resolution(document["event_netsuite_id"], "upserted")
            elif document.get("operator_netsuite_id"):
                found[document["ordermentum_id"]] = Resolution(document["operator_netsuite_id"], "operator")
        return found

    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, netsuite_ids: Iterable[str]
    ) -> dict[str, str]:
        """Ordermentum id for each NetSuite id that is mapped (unmapped ones are absent).

        When several Ordermentum ids claim one NetSuite id, the integration tab wins, then the
        most recent event; the choice is deterministic.
        """
        wanted = set(netsuite_ids)
        tab = integration.customer_mappings if kind == "customer" else integration.product_mappings
        inverted = self._inverted_tab(tab)
        result = {ns_id: inverted[ns_id] for ns_id in wanted if ns_id in inverted}
        remaining = list(wanted - result.keys())
        if remaining:
            query = {
                "supplier_id": supplier_id,
                "kind": kind,
                "$or": [
                    {"event_netsuite_id": {"$in": remaining}},
                    {"operator_netsuite_id": {"$in": remaining}},
                ],
            }
            async for document in self._collection.find(query).sort([("occurred_at", -1), ("_id", 1)]):
                candidate = document.get("event_netsuite_id") or document.get("operator_netsuite_id")
                if (
                    isinstance(candidate, str)
                    and candidate in wanted
                    and candidate not in result
                    and tab.get(document["ordermentum_id"]) in (None, candidate)
                ):
                    result[candidate] = document["ordermentum_id"]
        return result

    def _inverted_tab(self, tab: dict[str, str]) -> dict[str, str]:
        """The tab as NetSuite id -> Ordermentum id; the smallest Ordermentum id wins a shared NetSuite id."""
        cached = self._inverted.get(id(tab))
        if cached is not None and cached[0] is tab:  # holding the tab makes its id unambiguous
            return cached[1]
        inverted: dict[str, str] = {}
        for om_id, ns_id in sorted(tab.items()):
            inverted.setdefault(ns_id, om_id)
        if len(self._inverted) >= 256:  # bounded: one entry per recently seen settings object
            self._inverted.pop(next(iter(self._inverted)))
        self._inverted[id(tab)] = (tab, inverted)
        return inverted

    async def export(self, supplier_id: str, integration: IntegrationSettings, kind: Kind) -> dict[str, str]:
        """Every known mapping of a supplier as Ordermentum id -> NetSuite id (effective values)."""
        result: dict[str, str] = {}
        async for document in self._collection.find({"supplier_id": supplier_id, "kind": kind}):
            value = document.get("event_netsuite_id") or document.get("operator_netsuite_id")
            if value:
                result[document["ordermentum_id"]] = value
        tab = integration.customer_mappings if kind == "customer" else integration.product_mappings
        result.update(tab)
        return result


class MappingConsumer:
    """The handler of the customers and products topics: remember each upsert, then `on_mapping`.

    One handler for both kinds (the event's type says which). `on_mapping` is skipped when the
    store kept a newer event for the entity already: an event replayed or overtaken changes nothing.
    """

    def __init__(self, store: MappingStore, on_mapping: OnMapping | None = None) -> None:
        self.store = store
        self._on_mapping = on_mapping

    async def handle(self, event: CustomerUpserted | ProductUpserted, ctx: RecordContext) -> None:
        kind: Kind = "customer" if isinstance(event, CustomerUpserted) else "product"
        stored = await self.store.record_entity(
            event.supplier_id,
            kind,
            event.data,
            name=event.data.name,
            occurred_at=event.occurred_at,
            event_id=event.event_id,
        )
        if stored and self._on_mapping is not None:
            await self._on_mapping(event.supplier_id, kind, event.data)
