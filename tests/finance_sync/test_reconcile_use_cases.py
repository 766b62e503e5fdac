"""The reconciliation use cases with in-memory fakes of their ports (ledger, NetSuite, broker)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fakes import (
    FakeFinanceLedger,
    FakeFinanceMappings,
    FakeFinanceNetSuite,
    FakeIntegrations,
    RecordingPublisher,
    SameForEverySupplier,
)
from finance_sync.service_layer.reconcile import IntegrationNotKnownYet, Reconciler
from om_contracts import IntegrationSettings, PaymentSucceeded, PayoutSettled
from om_platform.core.failures import PermanentFailure, TransientFailure

from .helpers import integration

SUPPLIER = "sup_1"


RECONCILE = {"enabled": True, "bank_account_id": "112", "payment": {"class_id": "4"}}


def build(
    netsuite: FakeFinanceNetSuite,
    ledger: FakeFinanceLedger,
    publisher: RecordingPublisher,
    settings: IntegrationSettings | None = None,
) -> Reconciler:
    return Reconciler(
        integrations=FakeIntegrations(
            {SUPPLIER: settings or integration(sync_type="invoices", auto_reconciliation=RECONCILE)}
        ),
        ledger=ledger,
        mappings=FakeFinanceMappings({"cus_1": "812"}),
        netsuite=SameForEverySupplier(netsuite),
        publisher=publisher,
    )


def paid(pid: str, amount: str, number: str | None, customer: str = "cus_1") -> PaymentSucceeded:
    allocations = [{"invoice_number": number, "amount": amount}] if number else []
    return PaymentSucceeded.model_validate(
        {
            "event_id": f"evt_{pid}",
            "occurred_at": "2026-11-27T10:02:11+11:00",
            "supplier_id": SUPPLIER,
            "data": {
                "id": pid,
                "customer": {"id": customer, "name": "Cafe"},
                "amount": amount,
                "currency": "AUD",
                "paid_at": "2026-11-27T10:02:11+11:00",
                "allocations": allocations,
            },
        }
    )


def settled(poid: str, *payment_ids: str) -> PayoutSettled:
    return PayoutSettled.model_validate(
        {
            "event_id": f"evt_{poid}",
            "occurred_at": "2026-11-28T09:00:00+11:00",
            "supplier_id": SUPPLIER,
            "data": {"id": poid, "settled_at": "2026-11-28T09:00:00+11:00", "amount": "10.00",
                     "currency": "AUD", "payment_ids": list(payment_ids)},
        }
    )  # fmt: skip


def invoice_due(amount: str) -> tuple[FakeFinanceNetSuite, FakeFinanceLedger, RecordingPublisher]:
    """NetSuite holding invoice INV1 with `amount` due, an empty ledger and a recording broker."""
    return FakeFinanceNetSuite(due={"INV1": Decimal(amount)}), FakeFinanceLedger(), RecordingPublisher()


async def test_a_retry_after_a_failed_write_sends_the_plan_computed_the_first_time() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    reconciler = build(netsuite, ledger, publisher)
    netsuite.fail_next_upsert = True
    with pytest.raises(TransientFailure):
        await reconciler.handle(paid("pay_1", "60.00", "INV1"))
    assert ledger.entries[("payment", "pay_1")]["status"] == "planned"
    netsuite.due["INV1"] = Decimal("40.00")  # as if NetSuite had applied it before the timeout
    await reconciler.handle(paid("pay_1", "60.00", "INV1"))
    (body,) = netsuite.payments.values()
    assert body["apply"]["items"] == [{"doc": {"id": "100"}, "apply": True, "amount": Decimal("60.00")}]
    assert len(publisher.sent) == 1


async def test_a_published_payment_replayed_does_nothing() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    reconciler = build(netsuite, ledger, publisher)
    for _ in range(3):
        await reconciler.handle(paid("pay_1", "60.00", "INV1"))
    assert len(netsuite.payments) == 1
    assert len(publisher.sent) == 1
    assert ledger.entries[("payment", "pay_1")]["status"] == "published"


async def test_a_payment_netsuite_already_holds_is_adopted_not_replanned() -> None:
    netsuite, publisher = FakeFinanceNetSuite(due={"INV1": Decimal("40.00")}), RecordingPublisher()
    netsuite.payments["OM-PAY-pay_1"] = {
        "customer": {"id": "812"},
        "apply": {"items": [{"doc": {"id": "100"}, "apply": True, "amount": 60.0}]},
    }
    await build(netsuite, FakeFinanceLedger(), publisher).handle(paid("pay_1", "60.00", "INV1"))
    assert netsuite.payments["OM-PAY-pay_1"]["apply"]["items"][0]["amount"] == Decimal("60.00")
    data = publisher.sent[0].model_dump(mode="json")["data"]
    assert data["outcome"] == "applied"
    assert data["applied_to"] == [{"invoice_id": None, "netsuite_invoice_id": "100", "amount": "60.00"}]


async def test_an_unmatched_payment_writes_nothing_to_netsuite_and_is_reported() -> None:
    netsuite, publisher = FakeFinanceNetSuite(), RecordingPublisher()
    await build(netsuite, FakeFinanceLedger(), publisher).handle(
        paid("pay_x", "5.00", None, customer="cus_who")
    )
    assert netsuite.payments == {}
    assert publisher.sent[0].model_dump(mode="json")["data"]["outcome"] == "unmatched"


async def test_a_payout_waits_for_its_payments_and_leaves_unmatched_ones_out() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    reconciler = build(netsuite, ledger, publisher)
    await reconciler.handle(paid("pay_1", "60.00", "INV1"))
    with pytest.raises(TransientFailure):
        await reconciler.handle(settled("po_1", "pay_1", "pay_x"))
    await reconciler.handle(paid("pay_x", "5.00", None, customer="cus_who"))
    await reconciler.handle(settled("po_1", "pay_1", "pay_x"))
    (deposit,) = netsuite.deposits.values()
    assert deposit["payment"]["items"] == [{"id": 500, "deposit": True}]
    assert deposit["account"] == {"id": "112"}
    assert ledger.entries[("payout", "po_1")]["left_out"] == ["pay_x"]
    await reconciler.handle(settled("po_1", "pay_1", "pay_x"))
    assert [e.model_dump()["event_type"] for e in publisher.sent].count("netsuite.payout.deposited") == 1


async def test_a_payout_without_any_recorded_payment_cannot_succeed() -> None:
    netsuite, ledger, publisher = FakeFinanceNetSuite(), FakeFinanceLedger(), RecordingPublisher()
    reconciler = build(netsuite, ledger, publisher)
    await reconciler.handle(paid("pay_x", "5.00", None, customer="cus_who"))
    with pytest.raises(PermanentFailure) as failure:
        await reconciler.handle(settled("po_1", "pay_x"))
    assert failure.value.code == "NO_DEPOSITABLE_PAYMENTS"


async def test_payments_of_a_supplier_without_settings_are_retried_and_ignored_when_switched_off() -> None:
    netsuite, publisher = FakeFinanceNetSuite(), RecordingPublisher()
    reconciler = Reconciler(
        integrations=FakeIntegrations(), ledger=FakeFinanceLedger(), mappings=FakeFinanceMappings(),
        netsuite=SameForEverySupplier(netsuite), publisher=publisher,
    )  # fmt: skip
    with pytest.raises(IntegrationNotKnownYet) as failure:
        await reconciler.handle(paid("pay_1", "5.00", None))
    assert failure.value.code == "INTEGRATION_NOT_CONFIGURED"
    off = build(netsuite, FakeFinanceLedger(), publisher, integration(sync_type="invoices"))
    await off.handle(paid("pay_1", "5.00", None))
    assert publisher.sent == []
    assert netsuite.payments == {}


async def test_a_payment_netsuite_refuses_fails_permanently_and_forgets_its_plan() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    netsuite.refuse_upsert = True
    with pytest.raises(PermanentFailure) as failed:
        await build(netsuite, ledger, publisher).handle(paid("pay_1", "60.00", "INV1"))
    assert failed.value.code == "NETSUITE_REJECTED"
    assert str(failed.value) == "NetSuite refused the payment: INVALID_FLD_VALUE"
    assert ledger.entries[("payment", "pay_1")]["status"] == "failed"
    assert "plan" not in ledger.entries[("payment", "pay_1")]
    assert publisher.sent == []
