"""Auto-reconciliation through the payments topic: NetSuite records, outcomes, replays and crashes."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from finance_sync.adapters.netsuite_gateway import FinanceGateways
from finance_sync.app import Wired
from finance_sync.service_layer.reconcile import Reconciler
from om_contracts import PAYMENTS_TOPIC, RECONCILIATION_TOPIC, PaymentSucceeded
from om_netsuite_sim import Account

from .conftest import MakeSupplier, Supplier, events_on, wait_consumed
from .test_documents_flow import DyingPublisher

pytestmark = pytest.mark.integration

RECONCILE = {
    "enabled": True,
    "bank_account_id": "112",
    "payment": {"class_id": "4", "department_id": "2"},
    "deposit": {"class_id": "1", "department_id": "1"},
}


def envelope(supplier_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "supplier_id": supplier_id,
        "data": data,
    }


def payment(
    pid: str, amount: str, *allocations: dict[str, Any], customer: str = "cus_19ab"
) -> dict[str, Any]:
    return {
        "id": pid,
        "customer": {"id": customer, "name": "Cafe Luna", "properties": {}},
        "amount": amount,
        "currency": "AUD",
        "paid_at": "2026-11-27T10:02:11+11:00",
        "method": "card",
        "reference": f"OMP-{pid}",
        "allocations": list(allocations),
    }


def payout(poid: str, amount: str, payment_ids: list[str]) -> dict[str, Any]:
    return {
        "id": poid,
        "settled_at": "2026-11-28T09:00:00+11:00",
        "amount": amount,
        "currency": "AUD",
        "reference": f"OM-SETTLE-{poid}",
        "payment_ids": payment_ids,
        "fees": "1.00",
    }


async def send(producer: AIOKafkaProducer, *events: dict[str, Any]) -> None:
    for event in events:
        await producer.send_and_wait(
            PAYMENTS_TOPIC, json.dumps(event).encode(), key=event["supplier_id"].encode()
        )


async def settled(finance: Wired, supplier_id: str, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Wait until the ledger shows each payment/payout published (polling Mongo, bounded)."""
    for _ in range(600):
        found = await finance.ledger.many(supplier_id, kind, ids)
        if len(found) == len(ids) and all(d.get("status") == "published" for d in found.values()):
            return found
        await asyncio.sleep(0.05)  # no event to await: the consumer runs inside the service
    raise AssertionError(
        f"{kind}s {ids} were never all published: {await finance.ledger.many(supplier_id, kind, ids)}"
    )


def by_eid(account: Account, record_type: str) -> dict[str, dict[str, Any]]:
    return {r["externalId"]: r for r in account.records(record_type) if r.get("externalId")}


def outcomes(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        e["data"]["payment_id"]: e["data"] for e in events if e["event_type"] == "netsuite.payment.reconciled"
    }


def catalogue(account: Account) -> dict[str, Any]:
    return {"customer_mappings": {"cus_19ab": account.add_customer("Cafe Luna")}}


def invoice(account: Account, customer: str, amount: str, external_id: str | None = None) -> str:
    item = account.add_item(f"SKU-{uuid.uuid4().hex[:6]}")
    body: dict[str, Any] = {
        "entity": {"id": customer},
        "item": {"items": [{"item": {"id": item}, "quantity": 1, "rate": amount}]},
    }
    if external_id:
        body["externalId"] = external_id
    return account.create("invoice", body)


