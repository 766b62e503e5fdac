"""How often, and how long, the edge retries an event that failed transiently (full-jitter backoff).

Named for what it governs, an event's handling at the Kafka edge; the NetSuite client's own
per-request retries are ``om_netsuite.RequestRetryPolicy``, a different layer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class EventRetryPolicy:
    """`max_attempts` counts the first try; `max_elapsed_s` bounds the whole retry window.

    Whether an attempt is the last is decided before it starts (:meth:`is_last`), so the handler
    knows it while it runs (``RecordContext.is_last_attempt``) and the edge keeps to the same answer
    when the attempt fails: no attempt begins after `max_elapsed_s`, and attempt `max_attempts` is
    the last. Retrying happens in the record's own task, not in the poll loop, so a long retry
    window never threatens `max_poll_interval_ms`; it only holds back its partition's commit.
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

    def is_last(self, attempt: int, elapsed_s: float) -> bool:
        """Whether attempt `attempt`, starting `elapsed_s` after the first, is the last one."""
        return attempt >= self.max_attempts or elapsed_s >= self.max_elapsed_s

    def gives_up_unexpected(self, attempt: int) -> bool:
        """Whether an unclassified failure of attempt `attempt` ends the retries (a bug, not a blip)."""
        return attempt >= self.unexpected_max_attempts


_rng = random.Random()  # noqa: S311 - jitter, not security
