"""Hourly slots, cursor positions and the features a supplier has enabled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from om_contracts import IntegrationSettings, SyncType

HOUR = timedelta(hours=1)


class Feature(StrEnum):
    """The polled finance features (auto-reconciliation is event driven, not polled)."""

    FINALISED_INVOICES = "finalised_invoices"
    CREDIT_NOTES = "credit_notes"
    PAID_INVOICES = "paid_invoices"
    INVOICE_CHANGES = "invoice_changes"


def enabled_features(integration: IntegrationSettings) -> list[Feature]:
    """Features the supplier switched on; finalised invoices only make sense for order sync.

    Invoice changes (finalised invoices edited, voided or deleted in NetSuite) come with
    finalised invoice sync: they are what keeps the published invoices true.
    """
    features: list[Feature] = []
    if integration.finalised_invoice_sync and integration.sync_type == SyncType.ORDERS:
        features.append(Feature.FINALISED_INVOICES)
        features.append(Feature.INVOICE_CHANGES)
    if integration.inbound_credit_notes:
        features.append(Feature.CREDIT_NOTES)
    if integration.mark_invoices_paid:
        features.append(Feature.PAID_INVOICES)
    return features


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


@dataclass(frozen=True, order=True)
class Position:
    """A place in NetSuite's change order: (timestamp, internal id), compared as a pair."""

    at: datetime
    id: int = 0


NEVER = datetime(1970, 1, 1, tzinfo=UTC)
"""Position time of a cursor that has a completed slot but no high-water mark yet."""


@dataclass(frozen=True)
class Cursor:
    """A feature's high-water mark for one supplier.

    `resume` is set while a window was cut short by the per-run bound: the next slice then
    continues exactly at `position` instead of re-reading the overlap window (which could hold
    more rows than the bound and never make progress).
    """

    position: Position
    last_slot: datetime | None = None
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
