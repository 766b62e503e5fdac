"""Turning contract events into the use cases' input."""

from __future__ import annotations

from om_contracts import (
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    Invoice,
    InvoiceIssued,
    InvoiceUpdated,
    InvoiceVoided,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
    SyncKind,
    parse_event,
)
from order_sync.domain.outcomes import SourceEvent

TransactionEvent = (
    OrderPlaced | OrderUpdated | OrderCancelled | InvoiceIssued | InvoiceUpdated | InvoiceVoided
)


def source_of(event: TransactionEvent) -> SourceEvent:
    kind: SyncKind = "invoice" if isinstance(event.data, Invoice) else "order"
    return SourceEvent(
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        supplier_id=event.supplier_id,
        kind=kind,
        transaction=event.data,
    )


def payload_of(event: TransactionEvent) -> str:
    """The event as JSON, kept in the ledger so it can be re-run without Ordermentum re-sending it."""
    return event.model_dump_json()


def parse_stored(kind: SyncKind, payload: str) -> TransactionEvent:
    """An event stored by `payload_of`, parsed again with its topic's contract."""
    event = parse_event(ORDERS_TOPIC if kind == "order" else INVOICES_TOPIC, payload)
    if not isinstance(
        event, OrderPlaced | OrderUpdated | OrderCancelled | InvoiceIssued | InvoiceUpdated | InvoiceVoided
    ):
        raise TypeError(f"stored {kind} event is not an order/invoice event")
    return event
