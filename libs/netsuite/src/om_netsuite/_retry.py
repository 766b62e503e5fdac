"""How the NetSuite client retries one HTTP request: full-jitter backoff bounded by attempts and time.

Named for what it governs, the attempts of one NetSuite request inside `NetSuiteClient`; the Kafka
edge's retries of a whole event are `om_platform.kafka.EventRetryPolicy`, a different layer (an
event's attempt may make several requests, each retried under this policy).

Oracle asks integrations to retry concurrency errors with growing, unsynchronised delays
(Help Center bridgehead_1509974866, bridgehead_1500276239). Full jitter
(``sleep = uniform(0, min(cap, base * 2**n))``) spreads retries of many callers best.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ._exceptions import NetSuiteError, NetSuiteNetworkError, RateLimited

__all__ = ["RequestRetryPolicy"]


@dataclass(frozen=True)
class RequestRetryPolicy:
    """When and how long to wait before another attempt of one NetSuite request.

    * ``max_attempts``: total attempts including the first (1 disables retries).
    * ``max_elapsed``: no new attempt starts once this many seconds have passed since the first.
    * ``base`` / ``cap``: backoff ``uniform(0, min(cap, base * 2**(attempt-1)))`` seconds.
    * A ``Retry-After`` header, when NetSuite sends one, is a lower bound for the wait.
    * ``retry_unsafe_on_429``: a 429 means NetSuite *blocked* the request before processing it
      ("Request blocked", section_156570709583), so even a create may be sent again. Any other
      failure of a create (5xx, timeout, lost connection) is never retried: the outcome is unknown.
    """

    max_attempts: int = 6
    max_elapsed: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    retry_unsafe_on_429: bool = True
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base < 0 or self.cap < 0 or self.max_elapsed < 0:
            raise ValueError("backoff values must be >= 0")

    def should_retry(self, error: NetSuiteError, *, attempt: int, idempotent: bool) -> bool:
        """Whether ``error`` on attempt number ``attempt`` (1-based) deserves another attempt."""
        if attempt >= self.max_attempts or not error.retryable:
            return False
        if idempotent:
            return True
        if isinstance(error, NetSuiteNetworkError) and not error.outcome_unknown:
            return True  # the connection failed before the request was sent
        return self.retry_unsafe_on_429 and isinstance(error, RateLimited)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * (2.0 ** (attempt - 1)))
        delay = float(self.random()) * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_elapsed))
        return delay
