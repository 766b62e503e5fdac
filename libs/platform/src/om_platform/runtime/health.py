"""Is the process alive, is it ready, and the gauges /metrics reads from MongoDB.

* liveness: alive unless a consumer or background loop died, or pending work makes no progress
  for `LIVENESS_STALL_S` (a restart would help: Kubernetes' liveness probe).
* readiness: the broker and MongoDB answer a ping (traffic may come).
* `HealthGauges`: connection states and per-flow freshness, read at most every
  `HEALTH_GAUGES_MAX_AGE_S` (a scrape reads MongoDB, so bursts of scrapes do not).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import ConnectionState
from om_platform.adapters.connections import ConnectionMonitor
from om_platform.adapters.kafka import TopicConsumer
from om_platform.core.freshness import FreshnessSource, totals
from om_platform.metrics import Metrics

log = logging.getLogger(__name__)

HEALTH_GAUGES_MAX_AGE_S = 15.0
"""How stale the connection and freshness gauges of /metrics may be (they are read from MongoDB)."""

CONNECTION_STATES: tuple[ConnectionState, ...] = (
    "connected",
    "auth_failed",
    "permission_missing",
    "rate_limited",
    "unreachable",
)


def liveness(
    consumers: Sequence[TopicConsumer[Any]],
    background: Sequence[asyncio.Task[None]],
    metrics: Metrics,
    stall_s: float,
) -> tuple[bool, dict[str, Any]]:
    """Alive unless a consumer or background loop died, or pending work makes no progress (and
    the lag gauges are refreshed on the way)."""
    now = time.monotonic()
    problems: dict[str, Any] = {}
    for consumer in consumers:
        if consumer.crashed is not None:
            problems[consumer.topic] = f"job crashed: {consumer.crashed!r}"
        elif consumer.pending_work() and now - consumer.last_progress > stall_s:
            problems[consumer.topic] = f"no progress for {now - consumer.last_progress:.0f}s"
        metrics.consumer_lag.labels(consumer.topic).set(consumer.lag())
        stalled = now - consumer.last_progress if consumer.pending_work() else 0.0
        metrics.consumer_stalled_seconds.labels(consumer.topic).set(stalled)
    for task in background:
        if task.done():
            problems[task.get_name()] = "background loop stopped"
    return not problems, problems


async def readiness(broker: KafkaBroker, db: AsyncDatabase[dict[str, Any]]) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        checks["kafka"] = bool(await broker.ping(timeout=3.0))
    except Exception as exc:  # readiness reports, never raises
        checks["kafka"] = repr(exc)
    try:
        await asyncio.wait_for(db.command("ping"), 3.0)
        checks["mongodb"] = True
    except Exception as exc:
        checks["mongodb"] = repr(exc)
    return all(v is True for v in checks.values()), checks


class HealthGauges:
    """The connection-state and freshness gauges of /metrics; `sources` per flow (`freshness`)."""

    def __init__(self, metrics: Metrics, connections: ConnectionMonitor) -> None:
        self._metrics = metrics
        self._connections = connections
        self.sources: dict[str, FreshnessSource] = {}
        self._read_at = -HEALTH_GAUGES_MAX_AGE_S

    async def refresh(self, db: AsyncDatabase[dict[str, Any]] | None) -> None:
        """Read them unless they were read less than `HEALTH_GAUGES_MAX_AGE_S` ago (or MongoDB is
        not connected yet); a failure leaves the previous values."""
        now = time.monotonic()
        if db is None or now - self._read_at < HEALTH_GAUGES_MAX_AGE_S:
            return
        self._read_at = now
        try:
            await asyncio.wait_for(self._read(db), 10.0)
        except Exception:
            log.exception("reading connection and freshness gauges failed")

    async def _read(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        metrics = self._metrics
        broken = Counter(status.state for status in self._connections.statuses())
        configured = await db["integrations"].count_documents({"status": "configured"})
        for state in CONNECTION_STATES:
            count = max(0, configured - sum(broken.values())) if state == "connected" else broken[state]
            metrics.netsuite_connections.labels(state).set(count)
        wall = datetime.now(UTC)
        for flow, source in self.sources.items():
            summary = totals((await source()).values(), wall)
            metrics.last_success_age.labels(flow).set(summary.stalest_success_s)
            metrics.oldest_failure_age.labels(flow).set(summary.oldest_failure_s)
            metrics.records_parked.labels(flow).set(summary.parked)
            metrics.suppliers_failing.labels(flow).set(summary.failing_suppliers)
