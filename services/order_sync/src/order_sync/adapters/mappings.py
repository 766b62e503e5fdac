"""`MappingResolver` over the shared `om_platform.mappings.MappingStore`, and the counters."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter

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


class PrometheusCounters:
    """Events handled without an outcome, by reason (bounded label set)."""

    def __init__(self, registry: CollectorRegistry, failures: Counter | None = None) -> None:
        self._failures = failures
        self._counter = Counter(
            "om_order_sync_unpublished_total",
            "Order/invoice events acknowledged without an outcome event, by reason "
            "(sync_type_mismatch, stale, duplicate, republished)",
            ["reason"],
            registry=registry,
        )

    def count(self, what: str) -> None:
        self._counter.labels(what).inc()

    def failure(self, code: str) -> None:
        if self._failures is not None:
            self._failures.labels(code).inc()
