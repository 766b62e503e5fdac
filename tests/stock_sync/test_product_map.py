"""Which product a NetSuite item publishes for: the integration tab first, then stored mappings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import IntegrationSettings, Product
from om_platform.adapters.mongo.mappings import MappingStore
from stock_sync.adapters.products import StoredProductMap

from .test_run_unit import integration

pytestmark = pytest.mark.integration


class Db:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db


def with_tab(tab: dict[str, str]) -> IntegrationSettings:
    return integration().model_copy(update={"product_mappings": tab})


async def remember(store: MappingStore, product_id: str, netsuite_id: str, minute: int) -> None:
    await store.record_entity(
        "sup_1",
        "product",
        Product(id=product_id, name=product_id, properties={"netsuite_id": netsuite_id}),
        name=product_id,
        occurred_at=datetime(2026, 11, 24, 9, minute, tzinfo=UTC),
        event_id=f"evt_{product_id}",
    )


async def test_the_tab_wins_and_stored_mappings_fill_the_rest(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    store = MappingStore(Db(mongo_db))
    await remember(store, "prd_event", "20", 1)
    await remember(store, "prd_moved", "30", 2)  # the tab maps prd_moved to item 31 instead
    products = StoredProductMap(store)
    found = await products.products_for(
        "sup_1", with_tab({"prd_a": "10", "prd_b": "10", "prd_moved": "31"}), ["10", "20", "30", "31", "40"]
    )
    assert found == {"10": "prd_a", "20": "prd_event", "31": "prd_moved"}


async def test_the_inverted_tab_follows_a_new_integration(mongo_db: AsyncDatabase[dict[str, Any]]) -> None:
    products = StoredProductMap(MappingStore(Db(mongo_db)))
    assert await products.products_for("sup_1", with_tab({"prd_a": "10"}), ["10"]) == {"10": "prd_a"}
    assert await products.products_for("sup_1", with_tab({"prd_z": "10"}), ["10"]) == {"10": "prd_z"}
