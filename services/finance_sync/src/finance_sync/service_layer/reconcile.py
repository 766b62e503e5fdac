"""Auto-reconciliation use cases: record Ordermentum payments and payouts in NetSuite once.

Idempotency, whatever is replayed or retried (ledger ``reconciliations``):

1. a payment's plan (customer, applications) is computed once and stored (`planned`) before any
   NetSuite write; a retry reuses it, so the upsert body never changes between attempts (a
   recomputed plan would see its own application already reducing the amount due). The lookup
   that plans it also asks for ``OM-PAY-<id>`` in the same SuiteQL request: a payment NetSuite
   already holds (ledger lost, another deployment) is adopted as it is, never re-planned;
2. the customer payment is upserted by external id ``OM-PAY-<id>`` (PUT eid), which NetSuite
   turns into "create once, then update with the same values"; a payment for an order not yet
   invoiced (plan ``deposited``) is upserted as a customer deposit on the order's sales order
   under the same external id (external ids are unique per record type);
3. the outcome event (fixed event id) is published, then the entry is marked `published` with
   the NetSuite id and the event; a replay of a published payment does nothing, a retry before
   that repeats the same upsert and the same event id.

A payout is deposited (``OM-PAYOUT-<id>``) with the payments the ledger recorded in NetSuite;
its fees are a cash-back line to ``auto_reconciliation.fees_account_id`` when the integration
names one (the deposit then equals the net amount), otherwise the deposit is gross and the
outcome says so (``fees_booked`` false, with the reason).
Payments not recorded yet make the payout fail as transient (the edge retries it with backoff,
then dead-letters it for an operator to redrive); unmatched payments have no NetSuite record and
are left out of the deposit.

A payment or payout NetSuite refuses to hear about (the supplier's breaker is open, or it refused
the login or a permission) is **parked**: the event is kept on its ledger entry (`parked`) and the
edge commits its offset, instead of retrying it into a dead letter. When the connection comes back
(`om_platform.connections`) or new credentials arrive, `redrive_parked` sends each parked event
back to the payments topic, oldest first, once (a claim per entry), and the edge handles it as any
other: the steps above make a repeat harmless, and recording it clears `parked`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from finance_sync.domain.reconciliation import (
    AllocationMatch,
    PaymentPlan,
    RecordedRef,
    adopt_recorded,
    allocation_label,
    customer_deposit_body,
    customer_payment_body,
    deposit_body,
    fee_booking,
    plan_payment,
    reconciliation_data,
)
from finance_sync.service_layer.ports import (
    Ledger,
    Mappings,
    NetSuiteAuthFailed,
    ReconciliationGateway,
    ReconciliationGateways,
    RefusedByNetSuite,
)
from om_contracts import (
    ExternalIdKind,
    IntegrationSettings,
    NetSuitePaymentReconciled,
    NetSuitePayoutDeposited,
    Payment,
    PaymentSucceeded,
    PayoutDeposit,
    PayoutSettled,
    SyncType,
    derived_event_id,
    external_id,
)
from om_platform.core.connections import ConnectionDown
from om_platform.core.failures import PermanentFailure, TransientFailure
from om_platform.core.ports import Integrations, Publish

log = logging.getLogger(__name__)


class IntegrationNotKnownYet(TransientFailure):
    """No settings for the supplier: retried, because the integrations topic is consumed
    concurrently and a payment may overtake its supplier's settings (new replica, new group).
    A supplier that never configures NetSuite ends dead-lettered with this code once the edge's
    retry budget (`RETRY_MAX_ELAPSED_S`) is spent: dropping a payment silently is never an option.
    """

    code = "INTEGRATION_NOT_CONFIGURED"


class PaymentsParked(Exception):
    """A payout whose payments are parked (their supplier's NetSuite connection is down)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


PAYMENT = "payment"
PAYOUT = "payout"

Redrive = Callable[[str, bytes], Awaitable[None]]
"""Send an event (its JSON) back to the payments topic, keyed by the supplier id."""


@dataclass(kw_only=True)
class Reconciler:
    """Records payments and payouts in NetSuite once and publishes each outcome (see above)."""

    integrations: Integrations
    ledger: Ledger
    mappings: Mappings
    netsuite: ReconciliationGateways
    publisher: Publish
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def handle(self, event: PaymentSucceeded | PayoutSettled) -> None:
        """Edge handler of `ordermentum.payments.v1`."""
        integration = await self.integrations.get(event.supplier_id)
        if integration is None:
            raise IntegrationNotKnownYet("the supplier has no NetSuite integration (yet)")
        if not integration.auto_reconciliation.enabled:
            log.info("auto-reconciliation is off; event ignored", extra={"supplier_id": event.supplier_id})
            return
        try:
            if isinstance(event, PaymentSucceeded):
                await self.reconcile_payment(event, integration)
            else:
                await self.deposit_payout(event, integration)
        except (ConnectionDown, NetSuiteAuthFailed, PaymentsParked) as exc:
            await self._park(event, exc)

    async def _park(
        self,
        event: PaymentSucceeded | PayoutSettled,
        exc: ConnectionDown | NetSuiteAuthFailed | PaymentsParked,
    ) -> None:
        kind = PAYMENT if isinstance(event, PaymentSucceeded) else PAYOUT
        code = exc.code
        parked = {
            "code": code,
            "message": str(exc)[:300],
            "at": self.clock(),
            "event": event.model_dump_json(),
            "redrive_until": None,
        }
        await self.ledger.park(event.supplier_id, kind, event.data.id, parked)
        log.warning(
            "%s %s parked until the NetSuite connection is back: %s",
            kind,
            event.data.id,
            code,
            extra={"supplier_id": event.supplier_id, "event_id": event.event_id},
        )

    async def redrive_parked(self, supplier_id: str | None, send: Redrive, claim_s: float = 60.0) -> int:
        """Send the parked events (of one supplier, or all) back to the payments topic, oldest first;
        returns how many this replica sent (each is claimed for `claim_s`, so one replica sends it)."""
        sent = 0
        for entry in await self.ledger.parked(supplier_id):
            now = self.clock()
            if not await self.ledger.claim_redrive(entry["_id"], now, now + timedelta(seconds=claim_s)):
                continue
            await send(entry["supplier_id"], entry["parked"]["event"].encode())
            sent += 1
        if sent:
            log.info("%d parked payment event(s) sent again", sent, extra={"supplier_id": supplier_id})
        return sent

    # -- payments -----------------------------------------------------------------------------

    async def reconcile_payment(self, event: PaymentSucceeded, integration: IntegrationSettings) -> None:
        supplier_id, payment = event.supplier_id, event.data
        entry = await self.ledger.get(supplier_id, PAYMENT, payment.id)
        if _published(entry):
            return
        gateway = self.netsuite.for_supplier(supplier_id, integration)
        if entry is not None and entry.get("status") == "planned" and entry.get("plan"):
            plan = PaymentPlan.from_document(entry["plan"])
        else:
            plan = await self._plan(supplier_id, payment, integration, gateway)
            await self.ledger.update(
                supplier_id,
                PAYMENT,
                payment.id,
                {"status": "planned", "plan": plan.to_document(), "source_event_id": event.event_id},
            )
        netsuite_id: str | None = None
        if plan.customer_id is not None:
            eid = external_id(ExternalIdKind.PAYMENT, payment.id)
            classification = integration.auto_reconciliation.payment
            try:
                if plan.outcome == "deposited":
                    netsuite_id = await gateway.upsert_customer_deposit(
                        eid, customer_deposit_body(payment, plan, classification)
                    )
                else:
                    netsuite_id = await gateway.upsert_customer_payment(
                        eid, customer_payment_body(payment, plan, classification)
                    )
            except RefusedByNetSuite as exc:
                await self.ledger.forget_plan(supplier_id, PAYMENT, payment.id)
                raise PermanentFailure(
                    "NETSUITE_REJECTED", f"NetSuite refused the payment: {exc.code}"
                ) from exc
        outbound = NetSuitePaymentReconciled(
            event_id=derived_event_id(supplier_id, PAYMENT, payment.id),
            occurred_at=self.clock(),
            supplier_id=supplier_id,
            data=reconciliation_data(payment.id, plan, netsuite_id),
        )
        await self._record_and_publish(
            supplier_id, PAYMENT, payment.id, outbound, {"netsuite_id": netsuite_id, "outcome": plan.outcome}
        )

    async def _plan(
        self,
        supplier_id: str,
        payment: Payment,
        integration: IntegrationSettings,
        gateway: ReconciliationGateway,
    ) -> PaymentPlan:
        payment_eid = external_id(ExternalIdKind.PAYMENT, payment.id)
        if integration.sync_type == SyncType.ORDERS:
            matches, recorded = await self._match_orders(payment, payment_eid, gateway)
        else:
            matches, recorded = await self._match_invoices(payment, payment_eid, gateway)
        if recorded is not None:
            return await self._adopt(recorded, matches, gateway)
        mapped = await self.mappings.resolve(supplier_id, integration, "customer", [payment.customer])
        return plan_payment(payment, integration.sync_type, matches, mapped.get(payment.customer.id))

    async def _adopt(
        self, recorded: RecordedRef, matches: list[AllocationMatch], gateway: ReconciliationGateway
    ) -> PaymentPlan:
        record = await gateway.customer_payment(recorded)
        invoice_ids = {inv.netsuite_id: m.allocation.invoice_id for m in matches for inv in m.invoices}
        return adopt_recorded(
            record.customer_id,
            record.applied,
            invoice_ids,
            sales_order_id=record.sales_order_id,
            customer_deposit=record.customer_deposit,
        )

    async def _match_invoices(
        self, payment: Payment, payment_eid: str, gateway: ReconciliationGateway
    ) -> tuple[list[AllocationMatch], RecordedRef | None]:
        eids = [
            external_id(ExternalIdKind.INVOICE, a.invoice_id) for a in payment.allocations if a.invoice_id
        ]
        numbers = [a.invoice_number for a in payment.allocations if a.invoice_number]
        found = await gateway.find_invoices(eids, numbers, payment_eid)
        by_eid = {f.external_id: f.invoice for f in found.invoices if f.external_id}
        by_number = {f.tran_id: f.invoice for f in found.invoices if f.tran_id}
        matches: list[AllocationMatch] = []
        for allocation in payment.allocations:
            invoice = None
            if allocation.invoice_id:
                invoice = by_eid.get(external_id(ExternalIdKind.INVOICE, allocation.invoice_id))
            if invoice is None and allocation.invoice_number:
                invoice = by_number.get(allocation.invoice_number)
            label = allocation_label(allocation, SyncType.INVOICES)
            if invoice is None:
                matches.append(AllocationMatch(allocation, label, found=False))
                continue
            matches.append(AllocationMatch(allocation, label, True, invoice.entity_id, (invoice,)))
        return matches, found.recorded_payment

    async def _match_orders(
        self, payment: Payment, payment_eid: str, gateway: ReconciliationGateway
    ) -> tuple[list[AllocationMatch], RecordedRef | None]:
        eids = sorted(
            {external_id(ExternalIdKind.ORDER, a.order_id) for a in payment.allocations if a.order_id}
        )
        found = await gateway.find_orders(eids, payment_eid)
        matches: list[AllocationMatch] = []
        for allocation in payment.allocations:
            label = allocation_label(allocation, SyncType.ORDERS)
            order = (
                found.orders.get(external_id(ExternalIdKind.ORDER, allocation.order_id))
                if allocation.order_id
                else None
            )
            if order is None:
                matches.append(AllocationMatch(allocation, label, found=False))
                continue
            matches.append(AllocationMatch(allocation, label, True, order.entity_id, order.invoices, order))
        return matches, found.recorded_payment

    # -- payouts ------------------------------------------------------------------------------

    async def deposit_payout(self, event: PayoutSettled, integration: IntegrationSettings) -> None:
        supplier_id, payout = event.supplier_id, event.data
        entry = await self.ledger.get(supplier_id, PAYOUT, payout.id)
        if _published(entry):
            return
        settings = integration.auto_reconciliation
        if settings.bank_account_id is None:
            raise PermanentFailure("INTEGRATION_NOT_CONFIGURED", "auto-reconciliation has no bank account")
        recorded = await self.ledger.many(supplier_id, PAYMENT, payout.payment_ids)
        pending = [pid for pid in payout.payment_ids if recorded.get(pid, {}).get("status") != "published"]
        now = self.clock()
        parked = [
            held
            for pid in pending
            if (held := (recorded.get(pid) or {}).get("parked")) and not _being_sent_again(held, now)
        ]
        if parked:
            # Its payments wait for the connection: so does the payout (sent again after them).
            # Payments already being sent again are only pending: the edge retries the payout.
            raise PaymentsParked(str(parked[0].get("code")), f"{len(parked)} of its payment(s) are parked")
        if pending:
            raise TransientFailure(
                f"{len(pending)} payment(s) of the payout are not recorded yet: {pending[:5]}"
            )
        held = [
            recorded[pid]["netsuite_id"] for pid in payout.payment_ids if recorded[pid].get("netsuite_id")
        ]
        if not held:
            raise PermanentFailure(
                "NO_DEPOSITABLE_PAYMENTS", "no payment of the payout was recorded in NetSuite"
            )
        body = deposit_body(
            settings.bank_account_id,
            held,
            payout.settled_at.date().isoformat(),
            f"Ordermentum payout {payout.reference or payout.id}",
            settings.deposit,
            fees=payout.fees,
            fees_account_id=settings.fees_account_id,
        )
        deposit_id = await self.netsuite.for_supplier(supplier_id, integration).upsert_deposit(
            external_id(ExternalIdKind.PAYOUT, payout.id), body
        )
        fees = fee_booking(payout.fees, settings.fees_account_id)
        outbound = NetSuitePayoutDeposited(
            event_id=derived_event_id(supplier_id, PAYOUT, payout.id),
            occurred_at=self.clock(),
            supplier_id=supplier_id,
            data=PayoutDeposit(
                payout_id=payout.id,
                netsuite_deposit_id=deposit_id,
                amount=payout.amount,
                fees=payout.fees if fees.booked is not None else None,
                fees_booked=fees.booked,
                reason=fees.reason,
            ),
        )
        left_out = [pid for pid in payout.payment_ids if not recorded[pid].get("netsuite_id")]
        await self._record_and_publish(
            supplier_id, PAYOUT, payout.id, outbound, {"netsuite_id": deposit_id, "left_out": left_out}
        )

    # -- shared -------------------------------------------------------------------------------

    async def _record_and_publish(
        self,
        supplier_id: str,
        kind: str,
        oid: str,
        outbound: NetSuitePaymentReconciled | NetSuitePayoutDeposited,
        fields: dict[str, Any],
    ) -> None:
        # No intermediate "recorded" state: until `published` a retry repeats the upsert with the
        # stored plan (same body, same NetSuite record) and publishes the same event id.
        await self.publisher(outbound, key=supplier_id)
        await self.ledger.update(
            supplier_id,
            kind,
            oid,
            {"status": "published", "event": outbound.model_dump(mode="json"), "parked": None, **fields},
        )
        log.info(
            "%s %s recorded",
            kind,
            oid,
            extra={"supplier_id": supplier_id, "netsuite_id": fields.get("netsuite_id")},
        )


def _being_sent_again(parked: dict[str, Any], now: datetime) -> bool:
    until = parked.get("redrive_until")
    if isinstance(until, datetime) and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return isinstance(until, datetime) and until > now


def _published(entry: dict[str, Any] | None) -> bool:
    """True when nothing is left to do: the outcome was published already."""
    return entry is not None and entry.get("status") == "published"
