"""The ports the use cases need. Adapters implement them; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from om_contracts import (
    Customer,
    ErrorCode,
    IntegrationSettings,
    NetSuiteRecordRef,
    Product,
    SyncKind,
)
from order_sync.domain.mapping import TransactionBody
from order_sync.domain.outcomes import Outcome, Status, Written


@dataclass
class LedgerEntry:
    """The current state of one Ordermentum order/invoice in NetSuite (see README, "ledger")."""

    supplier_id: str
    kind: SyncKind
    ordermentum_id: str
    status: Status | Literal["pending"] = "pending"
    number: str | None = None
    netsuite: NetSuiteRecordRef | None = None
    attempts: int = 0
    last_error: dict[str, Any] | None = None
    last_event_id: str | None = None
    last_event_type: str | None = None
    last_occurred_at: datetime | None = None
    last_event_payload: str | None = None
    applied_event_ids: list[str] = field(default_factory=list)
    outcome: str | None = None
    outcome_event_id: str | None = None
    outcome_published: bool = True


class Ledger(Protocol):
    async def get(self, supplier_id: str, kind: SyncKind, ordermentum_id: str) -> LedgerEntry | None: ...

    async def record(
        self,
        entry: LedgerEntry,
        outcome: Outcome,
        *,
        event_payload: str,
        event_type: str,
        occurred_at: datetime,
        attempts_made: int,
    ) -> None:
        """Store the outcome (not yet published) and the event it answers, atomically per record."""
        ...

    async def mark_published(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, event_id: str
    ) -> None: ...

    async def note_attempt(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, error: dict[str, Any]
    ) -> None:
        """A transient failure that will be retried: count it and remember why."""
        ...

    def failed(
        self, supplier_id: str, *, ordermentum_id: str | None = None, code: ErrorCode | None = None
    ) -> AsyncIterator[LedgerEntry]:
        """Entries to re-sync: one record (any status) or every failed one (optionally by code)."""
        ...


class Integrations(Protocol):
    async def get(self, supplier_id: str) -> IntegrationSettings | None: ...


class MappingResolver(Protocol):
    async def resolve_customer(
        self, supplier_id: str, integration: IntegrationSettings, customer: Customer
    ) -> str | None: ...

    async def resolve_products(
        self, supplier_id: str, integration: IntegrationSettings, products: list[Product]
    ) -> Mapping[str, str | None]: ...


class Gateway(Protocol):
    """One supplier's NetSuite account, in the terms order_sync needs."""

    async def currency_id(self, iso_code: str) -> str | None: ...

    async def upsert(self, transaction: TransactionBody, *, known_tran_id: str | None) -> Written:
        """Write the transaction and read back its number and NetSuite's totals (batched)."""
        ...

    async def find(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        """The record with its sublists expanded, or None when NetSuite has no such record."""
        ...

    async def close_lines(self, record_type: str, internal_id: str, lines: list[dict[str, Any]]) -> None: ...

    async def credit_invoice(self, invoice_id: str, credit_external_id: str, memo: str) -> str: ...


class GatewayFactory(Protocol):
    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> Gateway: ...


class Publish(Protocol):
    async def __call__(self, outcome: Outcome) -> None: ...


class Counters(Protocol):
    def count(self, what: str) -> None:
        """Count an event handled without an outcome: sync_type_mismatch, stale, duplicate."""
        ...

    def failure(self, code: str) -> None:
        """Count a failure outcome by its stable error code."""
        ...

    def warning(self, code: str) -> None:
        """Count a warning of a synced outcome by its stable code (TOTALS_MISMATCH)."""
        ...
