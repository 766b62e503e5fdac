"""In-memory fakes of the shared ports (`om_platform.ports`), for unit tests of use cases.

One definition each, used by every service's unit tests: a fake that drifts from its port is caught
once, by mypy, here (each class is checked against its Protocol below). Integration and end-to-end
tests never use these: they run the real adapters against the embedded broker and Mongo server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from om_contracts import IntegrationSettings, KeyRing
from om_platform.connections import ConnectionView
from om_platform.connections import Status as ConnectionStatus
from om_platform.leases import LeaseLost
from om_platform.ports import Cursors, Integrations, LeaseCheck, Leases, Publish

P = TypeVar("P")
G = TypeVar("G")


@dataclass
class FakeIntegrations:
    """Settings per supplier; `configured()` walks them in supplier id order, as the store does."""

    settings: dict[str, IntegrationSettings] = field(default_factory=dict)

    async def get(self, supplier_id: str) -> IntegrationSettings | None:
        return self.settings.get(supplier_id)

    async def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]:
        for supplier_id in sorted(self.settings):
            yield supplier_id, self.settings[supplier_id]


@dataclass
class FakeLease:
    name: str
    lost: bool = False

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.name)


@dataclass
class FakeLeases:
    """One holder per name; `busy` names are held by "another replica"; `taken` records each hold."""

    busy: set[str] = field(default_factory=set)
    held: dict[str, FakeLease] = field(default_factory=dict)
    taken: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def hold(self, name: str, ttl_s: float = 60.0) -> AsyncIterator[LeaseCheck | None]:
        if name in self.busy or name in self.held:
            yield None
            return
        lease = self.held[name] = FakeLease(name)
        self.taken.append(name)
        try:
            yield lease
        finally:
            del self.held[name]


@dataclass
class FakeCursors(Generic[P]):
    saved: dict[tuple[str, str], P] = field(default_factory=dict)

    async def get(self, supplier_id: str, stream: str) -> P | None:
        return self.saved.get((supplier_id, stream))

    async def save(self, supplier_id: str, stream: str, position: P) -> None:
        self.saved[(supplier_id, stream)] = position


@dataclass
class RecordingPublisher:
    """Keeps what was published, with its key; `fail` makes the broker unreachable."""

    sent: list[BaseModel] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, event: BaseModel, *, key: str) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent.append(event)
        self.keys.append(key)

    def of_type(self, event_type: str) -> list[Any]:
        return [e for e in self.sent if getattr(e, "event_type", None) == event_type]


@dataclass
class FakeConnections:
    """Suppliers' NetSuite connections: those in `down` have their breaker open."""

    down: set[str] = field(default_factory=set)

    def is_open(self, supplier_id: str) -> bool:
        return supplier_id in self.down

    async def refresh(self, supplier_id: str) -> None:
        return None

    async def load(self, supplier_ids: list[str]) -> Mapping[str, ConnectionStatus]:
        return {
            s: ConnectionStatus(s, state="unreachable" if s in self.down else "connected")
            for s in supplier_ids
        }


@dataclass
class SameForEverySupplier(Generic[G]):
    """A per-supplier NetSuite factory (`for_supplier`) answering one fake for every supplier."""

    gateway: G

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> G:
        return self.gateway


_RING = KeyRing([KeyRing.generate_key()])


def integration_settings(**fields: Any) -> IntegrationSettings:
    """A supplier's settings as `FakeIntegrations` holds them: `fields` over a minimal valid set.

    The credentials are sealed with a key of this test run only: a unit test never opens them.
    """
    sealed = _RING.seal("x").token
    credentials = dict.fromkeys(("client_id", "client_secret", "token_id", "token_secret"), sealed)
    return IntegrationSettings.model_validate(
        {"account_id": "1234567_SB1", "credentials": credentials, "sync_type": "orders", **fields}
    )


# `manage.py typecheck` runs mypy --strict on this file: each fake must satisfy its port.
_integrations: Integrations = FakeIntegrations()
_leases: Leases = FakeLeases()
_cursors: Cursors[str] = FakeCursors[str]()
_publish: Publish = RecordingPublisher()
_connections: ConnectionView = FakeConnections()
