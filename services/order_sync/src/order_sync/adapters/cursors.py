"""Catalog polling cursors (high-water marks) per supplier and kind, in MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from order_sync.service_layer.catalog import CatalogKind


class MongoCursors:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def get(self, supplier_id: str, kind: CatalogKind) -> str | None:
        document = await self._collection.find_one({"_id": f"{supplier_id}:{kind}"})
        value = document.get("high_water") if document else None
        return value if isinstance(value, str) else None

    async def set(self, supplier_id: str, kind: CatalogKind, high_water: str) -> None:
        await self._collection.update_one(
            {"_id": f"{supplier_id}:{kind}"},
            {
                "$set": {
                    "high_water": high_water,
                    "supplier_id": supplier_id,
                    "kind": kind,
                    "updated_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )
