"""When a supplier's next stock run is due: a fixed grid per supplier, phase-shifted by a hash.

Each supplier runs every `interval_minutes`, at `phase + k * interval` seconds since the epoch,
where `phase` comes from a hash of the supplier id: suppliers with the same interval spread evenly
over it instead of all starting together, and every replica computes the same times.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def phase_s(supplier_id: str, interval_s: float) -> float:
    """Deterministic offset in [0, interval) for a supplier."""
    digest = int.from_bytes(hashlib.sha256(supplier_id.encode()).digest()[:8], "big")
    return (digest % 1_000_000) / 1_000_000 * interval_s


def next_run_after(supplier_id: str, interval_minutes: int, after: datetime) -> datetime:
    """The first slot of the supplier's grid strictly after `after`."""
    interval = interval_minutes * 60.0
    phase = phase_s(supplier_id, interval)
    epoch_s = after.timestamp()
    k = math.floor((epoch_s - phase) / interval) + 1
    return datetime.fromtimestamp(phase + k * interval, UTC)


def is_due(next_run_at: datetime | None, triggered: bool, now: datetime) -> bool:
    """A supplier never run yet, asked for, or whose slot has come is due."""
    return triggered or next_run_at is None or next_run_at <= now


def retry_after_failure(interval_minutes: int, now: datetime) -> datetime:
    """After a failed run, try again within the interval but not sooner than a minute."""
    return now + timedelta(minutes=max(1, min(interval_minutes, 5)))


@dataclass(frozen=True, slots=True)
class Schedule:
    """A supplier's next slot and whether a run was asked for (`omctl run stock`); a supplier never
    run has neither and is due."""

    next_run_at: datetime | None = None
    trigger: bool = False

    def is_due(self, now: datetime) -> bool:
        return is_due(self.next_run_at, self.trigger, now)

    def due_since(self, now: datetime) -> datetime:
        """Since when it is due: the longest waiting run first (a triggered one counts from now)."""
        return now if self.trigger or self.next_run_at is None else self.next_run_at
