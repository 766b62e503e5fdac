"""How a stock scan splits a supplier's item ids into ranges scanned side by side.

Keyset paging is sequential, so one scan of 100,000 items would be one request after another;
the id range is cut into stripes paged concurrently instead, as many as the account's share of the
budget keeps busy.
"""

from __future__ import annotations


def stripes(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """Split ids `low..high` into at most `count` ranges `(after, up_to)` for concurrent keyset scans."""
    if high < low:
        return []
    count = max(1, min(count, high - low + 1))
    span = high - low + 1
    bounds = [low - 1 + (span * k) // count for k in range(count + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(count) if bounds[k + 1] > bounds[k]]


def stripe_count(concurrency_limit: int, max_stripes: int) -> int:
    """How many stripes to scan at once: twice the account's budget, at most `max_stripes`.

    The budget (shared with the other services) bounds requests in flight; the extra stripes
    have their next request queued for a slot while others parse and compare a page, so the
    budget stays in use instead of idling between a response and the next request.
    """
    return max(1, min(max_stripes, 2 * concurrency_limit))
