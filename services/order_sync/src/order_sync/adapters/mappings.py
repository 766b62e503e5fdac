"""`MappingResolver` over the shared `om_platform.mappings.MappingStore`, and settings read fresh."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Literal

from om_contracts import Customer, IntegrationSettings, Product
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.adapters.mongo.mappings import MappingStore


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

    async def freight_item(self, supplier_id: str, customer_id: str) -> str | None:
        return await self._store.stored_property(
            supplier_id, "customer", customer_id, "netsuite_freight_item_id"
        )

    async def mapped(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        kind: Literal["customer", "product"],
        ids: Iterable[str],
    ) -> set[str]:
        return await self._store.mapped(supplier_id, integration, kind, ids)


class FreshIntegrations:
    """`om_platform.ports.Integrations` that always reads MongoDB (re-syncs must see a change another replica applied)."""

    def __init__(self, store: IntegrationStore) -> None:
        self._store = store

    async def get(self, supplier_id: str) -> IntegrationSettings | None:
        return await self._store.get(supplier_id, fresh=True)

    def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]:
        return self._store.configured()
