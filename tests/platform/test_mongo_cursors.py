"""The platform's MongoCursors against the embedded Mongo-protocol server: one document per
supplier and stream, the service's codec for the position, the bookkeeping fields its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from om_platform.adapters.mongo.cursors import MongoCursors

pytestmark = pytest.mark.integration


class Pair:
    def encode(self, position: tuple[int, int]) -> dict[str, Any]:
        return {"a": position[0], "b": position[1]}

    def decode(self, document: Mapping[str, Any]) -> tuple[int, int] | None:
        return (document["a"], document["b"]) if "a" in document else None


async def test_a_saved_position_is_read_back_per_supplier_and_stream(mongo_db: AsyncDatabase[Any]) -> None:
    cursors = MongoCursors(mongo_db["cursors"], Pair(), stream_field="feature")
    assert await cursors.get("s1", "payments") is None

    await cursors.save("s1", "payments", (1, 2))
    await cursors.save("s1", "payments", (3, 4))
    await cursors.save("s2", "payments", (5, 6))

    assert await cursors.get("s1", "payments") == (3, 4)
    assert await cursors.get("s2", "payments") == (5, 6)
    assert await cursors.get("s1", "invoices") is None
    document = await mongo_db["cursors"].find_one({"_id": "s1:payments"})
    assert document is not None
    assert {k: document[k] for k in ("supplier_id", "feature", "a", "b")} == {
        "supplier_id": "s1",
        "feature": "payments",
        "a": 3,
        "b": 4,
    }
    assert "updated_at" in document


async def test_a_document_without_a_position_is_what_the_codec_says(mongo_db: AsyncDatabase[Any]) -> None:
    await mongo_db["cursors"].insert_one({"_id": "s1:payments", "last_slot": 1})
    cursors = MongoCursors(mongo_db["cursors"], Pair(), stream_field="feature")
    assert await cursors.get("s1", "payments") is None
