"""Wiring of stock_sync: consumers, publishers, stores and the stock runs on one ServiceRuntime.

Consumes the integrations (settings per supplier) and products (product -> NetSuite item
mappings, as order_sync does); publishes `netsuite.stock.changed` on `netsuite.stock-levels.v1`
from a supervised job that starts each supplier's due stock run; serves `omctl run stock`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from om_contracts import STOCK_LEVELS_TOPIC, NetSuiteStockChanged
from om_platform.adapters.mongo.database import late_collection
from om_platform.adapters.mongo.freshness import runs_freshness
from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.core.supplier_jobs import SupplierJobs
from om_platform.core.waiting import ResumeWhenConnected
from om_platform.runtime import ServiceRuntime
from stock_sync.adapters.metrics import StockMetrics
from stock_sync.adapters.mongo import RUNS, MongoRuns, MongoSnapshots
from stock_sync.adapters.netsuite_gateway import NetSuiteStockReaders
from stock_sync.adapters.products import StoredProductMap
from stock_sync.domain.run_report import RunReport
from stock_sync.entrypoints import Entrypoints
from stock_sync.service_layer.runs import HeldRuns, OnDemandRuns, StockDue, StockRuns
from stock_sync.service_layer.sync import ScanLimits
from stock_sync.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Wired:
    """The wired service: its runtime, its entry points and the parts tests and benchmarks drive."""

    runtime: ServiceRuntime
    """What `build` returns and `python -m stock_sync` serves."""
    entrypoints: Entrypoints
    runs: StockRuns
    """One recorded run (its `owner` is the process identity its leases are taken under)."""
    jobs: SupplierJobs[RunReport | None]
    """The runner: `tick()` starts the due runs now, `wait_idle()` waits for them."""
    on_demand: OnDemandRuns
    """`run_now(supplier_id)` / `request_run(supplier_id)`, as `omctl run stock` does."""


def wire(settings: Settings, *, clock: Callable[[], datetime] = _now, owner: str | None = None) -> Wired:
    runtime = ServiceRuntime(settings, title="stock_sync", description=__doc__ or "")
    owner = owner or settings.instance_identity
    integrations = runtime.consume_integrations()
    mappings = runtime.consume_mappings(["product"])
    publisher = runtime.publisher(
        STOCK_LEVELS_TOPIC,
        schema=NetSuiteStockChanged,
        description="Stock of a product at the configured NetSuite locations, published only when it changed.",
    )
    snapshots = MongoSnapshots(runtime)
    run_log = MongoRuns(runtime)
    runs = StockRuns(
        integrations,
        run_log,
        NetSuiteStockReaders(runtime, item_types=settings.item_types(), page_size=settings.stock_page_size),
        snapshots,
        StoredProductMap(mappings),
        publisher.publish,
        clock,
        ScanLimits(settings.stock_max_stripes, settings.stock_publish_concurrency),
        on_finished=StockMetrics(runtime.metrics.registry, runtime.metrics).observe,
        connections=runtime.connections,
        owner=owner,
    )
    jobs = SupplierJobs[RunReport | None](
        "stock",  # leases `stock:<supplier>`
        integrations=integrations,
        leases=LeaseStore(late_collection(runtime, "leases"), owner=owner),
        due=StockDue(run_log),
        run=runs.run,
        connections=runtime.connections,
        clock=clock,
        concurrency=settings.stock_max_concurrent_runs,
        lease_ttl_s=settings.stock_lease_ttl_s,
        tick_s=settings.stock_tick_s,
        on_held=runs.mark_waiting,
    )
    on_demand = OnDemandRuns(jobs, integrations, run_log, clock)
    entrypoints = Entrypoints(on_demand, jobs, ResumeWhenConnected(runtime.connections, HeldRuns(jobs)))
    runtime.connections.on_recovered(entrypoints.on_connection_back)
    runtime.on_start(snapshots.ensure_indexes)
    runtime.freshness("stock_runs", lambda: runs_freshness(runtime.db[RUNS]))
    runtime.supervise("stock-scheduler", entrypoints.run_stock_runs)
    runtime.serve_commands({"run_stock": entrypoints.on_run_stock_command})
    return Wired(runtime, entrypoints, runs, jobs, on_demand)


def build(settings: Settings) -> ServiceRuntime:
    return wire(settings).runtime