@pytest.mark.parametrize("m2m", [False, True], ids=["tba", "oauth2_m2m"])
async def test_invoice_sync_applies_records_unapplied_or_flags_unmatched_then_deposits_the_payout(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    m2m: bool,
) -> None:
    supplier: Supplier = await make_supplier(
        catalogue, m2m=m2m, sync_type="invoices", auto_reconciliation=RECONCILE
    )
    account, customer = supplier.account, supplier.integration.customer_mappings["cus_19ab"]
    found = invoice(account, customer, "159.10", "OM-INV-inv_77d1")
    number = account.record("invoice", found)["tranId"]
    events = [
        envelope(supplier.id, "payment.succeeded",
                 payment("pay_ok", "159.10", {"invoice_number": number, "amount": "159.10"})),
        envelope(supplier.id, "payment.succeeded",
                 payment("pay_lost", "20.00", {"invoice_id": "inv_missing", "invoice_number": "NOPE", "amount": "20.00"})),
        envelope(supplier.id, "payment.succeeded",
                 payment("pay_who", "5.00", {"invoice_id": "inv_missing", "amount": "5.00"}, customer="cus_unknown")),
        envelope(supplier.id, "payout.settled", payout("po_1", "183.10", ["pay_ok", "pay_lost", "pay_who"])),
    ]  # fmt: skip
    await send(kafka_producer, *events)
    await settled(finance, supplier.id, "payment", ["pay_ok", "pay_lost", "pay_who"])
    assert (supplier.account.counters["oauth2 token"] > 0) == m2m  # the kind of credentials was used
    await settled(finance, supplier.id, "payout", ["po_1"])

    payments = by_eid(account, "customerPayment")
    assert set(payments) == {"OM-PAY-pay_ok", "OM-PAY-pay_lost"}
    applied = payments["OM-PAY-pay_ok"]
    assert [(x["doc"]["id"], x["amount"]) for x in applied["apply"] if x["apply"]] == [
        (found, Decimal("159.10"))
    ]
    assert (applied["class"]["id"], applied["department"]["id"]) == ("4", "2")
    assert account.record("invoice", found)["status"] == "B"
    unapplied = payments["OM-PAY-pay_lost"]
    assert [x for x in unapplied.get("apply") or [] if x["apply"]] == []
    assert unapplied["unapplied"] == Decimal("20.00")
    (deposit,) = account.records("deposit")
    assert deposit["externalId"] == "OM-PAYOUT-po_1"
    assert sorted(str(line["id"]) for line in deposit["payment"]) == sorted([applied["id"], unapplied["id"]])
    assert deposit["account"]["id"] == "112"

    published = await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=4)
    result = outcomes(published)
    assert {pid: r["outcome"] for pid, r in result.items()} == {
        "pay_ok": "applied", "pay_lost": "unapplied", "pay_who": "unmatched"
    }  # fmt: skip
    assert result["pay_ok"]["applied_to"] == [
        {"invoice_id": None, "netsuite_invoice_id": found, "amount": "159.10"}
    ]
    assert result["pay_ok"]["netsuite_payment_id"] == applied["id"]
    assert result["pay_who"]["netsuite_payment_id"] is None
    assert "cus_unknown" in result["pay_who"]["reason"]
    (deposited,) = [e["data"] for e in published if e["event_type"] == "netsuite.payout.deposited"]
    assert {k: deposited[k] for k in ("payout_id", "netsuite_deposit_id", "amount", "fees", "fees_booked")} == {
        "payout_id": "po_1", "netsuite_deposit_id": deposit["id"], "amount": "183.10", "fees": "1.00",
        "fees_booked": False,
    }  # fmt: skip
    assert "fees_account_id" in deposited["reason"]  # no fees account: booked gross, and said so

    # Replaying the whole payments topic (same events again) changes nothing anywhere.
    await send(kafka_producer, *events)
    await wait_consumed(
        kafka_bootstrap, f"{finance.runtime.settings.consumer_group}.{PAYMENTS_TOPIC}", PAYMENTS_TOPIC
    )
    assert set(by_eid(account, "customerPayment")) == {"OM-PAY-pay_ok", "OM-PAY-pay_lost"}
    assert len(account.records("deposit")) == 1
    assert len(await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=4)) == 4


