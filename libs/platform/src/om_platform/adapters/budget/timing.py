"""The budget's clocks (:class:`LeaseTiming`), its fixed sizes and its metric hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AUDIT", "CAS_ATTEMPTS", "CHUNK", "NOW_MS", "RESTORE_WINDOW_MS", "LeaseTiming"]

NOW_MS = {"$toLong": "$$NOW"}
CHUNK = 500  # accounts per renewal read and bulk write
AUDIT = 50  # held accounts checked per renewal (finds a document lost alone; one small read)
#: After a lost account document is re-created by a former holder, nobody grows (newcomers wait)
#: for this long: the other former holders find the loss (a lost database at their next heartbeat)
#: and claim back what they held, so the shares written never exceed what was held before it.
RESTORE_WINDOW_MS = 30_000
CAS_ATTEMPTS = 8

#: ``on_operation(name)`` once per MongoDB command the budget sends.
OperationHook = Callable[[str], None]
#: ``on_share_change(kind)``: ``grow``, ``shrink``, ``return`` or ``expired``.
ShareChangeHook = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    """The budget's clocks (seconds); see the package docstring for what each one bounds."""

    renew_s: float = 2.0
    lease_s: float = 10.0
    margin_s: float = 2.0
    poll_s: float = 0.2
    max_wait_s: float = 300.0
    keep_idle_s: float = 3600.0
    """How long after its last request an idle share nobody else wants is kept (0: returned at the
    first renewal without demand). Another process wanting the account's capacity takes it back
    within the starvation bound whatever this says. Keeping costs nothing per renewal (liveness is
    one heartbeat per process)."""
    attempt_deadline_s: float = 120.0
    """The hard deadline of one request attempt (``NetSuiteClient(attempt_deadline=...)``, the same
    value): after its holder's heartbeat lapsed, a share still counts this long, since a request
    it covered may still be running at NetSuite until then."""

    def __post_init__(self) -> None:
        timings = (
            self.renew_s,
            self.lease_s,
            self.margin_s,
            self.poll_s,
            self.max_wait_s,
            self.attempt_deadline_s,
        )
        if min(timings) <= 0:
            raise ValueError("budget timings must be positive")
        if self.keep_idle_s < 0:
            raise ValueError("keep_idle_s must not be negative")
        if self.renew_s + self.margin_s >= self.lease_s:
            raise ValueError("the lease must outlast a renewal interval plus the margin")
