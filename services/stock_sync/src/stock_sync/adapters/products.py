"""`ProductMap` over the shared `MappingStore` (the same precedence order_sync uses).

One instance per run: the integration's product tab is inverted once (the tab is part of the
settings already held in memory) instead of once per page; ids the tab does not name are looked
up in the stored mappings (product events, operator imports) with one query per page.
"""

from __future__ import annotations

from collections.abc import Iterable

from om_contracts import IntegrationSettings
from om_platform.mappings import MappingStore


class StoredProductMap:
    def __init__(self, mappings: MappingStore) -> None:
        self._mappings = mappings
        self._inverted: tuple[dict[str, str], dict[str, str]] | None = None

    def _tab(self, integration: IntegrationSettings) -> dict[str, str]:
        tab = integration.product_mappings
        # Holding the tab itself (not its id, which a new object may reuse) keys the cache.
        if self._inverted is None or self._inverted[0] is not tab:
            inverted: dict[str, str] = {}
            # Same tie-break as MappingStore.reverse: the smallest Ordermentum id wins.
            for om_id, ns_id in sorted(tab.items()):
                inverted.setdefault(ns_id, om_id)
            self._inverted = (tab, inverted)
        return self._inverted[1]

    async def products_for(
        self, supplier_id: str, integration: IntegrationSettings, item_ids: Iterable[str]
    ) -> dict[str, str]:
        inverted = self._tab(integration)
        result: dict[str, str] = {}
        rest: list[str] = []
        for item_id in item_ids:
            product = inverted.get(item_id)
            if product is None:
                rest.append(item_id)
            else:
                result[item_id] = product
        if rest:
            without_tab = integration.model_copy(update={"product_mappings": {}})
            stored = await self._mappings.reverse(supplier_id, without_tab, "product", rest)
            tab = integration.product_mappings
            # A product the tab maps to another item is not this item's (tab wins).
            result.update(
                {item: product for item, product in stored.items() if tab.get(product) in (None, item)}
            )
        return result
