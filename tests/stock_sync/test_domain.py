"""Pure stock logic: views, fingerprints, change numbers, events, stripes and schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from om_contracts import StockField, StockSettings
from stock_sync.domain.levels import (
    BadConfiguration,
    ItemLevels,
    Published,
    StockView,
    canonical,
    fingerprint,
    next_change,
    stock_event,
    stock_event_id,
)
from stock_sync.domain.schedule import is_due, next_run_after, phase_s, retry_after_failure
from stock_sync.domain.stripes import stripes

VIEW = StockView(StockField.AVAILABLE, ("3", "1", "2"))
AS_OF = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_view_keeps_the_suppliers_location_order_and_first_is_default() -> None:
    view = StockView.from_settings(StockSettings(enabled=True, location_ids="3,1,2", field="on_hand"))
    assert view.location_ids == ("3", "1", "2")
    assert view.default_location_id == "3"
    assert view.field is StockField.ON_HAND


def test_an_empty_location_list_is_a_bad_configuration() -> None:
    with pytest.raises(BadConfiguration) as caught:
        StockView.from_settings(StockSettings(enabled=False, location_ids=""))
    assert caught.value.code == "NO_LOCATIONS"


def test_repeated_locations_are_a_bad_configuration() -> None:
    with pytest.raises(BadConfiguration) as caught:
        StockView.from_settings(StockSettings(enabled=True, location_ids="3,1,3"))
    assert caught.value.code == "DUPLICATE_LOCATIONS"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5", "5"), ("5.0", "5"), ("5.00", "5"), ("0.50", "0.5"), ("-2", "-2"), ("0", "0"), ("1E+2", "100")],
)
def test_quantities_compare_by_value_not_by_spelling(text: str, expected: str) -> None:
    assert canonical(Decimal(text)) == expected


def test_fingerprint_ignores_spelling_but_sees_every_location_the_view_and_the_product() -> None:
    base = fingerprint(VIEW, "prd_1", ItemLevels("7", (Decimal(1), Decimal(2), Decimal(3))))
    assert base == fingerprint(VIEW, "prd_1", ItemLevels("7", (Decimal("1.0"), Decimal(2), Decimal(3))))
    assert base != fingerprint(VIEW, "prd_1", ItemLevels("7", (Decimal(1), Decimal(2), Decimal(4))))
    assert base != fingerprint(VIEW, "prd_2", ItemLevels("7", (Decimal(1), Decimal(2), Decimal(3))))
    on_hand = StockView(StockField.ON_HAND, VIEW.location_ids)
    assert base != fingerprint(on_hand, "prd_1", ItemLevels("7", (Decimal(1), Decimal(2), Decimal(3))))
    reordered = StockView(StockField.AVAILABLE, ("1", "3", "2"))
    assert base != fingerprint(reordered, "prd_1", ItemLevels("7", (Decimal(2), Decimal(1), Decimal(3))))


A, B, C = "fp-a", "fp-b", "fp-c"


def test_a_first_publication_is_change_one_and_unchanged_levels_are_not_published() -> None:
    assert next_change(A, None, None) == 1
    assert next_change(A, Published(A, 1), None) is None
    assert next_change(B, Published(A, 1), None) == 2
    assert next_change(A, Published(A, 0), None) is None  # a snapshot from before change numbers
    assert next_change(B, Published(A, 0), None) == 1


def test_a_pending_change_is_republished_under_its_number_or_followed_by_a_new_one() -> None:
    # B was about to be published as change 2 when the run died (maybe consumers have it).
    assert next_change(B, Published(A, 1), Published(B, 2)) == 2  # same levels: same number, same id
    assert next_change(C, Published(A, 1), Published(B, 2)) == 3
    assert next_change(A, Published(A, 1), Published(B, 2)) == 3  # back to A: consumers may hold B
    # A pending mark its snapshot has caught up with is stale and changes nothing.
    assert next_change(B, Published(B, 2), Published(B, 2)) is None
    assert next_change(C, Published(B, 2), Published(B, 2)) == 3
    assert next_change(B, None, Published(B, 1)) == 1


def test_the_event_id_is_the_same_for_the_same_change_and_differs_for_any_other() -> None:
    one = stock_event_id("sup_1", "prd_1", VIEW, 1, A)
    assert one == stock_event_id("sup_1", "prd_1", VIEW, 1, A)
    assert one.startswith("evt_")
    assert len(one) == len("evt_") + 32
    others = {
        stock_event_id("sup_2", "prd_1", VIEW, 1, A),
        stock_event_id("sup_1", "prd_2", VIEW, 1, A),
        stock_event_id("sup_1", "prd_1", StockView(StockField.ON_HAND, VIEW.location_ids), 1, A),
        stock_event_id("sup_1", "prd_1", VIEW, 2, A),  # A again later (A -> B -> A): a new change
        stock_event_id("sup_1", "prd_1", VIEW, 1, B),
    }
    assert len(others) == 5
    assert one not in others


def test_the_event_carries_the_default_quantity_and_every_location_in_order() -> None:
    event = stock_event(
        supplier_id="sup_1",
        product_id="prd_55",
        levels=ItemLevels("2044", (Decimal("4"), Decimal("0"), Decimal("2.5"))),
        view=VIEW,
        as_of=AS_OF,
        event_id="evt_1",
    )
    data = event.model_dump(mode="json")["data"]
    assert data == {
        "product_id": "prd_55",
        "netsuite_item_id": "2044",
        "field": "available",
        "quantity": "4",
        "default_location_id": "3",
        "locations": [
            {"location_id": "3", "quantity": "4"},
            {"location_id": "1", "quantity": "0"},
            {"location_id": "2", "quantity": "2.5"},
        ],
        "as_of": "2026-11-24T09:00:00Z",
    }
    assert event.supplier_id == "sup_1"
    assert event.event_type == "netsuite.stock.changed"


@pytest.mark.parametrize(
    ("low", "high", "count"), [(1, 100, 5), (201, 100_200, 5), (5, 7, 5), (10, 10, 3), (1, 1000, 1)]
)
def test_stripes_cover_the_id_range_once_without_gaps(low: int, high: int, count: int) -> None:
    parts = stripes(low, high, count)
    assert parts[0][0] == low - 1
    assert parts[-1][1] == high
    assert all(after < up_to for after, up_to in parts)
    assert all(parts[k][1] == parts[k + 1][0] for k in range(len(parts) - 1))
    assert len(parts) == min(count, high - low + 1)


def test_an_empty_id_range_has_no_stripes() -> None:
    assert stripes(10, 9, 5) == []


def test_next_run_lands_on_the_suppliers_grid_strictly_after_now() -> None:
    now = datetime(2026, 11, 24, 10, 0, 7, tzinfo=UTC)
    first = next_run_after("sup_a", 15, now)
    assert now < first <= now + timedelta(minutes=15)
    assert next_run_after("sup_a", 15, first) == first + timedelta(minutes=15)
    assert next_run_after("sup_a", 15, first - timedelta(seconds=1)) == first


def test_suppliers_are_spread_over_the_interval() -> None:
    phases = sorted(phase_s(f"sup_{n}", 900.0) for n in range(200))
    assert phases[0] < 100
    assert phases[-1] > 800
    assert len({round(p) for p in phases}) > 150


def test_due_when_never_run_triggered_or_the_slot_has_come() -> None:
    now = AS_OF
    assert is_due(None, False, now)
    assert is_due(now + timedelta(hours=1), True, now)
    assert is_due(now, False, now)
    assert not is_due(now + timedelta(seconds=1), False, now)


def test_a_failed_run_is_retried_within_the_interval_but_not_at_once() -> None:
    assert retry_after_failure(15, AS_OF) == AS_OF + timedelta(minutes=5)
    assert retry_after_failure(2, AS_OF) == AS_OF + timedelta(minutes=2)
    assert retry_after_failure(1, AS_OF) == AS_OF + timedelta(minutes=1)
