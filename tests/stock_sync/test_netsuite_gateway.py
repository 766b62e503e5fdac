"""stock_sync's NetSuite boundary without NetSuite: the SuiteQL text and rows read as levels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from om_contracts import StockField
from stock_sync.adapters.netsuite_gateway import levels_query, locations_query, parse_row, range_query
from stock_sync.domain.levels import ItemLevels, StockView

VIEW = StockView(StockField.AVAILABLE, ("3", "1", "2"))


def test_a_row_becomes_quantities_in_view_order_with_absent_columns_as_zero() -> None:
    levels = parse_row({"id": "201", "q0": "5", "q2": "1.5"}, VIEW)
    assert levels == ItemLevels("201", (Decimal(5), Decimal(0), Decimal("1.5")))


def test_a_row_with_a_non_numeric_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_row({"id": "201", "q0": "five"}, VIEW)


def test_the_levels_query_pivots_the_chosen_figure_per_location_and_is_keyset_paged() -> None:
    query = levels_query(VIEW, ("InvtPart",), 1000)
    assert "THEN iil.quantityavailable END) AS q0" in query
    assert "iil.location = 3 THEN" in query
    assert "iil.location = 2 THEN iil.quantityavailable END) AS q2" in query
    assert "LEFT JOIN inventoryitemlocations" in query
    assert "i.id > :last AND i.id <= ?" in query
    assert query.endswith("ORDER BY i.id FETCH FIRST 1000 ROWS ONLY")
    on_hand = levels_query(StockView(StockField.ON_HAND, ("3",)), ("InvtPart",), 500)
    assert "quantityonhand" in on_hand
    assert "quantityavailable" not in on_hand


def test_queries_refuse_anything_but_digit_ids_and_alphanumeric_types() -> None:
    with pytest.raises(ValueError, match="internal id"):
        locations_query(("3", "1 OR 1=1"))
    with pytest.raises(ValueError, match="item type"):
        range_query(("InvtPart'--",))
    assert locations_query(("3", "1")) == "SELECT id FROM location WHERE id IN (3, 1)"
