"""The platform's one mechanism for work waiting on a supplier's NetSuite connection
(`om_platform.core.waiting`), and each service's waiting work behind it. Pure: fakes only."""

from __future__ import annotations

from dataclasses import dataclass, field

from fakes import (
    FakeConnections,
    FakeHealRequests,
    FakeIntegrations,
    FakeLeases,
    FakeOrderCounters,
    FakeOrderLedger,
    FakeOrderMappings,
    FakeOrderNetSuite,
    RecordingPublisher,
)
from om_contracts import ErrorCode
from om_platform.core.waiting import ResumeWhenConnected
from order_sync.service_layer.heal import ConnectionHeals, Healing
from order_sync.service_layer.ports import LedgerEntry
from order_sync.service_layer.resync import Resync
from order_sync.service_layer.sync import TransactionSync


@dataclass
class Work:
    waiting: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)

    async def waiting_suppliers(self) -> list[str]:
        return self.waiting

    async def resume(self, supplier_id: str) -> None:
        self.resumed.append(supplier_id)


async def test_at_start_up_the_suppliers_whose_breaker_is_closed_are_resumed_once_each() -> None:
    work = Work(waiting=["sup_b", "sup_a", "sup_down", "sup_a"])
    resumer = ResumeWhenConnected(FakeConnections(down={"sup_down"}), work)
    assert await resumer.catch_up() == ["sup_a", "sup_b"]
    assert work.resumed == ["sup_a", "sup_b"]  # the open one waits for its recovery


async def test_a_recovery_resumes_that_supplier() -> None:
    work = Work()
    await ResumeWhenConnected(FakeConnections(), work).on_recovered("sup_1")
    assert work.resumed == ["sup_1"]


def healing(ledger: FakeOrderLedger, connections: FakeConnections) -> Healing:
    sync = TransactionSync(
        ledger=ledger,
        integrations=FakeIntegrations(),
        mappings=FakeOrderMappings(),
        netsuite=FakeOrderNetSuite(),
        publish=RecordingPublisher(),
        counters=FakeOrderCounters(),
        new_event_id=lambda: "evt",
        clock=lambda: NotImplemented,
    )
    return Healing(Resync(sync), FakeHealRequests(), FakeLeases(), connections)


def failed(supplier_id: str, code: ErrorCode) -> LedgerEntry:
    return LedgerEntry(
        supplier_id, "order", f"ord_{supplier_id}", status="failed", last_error={"code": code.value}
    )


async def test_order_sync_waits_with_records_a_connection_heals_and_resumes_with_a_heal_request() -> None:
    ledger = FakeOrderLedger()
    for entry in (
        failed("sup_up", ErrorCode.NETSUITE_UNAVAILABLE),
        failed("sup_down", ErrorCode.NETSUITE_AUTH_FAILED),
        failed("sup_mapping", ErrorCode.UNMAPPED_PRODUCT),
    ):
        ledger.entries[entry.supplier_id, entry.kind, entry.ordermentum_id] = entry
    heal = healing(ledger, FakeConnections(down={"sup_down"}))
    assert sorted(await ConnectionHeals(heal).waiting_suppliers()) == ["sup_down", "sup_up"]
    await heal.catch_up()
    assert await heal.requests.suppliers() == ["sup_up"]  # sup_down heals at its recovery
    await heal.when_connected.on_recovered("sup_down")
    assert await heal.requests.suppliers() == ["sup_down", "sup_up"]
