"""finance_sync's run metrics on the runtime's Prometheus registry (`om_platform.metrics`)."""

from __future__ import annotations

from dataclasses import dataclass

from om_platform.metrics import Metrics


@dataclass(frozen=True)
class PrometheusRunMetrics:
    """`om_job_seconds{sync_job,outcome}` and `om_cursor_age_seconds{sync_job}` of each feature run."""

    metrics: Metrics

    def run_finished(self, job: str, outcome: str, seconds: float) -> None:
        self.metrics.job_seconds.labels(job, outcome).observe(seconds)

    def window_age(self, job: str, seconds: float) -> None:
        self.metrics.cursor_age_seconds.labels(job).set(seconds)
