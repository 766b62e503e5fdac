"""The ports every service's use cases share: integrations, leases, cursors and publishing.

A use case (`<service>/service_layer/`) takes these Protocols, never the adapters behind them, so it
runs against the real Mongo/Kafka adapters in the services and against the shared fakes
(`tests/fakes.py`) in unit tests. They are written once here because the three services need the
same four things and, written per service, they had drifted into different shapes (two `Publish`
ports, one a callable of an outcome and one a method taking an event and a key).

What each one is backed by in production:
- `Integrations`: `om_platform.adapters.mongo.integrations.IntegrationStore` (the projection of
  `ordermentum.integrations.v1`, credentials still sealed until a NetSuite session opens them).
- `Leases`: `om_platform.adapters.mongo.leases.LeaseStore` (one holder per name across replicas).
- `Cursors`: a service's Mongo collection of positions per supplier and stream (order_sync's catalog
  high-water marks, finance_sync's feature cursors).
- `Publish`: `om_platform.adapters.kafka` publishers (the outbound topic decided by the event's type).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from pydantic import BaseModel

from om_contracts import IntegrationSettings

P = TypeVar("P")


class Integrations(Protocol):
    """The suppliers' projected integration settings."""

    async def get(self, supplier_id: str) -> IntegrationSettings | None:
        """The supplier's settings, or None when it has no (or a disconnected) NetSuite integration."""
        ...

    def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]:
        """Every supplier with an integration, in supplier id order (the schedulers' walk)."""
        ...


class LeaseLost(Exception):
    """The lease expired or was taken over while its holder still worked."""


class LeaseCheck(Protocol):
    """A held lease: `check()` raises `LeaseLost` once it was lost."""

    def check(self) -> None: ...


class Leases(Protocol):
    """At most one holder per name across every replica."""

    def hold(self, name: str, ttl_s: float = ...) -> AbstractAsyncContextManager[LeaseCheck | None]:
        """Hold `name` while the block runs (renewed meanwhile); yields None when another holds it."""
        ...


class Cursors(Protocol[P]):
    """Where a supplier's stream of work (a catalog poll, a finance feature) stopped last time."""

    async def get(self, supplier_id: str, stream: str) -> P | None: ...

    async def save(self, supplier_id: str, stream: str, position: P) -> None: ...


class Publish(Protocol):
    """Publish one outbound event keyed by `key` (the supplier id); returns once the broker has it."""

    async def __call__(self, event: BaseModel, *, key: str) -> None: ...
