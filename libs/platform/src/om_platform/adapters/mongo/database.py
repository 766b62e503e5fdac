"""What the stores need from the runtime: its database, available once the lifespan has connected it.

The runtime connects MongoDB in its lifespan, after a service's `app.wire` built the adapters; an
adapter written over a collection gets `late_collection`, a stand-in that resolves the collection
once, on first use. Every service reaches its collections (leases included) this one way.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Collection = AsyncCollection[dict[str, Any]]


class HasDatabase(Protocol):
    """Whatever holds the service's database once it has started (the `ServiceRuntime`)."""

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]: ...


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
