"""`Cursors[P]` in a MongoDB collection: one document per supplier and stream, `_id = supplier:stream`.

Every service keeps its own position type (order_sync's catalog high-water mark, finance's
`Cursor`), so each gives a `CursorCodec` that turns its position into the document's fields and
back; the key, the bookkeeping fields (`supplier_id`, the stream under the service's field name,
`updated_at`) and the upsert are this adapter's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from pymongo.asynchronous.collection import AsyncCollection

P = TypeVar("P")


class CursorCodec(Protocol[P]):
    def encode(self, position: P) -> dict[str, Any]:
        """The document fields that hold `position`."""
        ...

    def decode(self, document: Mapping[str, Any]) -> P | None:
        """The position a stored document holds (None: none yet)."""
        ...


class MongoCursors(Generic[P]):
    def __init__(
        self, collection: AsyncCollection[dict[str, Any]], codec: CursorCodec[P], *, stream_field: str
    ) -> None:
        self._collection = collection
        self._codec = codec
        self._stream_field = stream_field

    async def get(self, supplier_id: str, stream: str) -> P | None:
        document = await self._collection.find_one({"_id": f"{supplier_id}:{stream}"})
        return None if document is None else self._codec.decode(document)

    async def save(self, supplier_id: str, stream: str, position: P) -> None:
        fields = {"supplier_id": supplier_id, self._stream_field: stream, **self._codec.encode(position)}
        await self._collection.update_one(
            {"_id": f"{supplier_id}:{stream}"},
            {"$set": {**fields, "updated_at": datetime.now(UTC)}},
            upsert=True,
        )
