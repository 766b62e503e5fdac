"""Use case: apply one Ordermentum order/invoice event to NetSuite and publish its outcome.

Exactly-once effect (README, "Idempotency"): the NetSuite write is an upsert by deterministic
external id with ``replace=item``; the outcome is stored in the ledger before it is published and
marked published after the broker confirmed it. A redelivered or replayed event whose outcome was
published does nothing; one whose outcome was stored but not confirmed republishes that very
outcome (same event id, so consumers deduplicate it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NoReturn

from om_contracts import (
    ComparedTotals,
    CredentialError,
    ErrorCode,
    ErrorDetail,
    IntegrationSettings,
    Invoice,
    NetSuiteRecordRef,
    Order,
    SyncType,
    SyncWarning,
    external_id,
)
from om_platform.core.connections import ConnectionDown
from om_platform.core.ports import Integrations, Publish
from om_transactions import mapping as bodies
from order_sync.domain import outcomes
from order_sync.domain.netsuite_records import FoundTransaction, Written
from order_sync.domain.outcomes import Outcome, SourceEvent
from order_sync.service_layer.ports import (
    Claim,
    Counters,
    Gateway,
    GatewayFactory,
    Ledger,
    LedgerEntry,
    MappingResolver,
    NetSuiteAuthFailed,
    NetSuiteRejected,
    NetSuiteUnavailable,
)

log = logging.getLogger(__name__)

_UPSERT_TYPES = frozenset({"order.placed", "order.updated", "invoice.issued", "invoice.updated"})
_BILLED_STATUSES = frozenset({"E", "F", "G"})  # some or all of the order is billed (or being billed)


_MAX_OVERLAPS = 5

_CLAIM_POLL_S = 0.05


class _Failure(Exception):
    """Internal: the record cannot be synced as it is (turned into a failed outcome)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool = False,
        details: tuple[ErrorDetail, ...] = (),
        record: NetSuiteRecordRef | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = details
        self.record = record


