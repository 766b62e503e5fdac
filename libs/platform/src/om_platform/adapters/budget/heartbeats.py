"""The process's heartbeat: one ``findAndModify`` per renewal keeps every share it holds live.

A process stops starting requests ``margin`` before its heartbeat ends, measured on its monotonic
clock from the moment the heartbeat was sent (:attr:`Holder.deadline`). The heartbeat document also
carries ``wanted``: the accounts other processes are starved on (:meth:`Heartbeat.tell`).
"""

from __future__ import annotations

import asyncio
import time

from .state import Account, Holder
from .store import BudgetStore

__all__ = ["Heartbeat"]


class Heartbeat:
    def __init__(self, store: BudgetStore, holder: Holder) -> None:
        self._store = store
        self._holder = holder
        self.lock = asyncio.Lock()
        self.beaten = False  # a heartbeat was acknowledged: the holder document exists

    async def beat(self) -> tuple[set[str], bool]:
        """Renew this process's heartbeat (one command): every share it holds stays live.

        Returns the accounts other processes asked for since the previous beat, and whether the
        heartbeat had lapsed (or its document was lost): then entries may have been dropped.
        """
        sent = time.monotonic()
        doc = await self._store.beat()
        if doc is None:  # pragma: no cover - an upsert returning AFTER always has a document
            return set(), True
        now_ms = int(doc["expires"]) - self._holder.lease_ms
        lapsed = self.beaten and int(doc.get("before", 0)) <= now_ms
        self.beaten = True
        timing = self._holder.timing
        overdue = time.monotonic() >= self._holder.deadline
        self._holder.deadline = sent + timing.lease_s - timing.margin_s
        if overdue:
            # Past the old deadline every gate of this process closed as its slots were released
            # (usable() was 0); the grants it holds count again, so its waiters may start.
            self._holder.reopen()
        return {str(account_id) for account_id in doc.get("asked") or ()}, lapsed

    async def ensure(self) -> None:
        """Beat now if the heartbeat is not live (first use, or after a lapse) before writing a share."""
        if time.monotonic() < self._holder.deadline:
            return
        async with self.lock:
            if time.monotonic() >= self._holder.deadline:
                _, lapsed = await self.beat()
                if lapsed:
                    for account in self._holder.accounts.values():
                        if account.registered:
                            account.suspect = True

    async def tell(self, account: Account) -> None:
        """Ask the holders of an account this process is starved on to re-plan it at their next
        heartbeat (one command per starvation episode, for the holders not told yet)."""
        holders = [holder for holder in account.holding if holder not in account.told]
        if not holders:
            return
        await self._store.ask(holders, account.account_id)
        account.told.update(holders)
