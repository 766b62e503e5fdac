"""order_sync end to end in process: embedded broker, Mongo-protocol server, simulator over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from order_sync_harness import Stack, money, wait_until

from order_sync.app import Wired

pytestmark = pytest.mark.integration


async def test_an_order_with_three_products_freight_and_surcharge_becomes_one_sales_order_with_five_lines(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier)
        event_id = await stack.order(supplier, "order.placed", supplier.order("ord_000001"))
        events = await reader.wait_for(lambda e: len(e) >= 1)
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


async def test_an_invoice_sync_supplier_gets_a_netsuite_invoice_and_its_orders_are_only_counted(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier(sync_type="invoices")
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier)
        await stack.order(supplier, "order.placed", supplier.order("ord_000002"))
        event_id = await stack.order(supplier, "invoice.issued", supplier.order("inv_000002", invoice=True))
        events = await reader.wait_for(lambda e: len(e) >= 1)
        await wait_until(lambda: _counted(service, "sync_type_mismatch"))
    [synced] = events
    assert synced["event_type"] == "netsuite.invoice.synced"
    assert synced["data"]["source_event_id"] == event_id
    assert synced["data"]["netsuite"]["external_id"] == "OM-INV-inv_000002"
    assert supplier.account.records("salesOrder") == []
    [invoice] = supplier.account.records("invoice")
    assert synced["data"]["netsuite"]["internal_id"] == invoice["id"]
    assert synced["data"]["netsuite"]["tran_id"] == invoice["tranId"]
    assert len(invoice["item"]) == 5
    assert invoice["dueDate"] == "2026-12-25"


async def _counted(service: Wired, reason: str) -> bool:
    value = service.runtime.metrics.registry.get_sample_value(
        "om_order_sync_unpublished_total", {"reason": reason}
    )
    return bool(value)


async def test_updating_an_order_changes_the_same_sales_order_and_cancelling_closes_it(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier)
        await stack.order(supplier, "order.placed", supplier.order("ord_000003"))
        updated = supplier.order(
            "ord_000003",
            products=("prd_a", "prd_b"),
            quantities=("5", "1"),
            prices=("42.50", "9.99"),
            surcharge=None,
        )
        await stack.order(supplier, "order.updated", updated, occurred_at="2026-11-24T09:20:00+11:00")
        await reader.wait_for(lambda e: len(e) >= 2)
        [order] = supplier.account.records("salesOrder")
        assert [line["item"]["id"] for line in order["item"]] == [
            supplier.items["prd_a"],
            supplier.items["prd_b"],
            supplier.freight_item,
        ]
        assert money(order["item"][0]["quantity"]) == 5
        await stack.order(supplier, "order.cancelled", updated, occurred_at="2026-11-24T09:30:00+11:00")
        events = await reader.wait_for(lambda e: len(e) >= 3)
    placed, changed, cancelled = events
    assert [placed["event_type"], changed["event_type"], cancelled["event_type"]] == [
        "netsuite.order.synced",
        "netsuite.order.synced",
        "netsuite.order.cancelled",
    ]
    assert placed["data"]["netsuite"]["internal_id"] == changed["data"]["netsuite"]["internal_id"]
    assert cancelled["data"]["netsuite"]["internal_id"] == placed["data"]["netsuite"]["internal_id"]
    [order] = supplier.account.records("salesOrder")
    assert all(line["isClosed"] for line in order["item"])
    assert order["status"] == "H"


async def test_cancelling_a_billed_sales_order_fails_with_a_clear_reason(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier)
        order = supplier.order("ord_000004")
        await stack.order(supplier, "order.placed", order)
        [synced] = await reader.wait_for(lambda e: len(e) >= 1)
        supplier.account.bill_sales_order(synced["data"]["netsuite"]["internal_id"])
        await stack.order(supplier, "order.cancelled", order, occurred_at="2026-11-24T09:30:00+11:00")
        events = await reader.wait_for(lambda e: len(e) >= 2)
    failed = events[1]
    assert failed["event_type"] == "netsuite.order.failed"
    assert failed["data"]["error"]["code"] == "NOT_CANCELLABLE"
    assert failed["data"]["error"]["retryable"] is False
    assert failed["data"]["netsuite"]["internal_id"] == synced["data"]["netsuite"]["internal_id"]


async def test_voiding_an_invoice_credits_it_in_full_in_netsuite(shared: tuple[Stack, Wired]) -> None:
    stack, service = shared
    supplier = stack.supplier(sync_type="invoices")
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier)
        invoice = supplier.order("inv_000005", invoice=True)
        await stack.order(supplier, "invoice.issued", invoice)
        await stack.order(supplier, "invoice.voided", invoice, occurred_at="2026-11-24T09:30:00+11:00")
        events = await reader.wait_for(lambda e: len(e) >= 2)
    assert [e["event_type"] for e in events] == ["netsuite.invoice.synced", "netsuite.invoice.voided"]
    [credit] = supplier.account.records("creditMemo")
    [netsuite_invoice] = supplier.account.records("invoice")
    assert credit["externalId"] == "OM-INV-inv_000005-VOID"
    assert money(netsuite_invoice["amountRemaining"]) == 0


async def test_an_order_with_an_unmapped_customer_and_two_unmapped_products_fails_then_heals_by_itself(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier)
        order = supplier.order("ord_000006", customer_mapped=False, mapped_products=False)
        order["lines"][2]["product"]["properties"] = {"netsuite_id": supplier.items["prd_c"]}
        await stack.order(supplier, "order.placed", order)
        [failed] = await reader.wait_for(lambda e: len(e) >= 1)
        assert failed["event_type"] == "netsuite.order.failed"
        error = failed["data"]["error"]
        assert error["code"] == "UNMAPPED_CUSTOMER"
        assert sorted(d["ordermentum_id"] for d in error["details"]) == ["cus_1", "prd_a", "prd_b"]
        assert supplier.account.records("salesOrder") == []

        await stack.upsert_entity(
            supplier,
            "customer",
            {"id": "cus_1", "name": "Café Luna", "properties": {"netsuite_id": supplier.customer_id}},
        )
        for product in ("prd_a", "prd_b"):
            await stack.upsert_entity(
                supplier,
                "product",
                {
                    "id": product,
                    "sku": product,
                    "name": product,
                    "properties": {"netsuite_id": supplier.items[product]},
                },
            )

        # Each mapping heals what it unblocks as it arrives: the order may fail again naming only
        # what is still missing, and syncs once the last one is there. No resync command.
        events = await reader.wait_for(lambda e: e[-1]["event_type"] == "netsuite.order.synced", timeout=60)
        left = await service.entrypoints.on_resync_command(supplier.supplier_id, {})
    assert left["resynced"] == 0  # nothing was left for an operator
    assert [e["event_type"] for e in events].count("netsuite.order.synced") == 1
    for again in events[1:-1]:
        assert set(_named(again)) < {"cus_1", "prd_a", "prd_b"}
    assert events[-1]["data"]["source_event_id"] == failed["data"]["source_event_id"]
    assert len(supplier.account.records("salesOrder")) == 1
    ledger = await service.runtime.db["ledger"].find_one({"supplier_id": supplier.supplier_id})
    assert ledger is not None
    assert ledger["status"] == "synced"
    assert ledger["last_error"] is None


def _named(event: dict[str, Any]) -> list[str]:
    return [d["ordermentum_id"] for d in event["data"]["error"]["details"]]


async def test_an_order_of_a_supplier_not_yet_configured_fails_then_syncs_by_itself_once_configured(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()
    async with stack.results(supplier.supplier_id) as reader:
        await stack.order(supplier, "order.placed", supplier.order("ord_000007"))
        [failed] = await reader.wait_for(lambda e: len(e) >= 1)
        await stack.configure(service, supplier)
        events = await reader.wait_for(lambda e: len(e) >= 2)
    assert failed["event_type"] == "netsuite.order.failed"
    assert failed["data"]["error"]["code"] == "INTEGRATION_NOT_CONFIGURED"
    assert failed["data"]["error"]["retryable"] is False
    assert events[1]["event_type"] == "netsuite.order.synced"
    assert len(supplier.account.records("salesOrder")) == 1
