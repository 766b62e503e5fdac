"""Outcome events on ``netsuite.sync-results.v1`` and the ledger rules around them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import TypeAdapter

from om_contracts import (
    ComparedTotals,
    ErrorCode,
    ErrorDetail,
    Invoice,
    NetSuiteInvoiceFailed,
    NetSuiteInvoiceSynced,
    NetSuiteInvoiceVoided,
    NetSuiteOrderCancelled,
    NetSuiteOrderFailed,
    NetSuiteOrderSynced,
    NetSuiteRecordRef,
    Order,
    SyncError,
    SyncFailed,
    SyncKind,
    SyncResultEvent,
    SyncSucceeded,
    SyncWarning,
    TransactionTotals,
    WarningCode,
    loads,
)

Status = Literal["synced", "failed", "cancelled", "voided", "skipped"]
Outcome = (
    NetSuiteOrderSynced
    | NetSuiteOrderFailed
    | NetSuiteOrderCancelled
    | NetSuiteInvoiceSynced
    | NetSuiteInvoiceFailed
    | NetSuiteInvoiceVoided
)


def verify_totals(
    ordermentum: TransactionTotals, netsuite: TransactionTotals | None, differences: list[str]
) -> tuple[ComparedTotals | None, tuple[SyncWarning, ...]]:
    """Both sides' totals for the outcome, and a TOTALS_MISMATCH warning when they differ."""
    if netsuite is None:
        return None, ()
    compared = ComparedTotals(ordermentum=ordermentum, netsuite=netsuite)
    if not differences:
        return compared, ()
    message = "NetSuite booked other totals than Ordermentum: " + "; ".join(differences)
    return compared, (SyncWarning(code=WarningCode.TOTALS_MISMATCH, message=message),)


@dataclass(frozen=True)
class SourceEvent:
    """What an outcome needs to know about the Ordermentum event it answers."""

    event_id: str
    event_type: str
    occurred_at: datetime
    supplier_id: str
    kind: SyncKind
    transaction: Order | Invoice


def succeeded(
    source: SourceEvent,
    status: Literal["synced", "cancelled", "voided"],
    record: NetSuiteRecordRef,
    *,
    attempts: int,
    event_id: str,
    now: datetime,
    totals: ComparedTotals | None = None,
    warnings: tuple[SyncWarning, ...] = (),
) -> Outcome:
    data = SyncSucceeded(**_about(source, attempts), netsuite=record, totals=totals, warnings=warnings)
    common = _envelope(source, data, event_id, now)
    if source.kind == "order":
        if status == "cancelled":
            return NetSuiteOrderCancelled.model_validate(common)
        return NetSuiteOrderSynced.model_validate(common)
    if status == "voided":
        return NetSuiteInvoiceVoided.model_validate(common)
    return NetSuiteInvoiceSynced.model_validate(common)


def failed(
    source: SourceEvent,
    code: ErrorCode,
    message: str,
    *,
    retryable: bool,
    details: tuple[ErrorDetail, ...] = (),
    record: NetSuiteRecordRef | None = None,
    attempts: int,
    event_id: str,
    now: datetime,
) -> Outcome:
    error = SyncError(code=code, message=message, retryable=retryable, details=details)
    data = SyncFailed(**_about(source, attempts), netsuite=record, error=error)
    common = _envelope(source, data, event_id, now)
    if source.kind == "order":
        return NetSuiteOrderFailed.model_validate(common)
    return NetSuiteInvoiceFailed.model_validate(common)


def _about(source: SourceEvent, attempts: int) -> dict[str, Any]:
    """What every outcome says about the event it answers."""
    return {
        "source_event_id": source.event_id,
        "kind": source.kind,
        "ordermentum_id": source.transaction.id,
        "number": source.transaction.number,
        "attempts": attempts,
    }


def _envelope(
    source: SourceEvent, data: SyncSucceeded | SyncFailed, event_id: str, now: datetime
) -> dict[str, Any]:
    return {"event_id": event_id, "occurred_at": now, "supplier_id": source.supplier_id, "data": data}


_STATUS: dict[str, Status] = {
    "synced": "synced",
    "failed": "failed",
    "cancelled": "cancelled",
    "voided": "voided",
}
_OUTCOME_ADAPTER: TypeAdapter[Outcome] = TypeAdapter(SyncResultEvent)


def status_of(outcome: Outcome) -> Status:
    """The ledger status an outcome leaves the record in."""
    return _STATUS.get(outcome.event_type.rsplit(".", 1)[-1], "skipped")


def parse_outcome(text: str) -> Outcome:
    """An outcome stored in the ledger (its JSON) back as the event model."""
    return _OUTCOME_ADAPTER.validate_python(loads(text))


Decision = Literal["apply", "already_applied", "stale"]


def decide(
    *,
    event_id: str,
    occurred_at: datetime,
    applied_event_ids: list[str],
    last_occurred_at: datetime | None,
) -> Decision:
    """What to do with an event given the ledger entry of its record.

    ``already_applied``: this very event was applied before (a redelivery or a replay), so it is
    not written again. ``stale``: a newer event of the same record was applied already; applying
    this one would overwrite a newer state with an older one.
    """
    if event_id in applied_event_ids:
        return "already_applied"
    if last_occurred_at is not None and occurred_at < last_occurred_at:
        return "stale"
    return "apply"
