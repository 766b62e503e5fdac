"""order_sync's own ports: what its use cases need beyond the shared ones.

The shared ports (integrations, leases, cursors, publishing) are `om_platform.ports`; these are
order_sync's alone. Adapters implement them; unit tests use in-memory fakes (the shared ports'
fakes are `tests/fakes.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from om_contracts import (
    Customer,
    ErrorCode,
    ErrorDetail,
    IntegrationSettings,
    NetSuiteRecordRef,
    Product,
    SyncKind,
)
from om_platform.core.connections import ConnectionView
from om_platform.core.connections import Status as ConnectionStatus
from om_platform.core.failures import PermanentFailure, TransientFailure
from om_transactions.mapping import TransactionBody
from order_sync.domain.netsuite_records import CatalogChange, FoundTransaction, Written
from order_sync.domain.outcomes import Outcome, Status


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
    version: int = 0
    """Outcomes recorded so far: tells a writer whether someone else wrote the record meanwhile."""
    blocked_by: tuple[str, ...] = ()
    """What the latest outcome waits for (`domain.blockers.blockers`); indexed."""
    claimed_by: str | None = None
    """The re-sync holding a live claim on the record (None when free or the claim expired)."""
    stored: bool = False
    """Read from the ledger (False: a record seen for the first time)."""


@dataclass(frozen=True)
class Selection:
    """Which ledger entries of one supplier to re-sync; every field given narrows it.

    `status` (default failed) is ignored when `ordermentum_id` names one record (any status).
    A new reason to re-sync adds a field here and its query in the ledger adapter.
    """

    supplier_id: str
    ordermentum_id: str | None = None
    status: str | None = "failed"
    code: ErrorCode | None = None
    blocked_by: tuple[str, ...] = ()
    """Entries waiting for any of these (`domain.blockers.blockers`)."""
    codes: tuple[ErrorCode, ...] = ()
    """Entries whose latest failure has any of these codes (`domain.healing.WAITING_FOR`)."""
    written_before: datetime | None = None
    """Entries whose latest outcome was recorded at or before this time."""


@dataclass(frozen=True)
class Claim:
    """A re-sync's hold on one record: the edge waits while it is live, and the re-sync's outcome
    is recorded only if nobody recorded another one since the claim."""

    owner: str
    version: int


Recorded = Literal["written", "overlapped", "superseded"]
"""`written`; `overlapped`: written, but a re-sync wrote or held the record while this writer
worked (its NetSuite write may have landed after this one); `superseded`: a claimed write refused
because the record changed after the claim."""


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
        claim: Claim | None = None,
    ) -> Recorded:
        """Store the outcome (not yet published) and the event it answers, atomically per record.

        Unclaimed (the edge): always written, and says whether it overlapped a re-sync. Claimed:
        written only while the claim holds and the record is at the claimed version.
        """
        ...

    async def mark_published(
        self,
        supplier_id: str,
        kind: SyncKind,
        ordermentum_id: str,
        event_id: str,
        claim: Claim | None = None,
    ) -> None:
        """The broker confirmed the outcome; a claim held for it is released."""
        ...

    async def note_attempt(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, error: dict[str, Any]
    ) -> None:
        """A transient failure that will be retried: count it and remember why."""
        ...

    def select(self, selection: Selection) -> AsyncIterator[LedgerEntry]:
        """The selected entries, oldest event first, through an index."""
        ...

    async def claim(
        self, entry: LedgerEntry, selection: Selection, owner: str, ttl_s: float
    ) -> tuple[LedgerEntry, Claim] | Literal["gone", "busy"]:
        """Claim the record if it still matches `selection` and nobody holds it: the entry as
        claimed, or `gone` (no longer selected) or `busy` (another live claim)."""
        ...

    async def renew(self, entries: Iterable[LedgerEntry], owner: str, ttl_s: float) -> None:
        """Extend `owner`'s claims on these records (a live re-sync renews; a dead one's lapse)."""
        ...

    async def release(self, entry: LedgerEntry, claim: Claim) -> None: ...

    def abandoned(self) -> AsyncIterator[LedgerEntry]:
        """Records whose claim lapsed with an outcome stored but never confirmed published."""
        ...

    async def blocking(self, supplier_id: str, blockers: Iterable[str] | None) -> set[str]:
        """Which of `blockers` (None: any) the latest outcome of some failed record waits for."""
        ...

    async def failing_with(self, codes: Iterable[ErrorCode], supplier_id: str | None = None) -> list[str]:
        """Suppliers (or just `supplier_id`) with a record whose latest outcome failed with one of `codes`."""
        ...


class MappingResolver(Protocol):
    async def resolve_customer(
        self, supplier_id: str, integration: IntegrationSettings, customer: Customer
    ) -> str | None: ...

    async def resolve_products(
        self, supplier_id: str, integration: IntegrationSettings, products: list[Product]
    ) -> Mapping[str, str | None]: ...

    async def freight_item(self, supplier_id: str, customer_id: str) -> str | None:
        """`netsuite_freight_item_id` of the customer's latest `customer.upserted`."""
        ...

    async def mapped(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        kind: Literal["customer", "product"],
        ids: Iterable[str],
    ) -> set[str]:
        """Which ids have a NetSuite id from a tab or a stored mapping (not from one event)."""
        ...


@dataclass(frozen=True)
class HealRequest:
    """A durable "re-sync what waits for `blocker`" of one supplier; `generation` grows with each
    new request for the same blocker, so finishing an old one never drops a newer one."""

    blocker: str
    generation: int
    requested_at: datetime | None = None
    """When the latest generation was requested (a connection heal re-runs what failed before it)."""


class HealRequests(Protocol):
    async def add(self, supplier_id: str, blockers: Iterable[str]) -> None: ...

    async def suppliers(self) -> list[str]:
        """Suppliers with pending requests."""
        ...

    async def pending(self, supplier_id: str) -> list[HealRequest]: ...

    async def finish(self, supplier_id: str, requests: Iterable[HealRequest]) -> None:
        """Mark these done, unless requested again since (a newer generation stays pending)."""
        ...

    async def wait(self, timeout_s: float) -> None:
        """Until this process adds a request, or `timeout_s` (other processes' requests are polled)."""
        ...


class ConnectionStates(ConnectionView, Protocol):
    """The suppliers' NetSuite connections: this process's view, and the shared state read now."""

    async def load(self, supplier_ids: list[str]) -> Mapping[str, ConnectionStatus]: ...


class NetSuiteAuthFailed(Exception):
    """NetSuite refused the supplier's credentials (401/403); heals once a login works again."""

    def __init__(self, reason: str, *, detail: str | None = None, netsuite_code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.netsuite_code = netsuite_code


class NetSuiteRejected(PermanentFailure):
    """NetSuite answered that the request cannot succeed as it is, with what it named."""

    def __init__(
        self, message: str, details: tuple[ErrorDetail, ...], *, code: str = "NETSUITE_REJECTED"
    ) -> None:
        super().__init__(code, message)
        self.details = details


class NetSuiteUnavailable(TransientFailure):
    """NetSuite did not answer usefully this time (outage, timeout, rate limit): retry later.

    `cause` names what happened (the client's error type), for outcomes and logs."""

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class Gateway(Protocol):
    """One supplier's NetSuite account, in the terms order_sync needs.

    Every method raises only the failures above (`NetSuiteAuthFailed`, `NetSuiteRejected`,
    `NetSuiteUnavailable`), `om_platform`'s `ConnectionDown`, `CredentialError` or another
    `PermanentFailure`: the adapter translates the NetSuite client's errors."""

    async def currency_id(self, iso_code: str) -> str | None: ...

    async def upsert(self, transaction: TransactionBody, *, known_tran_id: str | None) -> Written:
        """Write the transaction and read back its number and NetSuite's totals (batched)."""
        ...

    async def find(self, record_type: str, external_id: str) -> FoundTransaction | None:
        """The transaction (read with its sublists), or None when NetSuite has no such record."""
        ...

    async def close_lines(self, found: FoundTransaction) -> None:
        """Close every item line of `found` (its `lines_to_close`)."""
        ...

    async def credit_invoice(self, invoice_id: str, credit_external_id: str, memo: str) -> str: ...


class GatewayFactory(Protocol):
    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> Gateway: ...


CatalogKind = Literal["customer", "item"]


class CatalogSource(Protocol):
    """One supplier's NetSuite customers or items, in ``(lastmodifieddate, id)`` keyset order."""

    async def changed(
        self, kind: CatalogKind, after_modified: str, after_position: int, limit: int
    ) -> list[CatalogChange]:
        """Up to `limit` records modified after (`after_modified`, `after_position`), in order."""
        ...


class ReverseMappings(Protocol):
    async def reverse(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        kind: Literal["customer", "product"],
        ids: list[str],
    ) -> dict[str, str]:
        """The Ordermentum id of each NetSuite id that has one."""
        ...


class Counters(Protocol):
    def count(self, what: str) -> None:
        """Count an event handled without an outcome: sync_type_mismatch, stale, duplicate."""
        ...

    def failure(self, code: str) -> None:
        """Count a failure outcome by its stable error code."""
        ...

    def resynced(self) -> None:
        """Count an outcome a re-sync published (not an event)."""
        ...

    def warning(self, code: str) -> None:
        """Count a warning of a synced outcome by its stable code (TOTALS_MISMATCH)."""
        ...
