"""stock_sync's Prometheus metrics (no supplier label: per-supplier detail is in `stock_runs`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from om_platform.metrics import Metrics
from stock_sync.domain.run_report import RunReport


class StockMetrics:
    def __init__(self, registry: CollectorRegistry, shared: Metrics | None = None) -> None:
        self._shared = shared
        self.runs = Counter("om_stock_runs_total", "Stock runs by outcome", ["outcome"], registry=registry)
        self.run_failures = Counter(
            "om_stock_run_failures_total",
            "Failed stock runs by stable reason code",
            ["code"],
            registry=registry,
        )
        self.unmapped = Counter(
            "om_stock_unmapped_items_total",
            "NetSuite items skipped because no product maps to them",
            registry=registry,
        )
        self.items = Counter(
            "om_stock_items_scanned_total", "NetSuite items read by stock runs", registry=registry
        )
        self.published = Counter(
            "om_stock_changes_published_total",
            "Stock changes published (confirmed by the broker)",
            registry=registry,
        )

    def observe(self, report: RunReport) -> None:
        self.runs.labels(report.outcome).inc()
        if self._shared is not None:
            seconds = (report.finished_at - report.started_at).total_seconds()
            self._shared.job_seconds.labels("stock", report.outcome).observe(seconds)
        if report.code is not None:
            self.run_failures.labels(report.code).inc()
        self.unmapped.inc(report.counts.unmapped)
        self.items.inc(report.counts.items)
        self.published.inc(report.counts.published)
