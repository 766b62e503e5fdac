"""`MappingResolver` over the shared `om_platform.mappings.MappingStore`."""

from __future__ import annotations

from collections.abc import Mapping

from om_contracts import Customer, IntegrationSettings, Product
from om_platform.mappings import MappingStore


class StoreMappings:
    def __init__(self, store: MappingStore) -> None:
        self._store = store

    async def resolve_customer(
        self, supplier_id: str, integration: IntegrationSettings, customer: Customer
    ) -> str | None:
        resolved = await self._store.resolve(supplier_id, integration, "customer", [customer])
        return resolved.get(customer.id)

    async def resolve_products(
        self, supplier_id: str, integration: IntegrationSettings, products: list[Product]
    ) -> Mapping[str, str | None]:
        unique = list({product.id: product for product in products}.values())
        return await self._store.resolve(supplier_id, integration, "product", unique)
