"""Hourly slots: every polled feature of a supplier runs once per hour, on the hour (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)


def floor_hour(moment: datetime) -> datetime:
    """The slot (on the hour, UTC) that `moment` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def due_slots(last_done: datetime | None, now: datetime, max_catch_up: int) -> list[datetime]:
    """Slots to run, oldest first: every hour after `last_done` up to the current one.

    A supplier never run before gets the current slot only. After a long outage the oldest
    slots beyond `max_catch_up` are not dropped: the first slot run covers them, because a
    run's window starts at the cursor, not at the slot before it.
    """
    current = floor_hour(now)
    if last_done is None:
        return [current]
    slots: list[datetime] = []
    slot = floor_hour(last_done) + HOUR
    while slot <= current:
        slots.append(slot)
        slot += HOUR
    return slots[-max_catch_up:] if max_catch_up > 0 else slots
