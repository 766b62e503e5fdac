"""Which offset of a partition may be committed while records finish out of order.

Records of one partition are read in offset order but, processed concurrently, finish in any
order. Kafka commits a single position per partition meaning "everything before this is done", so
the committable position is the lowest offset still in flight (or one past the highest finished
offset when nothing is in flight). Committing anything further would let a crash skip a record.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass
class PartitionOffsets:
    """Offsets of one partition: read, in flight, and safe to commit.

    `started(offset)` when a record is handed to processing, `finished(offset)` when its effects are
    durable. `committable()` is the position to commit (the next offset to read after a restart),
    or None when nothing new can be committed.
    """

    _in_flight: list[int] = field(default_factory=list)  # min-heap of unfinished offsets
    _finished: set[int] = field(default_factory=set)  # finished offsets still in the heap
    _highest_seen: int = -1
    _committed: int | None = None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight) - len(self._finished)

    def started(self, offset: int) -> None:
        if offset <= self._highest_seen:
            # A redelivery after seek/rebalance: the tracker is reset on assignment, so a lower
            # offset here means the broker replayed records we are already tracking.
            return
        self._highest_seen = offset
        heapq.heappush(self._in_flight, offset)

    def finished(self, offset: int) -> None:
        self._finished.add(offset)
        while self._in_flight and self._in_flight[0] in self._finished:
            self._finished.discard(heapq.heappop(self._in_flight))

    def position(self) -> int | None:
        """The first offset not yet known to be done (what a restarted consumer must read next)."""
        if self._in_flight:
            return self._in_flight[0]
        if self._highest_seen < 0:
            return None
        return self._highest_seen + 1

    def committable(self) -> int | None:
        """The position to commit now, or None if it has not moved since the last commit."""
        position = self.position()
        if position is None or position == self._committed:
            return None
        return position

    def mark_committed(self, position: int) -> None:
        self._committed = position
