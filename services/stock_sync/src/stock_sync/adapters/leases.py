"""`Leases` over the runtime's shared `leases` collection, which exists once MongoDB is connected."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from functools import cached_property

from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.core.ports import LeaseCheck
from om_platform.runtime import ServiceRuntime


class RuntimeLeases:
    def __init__(self, runtime: ServiceRuntime, *, owner: str) -> None:
        self._runtime = runtime
        self._owner = owner

    @cached_property
    def _store(self) -> LeaseStore:
        # One store for the life of the process: it is this process's incarnation of the identity
        # (a restarted process takes its own earlier leases back at once).
        return LeaseStore(self._runtime.db["leases"], owner=self._owner)

    def hold(self, name: str, ttl_s: float = 60.0) -> AbstractAsyncContextManager[LeaseCheck | None]:
        return self._store.hold(name, ttl_s)
