"""Catalog polling cursors (high-water marks) per supplier and kind, in MongoDB (`om_platform.ports.Cursors[str]`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection


class MongoCursors:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def get(self, supplier_id: str, stream: str) -> str | None:
        document = await self._collection.find_one({"_id": f"{supplier_id}:{stream}"})
        value = document.get("high_water") if document else None
        return value if isinstance(value, str) else None

    async def save(self, supplier_id: str, stream: str, position: str) -> None:
        await self._collection.update_one(
            {"_id": f"{supplier_id}:{stream}"},
            {
                "$set": {
                    "high_water": position,
                    "supplier_id": supplier_id,
                    "kind": stream,
                    "updated_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )
