"""finance_sync's own ports (what implements each is wired in app.py).

The ports every service shares (Integrations, Leases, Cursors, Publish) come from
`om_platform.ports`; finance's cursor is `Cursors[Cursor]` (`domain.cursors.Cursor`: a position
plus whether a cut window resumes there), and the hourly slots a feature completed are kept by its
`JobRunLog`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from finance_sync.domain.cursors import Position
from finance_sync.domain.documents import (
    CreditMemoRow,
    DeletedInvoice,
    InvoiceRow,
    InvoiceVersion,
    PaymentChange,
)
from finance_sync.domain.reconciliation import InvoiceLookup, OrderLookup, RecordedPayment, RecordedRef
from om_contracts import IntegrationSettings
from om_platform.core.mappings import Kind, MappedEntity


class Published(Protocol):
    async def already(self, supplier_id: str, feature: str, keys: Iterable[str]) -> set[str]: ...
    async def mark(self, supplier_id: str, feature: str, keys: list[str]) -> None: ...


class InvoiceVersions(Protocol):
    """What was last published about each finalised invoice (see domain.documents)."""

    async def many(self, supplier_id: str, invoice_ids: Iterable[str]) -> dict[str, InvoiceVersion]: ...
    async def remember(self, supplier_id: str, versions: Sequence[InvoiceVersion]) -> None: ...


class JobRunLog(Protocol):
    """The hourly slots each supplier's feature ran: one record per slot, and the last completed."""

    async def last_slot(self, feature: str, supplier_id: str) -> datetime | None:
        """The latest slot completed (None: never run)."""
        ...

    async def is_done(self, feature: str, supplier_id: str, slot: datetime) -> bool: ...
    async def mark_done(
        self, feature: str, supplier_id: str, slot: datetime, owner: str, published: int
    ) -> bool: ...
    async def complete_slot(self, feature: str, supplier_id: str, slot: datetime) -> None:
        """Move the last completed slot forward to `slot` (never back)."""
        ...


class RunMetrics(Protocol):
    """What a feature run reports (`om_job_seconds`, `om_cursor_age_seconds`, label `sync_job`)."""

    def run_finished(self, job: str, outcome: str, seconds: float) -> None: ...
    def window_age(self, job: str, seconds: float) -> None:
        """How far behind now the end of the window just run is."""
        ...


class Mappings(Protocol):
    async def resolve(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, entities: Iterable[MappedEntity]
    ) -> dict[str, str | None]: ...

    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, netsuite_ids: Iterable[str]
    ) -> dict[str, str]: ...


class Ledger(Protocol):
    async def get(self, supplier_id: str, kind: str, ordermentum_id: str) -> dict[str, Any] | None: ...
    async def many(self, supplier_id: str, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...
    async def update(
        self, supplier_id: str, kind: str, ordermentum_id: str, fields: dict[str, Any]
    ) -> None: ...
    async def forget_plan(self, supplier_id: str, kind: str, ordermentum_id: str) -> None: ...
    async def park(self, supplier_id: str, kind: str, ordermentum_id: str, parked: dict[str, Any]) -> None:
        """Keep an event NetSuite could not be asked about (the connection is down) to send again."""
        ...

    async def parked(self, supplier_id: str | None = None) -> list[dict[str, Any]]:
        """Entries parked (of one supplier, or of all), oldest first."""
        ...

    async def claim_redrive(self, entry_id: str, now: datetime, until: datetime) -> bool:
        """Take the right to send a parked event again until `until` (one replica does it)."""
        ...


class BreakerState(Protocol):
    @property
    def breaker_open(self) -> bool: ...


class Connections(Protocol):
    """The suppliers' NetSuite connection states (`om_platform.connections.ConnectionMonitor`)."""

    def is_open(self, supplier_id: str, credentials: str | None = None) -> bool: ...
    async def load(self, supplier_ids: list[str]) -> Mapping[str, BreakerState]: ...


class RefusedByNetSuite(Exception):
    """NetSuite refused a write as it is (a 4xx other than auth/timeout/throttling): `code` says why.

    The gateway's translation of `om_netsuite.PermanentError`, so use cases decide on a refusal
    without knowing the client's exception types.
    """

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code


class NetSuiteAuthFailed(Exception):
    """NetSuite refused the supplier's credentials (401/403): the gateway's translation of the
    client's `AuthenticationFailed`; what needs NetSuite parks until the connection is back."""

    code = "NETSUITE_AUTH_FAILED"


class DocumentFeeds(Protocol):
    """NetSuite's change feeds of the polled features, read in (timestamp, id) order after a position."""

    async def invoices_created(self, after: Position, until: datetime, limit: int) -> list[InvoiceRow]: ...
    async def invoices_modified(self, after: Position, until: datetime, limit: int) -> list[InvoiceRow]: ...
    async def invoices_deleted(
        self, after: Position, until: datetime, limit: int
    ) -> list[DeletedInvoice]: ...
    async def credit_memos_created(
        self, after: Position, until: datetime, limit: int
    ) -> list[CreditMemoRow]: ...
    async def payment_changes(self, after: Position, until: datetime, limit: int) -> list[PaymentChange]: ...
    async def paid_known_invoices(
        self, entity_ids: Iterable[str], created_since: datetime
    ) -> list[InvoiceRow]: ...


class ReconciliationGateway(Protocol):
    """What auto-reconciliation asks NetSuite and writes there.

    `upsert_customer_payment` and `upsert_customer_deposit` raise `RefusedByNetSuite` when
    NetSuite refuses the record; every method raises `NetSuiteAuthFailed` for refused
    credentials, a `TransientFailure` for an outage and a `PermanentFailure` otherwise (the
    adapter translates the client's errors).
    """

    async def find_invoices(
        self, external_ids: Sequence[str], numbers: Sequence[str], payment_external_id: str
    ) -> InvoiceLookup: ...
    async def find_orders(self, external_ids: Sequence[str], payment_external_id: str) -> OrderLookup: ...
    async def customer_payment(self, recorded: RecordedRef) -> RecordedPayment: ...
    async def upsert_customer_payment(self, external_id: str, body: dict[str, Any]) -> str: ...
    async def upsert_customer_deposit(self, external_id: str, body: dict[str, Any]) -> str: ...
    async def upsert_deposit(self, external_id: str, body: dict[str, Any]) -> str: ...


class FeedSources(Protocol):
    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> DocumentFeeds:
        """The NetSuite change feeds of one supplier's account."""
        ...


class ReconciliationGateways(Protocol):
    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> ReconciliationGateway:
        """What auto-reconciliation asks of and writes to one supplier's account."""
        ...
