"""`ServiceRuntime.consume_mappings`: the customers/products consumers every service shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from om_contracts import CUSTOMERS_TOPIC, PRODUCTS_TOPIC, IntegrationSettings, KeyRing, parse_event
from om_platform.adapters.mongo.mappings import MappingConsumer, MappingStore
from om_platform.core.mappings import MappedEntity
from om_platform.core.records import RecordContext
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class _Db:
    def __init__(self, db: Any) -> None:
        self.db = db


def upserted(topic: str, entity_id: str, netsuite_id: str, at: datetime, event_id: str) -> Any:
    kind = "customer" if topic == CUSTOMERS_TOPIC else "product"
    data: dict[str, Any] = {
        "id": entity_id,
        "name": f"{kind} {entity_id}",
        "properties": {"netsuite_id": netsuite_id},
    }
    if kind == "product":
        data["sku"] = "SKU-1"
    event = {
        "event_id": event_id,
        "event_type": f"{kind}.upserted",
        "occurred_at": at.isoformat(),
        "supplier_id": "sup_1",
        "data": data,
    }
    return parse_event(topic, json.dumps(event).encode(), key=b"sup_1")


def ctx(topic: str) -> RecordContext:
    return RecordContext(topic=topic, partition=0, offset=0, key=b"sup_1", headers=(), timestamp_ms=0)


def runtime() -> ServiceRuntime:
    settings = ServiceSettings(service_name="mappings-test", netsuite_credentials_keys=KeyRing.generate_key())
    return ServiceRuntime(settings, title="mappings test")


def test_it_consumes_the_topics_of_the_kinds_asked_for_with_their_lanes_and_descriptions() -> None:
    both = runtime()
    store = both.consume_mappings(lanes=16)
    assert isinstance(store, MappingStore)
    assert [c.topic for c in both.consumers] == [CUSTOMERS_TOPIC, PRODUCTS_TOPIC]
    assert all(c._limit_for("sup_1") == 16 for c in both.consumers)

    products_only = runtime()
    products_only.consume_mappings(("product",), descriptions={"product": "Products, for stock."})
    assert [c.topic for c in products_only.consumers] == [PRODUCTS_TOPIC]
    assert products_only.consumers[0]._limit_for("sup_1") == 8
    channels = products_only.asyncapi()["channels"]
    described = {channel["address"]: channel.get("description") for channel in channels.values()}
    assert described[PRODUCTS_TOPIC] == "Products, for stock."


@pytest.mark.integration
async def test_each_upsert_is_stored_and_on_mapping_runs_only_when_it_changed_something(
    mongo_db: Any,
) -> None:
    store = MappingStore(_Db(mongo_db))
    await store.ensure_indexes()
    seen: list[tuple[str, str, str]] = []

    async def on_mapping(supplier_id: str, kind: str, entity: MappedEntity) -> None:
        seen.append((supplier_id, kind, entity.id))

    consumer = MappingConsumer(store, on_mapping)
    await consumer.handle(upserted(CUSTOMERS_TOPIC, "cus_1", "812", T0, "e1"), ctx(CUSTOMERS_TOPIC))
    await consumer.handle(upserted(PRODUCTS_TOPIC, "prd_1", "303", T0, "e2"), ctx(PRODUCTS_TOPIC))
    older = upserted(CUSTOMERS_TOPIC, "cus_1", "700", T0 - timedelta(hours=1), "e0")
    await consumer.handle(older, ctx(CUSTOMERS_TOPIC))  # overtaken: changes nothing

    assert seen == [("sup_1", "customer", "cus_1"), ("sup_1", "product", "prd_1")]
    assert await store.reverse("sup_1", _integration(), "customer", ["812", "700"]) == {"812": "cus_1"}
    assert await store.reverse("sup_1", _integration(), "product", ["303"]) == {"303": "prd_1"}

    # Without a hook (stock_sync, finance_sync) the upsert is only stored.
    await MappingConsumer(store).handle(
        upserted(PRODUCTS_TOPIC, "prd_2", "404", T0, "e3"), ctx(PRODUCTS_TOPIC)
    )
    assert await store.reverse("sup_1", _integration(), "product", ["404"]) == {"404": "prd_2"}


def _integration() -> IntegrationSettings:
    ring = KeyRing([KeyRing.generate_key()])
    sealed = {k: ring.seal("x").token for k in ("client_id", "client_secret", "token_id", "token_secret")}
    return IntegrationSettings.model_validate(
        {"account_id": "1234567", "credentials": sealed, "sync_type": "orders"}
    )
