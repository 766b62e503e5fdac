"""Per-supplier freshness: when a supplier last synced, its oldest unresolved failure, what is parked.

The values and their aggregate (pure); the readers of each shape of store are
`om_platform.adapters.mongo.freshness`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

PARKED_CODES: tuple[str, ...] = ("NETSUITE_AUTH_FAILED", "NETSUITE_UNAVAILABLE")
"""Failures that wait for the supplier's NetSuite connection to come back (then re-run by themselves)."""
SUCCESS_STATUSES: tuple[str, ...] = ("synced", "cancelled", "voided")


@dataclass(frozen=True)
class Freshness:
    """One supplier's freshness in one flow."""

    last_success: datetime | None = None
    oldest_failure: datetime | None = None
    failed: int = 0
    parked: int = 0


FreshnessSource = Callable[[], Awaitable[dict[str, Freshness]]]
"""A service's freshness per supplier (registered with `ServiceRuntime.freshness`)."""


@dataclass(frozen=True)
class Totals:
    """A flow's freshness over every supplier, for gauges without a supplier label."""

    stalest_success_s: float
    """Seconds since the last success of the supplier that synced least recently (0: none yet)."""
    oldest_failure_s: float
    """Age of the oldest unresolved failure of any supplier (0: none)."""
    parked: int
    failing_suppliers: int


def totals(per_supplier: Iterable[Freshness], now: datetime) -> Totals:
    stalest = oldest = 0.0
    parked = failing = 0
    for freshness in per_supplier:
        if freshness.last_success is not None:
            stalest = max(stalest, (now - aware(freshness.last_success)).total_seconds())
        if freshness.oldest_failure is not None:
            oldest = max(oldest, (now - aware(freshness.oldest_failure)).total_seconds())
        parked += freshness.parked
        failing += 1 if freshness.failed else 0
    return Totals(stalest, oldest, parked, failing)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
