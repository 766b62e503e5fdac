"""Payments and payouts of a supplier whose NetSuite login is refused: parked (offset committed,
nothing dead-lettered), then recorded once each by themselves when the supplier publishes new
credentials; against the embedded broker, Mongo-protocol server and simulator."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from finance_sync.app import Wired
from om_contracts import INTEGRATIONS_TOPIC, PAYMENTS_TOPIC, RECONCILIATION_TOPIC, KeyRing
from om_devstack import sealed_credentials

from .conftest import KEY, MakeSupplier, Supplier, events_on, wait_consumed
from .test_reconciliation_flow import (
    RECONCILE,
    by_eid,
    catalogue,
    envelope,
    invoice,
    payment,
    payout,
    send,
    settled,
)

pytestmark = pytest.mark.integration


async def parked(finance: Wired, supplier_id: str, kind: str, oid: str) -> dict[str, Any]:
    for _ in range(400):
        entry = await finance.ledger.get(supplier_id, kind, oid)
        if entry and entry.get("parked"):
            return entry
        await asyncio.sleep(0.05)  # polling Mongo: parking has no event to await
    raise AssertionError(f"{kind} {oid} was never parked")


async def reconnect(producer: AIOKafkaProducer, supplier: Supplier) -> None:
    """The supplier re-authorises NetSuite: its integration carries the account's new token."""
    data = supplier.integration.model_dump(mode="json")
    data["credentials"] = sealed_credentials(KeyRing([KEY]), supplier.account.credentials)
    event = {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "event_type": "integration.netsuite.configured",
        "occurred_at": datetime.now(UTC).isoformat(),
        "supplier_id": supplier.id,
        "data": data,
    }
    await producer.send_and_wait(INTEGRATIONS_TOPIC, json.dumps(event).encode(), key=supplier.id.encode())


async def supplier_with_invoice(
    make_supplier: MakeSupplier, amount: str, external_id: str
) -> tuple[Supplier, str]:
    """A supplier reconciling by invoice, with one open NetSuite invoice; returns its number too."""
    supplier: Supplier = await make_supplier(catalogue, sync_type="invoices", auto_reconciliation=RECONCILE)
    customer = supplier.integration.customer_mappings["cus_19ab"]
    found = invoice(supplier.account, customer, amount, external_id)
    return supplier, supplier.account.record("invoice", found)["tranId"]


async def test_a_refused_login_parks_payments_and_new_credentials_record_each_once(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    supplier, number = await supplier_with_invoice(make_supplier, "40.00", "OM-INV-inv_park")
    account = supplier.account
    account.rotate_token()  # the token the integration carries is revoked in NetSuite
    await send(
        kafka_producer,
        envelope(supplier.id, "payment.succeeded",
                 payment("pay_park", "40.00", {"invoice_number": number, "amount": "40.00"})),
        envelope(supplier.id, "payout.settled", payout("po_park", "40.00", ["pay_park"])),
    )  # fmt: skip

    held_payment = await parked(finance, supplier.id, "payment", "pay_park")
    held_payout = await parked(finance, supplier.id, "payout", "po_park")
    group = f"{finance.runtime.settings.consumer_group}.{PAYMENTS_TOPIC}"
    await wait_consumed(kafka_bootstrap, group, PAYMENTS_TOPIC)  # committed: not holding the partition
    dead = await events_on(kafka_bootstrap, f"{PAYMENTS_TOPIC}.dlq", supplier.id)

    await reconnect(kafka_producer, supplier)
    await settled(finance, supplier.id, "payment", ["pay_park"])
    await settled(finance, supplier.id, "payout", ["po_park"])
    published = await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=2)

    assert held_payment["parked"]["code"] == "NETSUITE_AUTH_FAILED"
    assert held_payout["parked"]["code"] == "NETSUITE_AUTH_FAILED"  # waits for its payment
    assert dead == []
    assert [e["event_type"] for e in published] == [
        "netsuite.payment.reconciled",
        "netsuite.payout.deposited",
    ]
    assert set(by_eid(account, "customerPayment")) == {"OM-PAY-pay_park"}
    assert [d["externalId"] for d in account.records("deposit")] == ["OM-PAYOUT-po_park"]
    entry = await finance.ledger.get(supplier.id, "payment", "pay_park")
    assert entry is not None
    assert entry["parked"] is None
