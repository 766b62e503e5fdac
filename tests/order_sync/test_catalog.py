"""The catalog: NetSuite customers and items published to netsuite.catalog.v1, with cursors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from order_sync_harness import OutcomeReader, Stack

import fakes
from om_contracts import CATALOG_TOPIC, IntegrationSettings
from order_sync.adapters.netsuite_gateway import catalog_change_of
from order_sync.app import Wired
from order_sync.domain.netsuite_records import CatalogChange
from order_sync.service_layer import catalog
from order_sync.service_layer.ports import CatalogKind


@pytest.mark.integration
async def test_the_catalog_publishes_customers_and_items_with_their_ordermentum_ids_then_only_changes(
    shared: tuple[Stack, Wired],
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
        first = await refresh_catalog(service, supplier.supplier_id)
        await reader.wait_for(lambda e: len(e) >= first)
        new_item = supplier.account.add_item("SKU-NEW", "New product")
        second = await refresh_catalog(service, supplier.supplier_id)
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
class FakeReverse:
    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Any, ids: list[str]
    ) -> dict[str, str]:
        return {}


@dataclass
class Rows:
    """A NetSuite stand-in holding (lmd, id) rows; answers the keyset page like NetSuite would."""

    rows: list[tuple[str, int]]
    calls: list[tuple[str, int]] = field(default_factory=list)

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> Rows:
        return self

    async def changed(
        self, kind: CatalogKind, after_modified: str, after_position: int, limit: int
    ) -> list[CatalogChange]:
        self.calls.append((after_modified, after_position))
        found = [
            {"id": row_id, "itemid": f"SKU{row_id}", "lmd": row_lmd, "isinactive": "F"}
            for row_lmd, row_id in sorted(self.rows)
            if row_lmd > after_modified or (row_lmd == after_modified and row_id > after_position)
        ]
        return [catalog_change_of(kind, row) for row in found[:limit]]


async def refresh_catalog(service: Wired, supplier_id: str) -> int:
    """`omctl run catalog <supplier>`, as the command queue calls it."""
    answer = await service.entrypoints.on_catalog_command(supplier_id, {})
    published: int = answer["published"]
    return published


@pytest.fixture
def deps() -> tuple[catalog.CatalogRefresh, list[Any]]:
    published = fakes.RecordingPublisher()
    ids = iter(range(1_000_000))
    return (
        catalog.CatalogRefresh(
            cursors=fakes.FakeCursors[str](),
            mappings=FakeReverse(),
            publish=published,
            integrations=fakes.FakeIntegrations(),
            netsuite=Rows([]),
            new_event_id=lambda: f"evt_{next(ids)}",
            clock=lambda: datetime(2026, 11, 24, tzinfo=UTC),
            overlap_s=0,
        ),
        published.sent,
    )


async def test_catalog_pages_by_last_modified_then_id_without_skipping_rows_that_share_a_second(
    deps: tuple[catalog.CatalogRefresh, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "PAGE_SIZE", 2)
    catalog_deps, published = deps
    rows = Rows([("2026-11-24 10:00:00", i) for i in range(1, 6)] + [("2026-11-24 10:00:01", 6)])
    integration: Any = None
    count = await catalog_deps.publish_changes("sup_1", integration, rows, "item")
    assert count == 6
    assert [e.data.netsuite_id for e in published] == ["1", "2", "3", "4", "5", "6"]
    assert await catalog_deps.cursors.get("sup_1", "item") == "2026-11-24 10:00:01"
    published.clear()
    rows.rows.append(("2026-11-24 10:00:02", 7))
    # The cursor's own second is read again: a record saved later in that second is not missed.
    assert await catalog_deps.publish_changes("sup_1", integration, rows, "item") == 2
    assert [e.data.netsuite_id for e in published] == ["6", "7"]
