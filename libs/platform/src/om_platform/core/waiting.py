"""Work waiting for a supplier's NetSuite connection, resumed when the connection comes back.

One mechanism for the three services (issue 24 item 4): each keeps what waits in its own store
(order_sync: failed ledger records with a code a connection heals; finance_sync: parked payment
events; stock_sync: runs held by the runner) and says, through `WaitingWork`, which suppliers have
some and how to take one supplier's up again. `ResumeWhenConnected` is the one place that calls
`resume`: when the connection monitor reports a recovery (`on_recovered`, registered in each
service's `app.py`) and once at start-up (`catch_up`): a recovery no running replica saw (the
service was down, or between its transition and its listener) leaves work waiting behind a breaker
that is closed by now, and the catch-up resumes it.

Driver-free: only the standard library (the monitor and the stores are adapters).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class WaitingWork(Protocol):
    """A service's work waiting for suppliers' NetSuite connections (a port; the service's store)."""

    async def waiting_suppliers(self) -> Iterable[str]:
        """The suppliers with work waiting for their connection now."""
        ...

    async def resume(self, supplier_id: str) -> None:
        """Take the supplier's waiting work up again: quick and idempotent (note it, durably if it
        must survive a crash, and let the service's loop do it)."""
        ...


class BreakerState(Protocol):
    @property
    def breaker_open(self) -> bool: ...


class BreakerStates(Protocol):
    """The suppliers' shared connection states, read now (the connection monitor)."""

    async def load(self, supplier_ids: list[str]) -> Mapping[str, BreakerState]: ...


@dataclass(frozen=True)
class ResumeWhenConnected:
    """Resumes a supplier's waiting work when its connection comes back, and at start-up."""

    connections: BreakerStates
    work: WaitingWork

    async def on_recovered(self, supplier_id: str) -> None:
        """The connection monitor's recovery listener."""
        await self.work.resume(supplier_id)

    async def catch_up(self) -> list[str]:
        """At start-up: resume every supplier with waiting work whose breaker is not open (an open
        one is resumed by its recovery); returns those resumed."""
        waiting = sorted(set(await self.work.waiting_suppliers()))
        states = await self.connections.load(waiting)
        resumed = [supplier_id for supplier_id in waiting if not states[supplier_id].breaker_open]
        for supplier_id in resumed:
            await self.work.resume(supplier_id)
        if resumed:
            log.info("resumed work that waited for %d supplier connection(s) at start", len(resumed))
        return resumed
