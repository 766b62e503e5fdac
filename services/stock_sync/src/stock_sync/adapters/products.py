"""`ProductMap` over the shared `MappingStore` (the same precedence and tie-breaks order_sync uses).

`MappingStore.reverse` inverts the integration's product tab once per settings object, so a scan
of many pages pays for it once; ids the tab does not name cost one stored-mapping query per page.
"""

from __future__ import annotations

from collections.abc import Iterable

from om_contracts import IntegrationSettings
from om_platform.adapters.mongo.mappings import MappingStore


class StoredProductMap:
    def __init__(self, mappings: MappingStore) -> None:
        self._mappings = mappings

    async def products_for(
        self, supplier_id: str, integration: IntegrationSettings, item_ids: Iterable[str]
    ) -> dict[str, str]:
        return await self._mappings.reverse(supplier_id, integration, "product", item_ids)
