"""The sync use case with in-memory fakes of its ports: outcomes, ledger rules, failures."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from test_mapping import order_data

import fakes
from fakes import FakeOrderCounters, FakeOrderLedger, FakeOrderMappings, FakeOrderNetSuite
from om_contracts import (
    ErrorCode,
    IntegrationSettings,
    KeyRing,
    OrderCancelled,
    OrderPlaced,
    TransactionTotals,
    WarningCode,
)
from om_netsuite import AuthenticationFailed, ErrorDetail, PermanentError, RateLimited
from om_platform.core.failures import TransientFailure
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer.events import payload_of, source_of
from order_sync.service_layer.resync import Resync
from order_sync.service_layer.sync import TransactionSync

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
class World:
    ledger: FakeOrderLedger = field(default_factory=FakeOrderLedger)
    integrations: fakes.FakeIntegrations = field(default_factory=fakes.FakeIntegrations)
    gateway: FakeOrderNetSuite = field(default_factory=FakeOrderNetSuite)
    published: fakes.RecordingPublisher = field(default_factory=fakes.RecordingPublisher)
    counters: FakeOrderCounters = field(default_factory=FakeOrderCounters)

    def __post_init__(self) -> None:
        ids = itertools.count(1)
        self.deps = TransactionSync(
            ledger=self.ledger,
            integrations=self.integrations,
            mappings=FakeOrderMappings(),
            netsuite=self.gateway,
            publish=self.published,
            counters=self.counters,
            new_event_id=lambda: f"evt_out_{next(ids)}",
            clock=lambda: NOW,
        )

    async def send(self, event: Any, *, attempt: int = 1, is_last_attempt: bool = False) -> Outcome | None:
        """The event as the edge hands it over on that attempt (`RecordContext`)."""
        return await self.deps.sync_event(
            source_of(event), payload_of(event), attempt=attempt, is_last_attempt=is_last_attempt
        )

    def use_gateway(self, gateway: Any) -> None:
        """Send through `gateway` from now on (a wrapper of `self.gateway`)."""
        self.deps = dataclasses.replace(self.deps, netsuite=gateway)


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
    assert world.published.sent == [outcome]
    assert world.gateway.writes[0].external_id == "OM-ORDER-ord_1"
    assert world.ledger.entries["sup_1", "order", "ord_1"].outcome_published


async def test_an_order_for_an_invoice_sync_supplier_is_counted_not_failed(world: World) -> None:
    world.integrations.settings["sup_1"] = integration(sync_type="invoices")
    assert await world.send(placed()) is None
    assert world.published.sent == []
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
    [again] = (await Resync(world.deps).records("sup_1")).outcomes
    assert again.event_type == "netsuite.order.synced"
    assert again.data.source_event_id == "e1"


async def test_a_redelivered_event_whose_outcome_was_published_does_nothing(world: World) -> None:
    await world.send(placed())
    assert await world.send(placed()) is None
    assert len(world.published.sent) == 1
    assert len(world.gateway.writes) == 1


async def test_a_redelivered_event_whose_outcome_was_not_confirmed_republishes_the_same_outcome(
    world: World,
) -> None:
    world.ledger.fail_mark_published = True
    with pytest.raises(ConnectionError):
        await world.send(placed())
    world.ledger.fail_mark_published = False
    await world.send(placed())
    first, second = world.published.sent
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
        await world.send(placed(), attempt=1)
    assert world.published.sent == []
    assert world.ledger.notes[0]["code"] == "NETSUITE_UNAVAILABLE"
    outcome = await world.send(placed(), attempt=8, is_last_attempt=True)
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


def totals(total: str, tax: str, lines: int = 5) -> TransactionTotals:
    return TransactionTotals(
        subtotal=Decimal(total) - Decimal(tax), tax=Decimal(tax), total=Decimal(total), lines=lines
    )


TOTALS = {"subtotal": "145.75", "freight": "15.00", "surcharge": "2.35", "tax": "16.08", "total": "179.18"}


async def test_totals_netsuite_agrees_with_are_reported_without_a_warning(world: World) -> None:
    world.gateway.booked = totals("179.18", "16.08")

    outcome = await world.send(placed(totals=TOTALS))

    assert outcome is not None
    data = outcome.data
    assert data.totals is not None  # type: ignore[union-attr]
    assert data.totals.ordermentum == totals("179.18", "16.08")  # type: ignore[union-attr]
    assert data.warnings == ()  # type: ignore[union-attr]
    assert world.counters.counts == {}


async def test_other_netsuite_totals_leave_the_order_synced_with_both_totals_and_a_warning(
    world: World,
) -> None:
    world.gateway.booked = totals("180.79", "17.69")

    outcome = await world.send(placed(totals=TOTALS))

    assert outcome is not None
    assert outcome.event_type == "netsuite.order.synced"
    data = outcome.data
    assert data.totals.netsuite.total == Decimal("180.79")  # type: ignore[union-attr]
    [warning] = data.warnings  # type: ignore[union-attr]
    assert warning.code is WarningCode.TOTALS_MISMATCH
    assert "total 179.18 in Ordermentum, 180.79 in NetSuite" in warning.message
    assert "tax 16.08 in Ordermentum, 17.69 in NetSuite" in warning.message
    assert world.counters.counts == {"warning:TOTALS_MISMATCH": 1}


async def test_a_different_line_count_is_a_mismatch_too(world: World) -> None:
    world.gateway.booked = totals("179.18", "16.08", lines=4)

    outcome = await world.send(placed(totals=TOTALS))

    assert outcome is not None
    [warning] = outcome.data.warnings  # type: ignore[union-attr]
    assert "5 lines in Ordermentum, 4 in NetSuite" in warning.message


async def test_with_tax_codes_every_line_names_its_code_and_an_unmapped_rate_fails_naming_it(
    world: World,
) -> None:
    world.integrations.settings["sup_1"] = integration(tax_codes={"0.10": "7", "0": "8"})
    lines = order_data()["lines"]
    lines[0]["tax_rate"] = "0.10"
    lines[1]["tax_rate"] = "0.15"
    lines[2]["tax_rate"] = "0.15"

    outcome = await world.send(placed(lines=lines, freight={"amount": "15.00", "tax_rate": "0.125"}))

    assert outcome is not None
    error = outcome.data.error  # type: ignore[union-attr]
    assert error.code is ErrorCode.UNMAPPED_TAX_RATE
    assert [(d.path, d.reason) for d in error.details] == [
        ("lines[1].tax_rate", "tax rate 0.15 has no NetSuite tax code in the integration's tax_codes"),
        ("freight.tax_rate", "tax rate 0.125 has no NetSuite tax code in the integration's tax_codes"),
    ]
    assert world.gateway.writes == []
