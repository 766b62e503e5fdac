"""Cursor positions in NetSuite's change order and the window a feature run reads from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, order=True)
class Position:
    """A place in NetSuite's change order: (timestamp, internal id), compared as a pair."""

    at: datetime
    id: int = 0


NEVER = datetime(1970, 1, 1, tzinfo=UTC)
"""Position time of a cursor stored without a high-water mark yet (only its last completed slot)."""


@dataclass(frozen=True)
class Cursor:
    """A feature's high-water mark for one supplier (the position type of its `Cursors` port).

    `resume` is set while a window was cut short by the per-run bound: the next slice then
    continues exactly at `position` instead of re-reading the overlap window (which could hold
    more rows than the bound and never make progress).
    """

    position: Position
    resume: bool = False

    @property
    def started(self) -> bool:
        return self.position.at > NEVER


def window_start(cursor: Cursor, overlap: timedelta) -> Position:
    """Where a run starts reading: the cursor, less the overlap unless resuming a cut window."""
    if cursor.resume:
        return cursor.position
    return Position(cursor.position.at - overlap, 0)


def initial_cursor(first_slot: datetime, lookback: timedelta) -> Cursor:
    """Cursor of a supplier/feature never run before: look back `lookback` from its first slot."""
    return Cursor(Position(first_slot - lookback, 0))
