"""The reconciliation use cases with in-memory fakes of their ports (ledger, NetSuite, broker)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from fakes import FakeIntegrations, RecordingPublisher
from finance_sync.domain.reconciliation import (
    FoundInvoice,
    InvoiceLookup,
    OpenInvoice,
    OrderLookup,
    RecordedPayment,
    RecordedRef,
)
from finance_sync.service_layer.ports import RefusedByNetSuite
from finance_sync.service_layer.reconcile import IntegrationNotKnownYet, Reconciler
from om_contracts import IntegrationSettings, PaymentSucceeded, PayoutSettled
from om_platform.core.failures import PermanentFailure, TransientFailure
from om_platform.core.mappings import Kind, MappedEntity

from .helpers import integration

SUPPLIER = "sup_1"


@dataclass
class FakeLedger:
    entries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    async def get(self, supplier_id: str, kind: str, ordermentum_id: str) -> dict[str, Any] | None:
        return self.entries.get((kind, ordermentum_id))

    async def many(self, supplier_id: str, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {i: self.entries[(kind, i)] for i in ids if (kind, i) in self.entries}

    async def update(self, supplier_id: str, kind: str, ordermentum_id: str, fields: dict[str, Any]) -> None:
        self.entries.setdefault((kind, ordermentum_id), {}).update(fields)

    async def forget_plan(self, supplier_id: str, kind: str, ordermentum_id: str) -> None:
        entry = self.entries.get((kind, ordermentum_id), {})
        entry.pop("plan", None)
        entry["status"] = "failed"


@dataclass
class FakeMappings:
    customers: dict[str, str] = field(default_factory=dict)

    async def resolve(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, entities: Iterable[MappedEntity]
    ) -> dict[str, str | None]:
        return {e.id: self.customers.get(e.id) for e in entities}

    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, netsuite_ids: Iterable[str]
    ) -> dict[str, str]:
        return {}


@dataclass
class FakeNetSuite:
    """Invoices by number with their amount due; payments and deposits upserted by external id."""

    due: dict[str, Decimal] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deposits: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next_upsert: bool = False
    refuse_upsert: bool = False

    async def find_invoices(
        self, external_ids: Sequence[str], numbers: Sequence[str], payment_external_id: str
    ) -> InvoiceLookup:
        invoices = tuple(
            FoundInvoice(None, number, OpenInvoice(str(100 + n), "812", due))
            for n, (number, due) in enumerate(self.due.items())
            if number in numbers
        )
        recorded = RecordedRef("900", "CustPymt") if payment_external_id in self.payments else None
        return InvoiceLookup(invoices, recorded)

    async def find_orders(self, external_ids: Sequence[str], payment_external_id: str) -> OrderLookup:
        return OrderLookup({}, None)

    async def customer_payment(self, recorded: RecordedRef) -> RecordedPayment:
        (body,) = self.payments.values()
        lines = body.get("apply", {"items": []})["items"]
        return RecordedPayment(
            str(body["customer"]["id"]),
            tuple(
                (str(line["doc"]["id"]), Decimal(str(line["amount"])).quantize(Decimal("0.01")))
                for line in lines
                if line.get("apply", True)
            ),
        )

    async def upsert_customer_payment(self, external_id: str, body: dict[str, Any]) -> str:
        if self.fail_next_upsert:
            self.fail_next_upsert = False
            raise TransientFailure("NetSuite timed out")
        if self.refuse_upsert:
            raise RefusedByNetSuite("INVALID_FLD_VALUE", "refused")
        self.payments[external_id] = body
        return str(500 + list(self.payments).index(external_id))

    async def upsert_customer_deposit(self, external_id: str, body: dict[str, Any]) -> str:
        self.payments[external_id] = body
        return "800"

    async def upsert_deposit(self, external_id: str, body: dict[str, Any]) -> str:
        self.deposits[external_id] = body
        return "700"


RECONCILE = {"enabled": True, "bank_account_id": "112", "payment": {"class_id": "4"}}


def build(
    netsuite: FakeNetSuite,
    ledger: FakeLedger,
    publisher: RecordingPublisher,
    settings: IntegrationSettings | None = None,
) -> Reconciler:
    return Reconciler(
        integrations=FakeIntegrations(
            {SUPPLIER: settings or integration(sync_type="invoices", auto_reconciliation=RECONCILE)}
        ),
        ledger=ledger,
        mappings=FakeMappings({"cus_1": "812"}),
        gateway_for=lambda _s, _i: netsuite,
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


CTX: Any = None


def invoice_due(amount: str) -> tuple[FakeNetSuite, FakeLedger, RecordingPublisher]:
    """NetSuite holding invoice INV1 with `amount` due, an empty ledger and a recording broker."""
    return FakeNetSuite(due={"INV1": Decimal(amount)}), FakeLedger(), RecordingPublisher()


async def test_a_retry_after_a_failed_write_sends_the_plan_computed_the_first_time() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    reconciler = build(netsuite, ledger, publisher)
    netsuite.fail_next_upsert = True
    with pytest.raises(TransientFailure):
        await reconciler.handle(paid("pay_1", "60.00", "INV1"), CTX)
    assert ledger.entries[("payment", "pay_1")]["status"] == "planned"
    netsuite.due["INV1"] = Decimal("40.00")  # as if NetSuite had applied it before the timeout
    await reconciler.handle(paid("pay_1", "60.00", "INV1"), CTX)
    (body,) = netsuite.payments.values()
    assert body["apply"]["items"] == [{"doc": {"id": "100"}, "apply": True, "amount": Decimal("60.00")}]
    assert len(publisher.sent) == 1


async def test_a_published_payment_replayed_does_nothing() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    reconciler = build(netsuite, ledger, publisher)
    for _ in range(3):
        await reconciler.handle(paid("pay_1", "60.00", "INV1"), CTX)
    assert len(netsuite.payments) == 1
    assert len(publisher.sent) == 1
    assert ledger.entries[("payment", "pay_1")]["status"] == "published"


async def test_a_payment_netsuite_already_holds_is_adopted_not_replanned() -> None:
    netsuite, publisher = FakeNetSuite(due={"INV1": Decimal("40.00")}), RecordingPublisher()
    netsuite.payments["OM-PAY-pay_1"] = {
        "customer": {"id": "812"},
        "apply": {"items": [{"doc": {"id": "100"}, "apply": True, "amount": 60.0}]},
    }
    await build(netsuite, FakeLedger(), publisher).handle(paid("pay_1", "60.00", "INV1"), CTX)
    assert netsuite.payments["OM-PAY-pay_1"]["apply"]["items"][0]["amount"] == Decimal("60.00")
    data = publisher.sent[0].model_dump(mode="json")["data"]
    assert data["outcome"] == "applied"
    assert data["applied_to"] == [{"invoice_id": None, "netsuite_invoice_id": "100", "amount": "60.00"}]


async def test_an_unmatched_payment_writes_nothing_to_netsuite_and_is_reported() -> None:
    netsuite, publisher = FakeNetSuite(), RecordingPublisher()
    await build(netsuite, FakeLedger(), publisher).handle(
        paid("pay_x", "5.00", None, customer="cus_who"), CTX
    )
    assert netsuite.payments == {}
    assert publisher.sent[0].model_dump(mode="json")["data"]["outcome"] == "unmatched"


async def test_a_payout_waits_for_its_payments_and_leaves_unmatched_ones_out() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    reconciler = build(netsuite, ledger, publisher)
    await reconciler.handle(paid("pay_1", "60.00", "INV1"), CTX)
    with pytest.raises(TransientFailure):
        await reconciler.handle(settled("po_1", "pay_1", "pay_x"), CTX)
    await reconciler.handle(paid("pay_x", "5.00", None, customer="cus_who"), CTX)
    await reconciler.handle(settled("po_1", "pay_1", "pay_x"), CTX)
    (deposit,) = netsuite.deposits.values()
    assert deposit["payment"]["items"] == [{"id": 500, "deposit": True}]
    assert deposit["account"] == {"id": "112"}
    assert ledger.entries[("payout", "po_1")]["left_out"] == ["pay_x"]
    await reconciler.handle(settled("po_1", "pay_1", "pay_x"), CTX)
    assert [e.model_dump()["event_type"] for e in publisher.sent].count("netsuite.payout.deposited") == 1


async def test_a_payout_without_any_recorded_payment_cannot_succeed() -> None:
    netsuite, ledger, publisher = FakeNetSuite(), FakeLedger(), RecordingPublisher()
    reconciler = build(netsuite, ledger, publisher)
    await reconciler.handle(paid("pay_x", "5.00", None, customer="cus_who"), CTX)
    with pytest.raises(PermanentFailure) as failure:
        await reconciler.handle(settled("po_1", "pay_x"), CTX)
    assert failure.value.code == "NO_DEPOSITABLE_PAYMENTS"


async def test_payments_of_a_supplier_without_settings_are_retried_and_ignored_when_switched_off() -> None:
    netsuite, publisher = FakeNetSuite(), RecordingPublisher()
    reconciler = Reconciler(
        integrations=FakeIntegrations(), ledger=FakeLedger(), mappings=FakeMappings(),
        gateway_for=lambda _s, _i: netsuite, publisher=publisher,
    )  # fmt: skip
    with pytest.raises(IntegrationNotKnownYet) as failure:
        await reconciler.handle(paid("pay_1", "5.00", None), CTX)
    assert failure.value.code == "INTEGRATION_NOT_CONFIGURED"
    off = build(netsuite, FakeLedger(), publisher, integration(sync_type="invoices"))
    await off.handle(paid("pay_1", "5.00", None), CTX)
    assert publisher.sent == []
    assert netsuite.payments == {}


async def test_a_payment_netsuite_refuses_fails_permanently_and_forgets_its_plan() -> None:
    netsuite, ledger, publisher = invoice_due("100.00")
    netsuite.refuse_upsert = True
    with pytest.raises(PermanentFailure) as failed:
        await build(netsuite, ledger, publisher).handle(paid("pay_1", "60.00", "INV1"), CTX)
    assert failed.value.code == "NETSUITE_REJECTED"
    assert str(failed.value) == "NetSuite refused the payment: INVALID_FLD_VALUE"
    assert ledger.entries[("payment", "pay_1")]["status"] == "failed"
    assert "plan" not in ledger.entries[("payment", "pay_1")]
    assert publisher.sent == []
