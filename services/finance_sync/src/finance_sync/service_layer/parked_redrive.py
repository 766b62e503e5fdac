"""Parked payment events sent again once their supplier's NetSuite connection is back.

The listeners (`want`, `on_settings_change`) run inside the request or poll that saw the change:
they only note the supplier; `run_forever`, a supervised loop, sends its parked events back to the
payments topic (`Reconciler.redrive_parked`), and tries again after `retry_s` when that failed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from finance_sync.service_layer.ports import Connections, Ledger
from finance_sync.service_layer.reconcile import Reconciler, Redrive
from om_platform.core.waiting import ResumeWhenConnected

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ParkedRedrive:
    """Which suppliers' parked events are to be sent again, and the loop that sends them."""

    _to_redrive: set[str] = field(default_factory=set, init=False, repr=False)
    _wanted: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    reconciler: Reconciler
    ledger: Ledger
    connections: Connections
    send: Redrive
    retry_s: float

    def want(self, supplier_id: str) -> None:
        """Send the supplier's parked events again (its connection came back)."""
        self._to_redrive.add(supplier_id)
        self._wanted.set()

    def on_settings_change(self, supplier_id: str, credentials_changed: bool) -> None:
        """New credentials may pass where the old were refused; an open breaker waits for its probe."""
        if credentials_changed and not self.connections.is_open(supplier_id):
            self.want(supplier_id)

    @property
    def when_connected(self) -> ResumeWhenConnected:
        """The platform's waiting mechanism over the parked events (this is their `WaitingWork`)."""
        return ResumeWhenConnected(self.connections, self)

    async def waiting_suppliers(self) -> set[str]:
        return {entry["supplier_id"] for entry in await self.ledger.parked()}

    async def resume(self, supplier_id: str) -> None:
        self.want(supplier_id)

    async def run_forever(self) -> None:
        # At start: what a recovery seen by no running replica left parked (breaker closed now).
        await self.when_connected.catch_up()
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            for supplier_id in sorted(self._to_redrive):
                self._to_redrive.discard(supplier_id)
                try:
                    await self.reconciler.redrive_parked(supplier_id, self.send)
                except Exception:
                    log.exception("sending parked payments again failed", extra={"supplier_id": supplier_id})
                    self._to_redrive.add(supplier_id)
            if self._to_redrive:
                await asyncio.sleep(self.retry_s)  # a failed send: try again later
                self._wanted.set()
