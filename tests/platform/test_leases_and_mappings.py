"""Leases and mappings against the Mongo-protocol server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from om_contracts import Customer, IntegrationSettings, KeyRing, Product
from om_platform.leases import LeaseStore
from om_platform.mappings import MappingStore

pytestmark = pytest.mark.integration


class _Db:
    def __init__(self, db: Any) -> None:
        self.db = db


def integration(**overrides: Any) -> IntegrationSettings:
    ring = KeyRing([KeyRing.generate_key()])
    sealed = {k: ring.seal("x").token for k in ("client_id", "client_secret", "token_id", "token_secret")}
    return IntegrationSettings.model_validate(
        {"account_id": "1234567", "credentials": sealed, "sync_type": "orders", **overrides}
    )


async def test_only_one_holder_gets_a_lease_and_it_frees_on_release(mongo_db: Any) -> None:
    store = LeaseStore(mongo_db["leases"])
    results = await asyncio.gather(*(store.try_acquire("stock:sup_1", f"r{i}", 30) for i in range(8)))
    assert sum(results) == 1
    winner = f"r{results.index(True)}"
    assert await store.holder("stock:sup_1") == winner
    await store.release("stock:sup_1", winner)
    assert await store.try_acquire("stock:sup_1", "r9", 30)


async def test_an_expired_lease_can_be_taken_over(mongo_db: Any) -> None:
    store = LeaseStore(mongo_db["leases"])
    assert await store.try_acquire("job", "crashed", 0.05)
    assert not await store.try_acquire("job", "other", 30)
    await mongo_db["leases"].update_one(
        {"_id": "job"}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    assert await store.try_acquire("job", "other", 30)
    assert not await store.renew("job", "crashed", 30)


async def test_hold_yields_none_when_the_lease_is_taken(mongo_db: Any) -> None:
    store = LeaseStore(mongo_db["leases"])
    async with store.hold("job", ttl_s=30) as first:
        assert first is not None
        async with store.hold("job", ttl_s=30) as second:
            assert second is None
    async with store.hold("job", ttl_s=30) as third:
        assert third is not None


def customer(cid: str, netsuite_id: str | None = None) -> Customer:
    props = {"netsuite_id": netsuite_id} if netsuite_id else {}
    return Customer.model_validate({"id": cid, "name": "Café Luna", "properties": props})


def product(pid: str, netsuite_id: str | None = None) -> Product:
    props = {"netsuite_id": netsuite_id} if netsuite_id else {}
    return Product.model_validate({"id": pid, "sku": "S", "name": "P", "properties": props})


async def test_mapping_precedence_is_tab_then_event_property_then_latest_upsert(mongo_db: Any) -> None:
    store = MappingStore(_Db(mongo_db))
    now = datetime.now(UTC)
    await store.record_entity(
        "sup", "product", product("prd_3", "303"), name="P3", occurred_at=now, event_id="e1"
    )
    await store.record_entity(
        "sup", "product", product("prd_1", "999"), name="P1", occurred_at=now, event_id="e2"
    )
    settings = integration(product_mappings={"prd_1": "101"})
    resolved = await store.resolve(
        "sup",
        settings,
        "product",
        [product("prd_1", "555"), product("prd_2", "202"), product("prd_3"), product("prd_4")],
    )
    assert resolved == {"prd_1": "101", "prd_2": "202", "prd_3": "303", "prd_4": None}


async def test_each_resolution_says_where_it_came_from_with_the_same_precedence(mongo_db: Any) -> None:
    store = MappingStore(_Db(mongo_db))
    now = datetime.now(UTC)
    await store.record_entity(
        "sup", "product", product("prd_3", "303"), name="P3", occurred_at=now, event_id="e"
    )
    await store.set_operator_mappings("sup", "product", {"prd_5": "505", "prd_3": "333"})
    settings = integration(product_mappings={"prd_1": "101"})
    entities = [
        product("prd_1", "555"),
        product("prd_2", "202"),
        product("prd_3"),
        product("prd_4"),
        product("prd_5"),
    ]

    sources = await store.resolve_sources("sup", settings, "product", entities)

    assert {k: (r.netsuite_id, r.source) for k, r in sources.items()} == {
        "prd_1": ("101", "tab"),
        "prd_2": ("202", "property"),
        "prd_3": ("303", "upserted"),
        "prd_4": (None, None),
        "prd_5": ("505", "operator"),
    }
    assert await store.resolve("sup", settings, "product", entities) == {
        k: r.netsuite_id for k, r in sources.items()
    }


async def test_an_older_upsert_event_never_overwrites_a_newer_one(mongo_db: Any) -> None:
    store = MappingStore(_Db(mongo_db))
    now = datetime.now(UTC)
    await store.record_entity(
        "sup", "customer", customer("cus_1", "812"), name="A", occurred_at=now, event_id="new"
    )
    await store.record_entity(
        "sup",
        "customer",
        customer("cus_1", "700"),
        name="A",
        occurred_at=now - timedelta(hours=1),
        event_id="old",
    )
    assert await store.resolve("sup", integration(), "customer", [customer("cus_1")]) == {"cus_1": "812"}


async def test_reverse_lookup_finds_ordermentum_ids_for_netsuite_items(mongo_db: Any) -> None:
    store = MappingStore(_Db(mongo_db))
    now = datetime.now(UTC)
    await store.record_entity(
        "sup", "product", product("prd_e", "20"), name=None, occurred_at=now, event_id="e"
    )
    await store.set_operator_mappings("sup", "product", {"prd_o": "30"})
    settings = integration(product_mappings={"prd_t": "10"})
    assert await store.reverse("sup", settings, "product", ["10", "20", "30", "40"]) == {
        "10": "prd_t",
        "20": "prd_e",
        "30": "prd_o",
    }


async def test_the_latest_upsert_keeps_its_netsuite_properties_and_says_whether_it_was_stored(
    mongo_db: Any,
) -> None:
    store = MappingStore(_Db(mongo_db))
    now = datetime.now(UTC)
    freight = Customer.model_validate(
        {"id": "cus_f", "name": "F", "properties": {"netsuite_id": "8", "netsuite_freight_item_id": "77"}}
    )
    assert await store.record_entity("sup", "customer", freight, name="F", occurred_at=now, event_id="e1")
    older = customer("cus_f", "9")
    assert not await store.record_entity(
        "sup", "customer", older, name="F", occurred_at=now - timedelta(hours=1), event_id="e0"
    )
    assert await store.stored_property("sup", "customer", "cus_f", "netsuite_freight_item_id") == "77"
    assert await store.stored_property("sup", "customer", "cus_none", "netsuite_freight_item_id") is None
    await store.set_operator_mappings("sup", "customer", {"cus_o": "5"})
    settings = integration(customer_mappings={"cus_t": "1"})
    # A tab or a stored mapping counts; a netsuite_id carried by one event does not.
    assert await store.mapped("sup", settings, "customer", ["cus_f", "cus_o", "cus_t", "cus_x"]) == {
        "cus_f",
        "cus_o",
        "cus_t",
    }
