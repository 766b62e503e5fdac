"""stock_sync end to end: embedded broker and Mongo-protocol server, NetSuite simulator over HTTP.

These are the "How we will know" checks of issue 5: full first run for both fields, exactly the
changed items next, nothing when nothing changed, unmapped items counted and picked up once
mapped, one replica per supplier, and 429s/timeouts mid-scan without partial or duplicate changes.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from om_netsuite import RequestRetryPolicy
from om_platform.adapters.mongo.commands import CommandQueue

from .conftest import Harness, quantities

pytestmark = pytest.mark.integration


def tab(items: list[str]) -> dict[str, str]:
    return {f"prd_{item}": item for item in items}


def metric(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float:
    value = registry.get_sample_value(name, labels or {})
    return value or 0.0


async def test_first_run_publishes_every_item_for_both_fields_then_only_changes_then_nothing(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(50)
    on_hand_supplier = f"{supplier}_oh"
    service = await harness.start()
    await harness.configure(
        supplier, {**harness.integration(field="available"), "product_mappings": tab(items)}
    )
    await harness.configure(
        on_hand_supplier, {**harness.integration(field="on_hand"), "product_mappings": tab(items)}
    )
    events = await harness.events(supplier, on_hand_supplier)
    locations = harness.locations[::-1]  # configured order: the last warehouse is the default

    report = await service.on_demand.run_now(supplier)
    other = await service.on_demand.run_now(on_hand_supplier)
    assert report is not None
    assert report.outcome == "succeeded"
    assert other is not None
    assert other.outcome == "succeeded"
    first = await events.until_end()
    available = [e for e in first if e["supplier_id"] == supplier]
    on_hand = [e for e in first if e["supplier_id"] == on_hand_supplier]
    assert len(available) == 50
    assert len(on_hand) == 50
    for event in available + on_hand:
        n = items.index(event["data"]["netsuite_item_id"])
        minus = 1 if event["data"]["field"] == "available" else 0
        expected = {loc: Decimal(10 * n + harness.locations.index(loc) - minus) for loc in locations}
        expected = {loc: max(q, Decimal(0)) for loc, q in expected.items()}
        assert quantities(event) == expected
        assert [loc["location_id"] for loc in event["data"]["locations"]] == locations
        assert event["data"]["default_location_id"] == locations[0]
        assert Decimal(event["data"]["quantity"]) == expected[locations[0]]
        assert event["data"]["product_id"] == f"prd_{event['data']['netsuite_item_id']}"
    assert {e["data"]["field"] for e in on_hand} == {"on_hand"}

    changed = random.Random(5).sample(items, 4)
    for item in changed:
        harness.account.set_stock(item, harness.locations[1], on_hand=500, available=400)
    await service.on_demand.run_now(supplier)
    second = await events.until_end()
    assert sorted(e["data"]["netsuite_item_id"] for e in second) == sorted(changed)
    assert all(quantities(e)[harness.locations[1]] == Decimal(400) for e in second)

    report = await service.on_demand.run_now(supplier)
    assert await events.until_end() == []
    assert report is not None
    assert report.counts.published == 0
    assert report.counts.unchanged == 50
    status = await harness.run_document(supplier)
    assert status["outcome"] == "succeeded"
    assert status["counts"]["unchanged"] == 50
    assert status["last_success_at"] is not None
    assert status["next_run_at"] > status["finished_at"]


@pytest.mark.parametrize("m2m", [False, True], ids=["tba", "oauth2_m2m"])
async def test_items_without_a_stock_record_at_a_location_are_published_as_zero(
    harness: Harness, supplier: str, m2m: bool
) -> None:
    bare = harness.account.add_item("SKU-NO-STOCK")
    partial = harness.account.add_item("SKU-ONE-LOCATION")
    harness.account.set_stock(partial, harness.locations[0], on_hand=7, available=6)
    service = await harness.start()
    settings = {**harness.integration(m2m=m2m), "product_mappings": tab([bare, partial])}
    await harness.configure(supplier, settings)
    events = await harness.events(supplier)
    await service.on_demand.run_now(supplier)
    by_item = {e["data"]["netsuite_item_id"]: e for e in await events.until_end()}
    assert set(quantities(by_item[bare]).values()) == {Decimal(0)}
    assert (harness.account.counters["oauth2 token"] > 0) == m2m  # the kind of credentials was used
    assert quantities(by_item[partial]) == {
        harness.locations[0]: Decimal(6),
        harness.locations[1]: Decimal(0),
        harness.locations[2]: Decimal(0),
    }


async def test_unmapped_items_are_counted_not_published_and_a_newly_mapped_item_follows_next_run(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(20)
    by_tab, by_event, unmapped = items[:15], items[15:18], items[18:]
    service = await harness.start()
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(by_tab)})
    for item in by_event:
        await harness.product(supplier, f"prd_ev_{item}", item)
    events = await harness.events(supplier)

    report = await service.on_demand.run_now(supplier)
    published = {e["data"]["netsuite_item_id"]: e["data"]["product_id"] for e in await events.until_end()}
    assert set(published) == set(by_tab + by_event)
    assert all(published[item] == f"prd_ev_{item}" for item in by_event)
    assert report is not None
    assert report.counts.unmapped == 2
    status = await harness.run_document(supplier)
    assert status["counts"]["unmapped"] == 2
    assert sorted(status["counts"]["unmapped_sample"]) == sorted(unmapped)
    registry = service.runtime.metrics.registry
    assert metric(registry, "om_stock_unmapped_items_total") == 2

    await harness.product(supplier, "prd_late", unmapped[0])
    report = await service.on_demand.run_now(supplier)
    late = await events.until_end()
    assert [(e["data"]["netsuite_item_id"], e["data"]["product_id"]) for e in late] == [
        (unmapped[0], "prd_late")
    ]
    assert report is not None
    assert report.counts.unmapped == 1


async def test_changing_the_location_list_or_field_publishes_the_new_view_once(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(10)
    service = await harness.start()
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    events = await harness.events(supplier)
    await service.on_demand.run_now(supplier)
    assert len(await events.until_end()) == 10

    two = harness.locations[:2]
    await harness.configure(
        supplier, {**harness.integration(location_ids=",".join(two)), "product_mappings": tab(items)}
    )
    await asyncio.sleep(0)  # the store's cache is dropped by the consumer that applied the event
    await service.on_demand.run_now(supplier)
    new_view = await events.until_end()
    assert len(new_view) == 10
    assert all([loc["location_id"] for loc in e["data"]["locations"]] == two for e in new_view)
    await service.on_demand.run_now(supplier)
    assert await events.until_end() == []

    await harness.configure(
        supplier,
        {**harness.integration(location_ids=",".join(two), field="on_hand"), "product_mappings": tab(items)},
    )
    await service.on_demand.run_now(supplier)
    assert {e["data"]["field"] for e in await events.until_end()} == {"on_hand"}


async def test_bad_configuration_fails_that_supplier_with_a_reason_and_others_still_run(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(5)
    broken = f"{supplier}_bad"
    events = await harness.events(supplier, broken)
    service = await harness.start(stock_tick_s=0.1)  # the scheduler loop runs both on its own
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    await harness.configure(
        broken,
        {
            **harness.integration(location_ids=f"{harness.locations[0]},999999"),
            "product_mappings": tab(items),
        },
    )
    await harness._stored("stock_runs", {"_id": supplier, "outcome": "succeeded"})
    await harness._stored("stock_runs", {"_id": broken, "outcome": "failed"})
    status = await harness.run_document(broken)
    assert status["reason"].startswith("UNKNOWN_LOCATION")
    assert "999999" in status["reason"]
    assert status["next_run_at"] > status["finished_at"]
    published = await events.until_end()
    assert {e["supplier_id"] for e in published} == {supplier}
    registry = service.runtime.metrics.registry
    assert metric(registry, "om_stock_run_failures_total", {"code": "UNKNOWN_LOCATION"}) >= 1
    ok, problems = service.runtime.liveness()
    assert ok, problems


async def test_disconnecting_an_integration_stops_its_runs(harness: Harness, supplier: str) -> None:
    items = harness.add_items(3)
    service = await harness.start()
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    assert await service.on_demand.run_now(supplier) is not None
    await harness.disconnect(supplier)
    await asyncio.sleep(0)
    await service.on_demand.request_run(supplier)
    # other tests' suppliers may be due
    assert supplier not in {job.supplier_id for job in await service.jobs.tick()}
    assert await service.on_demand.run_now(supplier) is None


async def test_the_scheduler_runs_due_suppliers_by_itself_and_honours_the_trigger_after_a_restart(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(5)
    events = await harness.events(supplier)
    first = await harness.start(stock_tick_s=0.1)
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    await harness._stored("stock_runs", {"_id": supplier, "outcome": "succeeded"})
    assert len(await events.until_end()) == 5
    app, _ = harness.replicas.pop()
    await harness.stop(app)
    assert first.runs.owner

    # A new consumer group: on the embedded broker, a member rejoining the group its predecessor
    # just left can wait out a long rebalance; the schedule under test lives in MongoDB anyway.
    second = await harness.start(stock_tick_s=0.1, kafka_consumer_group=f"stock-{harness.unique}-restarted")
    status = await harness.run_document(supplier)
    # Not due (its next slot is minutes away), so the restarted replica leaves it alone ...
    assert await second.jobs.tick() == []
    harness.account.set_stock(items[0], harness.locations[0], on_hand=1, available=1)
    # ... until someone asks for a run (the CLI's trigger), which any replica honours.
    await second.on_demand.request_run(supplier)
    await harness._stored("stock_runs", {"_id": supplier, "finished_at": {"$gt": status["finished_at"]}})
    again = await events.until_end()
    assert [e["data"]["netsuite_item_id"] for e in again] == [items[0]]


async def test_two_replicas_never_run_one_supplier_at_once_nor_publish_twice(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(50)
    harness.account.faults.latency = 0.02  # long enough for the runs to overlap if they could
    one = await harness.start(stock_page_size=10, stock_max_stripes=2)
    two = await harness.start(stock_page_size=10, stock_max_stripes=2)
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    events = await harness.events(supplier)

    reports = await asyncio.gather(one.on_demand.run_now(supplier), two.on_demand.run_now(supplier))
    assert sum(report is not None for report in reports) == 1
    published = await events.until_end()
    assert Counter(e["data"]["netsuite_item_id"] for e in published) == Counter(items)

    # Both loops see the trigger; exactly one runs it, the other finds the lease or the schedule taken.
    for item in items[:3]:
        harness.account.set_stock(item, harness.locations[2], on_hand=0, available=0)
    before = await harness.run_document(supplier)
    await one.on_demand.request_run(supplier)
    started = await asyncio.gather(one.jobs.tick(), two.jobs.tick())
    await asyncio.gather(one.jobs.wait_idle(), two.jobs.wait_idle())
    assert sum(len(s) for s in started) >= 1
    after = await harness.run_document(supplier)
    assert after["finished_at"] > before["finished_at"]
    again = await events.until_end()
    assert sorted(e["data"]["netsuite_item_id"] for e in again) == sorted(items[:3])
    assert harness.account.peak_in_flight <= 5


async def test_a_stripe_whose_last_row_reached_its_upper_bound_asks_for_no_further_page(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(40)
    service = await harness.start(stock_page_size=10, stock_max_stripes=2)
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    ids = sorted(int(item) for item in items)
    assert ids == list(range(ids[0], ids[0] + 40))  # contiguous: two stripes of exactly two full pages
    harness.account.request_log.clear()
    report = await service.on_demand.run_now(supplier)
    assert report is not None
    assert report.outcome == "succeeded"
    assert report.counts.pages == 4
    suiteql = [entry for entry in harness.account.request_log if "suiteql" in entry[1]]
    assert len(suiteql) == 2 + 4  # locations, id range, then exactly the four pages


async def test_429s_and_timeouts_mid_scan_are_absorbed_without_duplicates(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(50)
    service = await harness.start(stock_page_size=10, stock_max_stripes=1, netsuite_timeout_s=0.5)
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    service.runtime.netsuite.client.retry = RequestRetryPolicy(max_attempts=6, base=0.01, cap=0.05)
    harness.account.faults.add("429", count=3, path_contains="suiteql")
    harness.account.faults.add("timeout", count=2, path_contains="suiteql", delay=5)
    events = await harness.events(supplier)
    report = await service.on_demand.run_now(supplier)
    assert report is not None
    assert report.outcome == "succeeded", report
    assert harness.account.counters["fault_429"] == 3
    assert harness.account.counters["fault_timeout"] == 2
    published = await events.until_end()
    assert Counter(e["data"]["netsuite_item_id"] for e in published) == Counter(items)


async def test_a_run_that_fails_mid_scan_resumes_on_the_next_run_without_partial_or_duplicate_changes(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(50)
    service = await harness.start(stock_page_size=10, stock_max_stripes=1)
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    # Two attempts per request; requests are sequential (one stripe). The fault's dice are scripted:
    # location check, id range, pages 1 and 2 pass; both attempts at page 3 get a 503.
    service.runtime.netsuite.client.retry = RequestRetryPolicy(max_attempts=2, base=0.01, cap=0.02)
    harness.account.faults.rng = Scripted([0.9, 0.9, 0.9, 0.9, 0.0, 0.0])
    harness.account.faults.add("5xx", probability=0.5, path_contains="suiteql", status=503)
    events = await harness.events(supplier)

    failed = await service.on_demand.run_now(supplier)
    assert failed is not None
    assert failed.outcome == "failed"
    assert failed.code == "NETSUITE_UNAVAILABLE"
    first = await events.until_end()
    assert len(first) == 20  # pages 1 and 2, each published and snapshotted whole; nothing of page 3
    status = await harness.run_document(supplier)
    assert status["outcome"] == "failed"
    assert status["reason"].startswith("NETSUITE_UNAVAILABLE")

    resumed = await service.on_demand.run_now(supplier)
    assert resumed is not None
    assert resumed.outcome == "succeeded"
    second = await events.until_end()
    assert len(second) == 30
    assert resumed.counts.unchanged == 20
    assert Counter(e["data"]["netsuite_item_id"] for e in first + second) == Counter(items)
    assert harness.account.counters["fault_5xx"] == 2


class Scripted(random.Random):
    """A random source that answers a fixed script, then 0.9 (no fault) for ever."""

    def __init__(self, values: list[float]) -> None:
        super().__init__(0)
        self._values = list(values)

    def random(self) -> float:
        return self._values.pop(0) if self._values else 0.9


async def test_the_operator_command_runs_a_supplier_now_and_reports_its_counts(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(4)
    service = await harness.start(command_poll_s=0.05)
    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items[:3])})
    events = await harness.events(supplier)
    queue = CommandQueue(service.runtime.db)
    done = await queue.wait(await queue.submit("run_stock", supplier), timeout=20, poll_s=0.05)
    assert done["status"] == "done", done
    assert done["result"]["outcome"] == "succeeded"
    assert done["result"]["published"] == 3
    assert done["result"]["unmapped"] == 1
    assert len(await events.until_end()) == 3
    failed = await queue.wait(await queue.submit("run_stock", f"{supplier}_unknown"), timeout=20, poll_s=0.05)
    assert failed["status"] == "failed"
    assert "not enabled" in failed["error"]


async def test_a_refused_login_holds_the_suppliers_runs_and_new_credentials_run_it_at_once(
    harness: Harness, supplier: str
) -> None:
    items = harness.add_items(5)
    events = await harness.events(supplier)
    revoked = {**harness.integration(), "product_mappings": tab(items)}
    harness.account.rotate_token()  # the token the integration carries is revoked in NetSuite
    await harness.start(
        stock_tick_s=0.1,
        netsuite_auth_failed_after=1,
        netsuite_status_poll_s=0.1,
        netsuite_probe_interval_s=600,  # no probe by the clock: only the new credentials bring it back
    )
    await harness.configure(supplier, revoked)
    await harness._stored("stock_runs", {"_id": supplier, "waiting_for_connection": True})
    held = await harness.run_document(supplier)
    await asyncio.sleep(1.0)  # ten ticks while the connection is down
    refused_logins = len(harness.account.auth_failures)
    state = await harness.mongo[f"budget_{harness.unique}"]["netsuite_connections"].find_one(
        {"_id": supplier}
    )

    await harness.configure(supplier, {**harness.integration(), "product_mappings": tab(items)})
    await harness._stored("stock_runs", {"_id": supplier, "outcome": "succeeded"})
    published = await events.until_end()

    assert held["outcome"] == "failed"
    assert held["reason"].startswith("NETSUITE_AUTH_FAILED")
    assert held["next_run_at"] <= held["finished_at"]  # due again as soon as the connection is back
    # One run tried (its two opening queries go at once); the ten ticks since held the supplier back.
    assert refused_logins <= 2
    assert state is not None
    assert state["state"] == "auth_failed"
    assert state["service"] == "stock_sync"
    assert len(published) == 5  # every item once, as soon as the connection was back
    document = await harness.run_document(supplier)
    assert document["waiting_for_connection"] is False
    assert "failing_since" not in document