def applied_lines(record: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """The (invoice id, amount) a payment applies: NetSuite lists every open invoice of the customer."""
    return [(x["doc"]["id"], x["amount"]) for x in record.get("apply") or [] if x["apply"]]


async def test_order_sync_follows_the_cascade_and_applies_partial_and_split_payments_line_by_line(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    supplier: Supplier = await make_supplier(catalogue, sync_type="orders", auto_reconciliation=RECONCILE)
    account = supplier.account
    customer = supplier.integration.customer_mappings["cus_19ab"]
    item = account.add_item("COF")

    def order(order_id: str, amount: str, *, bill: bool) -> str | None:
        so = account.create("salesOrder", {"entity": {"id": customer}, "externalId": f"OM-ORDER-{order_id}",
                                           "item": {"items": [{"item": {"id": item}, "quantity": 1, "rate": amount}]}})  # fmt: skip
        return account.bill_sales_order(so) if bill else None

    inv_1 = order("ord_1", "159.10", bill=True)
    order("ord_2", "30.00", bill=False)
    inv_3 = order("ord_3", "142.50", bill=True)
    inv_4 = order("ord_4", "10.05", bill=True)
    await send(
        kafka_producer,
        envelope(supplier.id, "payment.succeeded", payment("p_applied", "159.10", {"order_id": "ord_1", "amount": "159.10"},
                                                          customer="cus_not_mapped")),
        envelope(supplier.id, "payment.succeeded", payment("p_not_invoiced", "30.00", {"order_id": "ord_2", "amount": "30.00"},
                                                          customer="cus_not_mapped")),
        envelope(supplier.id, "payment.succeeded", payment("p_no_order", "12.00", {"order_id": "ord_404", "amount": "12.00"})),
        envelope(supplier.id, "payment.succeeded", payment("p_nobody", "12.00", {"order_id": "ord_404", "amount": "12.00"},
                                                          customer="cus_not_mapped")),
        envelope(supplier.id, "payment.succeeded", payment("p_split", "60.05", {"order_id": "ord_3", "amount": "50.00"},
                                                          {"order_id": "ord_4", "amount": "10.05"})),
    )  # fmt: skip
    ids = ["p_applied", "p_not_invoiced", "p_no_order", "p_nobody", "p_split"]
    await settled(finance, supplier.id, "payment", ids)
    payments = by_eid(account, "customerPayment")
    assert set(payments) == {f"OM-PAY-{p}" for p in ids if p not in ("p_nobody", "p_not_invoiced")}
    assert applied_lines(payments["OM-PAY-p_applied"]) == [(inv_1, Decimal("159.10"))]
    assert payments["OM-PAY-p_applied"]["customer"]["id"] == customer  # taken from the sales order
    (deposit,) = account.records("customerDeposit")  # the unbilled order's payment
    assert (deposit["externalId"], deposit["payment"]) == ("OM-PAY-p_not_invoiced", Decimal("30.00"))
    assert not applied_lines(payments["OM-PAY-p_no_order"])
    assert applied_lines(payments["OM-PAY-p_split"]) == [
        (inv_3, Decimal("50.00")),
        (inv_4, Decimal("10.05")),
    ]
    assert account.record("invoice", inv_3)["amountRemaining"] == Decimal("92.50")
    assert account.record("invoice", inv_4)["status"] == "B"
    result = outcomes(await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=5))
    assert {p: r["outcome"] for p, r in result.items()} == {
        "p_applied": "applied", "p_not_invoiced": "deposited", "p_no_order": "unapplied",
        "p_nobody": "unmatched", "p_split": "applied",
    }  # fmt: skip
    assert "not invoiced" in result["p_not_invoiced"]["reason"]
    assert result["p_not_invoiced"]["netsuite_customer_deposit_id"] == deposit["id"]
    assert [a["amount"] for a in result["p_split"]["applied_to"]] == ["50.00", "10.05"]


async def test_a_crash_after_the_netsuite_write_or_a_lost_response_records_the_payment_once(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str
) -> None:
    supplier: Supplier = await make_supplier(catalogue, sync_type="invoices", auto_reconciliation=RECONCILE)
    account, customer = supplier.account, supplier.integration.customer_mappings["cus_19ab"]
    target = invoice(account, customer, "100.00", "OM-INV-inv_crash")
    # NetSuite commits the payment but the response is lost; then the process dies before publishing.
    account.faults.add("commit_then_500", count=1, method="PUT", path_contains="customerPayment")
    event = PaymentSucceeded.model_validate(
        envelope(
            supplier.id,
            "payment.succeeded",
            payment("pay_crash", "60.00", {"invoice_id": "inv_crash", "amount": "60.00"}),
        )
    )
    real = finance.runtime.publisher(RECONCILIATION_TOPIC, schema=None)

    def reconciler(publisher: Any) -> Reconciler:
        return Reconciler(
            integrations=finance.integrations,
            ledger=finance.ledger,
            mappings=finance.mappings,
            netsuite=FinanceGateways(finance.runtime.netsuite.session, finance.zones, 1000),
            publisher=publisher,
        )

    with pytest.raises(SystemError):
        await reconciler(DyingPublisher(real, alive=0)).handle(event)
    await reconciler(real.publish).handle(event)
    await reconciler(real.publish).handle(event)  # a redelivery after success
    (recorded,) = account.records("customerPayment")
    assert recorded["externalId"] == "OM-PAY-pay_crash"
    assert applied_lines(recorded) == [(target, Decimal("60.00"))]
    assert account.record("invoice", target)["amountRemaining"] == Decimal("40.00")
    (outcome,) = await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=1)
    assert outcome["data"]["applied_to"][0]["amount"] == "60.00"

    # The ledger is lost (a fresh database): the payment NetSuite holds is adopted, not re-planned
    # against the amount due its own application already reduced.
    await finance.ledger.collection.delete_many({"supplier_id": supplier.id})
    await reconciler(real.publish).handle(event)
    (recorded,) = account.records("customerPayment")
    assert applied_lines(recorded) == [(target, Decimal("60.00"))]
    assert account.record("invoice", target)["amountRemaining"] == Decimal("40.00")
    again = await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=2)
    assert {e["event_id"] for e in again} == {outcome["event_id"]}  # the same event, de-duplicated downstream
    assert again[-1]["data"]["applied_to"] == [
        {"invoice_id": "inv_crash", "netsuite_invoice_id": target, "amount": "60.00"}
    ]
