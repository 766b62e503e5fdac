"""Payout fees on the deposit, and finalised invoices edited, voided or deleted in NetSuite."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from finance_sync.app import Wired
from finance_sync.domain.features import Feature
from om_contracts import NETSUITE_INVOICES_TOPIC, RECONCILIATION_TOPIC

from .conftest import MakeSupplier, Supplier, events_on
from .test_documents_flow import sales_order, supplier_with_catalogue
from .test_reconciliation_flow import RECONCILE, catalogue, envelope, invoice, payment, send, settled

pytestmark = pytest.mark.integration


async def test_a_payout_with_fees_makes_a_deposit_equal_to_the_net_amount(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    reconcile = {**RECONCILE, "fees_account_id": "1"}
    supplier: Supplier = await make_supplier(catalogue, sync_type="invoices", auto_reconciliation=reconcile)
    account, customer = supplier.account, supplier.integration.customer_mappings["cus_19ab"]
    first = account.record("invoice", invoice(account, customer, "100.00", "OM-INV-inv_f1"))["tranId"]
    second = account.record("invoice", invoice(account, customer, "59.10", "OM-INV-inv_f2"))["tranId"]
    payout = {
        "id": "po_fees", "settled_at": "2026-11-28T09:00:00+11:00", "amount": "146.94", "currency": "AUD",
        "reference": "OM-SETTLE-FEES", "payment_ids": ["pay_f1", "pay_f2"], "fees": "12.16",
    }  # fmt: skip
    await send(
        kafka_producer,
        envelope(supplier.id, "payment.succeeded",
                 payment("pay_f1", "100.00", {"invoice_number": first, "amount": "100.00"})),
        envelope(supplier.id, "payment.succeeded",
                 payment("pay_f2", "59.10", {"invoice_number": second, "amount": "59.10"})),
        envelope(supplier.id, "payout.settled", payout),
    )  # fmt: skip
    await settled(finance, supplier.id, "payout", ["po_fees"])

    (deposit,) = account.records("deposit")
    assert deposit["total"] == Decimal("146.94")  # 159.10 of payments less 12.16 of fees as cash back
    assert [(line["account"]["id"], line["amount"]) for line in deposit["cashback"]] == [
        ("1", Decimal("12.16"))
    ]
    held = {str(line["id"]) for line in deposit["payment"]}
    assert held == {p["id"] for p in account.records("customerPayment")}
    assert "other" not in deposit
    published = await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=3)
    (deposited,) = [e["data"] for e in published if e["event_type"] == "netsuite.payout.deposited"]
    assert (deposited["amount"], deposited["fees"], deposited["fees_booked"]) == ("146.94", "12.16", True)
    assert deposited["reason"] is None


async def _finalised(supplier: Supplier, ids: dict[str, str], order_id: str, at: datetime) -> str:
    with supplier.at(at):
        return supplier.account.bill_sales_order(sales_order(supplier, ids, order_id))


async def _two_published(
    finance: Wired, make_supplier: MakeSupplier, base_hour: datetime, *orders: str
) -> tuple[Supplier, dict[str, str], list[str]]:
    """A supplier whose two orders were billed and published as finalised in the first hour."""
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    invoices = [
        await _finalised(supplier, ids, order, base_hour + timedelta(minutes=5 + n))
        for n, order in enumerate(orders)
    ]
    assert await _run(finance, supplier, Feature.FINALISED_INVOICES, base_hour + timedelta(hours=1)) == 2
    return supplier, ids, invoices


async def _run(finance: Wired, supplier: Supplier, feature: Feature, slot: datetime) -> int:
    result = await finance.run_feature(supplier.id, supplier.integration, feature, slot)
    return result.published


async def _invoice_events(kafka_bootstrap: str, supplier: Supplier, at_least: int) -> list[dict[str, Any]]:
    return await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=at_least)


async def test_a_finalised_invoice_edited_in_netsuite_is_published_once_as_updated(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids, (invoice_id, untouched) = await _two_published(
        finance, make_supplier, base_hour, "ord_edit", "ord_same"
    )
    assert await _run(finance, supplier, Feature.INVOICE_CHANGES, base_hour + timedelta(hours=1)) == 0
    lines = supplier.account.record("invoice", invoice_id)["item"]
    with supplier.at(base_hour + timedelta(hours=1, minutes=20)):
        supplier.account.update(
            "invoice",
            invoice_id,
            {
                "dueDate": "2026-12-31",
                "item": {"items": [{"line": lines[0]["line"], "quantity": 2, "amount": "85.00"}]},
            },
        )
        supplier.account.update("invoice", untouched, {"memo": "a note, nothing that is published"})
        supplier.account.record_customer_payment(ids["customer"], "10.00", {untouched: "10.00"})
    second_hour = base_hour + timedelta(hours=2)

    published = await _run(finance, supplier, Feature.INVOICE_CHANGES, second_hour)
    again = await _run(finance, supplier, Feature.INVOICE_CHANGES, second_hour)

    assert (published, again) == (1, 0)
    events = await _invoice_events(kafka_bootstrap, supplier, at_least=3)
    (updated,) = [e for e in events if e["event_type"] == "netsuite.invoice.updated"]
    data = updated["data"]
    assert (data["order_id"], data["netsuite_invoice_id"], data["due_date"]) == (
        "ord_edit",
        invoice_id,
        "2026-12-31",
    )
    assert [(line["quantity"], line["amount"]) for line in data["lines"]] == [("2", "85.00"), ("1", "15.00")]
    assert data["totals"]["total"] == "100.00"
    assert len(events) == 3  # two finalised, one updated


async def test_a_voided_and_a_deleted_finalised_invoice_are_each_published_once_as_voided(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, _ids, (voided, deleted) = await _two_published(
        finance, make_supplier, base_hour, "ord_void", "ord_gone"
    )
    tran_id = supplier.account.record("invoice", deleted)["tranId"]
    with supplier.at(base_hour + timedelta(hours=1, minutes=10)):
        supplier.account.void_invoice(voided)
    with supplier.at(base_hour + timedelta(hours=1, minutes=15)):
        supplier.account.delete("invoice", deleted)
    second_hour = base_hour + timedelta(hours=2)

    published = await _run(finance, supplier, Feature.INVOICE_CHANGES, second_hour)
    again = await _run(finance, supplier, Feature.INVOICE_CHANGES, second_hour)

    assert (published, again) == (2, 0)
    events = await _invoice_events(kafka_bootstrap, supplier, at_least=4)
    gone = {e["data"]["order_id"]: e["data"] for e in events if e["event_type"] == "netsuite.invoice.voided"}
    assert set(gone) == {"ord_void", "ord_gone"}
    assert (gone["ord_void"]["netsuite_invoice_id"], gone["ord_void"]["reason"]) == (voided, "voided")
    assert (gone["ord_gone"]["netsuite_invoice_id"], gone["ord_gone"]["reason"]) == (deleted, "deleted")
    assert gone["ord_gone"]["tran_id"] == tran_id
    assert datetime.fromisoformat(gone["ord_gone"]["voided_at"]) == base_hour + timedelta(hours=1, minutes=15)


async def test_an_invoice_voided_before_it_was_ever_published_publishes_nothing(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    invoice_id = await _finalised(supplier, ids, "ord_never", base_hour + timedelta(minutes=5))
    with supplier.at(base_hour + timedelta(minutes=30)):
        supplier.account.void_invoice(invoice_id)
    slot = base_hour + timedelta(hours=1)

    assert await _run(finance, supplier, Feature.FINALISED_INVOICES, slot) == 0
    assert await _run(finance, supplier, Feature.INVOICE_CHANGES, slot) == 0
    assert await _invoice_events(kafka_bootstrap, supplier, at_least=0) == []