@dataclass(frozen=True)
class TransactionSync:
    """Use case: one Ordermentum order/invoice event applied to NetSuite, its outcome published."""

    ledger: Ledger
    integrations: Integrations
    mappings: MappingResolver
    netsuite: GatewayFactory
    publish: Publish
    counters: Counters
    new_event_id: Callable[[], str]
    clock: Callable[[], datetime]

    async def sync_event(
        self,
        source: SourceEvent,
        payload: str,
        *,
        attempt: int = 1,
        is_last_attempt: bool = False,
        resync: bool = False,
        claim: Claim | None = None,
    ) -> Outcome | None:
        """Apply one event; returns the outcome published (None when nothing was published).

        ``attempt`` / ``is_last_attempt`` are the edge's (its `RecordContext`, decided by its retry
        policy before the attempt starts): the service keeps no retry state, and on the last
        attempt a NetSuite outage ends in a NETSUITE_UNAVAILABLE outcome instead of a dead letter.
        A re-sync is one attempt with no retry after it.

        ``payload`` is the event's JSON, kept in the ledger so `resync` can run it again. With
        ``resync`` the event is applied even if the ledger shows it applied already; a re-sync
        passes its ``claim`` on the record (README, "Automatic re-sync": how it and the edge stay
        in order).
        """
        extra = {"supplier_id": source.supplier_id, "event_id": source.event_id}
        integration = await self.integrations.get(source.supplier_id)
        if integration is not None and _other_sync_type(integration, source):
            # An event of the other sync type is acknowledged without an outcome. A re-sync meets
            # one when the supplier was configured for the other type after the event failed (e.g.
            # INTEGRATION_NOT_CONFIGURED): counted apart, as it is no event the edge handled.
            self.counters.count("sync_type_changed" if resync else "sync_type_mismatch")
            log.info("event of the other sync type acknowledged", extra=extra)
            return None
        entry = await self._unclaimed(source, claim)
        if entry is not None and not resync and await self._seen_before(entry, source):
            return None
        entry = entry or LedgerEntry(
            supplier_id=source.supplier_id, kind=source.kind, ordermentum_id=source.transaction.id
        )
        outcome = await self._record(source, payload, integration, entry, attempt, is_last_attempt, claim)
        if outcome is None:
            self.counters.count("superseded")
            log.info("re-sync skipped: the record changed since it was claimed", extra=extra)
            return None
        await self.publish(outcome, key=outcome.supplier_id)
        await self.ledger.mark_published(
            source.supplier_id, source.kind, source.transaction.id, outcome.event_id, claim
        )
        self._report(source, outcome)
        return outcome

    async def _seen_before(self, entry: LedgerEntry, source: SourceEvent) -> bool:
        """An event already applied (its outcome republished if unconfirmed) or older than the
        one applied: nothing to do."""
        decision = outcomes.decide(
            event_id=source.event_id,
            occurred_at=source.occurred_at,
            applied_event_ids=entry.applied_event_ids,
            last_occurred_at=entry.last_occurred_at,
        )
        if decision == "already_applied":
            await self._republish_if_unconfirmed(entry, source)
            return True
        if decision == "stale":
            self.counters.count("stale")
            log.info(
                "event older than the one applied to this record is ignored",
                extra={"supplier_id": source.supplier_id, "event_id": source.event_id},
            )
            return True
        return False

    async def _record(
        self,
        source: SourceEvent,
        payload: str,
        integration: IntegrationSettings | None,
        entry: LedgerEntry,
        attempt: int,
        is_last_attempt: bool,
        claim: Claim | None,
    ) -> Outcome | None:
        """Apply the event and store its outcome; None when a claimed write was superseded."""
        for _ in range(_MAX_OVERLAPS):
            try:
                outcome = await self._apply(source, integration, entry, attempt, is_last_attempt)
            except _Failure as failure:
                outcome = self._failed(source, entry, attempt, failure)
            recorded = await self.ledger.record(
                entry,
                outcome,
                event_payload=payload,
                event_type=source.event_type,
                occurred_at=source.occurred_at,
                attempts_made=1,
                claim=claim,
            )
            if recorded != "overlapped":
                break
            # A re-sync wrote this record while this (newer) event was applied: its NetSuite write
            # may have landed after ours, so ours is applied again once the re-sync let go of it.
            log.info(
                "a re-sync overlapped this event; applying it again",
                extra={"supplier_id": source.supplier_id, "event_id": source.event_id},
            )
            entry = await self._unclaimed(source, None) or entry
            integration = await self.integrations.get(source.supplier_id)
        return None if recorded == "superseded" else outcome

    def _report(self, source: SourceEvent, outcome: Outcome) -> None:
        """Say exactly what to fix, in the log as in the failure event; count failures and warnings."""
        extra = {"supplier_id": source.supplier_id, "event_id": source.event_id}
        tx = source.transaction
        error = getattr(outcome.data, "error", None)
        if error is not None:
            self.counters.failure(str(error.code))
            log.warning(
                "%s %s failed: %s %s",
                source.kind,
                tx.id,
                error.code,
                error.message,
                extra={**extra, "error_code": str(error.code), "retryable": error.retryable},
            )
        else:
            log.info("record %s", outcome.event_type, extra=extra)
        for warning in getattr(outcome.data, "warnings", ()):
            self.counters.warning(str(warning.code))
            log.warning(
                "%s %s: %s",
                source.kind,
                tx.id,
                warning.message,
                extra={**extra, "warning": str(warning.code)},
            )

    async def _unclaimed(self, source: SourceEvent, claim: Claim | None) -> LedgerEntry | None:
        """The record's entry once no re-sync other than `claim` holds it (a live claim is short
        and renewed; a dead re-sync's claim lapses after its TTL)."""
        tx = source.transaction
        while True:
            entry = await self.ledger.get(source.supplier_id, source.kind, tx.id)
            holder = entry.claimed_by if entry is not None else None
            if holder is None or (claim is not None and holder == claim.owner):
                return entry
            await asyncio.sleep(_CLAIM_POLL_S)  # the claim is released by another task or replica

    def _failed(self, source: SourceEvent, entry: LedgerEntry, attempt: int, failure: _Failure) -> Outcome:
        return outcomes.failed(
            source,
            failure.code,
            failure.message,
            retryable=failure.retryable,
            details=failure.details,
            record=failure.record or entry.netsuite,
            attempts=attempt,
            event_id=self.new_event_id(),
            now=self.clock(),
        )

    async def _republish_if_unconfirmed(self, entry: LedgerEntry, source: SourceEvent) -> None:
        if entry.outcome_published or entry.outcome is None or entry.last_event_id != source.event_id:
            self.counters.count("duplicate")
            return
        outcome = outcomes.parse_outcome(entry.outcome)
        await self.publish(outcome, key=outcome.supplier_id)
        await self.ledger.mark_published(
            entry.supplier_id, entry.kind, entry.ordermentum_id, outcome.event_id
        )
        self.counters.count("republished")

    async def _apply(
        self,
        source: SourceEvent,
        integration: IntegrationSettings | None,
        entry: LedgerEntry,
        attempt: int,
        is_last_attempt: bool,
    ) -> Outcome:
        if integration is None:
            raise _Failure(
                ErrorCode.INTEGRATION_NOT_CONFIGURED,
                f"supplier {source.supplier_id} has no NetSuite integration configured",
            )
        written: Written | None = None
        try:
            gateway = self.netsuite.for_supplier(source.supplier_id, integration)
            if source.event_type in _UPSERT_TYPES:
                written = await self._upsert(source, integration, entry, gateway)
                record = written.record
                status: Literal["synced", "cancelled", "voided"] = "synced"
            elif source.event_type == "order.cancelled":
                record = await _cancel(source, gateway)
                status = "cancelled"
            else:
                record = await _void(source, gateway)
                status = "voided"
        except CredentialError as exc:
            raise _Failure(ErrorCode.INTEGRATION_NOT_CONFIGURED, str(exc)) from exc
        except ConnectionDown as exc:
            # Parked: nothing was sent. Re-synced by itself once the connection is back (heal.py).
            raise _Failure(
                ErrorCode(exc.code),
                f"not sent: the NetSuite connection is {exc.state}; it re-syncs by itself once it is back",
                retryable=True,
                details=(ErrorDetail(reason=str(exc)),),
            ) from exc
        except NetSuiteAuthFailed as exc:
            raise _Failure(
                ErrorCode.NETSUITE_AUTH_FAILED,
                f"NetSuite refused the credentials: {exc.reason}",
                retryable=True,  # re-synced once the login works again (a probe, new credentials)
                details=(
                    ErrorDetail(
                        reason=exc.detail or "authentication failed", netsuite_code=exc.netsuite_code
                    ),
                ),
            ) from exc
        except NetSuiteRejected as exc:
            raise _Failure(ErrorCode.NETSUITE_REJECTED, exc.message, details=exc.details) from exc
        except NetSuiteUnavailable as exc:
            await self._transient(source, exc, attempt, is_last_attempt)
        totals, warnings = _verified(source, written)
        return outcomes.succeeded(
            source,
            status,
            record,
            attempts=attempt,
            event_id=self.new_event_id(),
            now=self.clock(),
            totals=totals,
            warnings=warnings,
        )

    async def _transient(
        self, source: SourceEvent, exc: NetSuiteUnavailable, attempt: int, is_last_attempt: bool
    ) -> NoReturn:
        """Leave the retry to the edge (the TransientFailure); on the attempt the edge said is its
        last, report NETSUITE_UNAVAILABLE instead, which heals by itself, rather than a dead letter."""
        if is_last_attempt:
            raise _Failure(
                ErrorCode.NETSUITE_UNAVAILABLE,
                f"NetSuite stayed unavailable after {attempt} attempt(s): {exc.cause}",
                retryable=True,
            ) from exc
        await self.ledger.note_attempt(
            source.supplier_id,
            source.kind,
            source.transaction.id,
            {"code": ErrorCode.NETSUITE_UNAVAILABLE.value, "message": str(exc), "retryable": True},
        )
        raise exc

    async def _upsert(
        self,
        source: SourceEvent,
        integration: IntegrationSettings,
        entry: LedgerEntry,
        gateway: Gateway,
    ) -> Written:
        tx = await self._with_latest_freight_item(source)
        customer = await self.mappings.resolve_customer(source.supplier_id, integration, tx.customer)
        products = await self.mappings.resolve_products(
            source.supplier_id, integration, [line.product for line in tx.lines]
        )
        currency = await gateway.currency_id(tx.currency)
        resolved = bodies.Mappings(
            customer=customer,
            products=dict(products),
            currency=currency,
            tax_codes=bodies.resolve_tax_codes(tx, integration),
        )
        problem = bodies.check_mappings(tx, resolved, surcharge_item_id=integration.surcharge_item_id)
        if problem is not None:
            raise _Failure(problem.code, problem.message, details=problem.details)
        if currency is None:
            raise _Failure(
                ErrorCode.NETSUITE_REJECTED,
                f"currency {tx.currency} is not set up in the NetSuite account",
                details=(
                    ErrorDetail(reason=f"no NetSuite currency with symbol {tx.currency}", path="currency"),
                ),
            )
        body = bodies.build_body(
            source.kind,
            tx,
            resolved,
            external_id=_external_id(source.kind, tx),
            surcharge_item_id=integration.surcharge_item_id,
        )
        known = entry.netsuite.tran_id if entry.netsuite is not None else None
        return await gateway.upsert(body, known_tran_id=known)

    async def _with_latest_freight_item(self, source: SourceEvent) -> Order | Invoice:
        """The transaction, its customer completed with the freight item of the customer's latest
        `customer.upserted` when neither the event nor its customer carries one (a fix made later)."""
        tx = source.transaction
        if tx.freight is None or tx.resolved_property("netsuite_freight_item_id") is not None:
            return tx
        item = await self.mappings.freight_item(source.supplier_id, tx.customer.id)
        if item is None:
            return tx
        properties = {**tx.customer.properties, "netsuite_freight_item_id": item}
        return tx.model_copy(update={"customer": tx.customer.model_copy(update={"properties": properties})})


