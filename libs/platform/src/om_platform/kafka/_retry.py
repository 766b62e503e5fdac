"""Backoff for retrying an event in process (full jitter, bounded by attempts and elapsed time)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try; `max_elapsed_s` bounds the whole retry window.

    Retrying happens in the record's own task, not in the poll loop, so a long retry window never
    threatens `max_poll_interval_ms`; it only holds back the commit position of its partition.
    """

    max_attempts: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_elapsed_s: float = 300.0
    unexpected_max_attempts: int = 3

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay before attempt `attempt + 1` (attempt counts from 1)."""
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return (rng or _rng).uniform(0, cap)

    def gives_up(self, attempt: int, elapsed_s: float, *, unexpected: bool) -> bool:
        limit = self.unexpected_max_attempts if unexpected else self.max_attempts
        return attempt >= limit or elapsed_s >= self.max_elapsed_s


_rng = random.Random()  # noqa: S311 - jitter, not security
