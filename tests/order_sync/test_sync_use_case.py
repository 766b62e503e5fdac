"""The sync use case with in-memory fakes of its ports: outcomes, ledger rules, failures."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from test_mapping import order_data

from om_contracts import (
    Customer,
    ErrorCode,
    IntegrationSettings,
    KeyRing,
    NetSuiteRecordRef,
    OrderCancelled,
    OrderPlaced,
    Product,
    SyncKind,
)
from om_netsuite import AuthenticationFailed, ErrorDetail, PermanentError, RateLimited
from om_platform.errors import TransientFailure
from order_sync.domain.mapping import TransactionBody
from order_sync.domain.outcomes import Outcome, status_of
from order_sync.service_layer.events import payload_of, source_of
from order_sync.service_layer.ports import LedgerEntry
from order_sync.service_layer.resync import resync
from order_sync.service_layer.sync import Attempt, SyncDeps, sync_event

RING = KeyRing([KeyRing.generate_key()])
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def integration(**overrides: Any) -> IntegrationSettings:
    sealed = RING.seal("x").token
    return IntegrationSettings.model_validate(
        {
            "account_id": "123_SB1",
            "credentials": {
                "client_id": sealed,
                "client_secret": sealed,
                "token_id": sealed,
                "token_secret": sealed,
            },
            "sync_type": "orders",
            "surcharge_item_id": "900",
            "product_mappings": {"prd_a": "1", "prd_b": "2", "prd_c": "3"},
            "customer_mappings": {"cus_1": "812"},
            **overrides,
        }
    )


@dataclass
class FakeLedger:
    entries: dict[tuple[str, str, str], LedgerEntry] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    fail_mark_published: bool = False

    async def get(self, supplier_id: str, kind: SyncKind, ordermentum_id: str) -> LedgerEntry | None:
        return self.entries.get((supplier_id, kind, ordermentum_id))

    async def record(self, entry: LedgerEntry, outcome: Outcome, **kw: Any) -> None:
        data = outcome.data
        entry.status = status_of(outcome)
        entry.netsuite = data.netsuite or entry.netsuite
        entry.last_event_id = data.source_event_id
        entry.last_occurred_at = kw["occurred_at"]
        entry.last_event_payload = kw["event_payload"]
        entry.applied_event_ids.append(data.source_event_id)
        entry.outcome = outcome.model_dump_json()
        entry.outcome_event_id = outcome.event_id
        entry.outcome_published = False
        entry.last_error = getattr(data, "error", None) and data.error.model_dump(mode="json")  # type: ignore[union-attr]
        self.entries[(entry.supplier_id, entry.kind, entry.ordermentum_id)] = entry

    async def mark_published(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, event_id: str
    ) -> None:
        if self.fail_mark_published:
            raise ConnectionError("mongo went away")
        self.entries[(supplier_id, kind, ordermentum_id)].outcome_published = True

    async def note_attempt(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, error: dict[str, Any]
    ) -> None:
        self.notes.append(error)

    async def failed(
        self, supplier_id: str, *, ordermentum_id: str | None = None, code: ErrorCode | None = None
    ) -> AsyncIterator[LedgerEntry]:
        for entry in list(self.entries.values()):
            if ordermentum_id is not None and entry.ordermentum_id != ordermentum_id:
                continue
            if ordermentum_id is None and entry.status != "failed":
                continue
            yield entry


@dataclass
class FakeIntegrations:
    settings: dict[str, IntegrationSettings] = field(default_factory=dict)

    async def get(self, supplier_id: str) -> IntegrationSettings | None:
        return self.settings.get(supplier_id)


@dataclass
class FakeMappings:
    async def resolve_customer(
        self, supplier_id: str, integration: IntegrationSettings, customer: Customer
    ) -> str | None:
        return integration.customer_mappings.get(customer.id) or customer.property("netsuite_id")

    async def resolve_products(
        self, supplier_id: str, integration: IntegrationSettings, products: list[Product]
    ) -> Mapping[str, str | None]:
        return {p.id: integration.product_mappings.get(p.id) for p in products}


@dataclass
class FakeGateway:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: list[TransactionBody] = field(default_factory=list)
    fail_with: Exception | None = None
    closed: list[list[dict[str, Any]]] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> FakeGateway:
        return self

    async def currency_id(self, iso_code: str) -> str | None:
        return {"AUD": "1"}.get(iso_code)

    async def upsert(self, transaction: TransactionBody, *, known_tran_id: str | None) -> NetSuiteRecordRef:
        if self.fail_with is not None:
            raise self.fail_with
        self.writes.append(transaction)
        record = self.records.setdefault(
            transaction.external_id,
            {"id": str(len(self.records) + 10), "tranId": f"SO{len(self.records) + 1}"},
        )
        record.update(transaction.body, status={"id": "B"})
        return NetSuiteRecordRef(
            record_type=transaction.record_type,
            internal_id=record["id"],
            external_id=transaction.external_id,
            tran_id=record["tranId"],
        )

    async def find(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        return self.records.get(external_id)

    async def close_lines(self, record_type: str, internal_id: str, lines: list[dict[str, Any]]) -> None:
        self.closed.append(lines)

    async def credit_invoice(self, invoice_id: str, credit_external_id: str, memo: str) -> str:
        self.credits.append(credit_external_id)
        self.records[credit_external_id] = {"id": "99"}
        return "99"


@dataclass
class Published:
    events: list[Outcome] = field(default_factory=list)

    async def __call__(self, outcome: Outcome) -> None:
        self.events.append(outcome)


@dataclass
class FakeCounters:
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def failure(self, code: str) -> None:
        self.counts[f"failure:{code}"] = self.counts.get(f"failure:{code}", 0) + 1


@dataclass
class World:
    ledger: FakeLedger = field(default_factory=FakeLedger)
    integrations: FakeIntegrations = field(default_factory=FakeIntegrations)
    gateway: FakeGateway = field(default_factory=FakeGateway)
    published: Published = field(default_factory=Published)
    counters: FakeCounters = field(default_factory=FakeCounters)

    def __post_init__(self) -> None:
        ids = itertools.count(1)
        self.deps = SyncDeps(
            ledger=self.ledger,
            integrations=self.integrations,
            mappings=FakeMappings(),
            netsuite=self.gateway,
            publish=self.published,
            counters=self.counters,
            new_event_id=lambda: f"evt_out_{next(ids)}",
            clock=lambda: NOW,
        )

    async def send(self, event: Any, attempt: Attempt | None = None) -> Outcome | None:
        return await sync_event(self.deps, source_of(event), payload_of(event), attempt or Attempt())


def placed(event_id: str = "e1", occurred_at: str = "2026-11-24T09:15:00+11:00", **data: Any) -> OrderPlaced:
    return OrderPlaced.model_validate(
        {"event_id": event_id, "occurred_at": occurred_at, "supplier_id": "sup_1", "data": order_data(**data)}
    )


@pytest.fixture
def world() -> World:
    w = World()
    w.integrations.settings["sup_1"] = integration()
    return w


async def test_a_mapped_order_is_upserted_and_reported_synced(world: World) -> None:
    outcome = await world.send(placed())
    assert outcome is not None
    assert outcome.event_type == "netsuite.order.synced"
    assert world.published.events == [outcome]
    assert world.gateway.writes[0].external_id == "OM-ORDER-ord_1"
    assert world.ledger.entries["sup_1", "order", "ord_1"].outcome_published


async def test_an_order_for_an_invoice_sync_supplier_is_counted_not_failed(world: World) -> None:
    world.integrations.settings["sup_1"] = integration(sync_type="invoices")
    assert await world.send(placed()) is None
    assert world.published.events == []
    assert world.counters.counts == {"sync_type_mismatch": 1}
    assert world.ledger.entries == {}


async def test_an_unknown_supplier_fails_as_not_configured_and_is_kept_for_resync(world: World) -> None:
    del world.integrations.settings["sup_1"]
    outcome = await world.send(placed())
    assert outcome is not None
    assert outcome.event_type == "netsuite.order.failed"
    assert outcome.data.error.code is ErrorCode.INTEGRATION_NOT_CONFIGURED  # type: ignore[union-attr]
    assert outcome.data.error.retryable is False  # type: ignore[union-attr]
    world.integrations.settings["sup_1"] = integration()
    [again] = await resync(world.deps, "sup_1")
    assert again.event_type == "netsuite.order.synced"
    assert again.data.source_event_id == "e1"


async def test_a_redelivered_event_whose_outcome_was_published_does_nothing(world: World) -> None:
    await world.send(placed())
    assert await world.send(placed()) is None
    assert len(world.published.events) == 1
    assert len(world.gateway.writes) == 1


async def test_a_redelivered_event_whose_outcome_was_not_confirmed_republishes_the_same_outcome(
    world: World,
) -> None:
    world.ledger.fail_mark_published = True
    with pytest.raises(ConnectionError):
        await world.send(placed())
    world.ledger.fail_mark_published = False
    await world.send(placed())
    first, second = world.published.events
    assert first.event_id == second.event_id
    assert len(world.gateway.writes) == 1


async def test_an_event_older_than_the_applied_one_is_ignored(world: World) -> None:
    await world.send(placed("e2", "2026-11-24T10:00:00+11:00"))
    assert await world.send(placed("e1", "2026-11-24T09:00:00+11:00")) is None
    assert world.counters.counts == {"stale": 1}
    assert len(world.gateway.writes) == 1


async def test_a_rate_limited_write_is_retried_through_the_edge_until_the_last_attempt(world: World) -> None:
    world.gateway.fail_with = RateLimited("429", status=429)
    with pytest.raises(TransientFailure):
        await world.send(placed(), Attempt(1))
    assert world.published.events == []
    assert world.ledger.notes[0]["code"] == "NETSUITE_UNAVAILABLE"
    outcome = await world.send(placed(), Attempt(8, is_last=True))
    assert outcome is not None
    error = outcome.data.error  # type: ignore[union-attr]
    assert (error.code, error.retryable, outcome.data.attempts) == (ErrorCode.NETSUITE_UNAVAILABLE, True, 8)


async def test_a_netsuite_rejection_carries_netsuites_code_detail_and_path(world: World) -> None:
    world.gateway.fail_with = PermanentError(
        "400",
        status=400,
        details=(
            ErrorDetail(
                "INVALID_CONTENT", "Invalid Field Value 1 for the following field: item", "item.items[0].item"
            ),
        ),
    )
    outcome = await world.send(placed())
    assert outcome is not None
    error = outcome.data.error  # type: ignore[union-attr]
    assert error.code is ErrorCode.NETSUITE_REJECTED
    assert error.retryable is False
    assert (error.details[0].netsuite_code, error.details[0].path) == (
        "INVALID_CONTENT",
        "item.items[0].item",
    )


async def test_refused_credentials_fail_with_netsuite_auth_failed(world: World) -> None:
    world.gateway.fail_with = AuthenticationFailed(
        "401", status=401, details=(ErrorDetail("INVALID_LOGIN", "no"),)
    )
    outcome = await world.send(placed())
    assert outcome is not None
    assert outcome.data.error.code is ErrorCode.NETSUITE_AUTH_FAILED  # type: ignore[union-attr]


def cancelled(event_id: str = "e9") -> OrderCancelled:
    return OrderCancelled.model_validate(
        {
            "event_id": event_id,
            "occurred_at": "2026-11-24T11:00:00+11:00",
            "supplier_id": "sup_1",
            "data": order_data(),
        }
    )


async def test_cancelling_closes_every_line_of_the_sales_order(world: World) -> None:
    await world.send(placed())
    world.gateway.records["OM-ORDER-ord_1"]["item"] = {"items": [{"item": {"id": "1"}, "quantity": "3"}]}
    outcome = await world.send(cancelled())
    assert outcome is not None
    assert outcome.event_type == "netsuite.order.cancelled"
    assert world.gateway.closed == [[{"isClosed": True, "item": {"id": "1"}, "quantity": "3"}]]


async def test_cancelling_a_billed_sales_order_fails_as_not_cancellable(world: World) -> None:
    await world.send(placed())
    world.gateway.records["OM-ORDER-ord_1"]["status"] = {"id": "G"}
    outcome = await world.send(cancelled())
    assert outcome is not None
    assert outcome.event_type == "netsuite.order.failed"
    assert outcome.data.error.code is ErrorCode.NOT_CANCELLABLE  # type: ignore[union-attr]
    assert world.gateway.closed == []
