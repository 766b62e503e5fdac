"""Automatic re-sync against the embedded broker, Mongo-protocol server and the NetSuite simulator:
mappings that arrive heal exactly the records they unblock, once each, with no operator command."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from order_sync_harness import Stack, Supplier, wait_until

from om_contracts import INTEGRATIONS_TOPIC
from order_sync.app import Wired

pytestmark = pytest.mark.integration


def _latest(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        latest[event["data"]["ordermentum_id"]] = event
    return latest


def _named(event: dict[str, Any]) -> list[str]:
    return sorted(d["ordermentum_id"] for d in event["data"]["error"]["details"])


def _product(supplier: Supplier, product: str, *, mapped: bool) -> dict[str, Any]:
    properties = {"netsuite_id": supplier.items[product]} if mapped else {}
    return {"id": product, "sku": product.upper(), "name": f"Product {product}", "properties": properties}


async def test_fifty_orders_blocked_by_three_products_heal_as_each_mapping_arrives_once_each(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    sid = supplier.supplier_id
    only_a = [f"ord_a{n:04d}" for n in range(25)]  # lack only prd_a
    all_three = [f"ord_x{n:04d}" for n in range(25)]  # lack prd_a, prd_b and prd_c
    async with stack.results(sid) as reader:
        await stack.configure(service, supplier)
        for order_id in only_a:
            order = supplier.order(order_id, products=("prd_a",), quantities=("1",), prices=("9.50",))
            for line in order["lines"]:
                line["product"]["properties"] = {}
            await stack.order(supplier, "order.placed", order)
        for order_id in all_three:
            await stack.order(supplier, "order.placed", supplier.order(order_id, mapped_products=False))
        await reader.wait_for(lambda e: len(e) >= 50, timeout=60)
        assert Counter(e["event_type"] for e in reader.events) == {"netsuite.order.failed": 50}
        assert {_named(e)[0] for e in reader.events} == {"prd_a"}

        # A product.upserted carrying the NetSuite id of prd_a: no omctl, no resync command.
        await stack.upsert_entity(supplier, "product", _product(supplier, "prd_a", mapped=True))

        def first_heal_done(events: list[dict[str, Any]]) -> bool:
            return len(events) >= 100

        await reader.wait_for(first_heal_done, timeout=90)
        latest = _latest(reader.events)
        assert {o for o in only_a if latest[o]["event_type"] == "netsuite.order.synced"} == set(only_a)
        for order_id in all_three:
            assert latest[order_id]["event_type"] == "netsuite.order.failed"
            assert _named(latest[order_id]) == ["prd_b", "prd_c"]  # only what is still missing
        assert len(supplier.account.records("salesOrder")) == 25

        # The rest arrives through the integration's Product Fields tab.
        tab = {p: supplier.items[p] for p in ("prd_b", "prd_c")}
        await stack.configure(service, supplier, product_mappings=tab)
        await reader.wait_for(lambda e: len(e) >= 125, timeout=90)
        latest = _latest(reader.events)
        assert all(latest[o]["event_type"] == "netsuite.order.synced" for o in only_a + all_three)
    per_order = Counter((e["data"]["ordermentum_id"], e["event_type"]) for e in reader.events)
    assert {n for (_, kind), n in per_order.items() if kind == "netsuite.order.synced"} == {1}  # each once
    assert sum(n for (_, kind), n in per_order.items() if kind == "netsuite.order.synced") == 50
    assert all(per_order[o, "netsuite.order.failed"] == 1 for o in only_a)
    assert all(per_order[o, "netsuite.order.failed"] == 2 for o in all_three)
    assert len(reader.events) == 125
    orders = supplier.account.records("salesOrder")
    assert len(orders) == 50
    assert len({o["externalId"] for o in orders}) == 50
    ledger = service.runtime.db["ledger"]
    assert await ledger.count_documents({"supplier_id": sid, "status": "synced"}) == 50
    assert await ledger.count_documents({"supplier_id": sid, "claim.owner": {"$type": "string"}}) == 0


async def test_a_freight_item_on_the_customer_and_a_surcharge_item_in_the_settings_heal_an_order(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    sid = supplier.supplier_id
    async with stack.results(sid) as reader:
        await stack.configure(service, supplier, surcharge_item_id=None)
        order = supplier.order("ord_fr0001")
        del order["customer"]["properties"]["netsuite_freight_item_id"]
        await stack.order(supplier, "order.placed", order)
        [failed] = await reader.wait_for(lambda e: len(e) >= 1)
        assert failed["data"]["error"]["code"] == "MISSING_FREIGHT_ITEM"
        assert [d["path"] for d in failed["data"]["error"]["details"]] == ["freight", "surcharge"]

        customer = {
            "id": "cus_1",
            "name": "Café Luna",
            "properties": {
                "netsuite_id": supplier.customer_id,
                "netsuite_freight_item_id": supplier.freight_item,
            },
        }
        await stack.upsert_entity(supplier, "customer", customer)
        events = await reader.wait_for(lambda e: len(e) >= 2)
        assert events[1]["data"]["error"]["code"] == "MISSING_SURCHARGE_ITEM"
        assert [d["path"] for d in events[1]["data"]["error"]["details"]] == ["surcharge"]

        await stack.configure(service, supplier, surcharge_item_id=supplier.surcharge_item)
        events = await reader.wait_for(lambda e: len(e) >= 3)
    assert events[2]["event_type"] == "netsuite.order.synced"
    assert len(reader.events) == 3
    [sales_order] = supplier.account.records("salesOrder")
    items = [line["item"]["id"] for line in sales_order["item"]]
    assert supplier.freight_item in items
    assert supplier.surcharge_item in items


async def test_a_mapping_that_arrives_while_the_supplier_is_disconnected_heals_on_reconnection(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    sid = supplier.supplier_id
    async with stack.results(sid) as reader:
        await stack.configure(service, supplier, product_mappings={"prd_b": supplier.items["prd_b"]})
        order = supplier.order(
            "ord_dc0001", products=("prd_a", "prd_b"), quantities=("1", "1"), prices=("1", "1")
        )
        for line in order["lines"]:
            line["product"]["properties"] = {}
        await stack.order(supplier, "order.placed", order)
        [failed] = await reader.wait_for(lambda e: len(e) >= 1)
        assert _named(failed) == ["prd_a"]
        await stack.produce(
            INTEGRATIONS_TOPIC,
            supplier,
            "integration.netsuite.disconnected",
            {},
            occurred_at="2026-11-24T09:05:00+11:00",
        )
        await stack.upsert_entity(supplier, "product", _product(supplier, "prd_a", mapped=True))
        await wait_until(lambda: _stored_mapping(service, sid, "prd_a"))
        assert len(reader.events) == 1  # nothing can sync while disconnected
        settings = supplier.integration(product_mappings={"prd_b": supplier.items["prd_b"]})
        await stack.produce(
            INTEGRATIONS_TOPIC,
            supplier,
            "integration.netsuite.configured",
            settings,
            occurred_at="2026-11-24T09:10:00+11:00",
        )
        events = await reader.wait_for(lambda e: len(e) >= 2, timeout=60)
    assert events[1]["event_type"] == "netsuite.order.synced"
    assert len(supplier.account.records("salesOrder")) == 1


async def _stored_mapping(service: Wired, supplier_id: str, product: str) -> bool:
    document = await service.runtime.db["mappings"].find_one({"_id": f"{supplier_id}:product:{product}"})
    return bool(document and document.get("event_netsuite_id"))
