"""Leases in the runtime's ``leases`` collection, for the hourly runs (one holder per slot name)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from om_platform.adapters.mongo.leases import Lease, LeaseStore
from om_platform.runtime import ServiceRuntime


class RuntimeLeases:
    """A `LeaseStore` reached once MongoDB is connected (the runtime's lifespan), not at wiring."""

    def __init__(self, runtime: ServiceRuntime, owner: str) -> None:
        self._runtime = runtime
        self._owner = owner
        self._store: LeaseStore | None = None

    def hold(self, name: str, ttl_s: float = 60.0) -> AbstractAsyncContextManager[Lease | None]:
        # One store for the life of the process: it is this process's incarnation of the identity.
        if self._store is None:
            self._store = LeaseStore(self._runtime.db["leases"], owner=self._owner)
        return self._store.hold(name, ttl_s)
