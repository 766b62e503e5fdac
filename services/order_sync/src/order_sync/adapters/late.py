"""A collection of the runtime's database named at wiring time and reached at first use.

The runtime connects MongoDB in its lifespan, after `app.wire` built the adapters; an adapter
written over a collection gets this stand-in, which resolves the collection once, on first use.
"""

from __future__ import annotations

from typing import Any, cast

from pymongo.asynchronous.collection import AsyncCollection

from om_platform.adapters.mongo.database import HasDatabase

Collection = AsyncCollection[dict[str, Any]]


class _Late:
    def __init__(self, db: HasDatabase, name: str) -> None:
        self._db = db
        self._name = name
        self._collection: Collection | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._collection is None:
            self._collection = self._db.db[self._name]
        return getattr(self._collection, attribute)


def late_collection(db: HasDatabase, name: str) -> Collection:
    """`db.db[name]`, looked up when first used (not before the runtime started)."""
    return cast(Collection, _Late(db, name))
