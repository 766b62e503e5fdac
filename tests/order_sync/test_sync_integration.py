"""order_sync end to end in process: embedded broker, Mongo-protocol server, simulator over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from order_sync_harness import OutcomeReader, Stack, money

from om_contracts import SYNC_RESULTS_TOPIC

pytestmark = pytest.mark.integration


async def test_an_order_with_three_products_freight_and_surcharge_becomes_one_sales_order_with_five_lines(
    stack: Stack,
) -> None:
    supplier = stack.supplier()
    reader = OutcomeReader(stack.kafka_bootstrap, SYNC_RESULTS_TOPIC, {supplier.supplier_id})
    await reader.start()
    try:
        service = await stack.start()
        await stack.configure(service, supplier)
        event_id = await stack.order(supplier, "order.placed", supplier.order("ord_000001"))
        events = await reader.wait_for(lambda e: len(e) >= 1)
    finally:
        await reader.stop()
    synced = events[0]
    assert synced["event_type"] == "netsuite.order.synced", synced
    data = synced["data"]
    assert data["source_event_id"] == event_id
    assert data["netsuite"]["external_id"] == "OM-ORDER-ord_000001"
    orders = supplier.account.records("salesOrder")
    assert len(orders) == 1
    order = orders[0]
    assert data["netsuite"]["internal_id"] == order["id"]
    assert data["netsuite"]["tran_id"] == order["tranId"]
    lines = order["item"]
    assert [line["item"]["id"] for line in lines] == [
        supplier.items["prd_a"],
        supplier.items["prd_b"],
        supplier.items["prd_c"],
        supplier.freight_item,
        supplier.surcharge_item,
    ]
    assert [money(line["quantity"]) for line in lines] == [Decimal("3"), Decimal("1.5"), Decimal("2"), 1, 1]
    assert [money(line["rate"]) for line in lines] == [
        Decimal("42.50"),
        Decimal("9.99"),
        Decimal("0.125"),
        Decimal("15.00"),
        Decimal("2.35"),
    ]
    assert [money(line["amount"]) for line in lines] == [
        Decimal("127.50"),
        Decimal("14.99"),
        Decimal("0.25"),
        Decimal("15.00"),
        Decimal("2.35"),
    ]
    assert order["entity"]["id"] == supplier.customer_id
    assert order["department"]["id"] == "1"
    assert order["class"]["id"] == "4"
    assert order["salesRep"]["id"] == "3"
    assert order["location"]["id"] == supplier.location_id
    assert order["otherRefNum"] == "PO-5521"
    assert order["currency"]["id"] == "1"
    assert "Ordermentum order N000001" in order["memo"]
