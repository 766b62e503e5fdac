"""Prometheus metrics shared by the services (one registry per process).

Label policy: topic, outcome, error code, operation and status are bounded sets. Supplier ids are
NOT used as labels (thousands of suppliers would explode series count); per-supplier state is
in MongoDB and shown by `omctl status`. No metric has a `job` label (Prometheus's own target label:
it would arrive as `exported_job`): scheduled jobs are `sync_job`. Scheduled jobs end with one of
`JOB_OUTCOMES` whatever the service. No `_created` series (`disable_created_metrics`): they double
the series count of every counter and histogram and no alert or panel reads them.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated

JOB_OUTCOMES: Final = ("succeeded", "partial", "failed")
"""The `outcome` of `om_job_seconds`: the job did all its work, part of it (a window cut short, the
rest next run), or failed."""


@dataclass(frozen=True)
class _Spec:
    """One metric of `Metrics`: the attribute it is kept in and how it is registered."""

    attribute: str
    kind: type[Counter] | type[Gauge] | type[Histogram]
    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None

    def register(self, registry: CollectorRegistry) -> Counter | Gauge | Histogram:
        if self.buckets is not None:
            return Histogram(
                self.name, self.documentation, self.labels, registry=registry, buckets=self.buckets
            )
        return self.kind(self.name, self.documentation, self.labels, registry=registry)


METRICS: Final[tuple[_Spec, ...]] = (
    _Spec(
        "build_info",
        Gauge,
        "om_build_info",
        "Always 1: which service and version runs, on which Python",
        ("service", "version", "python"),
    ),
    _Spec(
        "events_consumed",
        Counter,
        "om_events_consumed_total",
        "Events consumed, by topic and outcome (processed, skipped, dead_lettered)",
        ("topic", "outcome"),
    ),
    _Spec(
        "events_produced",
        Counter,
        "om_events_produced_total",
        "Events produced and confirmed by the broker",
        ("topic",),
    ),
    _Spec("failures", Counter, "om_failures_total", "Failures by stable error code", ("code",)),
    _Spec(
        "dead_letters",
        Counter,
        "om_dead_letters_total",
        "Dead letters by topic and outcome (published whole, truncated to fit, already published)",
        ("topic", "outcome"),
    ),
    _Spec(
        "retries",
        Counter,
        "om_event_retries_total",
        "In-process retries of an event, by failure kind",
        ("kind",),
    ),
    _Spec(
        "handler_seconds",
        Histogram,
        "om_event_handler_seconds",
        "Time from an event's first attempt to its outcome",
        ("topic",),
        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    ),
    _Spec("in_flight", Gauge, "om_events_in_flight", "Events being processed", ("topic",)),
    _Spec(
        "paused_partitions", Gauge, "om_paused_partitions", "Partitions paused for back-pressure", ("topic",)
    ),
    _Spec("consumer_lag", Gauge, "om_consumer_lag", "Records behind the log end, per topic", ("topic",)),
    _Spec(
        "consumer_stalled_seconds",
        Gauge,
        "om_consumer_stalled_seconds",
        "Seconds a consumer has had pending work without progress (0 when idle or progressing); liveness fails past LIVENESS_STALL_S",
        ("topic",),
    ),
    _Spec(
        "netsuite_request_seconds",
        Histogram,
        "om_netsuite_request_seconds",
        "NetSuite request latency by operation and HTTP status",
        ("operation", "status"),
        buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
    _Spec("netsuite_rate_limited", Counter, "om_netsuite_rate_limited_total", "429 answers from NetSuite"),
    _Spec(
        "budget_wait_seconds",
        Histogram,
        "om_netsuite_budget_wait_seconds",
        "Time spent waiting for a slot of an account's concurrency budget",
        buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 300),
    ),
    _Spec(
        "budget_timeouts",
        Counter,
        "om_netsuite_budget_timeouts_total",
        "Waits for a budget slot that ended in BudgetTimeout (no slot within NETSUITE_BUDGET_MAX_WAIT_S)",
    ),
    _Spec(
        "budget_granted",
        Gauge,
        "om_netsuite_budget_granted_slots",
        "Slots of NetSuite accounts' concurrency limits this process may use now, summed over accounts",
    ),
    _Spec(
        "budget_accounts",
        Gauge,
        "om_netsuite_budget_accounts",
        "NetSuite accounts this process holds a share of",
    ),
    _Spec(
        "budget_share_changes",
        Counter,
        "om_netsuite_budget_share_changes_total",
        "Changes of this process's budget shares (grow, shrink, return, expired)",
        ("change",),
    ),
    _Spec(
        "budget_mongo_operations",
        Counter,
        "om_netsuite_budget_mongo_operations_total",
        "MongoDB commands sent by the NetSuite budget (findAndModify: heartbeats; aggregate, find, update, delete, createIndexes)",
        ("operation",),
    ),
    _Spec(
        "job_seconds",
        Histogram,
        "om_job_seconds",
        "Duration of scheduled jobs, by job and outcome (succeeded, partial, failed)",
        ("sync_job", "outcome"),
        buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
    ),
    _Spec(
        "netsuite_connections",
        Gauge,
        "om_netsuite_connections",
        "Configured suppliers per NetSuite connection state (connected, auth_failed, permission_missing, rate_limited, unreachable), as this process last read them",
        ("state",),
    ),
    _Spec(
        "netsuite_requests_refused",
        Counter,
        "om_netsuite_requests_refused_total",
        "NetSuite requests not sent because the supplier's breaker was open (auth_failed or unreachable)",
    ),
    _Spec(
        "last_success_age",
        Gauge,
        "om_sync_last_success_age_seconds",
        "Seconds since the last successful sync of the supplier that synced least recently, per flow",
        ("flow",),
    ),
    _Spec(
        "oldest_failure_age",
        Gauge,
        "om_oldest_unresolved_failure_age_seconds",
        "Age of the oldest failure not yet resolved, over every supplier, per flow (0: none)",
        ("flow",),
    ),
    _Spec(
        "records_parked",
        Gauge,
        "om_records_parked",
        "Records (or jobs) waiting for a supplier's NetSuite connection to come back, per flow",
        ("flow",),
    ),
    _Spec(
        "suppliers_failing",
        Gauge,
        "om_suppliers_failing",
        "Suppliers with an unresolved failure, per flow",
        ("flow",),
    ),
    _Spec(
        "integrations_catch_up_seconds",
        Gauge,
        "om_integrations_catch_up_seconds",
        "How long, at start, other consumers waited for the integrations projection to catch up",
    ),
    _Spec(
        "cursor_age_seconds",
        Gauge,
        "om_cursor_age_seconds",
        "Age of the oldest polling cursor, per job",
        ("sync_job",),
    ),
    _Spec(
        "gc_full_collection_seconds",
        Histogram,
        "om_gc_full_collection_seconds",
        "How long each full garbage collection stopped the process (GC_FREEZE_PAUSE_MS)",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    ),
    _Spec(
        "gc_freezes",
        Counter,
        "om_gc_freezes_total",
        "Times the objects that survived a slow full garbage collection were frozen (gc.freeze)",
    ),
)
"""Every metric of a service, in registration order (label policy: module docstring)."""


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    service: str = "service"
    version: str = "0.0.0"
    build_info: Gauge = field(init=False, repr=False)
    events_consumed: Counter = field(init=False, repr=False)
    events_produced: Counter = field(init=False, repr=False)
    failures: Counter = field(init=False, repr=False)
    dead_letters: Counter = field(init=False, repr=False)
    retries: Counter = field(init=False, repr=False)
    handler_seconds: Histogram = field(init=False, repr=False)
    in_flight: Gauge = field(init=False, repr=False)
    paused_partitions: Gauge = field(init=False, repr=False)
    consumer_lag: Gauge = field(init=False, repr=False)
    consumer_stalled_seconds: Gauge = field(init=False, repr=False)
    netsuite_request_seconds: Histogram = field(init=False, repr=False)
    netsuite_rate_limited: Counter = field(init=False, repr=False)
    budget_wait_seconds: Histogram = field(init=False, repr=False)
    budget_timeouts: Counter = field(init=False, repr=False)
    budget_granted: Gauge = field(init=False, repr=False)
    budget_accounts: Gauge = field(init=False, repr=False)
    budget_share_changes: Counter = field(init=False, repr=False)
    budget_mongo_operations: Counter = field(init=False, repr=False)
    job_seconds: Histogram = field(init=False, repr=False)
    netsuite_connections: Gauge = field(init=False, repr=False)
    netsuite_requests_refused: Counter = field(init=False, repr=False)
    last_success_age: Gauge = field(init=False, repr=False)
    oldest_failure_age: Gauge = field(init=False, repr=False)
    records_parked: Gauge = field(init=False, repr=False)
    suppliers_failing: Gauge = field(init=False, repr=False)
    integrations_catch_up_seconds: Gauge = field(init=False, repr=False)
    cursor_age_seconds: Gauge = field(init=False, repr=False)
    gc_full_collection_seconds: Histogram = field(init=False, repr=False)
    gc_freezes: Counter = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # process_* (CPU, memory, file descriptors), python_info and python_gc_*: what
        # prometheus_client puts on its global registry, here on the service's own registry.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        for spec in METRICS:
            setattr(self, spec.attribute, spec.register(self.registry))
        self.build_info.labels(self.service, self.version, platform.python_version()).set(1)
