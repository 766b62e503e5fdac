"""The ports the use cases depend on (concrete adapters are wired in app.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from finance_sync.domain.documents import InvoiceVersion
from finance_sync.domain.schedule import Cursor, Position
from om_contracts import IntegrationSettings
from om_platform.leases import Lease
from om_platform.mappings import Kind, MappedEntity


class Leases(Protocol):
    """At-most-one-holder leases across replicas (`om_platform.leases.LeaseStore`)."""

    def hold(self, name: str, ttl_s: float = ...) -> AbstractAsyncContextManager[Lease | None]: ...


class Publish(Protocol):
    """Publishes an event keyed by supplier and returns once the broker confirmed it."""

    async def publish(self, event: BaseModel, *, key: str) -> None: ...


class Cursors(Protocol):
    async def get(self, supplier_id: str, feature: str) -> Cursor | None: ...
    async def save(self, supplier_id: str, feature: str, position: Position, *, resume: bool) -> None: ...
    async def complete_slot(self, supplier_id: str, feature: str, slot: datetime) -> None: ...


class Published(Protocol):
    async def already(self, supplier_id: str, feature: str, keys: Iterable[str]) -> set[str]: ...
    async def mark(self, supplier_id: str, feature: str, keys: list[str]) -> None: ...


class InvoiceVersions(Protocol):
    """What was last published about each finalised invoice (see domain.documents)."""

    async def many(self, supplier_id: str, invoice_ids: Iterable[str]) -> dict[str, InvoiceVersion]: ...
    async def remember(self, supplier_id: str, versions: Sequence[InvoiceVersion]) -> None: ...


class JobRunLog(Protocol):
    async def is_done(self, feature: str, supplier_id: str, slot: datetime) -> bool: ...
    async def mark_done(
        self, feature: str, supplier_id: str, slot: datetime, owner: str, published: int
    ) -> bool: ...


class Mappings(Protocol):
    async def resolve(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, entities: Iterable[MappedEntity]
    ) -> dict[str, str | None]: ...

    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, netsuite_ids: Iterable[str]
    ) -> dict[str, str]: ...


class Integrations(Protocol):
    async def get(self, supplier_id: str) -> IntegrationSettings | None: ...
    def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]: ...


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


class ReconciliationGateway(Protocol):
    async def find_invoices(
        self, external_ids: Sequence[str], numbers: Sequence[str], payment_external_id: str
    ) -> list[dict[str, Any]]: ...
    async def find_orders(
        self, external_ids: Sequence[str], payment_external_id: str
    ) -> list[dict[str, Any]]: ...
    async def customer_payment(self, internal_id: str) -> dict[str, Any]: ...
    async def upsert_customer_payment(self, external_id: str, body: dict[str, Any]) -> str: ...
    async def upsert_deposit(self, external_id: str, body: dict[str, Any]) -> str: ...
