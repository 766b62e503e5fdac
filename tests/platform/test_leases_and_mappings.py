"""Leases and mappings against the Mongo-protocol server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from om_contracts import Customer, IntegrationSettings, KeyRing, Product
from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.adapters.mongo.mappings import MappingStore

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
    stores = [LeaseStore(mongo_db["leases"], owner=f"r{i}") for i in range(8)]
    results = await asyncio.gather(*(store.try_acquire("stock:sup_1", 30) for store in stores))
    assert sum(results) == 1
    winner = stores[results.index(True)]
    assert await winner.holder("stock:sup_1") == winner.owner
    await winner.release("stock:sup_1")
    assert await LeaseStore(mongo_db["leases"], owner="r9").try_acquire("stock:sup_1", 30)


async def test_an_expired_lease_can_be_taken_over(mongo_db: Any) -> None:
    crashed = LeaseStore(mongo_db["leases"], owner="crashed")
    other = LeaseStore(mongo_db["leases"], owner="other")
    assert await crashed.try_acquire("job", 30)  # expired below by hand: no race with the clock
    assert not await other.try_acquire("job", 30)
    await mongo_db["leases"].update_one(
        {"_id": "job"}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    assert await other.try_acquire("job", 30)
    assert not await crashed.renew("job", 30)


async def test_hold_yields_none_when_the_lease_is_taken(mongo_db: Any) -> None:
    store = LeaseStore(mongo_db["leases"])
    async with store.hold("job", ttl_s=30) as first:
        assert first is not None
        async with store.hold("job", ttl_s=30) as second:
            assert second is None
    async with store.hold("job", ttl_s=30) as third:
        assert third is not None


async def test_a_restarted_process_takes_back_its_own_lease_at_once_and_another_identity_still_waits(
    mongo_db: Any,
) -> None:
    before_crash = LeaseStore(mongo_db["leases"], owner="stock-sync-0")
    assert await before_crash.try_acquire("stock:sup_1", 600)  # then SIGKILL: never released
    stranger = LeaseStore(mongo_db["leases"], owner="stock-sync-1")
    assert not await stranger.try_acquire("stock:sup_1", 600)

    restarted = LeaseStore(mongo_db["leases"], owner="stock-sync-0")
    async with restarted.hold("stock:sup_1", ttl_s=600) as lease:
        assert lease is not None
        assert await restarted.holder("stock:sup_1") == "stock-sync-0"
        async with stranger.hold("stock:sup_1", ttl_s=600) as other:
            assert other is None
        async with restarted.hold("stock:sup_1", ttl_s=600) as twice:
            assert twice is None  # one incarnation never holds a lease twice
        # The previous life can no longer renew (were it alive after all, it would see LeaseLost).
        assert not await before_crash.renew("stock:sup_1", 600)
    assert await stranger.try_acquire("stock:sup_1", 600)


async def test_a_lease_written_before_identities_is_taken_only_once_expired(mongo_db: Any) -> None:
    now = datetime.now(UTC)
    await mongo_db["leases"].insert_one(
        {"_id": "job", "owner": "a1b2c3", "expires_at": now + timedelta(seconds=600), "acquired_at": now}
    )
    assert not await LeaseStore(mongo_db["leases"], owner="stock-sync-0").try_acquire("job", 30)
    assert await LeaseStore(mongo_db["leases"], owner="a1b2c3").try_acquire("job", 30)


class _AnswersWithoutDocument:
    """The leases collection, answering a take that landed without its document (what the
    embedded Mongo-protocol server answered once when a take raced the previous holder's release:
    `{n: 1}` and no value)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    async def find_one_and_update(self, *args: Any, **kwargs: Any) -> None:
        await self._collection.find_one_and_update(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


async def test_a_take_answered_without_its_document_is_read_back_and_released(mongo_db: Any) -> None:
    store = LeaseStore(_AnswersWithoutDocument(mongo_db["leases"]), owner="finance-0")  # type: ignore[arg-type]
    async with store.hold("finance:credit_notes:sup_1", 120) as lease:
        assert lease is not None  # it landed: held, not refused as busy
    other = LeaseStore(mongo_db["leases"], owner="finance-1")
    assert await other.try_acquire("finance:credit_notes:sup_1", 30)  # released, not held for 120 s
    busy = LeaseStore(_AnswersWithoutDocument(mongo_db["leases"]), owner="finance-2")  # type: ignore[arg-type]
    assert not await busy.try_acquire("finance:credit_notes:sup_1", 30)  # a take that did not land


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
