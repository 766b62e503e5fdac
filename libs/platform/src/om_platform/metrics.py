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


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    service: str = "service"
    version: str = "0.0.0"

    def __post_init__(self) -> None:
        r = self.registry
        # process_* (CPU, memory, file descriptors), python_info and python_gc_*: what
        # prometheus_client puts on its global registry, here on the service's own registry.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.build_info = Gauge(
            "om_build_info",
            "Always 1: which service and version runs, on which Python",
            ["service", "version", "python"],
            registry=r,
        )
        self.build_info.labels(self.service, self.version, platform.python_version()).set(1)
        self.events_consumed = Counter(
            "om_events_consumed_total",
            "Events consumed, by topic and outcome (processed, skipped, dead_lettered)",
            ["topic", "outcome"],
            registry=r,
        )
        self.events_produced = Counter(
            "om_events_produced_total",
            "Events produced and confirmed by the broker",
            ["topic"],
            registry=r,
        )
        self.failures = Counter("om_failures_total", "Failures by stable error code", ["code"], registry=r)
        self.dead_letters = Counter(
            "om_dead_letters_total",
            "Dead letters by topic and outcome (published whole, truncated to fit, already published)",
            ["topic", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "om_event_retries_total",
            "In-process retries of an event, by failure kind",
            ["kind"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "om_event_handler_seconds",
            "Time from an event's first attempt to its outcome",
            ["topic"],
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
        )
        self.in_flight = Gauge("om_events_in_flight", "Events being processed", ["topic"], registry=r)
        self.paused_partitions = Gauge(
            "om_paused_partitions", "Partitions paused for back-pressure", ["topic"], registry=r
        )
        self.consumer_lag = Gauge(
            "om_consumer_lag", "Records behind the log end, per topic", ["topic"], registry=r
        )
        self.consumer_stalled_seconds = Gauge(
            "om_consumer_stalled_seconds",
            "Seconds a consumer has had pending work without progress (0 when idle or progressing); "
            "liveness fails past LIVENESS_STALL_S",
            ["topic"],
            registry=r,
        )
        self.netsuite_request_seconds = Histogram(
            "om_netsuite_request_seconds",
            "NetSuite request latency by operation and HTTP status",
            ["operation", "status"],
            registry=r,
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.netsuite_rate_limited = Counter(
            "om_netsuite_rate_limited_total", "429 answers from NetSuite", registry=r
        )
        self.budget_wait_seconds = Histogram(
            "om_netsuite_budget_wait_seconds",
            "Time spent waiting for a slot of an account's concurrency budget",
            registry=r,
            # Up to the longest wait (NETSUITE_BUDGET_MAX_WAIT_S, 300 s): waits that end in a
            # BudgetTimeout are observed too.
            buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 300),
        )
        self.budget_timeouts = Counter(
            "om_netsuite_budget_timeouts_total",
            "Waits for a budget slot that ended in BudgetTimeout (no slot within NETSUITE_BUDGET_MAX_WAIT_S)",
            registry=r,
        )
        self.budget_granted = Gauge(
            "om_netsuite_budget_granted_slots",
            "Slots of NetSuite accounts' concurrency limits this process may use now, summed over accounts",
            registry=r,
        )
        self.budget_accounts = Gauge(
            "om_netsuite_budget_accounts", "NetSuite accounts this process holds a share of", registry=r
        )
        self.budget_share_changes = Counter(
            "om_netsuite_budget_share_changes_total",
            "Changes of this process's budget shares (grow, shrink, return, expired)",
            ["change"],
            registry=r,
        )
        self.budget_mongo_operations = Counter(
            "om_netsuite_budget_mongo_operations_total",
            "MongoDB commands sent by the NetSuite budget (findAndModify: heartbeats; aggregate, find, update, "
            "delete, createIndexes)",
            ["operation"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "om_job_seconds",
            "Duration of scheduled jobs, by job and outcome (succeeded, partial, failed)",
            ["sync_job", "outcome"],
            registry=r,
            buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
        )
        self.netsuite_connections = Gauge(
            "om_netsuite_connections",
            "Configured suppliers per NetSuite connection state (connected, auth_failed, permission_missing, "
            "rate_limited, unreachable), as this process last read them",
            ["state"],
            registry=r,
        )
        self.netsuite_requests_refused = Counter(
            "om_netsuite_requests_refused_total",
            "NetSuite requests not sent because the supplier's breaker was open (auth_failed or unreachable)",
            registry=r,
        )
        self.last_success_age = Gauge(
            "om_sync_last_success_age_seconds",
            "Seconds since the last successful sync of the supplier that synced least recently, per flow",
            ["flow"],
            registry=r,
        )
        self.oldest_failure_age = Gauge(
            "om_oldest_unresolved_failure_age_seconds",
            "Age of the oldest failure not yet resolved, over every supplier, per flow (0: none)",
            ["flow"],
            registry=r,
        )
        self.records_parked = Gauge(
            "om_records_parked",
            "Records (or jobs) waiting for a supplier's NetSuite connection to come back, per flow",
            ["flow"],
            registry=r,
        )
        self.suppliers_failing = Gauge(
            "om_suppliers_failing", "Suppliers with an unresolved failure, per flow", ["flow"], registry=r
        )
        self.integrations_catch_up_seconds = Gauge(
            "om_integrations_catch_up_seconds",
            "How long, at start, other consumers waited for the integrations projection to catch up",
            registry=r,
        )
        self.cursor_age_seconds = Gauge(
            "om_cursor_age_seconds",
            "Age of the oldest polling cursor, per job",
            ["sync_job"],
            registry=r,
        )
