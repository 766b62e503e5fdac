"""Hourly slots, catch-up after downtime and cursor windows (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from finance_sync.domain.cursors import Cursor, Position, initial_cursor, window_start
from finance_sync.domain.features import Feature, enabled_features
from finance_sync.domain.slots import due_slots, floor_hour

from .helpers import integration

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_a_moment_falls_in_the_slot_on_the_hour_in_utc() -> None:
    sydney = timezone(timedelta(hours=11))
    assert floor_hour(datetime(2026, 11, 24, 21, 59, 59, tzinfo=sydney)) == T0


def test_a_supplier_never_run_gets_only_the_current_slot() -> None:
    assert due_slots(None, T0 + timedelta(minutes=30), 168) == [T0]


def test_nothing_is_due_within_the_hour_already_run() -> None:
    assert due_slots(T0, T0 + timedelta(minutes=59), 168) == []


def test_three_hours_of_downtime_make_three_slots_due_in_order() -> None:
    slots = due_slots(T0, T0 + timedelta(hours=3, minutes=5), 168)
    assert slots == [T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=3)]


def test_catch_up_beyond_the_limit_keeps_the_newest_slots() -> None:
    slots = due_slots(T0, T0 + timedelta(hours=10), 3)
    assert slots == [T0 + timedelta(hours=h) for h in (8, 9, 10)]


def test_a_window_starts_an_overlap_before_the_cursor() -> None:
    cursor = Cursor(Position(T0, 42))
    assert window_start(cursor, timedelta(minutes=10)) == Position(T0 - timedelta(minutes=10), 0)


def test_a_window_cut_by_the_bound_resumes_exactly_where_it_stopped() -> None:
    cursor = Cursor(Position(T0, 42), resume=True)
    assert window_start(cursor, timedelta(minutes=10)) == Position(T0, 42)


def test_positions_order_by_time_then_id() -> None:
    assert Position(T0, 5) < Position(T0, 6) < Position(T0 + timedelta(seconds=1), 0)


def test_a_first_run_looks_back_from_its_slot() -> None:
    assert initial_cursor(T0, timedelta(hours=1)).position == Position(T0 - timedelta(hours=1), 0)


def test_features_follow_the_integration_switches() -> None:
    assert enabled_features(integration()) == []
    everything = integration(finalised_invoice_sync=True, inbound_credit_notes=True, mark_invoices_paid=True)
    assert enabled_features(everything) == [
        Feature.FINALISED_INVOICES,
        Feature.INVOICE_CHANGES,
        Feature.CREDIT_NOTES,
        Feature.PAID_INVOICES,
    ]


def test_finalised_invoices_are_off_with_invoice_sync() -> None:
    settings = integration(sync_type="invoices", inbound_credit_notes=True)
    assert enabled_features(settings) == [Feature.CREDIT_NOTES]
