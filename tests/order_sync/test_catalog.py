"""The catalog: NetSuite customers and items published to netsuite.catalog.v1, with cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from order_sync_harness import OutcomeReader, Stack

from om_contracts import CATALOG_TOPIC, IntegrationSettings
from order_sync.app import OrderSync
from order_sync.service_layer import catalog


@pytest.mark.integration
async def test_the_catalog_publishes_customers_and_items_with_their_ordermentum_ids_then_only_changes(
    shared: tuple[Stack, OrderSync],
) -> None:
    harness, service = shared
    supplier = harness.supplier()
    reader = OutcomeReader(harness.kafka_bootstrap, CATALOG_TOPIC, {supplier.supplier_id})
    await reader.start()
    try:
        await harness.configure(
            service,
            supplier,
            product_mappings={"prd_a": supplier.items["prd_a"]},
            customer_mappings={"cus_1": supplier.customer_id},
        )
        first = await service.refresh_catalog(supplier.supplier_id)
        await reader.wait_for(lambda e: len(e) >= first)
        new_item = supplier.account.add_item("SKU-NEW", "New product")
        second = await service.refresh_catalog(supplier.supplier_id)
        await reader.wait_for(lambda e: len(e) >= first + second)
    finally:
        await reader.stop()
    customers = reader.of(supplier.supplier_id, "netsuite.customer.changed")
    items = {
        e["data"]["netsuite_id"]: e["data"] for e in reader.of(supplier.supplier_id, "netsuite.item.changed")
    }
    assert customers[0]["data"]["netsuite_id"] == supplier.customer_id
    assert customers[0]["data"]["ordermentum_id"] == "cus_1"
    assert customers[0]["data"]["email"] == "accounts@cafeluna.example"
    assert first == 6  # one customer, five items
    assert items[supplier.items["prd_a"]]["ordermentum_id"] == "prd_a"
    assert items[supplier.items["prd_b"]]["ordermentum_id"] is None
    assert items[new_item]["sku"] == "SKU-NEW"
    assert 1 <= second <= first + 1  # the new item, plus what the cursor's overlap re-reads


@dataclass
class FakeCursors:
    values: dict[tuple[str, str], str] = field(default_factory=dict)

    async def get(self, supplier_id: str, kind: catalog.CatalogKind) -> str | None:
        return self.values.get((supplier_id, kind))

    async def set(self, supplier_id: str, kind: catalog.CatalogKind, high_water: str) -> None:
        self.values[supplier_id, kind] = high_water


@dataclass
class FakeReverse:
    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Any, ids: list[str]
    ) -> dict[str, str]:
        return {}


@dataclass
class Rows:
    """A SuiteQL stand-in holding (lmd, id) rows; answers the keyset query like NetSuite would."""

    rows: list[tuple[str, int]]
    calls: list[list[object]] = field(default_factory=list)

    def __call__(self, query: str, params: list[object], page_size: int) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(params)
        lmd, same, last_id = params

        async def scan() -> AsyncIterator[dict[str, Any]]:
            for row_lmd, row_id in sorted(self.rows):
                if row_lmd > str(lmd) or (row_lmd == str(same) and row_id > int(str(last_id))):
                    yield {"id": row_id, "itemid": f"SKU{row_id}", "lmd": row_lmd, "isinactive": "F"}

        return scan()


@pytest.fixture
def deps() -> tuple[catalog.CatalogDeps, list[Any]]:
    published: list[Any] = []

    async def publish(event: Any) -> None:
        published.append(event)

    ids = iter(range(1_000_000))
    return (
        catalog.CatalogDeps(
            cursors=FakeCursors(),
            mappings=FakeReverse(),
            publish=publish,
            new_event_id=lambda: f"evt_{next(ids)}",
            clock=lambda: datetime(2026, 11, 24, tzinfo=UTC),
            overlap_s=0,
        ),
        published,
    )


async def test_catalog_pages_by_last_modified_then_id_without_skipping_rows_that_share_a_second(
    deps: tuple[catalog.CatalogDeps, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "PAGE_SIZE", 2)
    catalog_deps, published = deps
    rows = Rows([("2026-11-24 10:00:00", i) for i in range(1, 6)] + [("2026-11-24 10:00:01", 6)])
    integration: Any = None
    count = await catalog.publish_changes(catalog_deps, "sup_1", integration, rows, "item")
    assert count == 6
    assert [e.data.netsuite_id for e in published] == ["1", "2", "3", "4", "5", "6"]
    assert await catalog_deps.cursors.get("sup_1", "item") == "2026-11-24 10:00:01"
    published.clear()
    rows.rows.append(("2026-11-24 10:00:02", 7))
    # The cursor's own second is read again: a record saved later in that second is not missed.
    assert await catalog.publish_changes(catalog_deps, "sup_1", integration, rows, "item") == 2
    assert [e.data.netsuite_id for e in published] == ["6", "7"]
