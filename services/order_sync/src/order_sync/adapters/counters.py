"""order_sync's own Prometheus counters (bounded labels; no supplier id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class PrometheusCounters:
    """Events handled without an outcome, by reason (bounded label set)."""

    def __init__(self, registry: CollectorRegistry, failures: Counter | None = None) -> None:
        self._failures = failures
        self._warnings = Counter(
            "om_order_sync_warnings_total",
            "Synced outcomes with a warning, by code (TOTALS_MISMATCH: NetSuite booked other "
            "totals than Ordermentum's)",
            ["code"],
            registry=registry,
        )
        self._resynced = Counter(
            "om_order_sync_resynced_total",
            "Outcomes published by a re-sync (an operator's, or automatic: a mapping, a connection or an "
            "integration that arrived) rather than by an event",
            registry=registry,
        )
        self._counter = Counter(
            "om_order_sync_unpublished_total",
            "Order/invoice events acknowledged without an outcome event, by reason "
            "(sync_type_mismatch, stale, duplicate, republished, superseded; sync_type_changed: a re-sync "
            "found the supplier configured for the other sync type)",
            ["reason"],
            registry=registry,
        )

    def count(self, what: str) -> None:
        self._counter.labels(what).inc()

    def resynced(self) -> None:
        self._resynced.inc()

    def failure(self, code: str) -> None:
        if self._failures is not None:
            self._failures.labels(code).inc()

    def warning(self, code: str) -> None:
        self._warnings.labels(code).inc()
