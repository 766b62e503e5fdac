"""Supplier sync health against the embedded broker, Mongo-protocol server and the NetSuite simulator:
a refused login parks a supplier's orders with one status event and a handful of requests while
another supplier on the same partition syncs; new credentials bring it back and every parked order
syncs once, with no operator command; a cold start handles no order before its settings."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from aiokafka.partitioner import murmur2
from order_sync_harness import OutcomeReader, Stack, Supplier, seed_supplier

from om_contracts import INTEGRATION_STATUS_TOPIC, INTEGRATIONS_TOPIC, SYNC_RESULTS_TOPIC
from order_sync.app import wire

pytestmark = pytest.mark.integration

PARTITIONS = 3  # the order topics of these tests (conftest)


def _partition(supplier_id: str) -> int:
    return (murmur2(supplier_id.encode()) & 0x7FFFFFFF) % PARTITIONS


def _neighbour(stack: Stack, of: Supplier) -> Supplier:
    """Another supplier whose events share `of`'s partition (Kafka's default partitioner)."""
    while True:
        name = uuid.uuid4().hex[:10]
        if _partition(f"sup_{name}") == _partition(of.supplier_id):
            supplier = seed_supplier(stack.simulator, name)
            stack.suppliers.append(supplier)
            return supplier


def _requests_seen(supplier: Supplier) -> int:
    """Every request that reached the supplier's simulated account, refused logins included."""
    return len(supplier.account.request_log) + len(supplier.account.auth_failures)


def _of(events: list[dict[str, Any]], supplier: Supplier, event_type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["supplier_id"] == supplier.supplier_id and e["event_type"] == event_type]


@pytest.mark.timeout(300)
async def test_a_refused_login_parks_orders_with_one_status_then_new_credentials_sync_each_once(
    stack: Stack,
) -> None:
    service = await stack.start(netsuite_status_poll_s=0.2, netsuite_probe_interval_s=600)
    broken = stack.supplier()
    healthy = _neighbour(stack, broken)
    suppliers = {broken.supplier_id, healthy.supplier_id}
    results = OutcomeReader(stack.kafka_bootstrap, SYNC_RESULTS_TOPIC, suppliers)
    statuses = OutcomeReader(stack.kafka_bootstrap, INTEGRATION_STATUS_TOPIC, suppliers)
    await results.start()
    await statuses.start()
    try:
        await stack.configure(service, broken)
        await stack.configure(service, healthy)
        broken.account.rotate_token()  # the token the integration holds is revoked in NetSuite
        before = _requests_seen(broken)
        for n in range(200):
            await stack.order(broken, "order.placed", broken.order(f"ord_b{n:04d}"))
            if n % 4 == 0:
                await stack.order(healthy, "order.placed", healthy.order(f"ord_h{n:04d}"))

        def outage_seen(events: list[dict[str, Any]]) -> bool:
            return (
                len(_of(events, broken, "netsuite.order.failed")) >= 200
                and len(_of(events, healthy, "netsuite.order.synced")) >= 50
            )

        await results.wait_for(outage_seen, timeout=120)
        sent_during_outage = _requests_seen(broken) - before
        parked = _of(results.events, broken, "netsuite.order.failed")
        healthy_synced = _of(results.events, healthy, "netsuite.order.synced")
        down = [e for e in statuses.events if e["supplier_id"] == broken.supplier_id]
        await service.runtime.refresh_health_gauges()  # what /metrics shows, no supplier label
        registry = service.runtime.metrics.registry
        gauges = {
            name: registry.get_sample_value(name, labels)
            for name, labels in (
                ("om_records_parked", {"flow": "ledger"}),
                ("om_netsuite_connections", {"state": "auth_failed"}),
                ("om_netsuite_requests_refused_total", {}),
                ("om_oldest_unresolved_failure_age_seconds", {"flow": "ledger"}),
            )
        }

        # The supplier publishes its new token in the integration: no operator command.
        await stack.configure(service, broken)

        def recovered(events: list[dict[str, Any]]) -> bool:
            return len(_of(events, broken, "netsuite.order.synced")) >= 200

        await results.wait_for(recovered, timeout=120)
        await statuses.wait_for(lambda e: any(s["data"]["state"] == "connected" for s in e), timeout=30)
    finally:
        await results.stop()
        await statuses.stop()

    assert [s["data"]["state"] for s in down] == ["auth_failed"]
    assert gauges["om_records_parked"] == 200
    assert gauges["om_netsuite_connections"] == 1
    assert (gauges["om_netsuite_requests_refused_total"] or 0) >= 190
    assert (gauges["om_oldest_unresolved_failure_age_seconds"] or 0) > 0
    assert down[0]["data"]["last_error"]["code"] == "INVALID_LOGIN"
    assert down[0]["data"]["service"] == "order_sync"
    assert sent_during_outage <= 10, f"{sent_during_outage} requests reached NetSuite during the outage"
    assert {e["data"]["error"]["code"] for e in parked} == {"NETSUITE_AUTH_FAILED"}
    assert {e["data"]["error"]["retryable"] for e in parked} == {True}
    assert len(healthy_synced) == 50  # completed while the other supplier was down
    assert not _of(results.events, healthy, "netsuite.order.failed")

    states = [s["data"]["state"] for s in statuses.events if s["supplier_id"] == broken.supplier_id]
    assert states == ["auth_failed", "connected"]
    synced = Counter(
        e["data"]["ordermentum_id"] for e in _of(results.events, broken, "netsuite.order.synced")
    )
    assert len(synced) == 200
    assert set(synced.values()) == {1}
    external_ids = Counter(r.get("externalId") for r in broken.account.records("salesOrder"))
    assert len(external_ids) == 200
    assert set(external_ids.values()) == {1}


@pytest.mark.timeout(240)
async def test_a_cold_start_handles_no_order_before_the_integrations_are_projected(stack: Stack) -> None:
    supplier = stack.supplier()
    await stack.produce(
        INTEGRATIONS_TOPIC,
        supplier,
        "integration.netsuite.configured",
        supplier.integration(),
        occurred_at="2026-11-24T09:00:00+11:00",
    )
    for n in range(100):
        await stack.order(supplier, "order.placed", supplier.order(f"ord_c{n:04d}"))
    results = OutcomeReader(stack.kafka_bootstrap, SYNC_RESULTS_TOPIC, {supplier.supplier_id})
    await results.start()
    # A new database and new consumer groups: a cold start (a generous bound: a loaded machine).
    service = wire(stack.settings(integrations_catch_up_s=150))
    store = service.integrations
    project = store.apply

    async def slowly(supplier_id: str, record: Any, ctx: Any) -> None:
        # Projecting this supplier's settings takes a while (a long compacted topic ahead of it,
        # a busy database): without the gate the orders overtake them (measured: 100 of 100).
        if supplier_id == supplier.supplier_id:
            await asyncio.sleep(3.0)
        await project(supplier_id, record, ctx)

    store.apply = slowly  # type: ignore[method-assign]
    app = service.runtime.app()
    await app.start()
    stack.apps.append(app)
    try:
        await results.wait_for(lambda e: len(e) >= 100, timeout=180)
    finally:
        await results.stop()

    codes = Counter(e["data"].get("error", {}).get("code") for e in results.events)
    assert codes == {None: 100}, codes
    assert service.runtime.integrations_ready.is_set()
    assert len(supplier.account.records("salesOrder")) == 100