def _other_sync_type(integration: IntegrationSettings, source: SourceEvent) -> bool:
    wanted = SyncType.ORDERS if source.kind == "order" else SyncType.INVOICES
    return integration.sync_type != wanted


def _verified(
    source: SourceEvent, written: Written | None
) -> tuple[ComparedTotals | None, tuple[SyncWarning, ...]]:
    """Ordermentum's totals against those NetSuite booked (read back in the tranId batch)."""
    if written is None or written.netsuite_totals is None:
        return None, ()
    ours = bodies.ordermentum_totals(source.transaction)
    theirs = written.netsuite_totals
    return outcomes.verify_totals(ours, theirs, bodies.totals_differ(ours, theirs))


def _external_id(kind: str, tx: Order | Invoice) -> str:
    return external_id("ORDER" if kind == "order" else "INV", tx.id)


async def _existing(
    gateway: Gateway, record_type: str, eid: str, code: ErrorCode, message: str
) -> FoundTransaction:
    """The transaction a cancel or void acts on; a failure with `code` when NetSuite has none."""
    found = await gateway.find(record_type, eid)
    if found is None:
        raise _Failure(
            code, message, details=(ErrorDetail(reason=f"no {record_type} with external id {eid}"),)
        )
    return found


async def _cancel(source: SourceEvent, gateway: Gateway) -> NetSuiteRecordRef:
    """Close every line of the sales order (NetSuite's "Close"; a closed order cannot be billed)."""
    found = await _existing(
        gateway,
        "salesOrder",
        _external_id("order", source.transaction),
        ErrorCode.NOT_CANCELLABLE,
        "NetSuite has no sales order for this order, so there is nothing to close",
    )
    if found.status in ("C", "H"):
        return found.ref  # already cancelled or closed: the same effect again
    if found.status in _BILLED_STATUSES or found.billed:
        raise _Failure(
            ErrorCode.NOT_CANCELLABLE,
            "the sales order has already been billed in NetSuite and cannot be closed",
            details=(ErrorDetail(reason=f"sales order status is {found.status}", path="status"),),
            record=found.ref,
        )
    await gateway.close_lines(found)
    return found.ref


async def _void(source: SourceEvent, gateway: Gateway) -> NetSuiteRecordRef:
    """Void = a credit memo transformed from the invoice and applied to it in full (README)."""
    eid = _external_id("invoice", source.transaction)
    found = await _existing(
        gateway,
        "invoice",
        eid,
        ErrorCode.NOT_VOIDABLE,
        "NetSuite has no invoice for this Ordermentum invoice, so there is nothing to void",
    )
    credit_eid = f"{eid}-VOID"
    if await gateway.find("creditMemo", credit_eid) is not None:
        return found.ref
    if found.amount_paid > 0:
        raise _Failure(
            ErrorCode.NOT_VOIDABLE,
            "the NetSuite invoice has payments applied and cannot be voided",
            details=(ErrorDetail(reason=f"amount paid is {found.amount_paid}", path="amountPaid"),),
            record=found.ref,
        )
    memo = f"Void of Ordermentum invoice {source.transaction.number}"
    await gateway.credit_invoice(found.ref.internal_id, credit_eid, memo)
    return found.ref
