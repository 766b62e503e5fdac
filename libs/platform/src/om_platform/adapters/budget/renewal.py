"""Writing shares: the compare-and-set of one account (:meth:`Renewal.cas`) and the renewal.

A renewal is one heartbeat for the process, then a read (and a write where an allocation changes)
for the accounts that need one: those another process asked for, those contended, idle ones to
return, and a bounded audit slice. Nothing per account held otherwise.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable

from pymongo.errors import PyMongoError

from .allocation import Need
from .documents import Planner
from .heartbeats import Heartbeat
from .state import Account, Holder, Write, chunks, logger
from .store import BudgetStore
from .timing import AUDIT, CAS_ATTEMPTS, CHUNK

__all__ = ["Renewal"]


class Renewal:
    def __init__(
        self,
        holder: Holder,
        store: BudgetStore,
        heartbeat: Heartbeat,
        planner: Planner,
        kick: Callable[[Account], None],
    ) -> None:
        self._holder = holder
        self._store = store
        self._heartbeat = heartbeat
        self._planner = planner
        self._kick = kick  # poll for capacity between renewals
        self._audit_at = 0  # where the next audit of held accounts starts

    # -- one account ---------------------------------------------------------------------------

    async def cas(self, account: Account, need: Callable[[], Need]) -> None:
        """Read the account's document and write this holder's entry until no conflict.

        ``need`` is taken after each read, with no await before the write is prepared: what is in
        flight then is what the written share must cover.
        """
        await self._heartbeat.ensure()
        prepare = self._planner.prepare
        # While a restore window may be open, read: the window must be judged at the server's time.
        restoring = account.known is not None and int(account.known.get("restored", 0)) > account.known_now_ms
        for attempt in range(CAS_ATTEMPTS):
            if not account.met:
                # First contact: most accounts in use by nobody else have no document, so try to
                # create it without reading first (one command). If it exists, the insert fails
                # on the _id and the next attempt reads it.
                account.met = True
                write = prepare(account, None, 0, {}, need())
            elif (
                attempt == 0
                and account.known is not None
                and not (account.suspect or account.contended or restoring)
            ):
                # Growing or writing a new demand: compute from the document as this process last
                # wrote it; the write is filtered on its version, so if anyone wrote since it
                # matches nothing and the next attempt reads. Others' expiries are judged at the
                # older server time (they count longer: safe). A poll (nothing to write) reads, and
                # so does a contended account: its rotation must be judged at the current time.
                write = prepare(account, account.known, account.known_now_ms, account.known_beats, need())
                if write.kind == "noop":
                    continue
            else:
                docs, now_ms, beats = await self._store.read([account.account_id])
                write = prepare(account, docs.get(account.account_id), now_ms, beats, need())
            if await self._execute(write):
                return
            await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter only
        logger.warning(
            "netsuite budget: write conflicts did not settle", extra={"account_id": account.account_id}
        )

    async def _execute(self, write: Write) -> bool:
        if write.kind == "noop":
            self._planner.apply(write)
            return True
        ok = await self._store.execute(write)
        if ok:
            self._planner.apply(write)
        return ok

    # -- the renewal ---------------------------------------------------------------------------

    async def renew(self) -> None:
        """One renewal (see the module docstring); a lost document is found by the audit within
        ``ceil(held / 50)`` renewals."""
        store = self._store
        if not store.indexed:
            await store.ensure_index()
        self.forget_idle()
        try:
            async with self._heartbeat.lock:
                asked, lapsed = await self._heartbeat.beat()
            store.recovered()
        except PyMongoError as error:
            store.failed("heartbeat", error)
            return
        held = [account for account in self._holder.accounts.values() if account.registered]
        if lapsed:
            logger.warning("netsuite budget: heartbeat lapsed; re-reading every share held")
            for account in held:
                account.suspect = True  # nothing starts until its entry has been read again
                account.gate.limit = 0
        due = self._due(held, asked)
        audit = [account for account in self._audit(held) if account.account_id not in due]
        try:
            for account in await store.missing(audit):
                due[account.account_id] = account
        except PyMongoError as error:
            store.failed("audit", error)
        for chunk in chunks(list(due.values()), CHUNK):
            try:
                await self.renew_chunk(chunk, leaving=self._holder.closed)
                store.recovered()
            except PyMongoError as error:
                store.failed("renew", error)

    def _due(self, held: list[Account], asked: set[str]) -> dict[str, Account]:
        """The held accounts this renewal reads; the others only start a new demand peak."""
        keep_since = time.monotonic() - self._holder.timing.keep_idle_s
        due: dict[str, Account] = {}
        for account in held:
            idle = account.demand() == 0 and account.last_used <= keep_since
            asked_for = account.account_id in asked
            if account.suspect or account.contended or idle or asked_for or account.wants_write():
                due[account.account_id] = account
            else:
                account.take_need()  # the peak starts again for this interval
        return due

    def _audit(self, held: list[Account]) -> list[Account]:
        """The next ``AUDIT`` held accounts in turn: a renewal costs the same whatever is held, and
        a document lost alone is found within ``ceil(held / 50)`` renewals (a lost database is
        found at the next heartbeat: its document is gone too)."""
        if len(held) <= AUDIT:
            return held
        start = self._audit_at % len(held)
        self._audit_at = start + AUDIT
        return (held[start:] + held[:start])[:AUDIT]

    async def renew_chunk(self, chunk: list[Account], *, leaving: bool) -> None:
        docs, now_ms, beats = await self._store.read([account.account_id for account in chunk])
        needs: dict[str, Need] = {}
        writes: list[Write] = []
        redo: list[Account] = []
        keep_since = time.monotonic() - self._holder.timing.keep_idle_s
        for account in chunk:
            need = Need(0, account.limit, 0) if leaving else account.take_need()
            needs[account.account_id] = need
            doc = docs.get(account.account_id)
            if doc is None:
                redo.append(account)  # the document is gone with our entry: start over
                continue
            keep = not leaving and account.last_used > keep_since
            writes.append(self._planner.prepare(account, doc, now_ms, beats, need, keep_idle=keep))
        for write in writes:
            if write.kind == "noop":
                self._planner.apply(write)
        redo.extend(await self._send([write for write in writes if write.kind != "noop"]))
        for account in redo:
            redo_need = functools.partial(self._redo_need, account, needs[account.account_id], leaving)
            await self.cas(account, redo_need)
        for account in chunk:
            if account.gate.waiters and (account.starved or account.unmet() or account.suspect):
                self._kick(account)  # poll for capacity between renewals

    async def _send(self, writes: list[Write]) -> list[Account]:
        """Send a chunk's writes in one bulk; the accounts whose write did not land, to redo."""
        if not writes:
            return []
        if await self._store.bulk(writes):
            for write in writes:
                self._planner.apply(write)
            return []
        redo: list[Account] = []
        after, _, _ = await self._store.read([write.account.account_id for write in writes])
        for write in writes:
            if self._planner.landed(write, after.get(write.account.account_id)):
                self._planner.apply(write)
            else:
                redo.append(write.account)
        return redo

    @staticmethod
    def _redo_need(account: Account, taken: Need, leaving: bool) -> Need:
        """A renewal's need for its redo: its peak, and whatever is in flight or waiting by then."""
        if leaving:
            return taken
        return Need(max(taken.demand, account.demand()), account.limit, account.gate.in_use)

    def forget_idle(self) -> None:
        accounts = self._holder.accounts
        for account_id, account in list(accounts.items()):
            idle = not account.registered and account.demand() == 0
            if idle and (account.task is None or account.task.done()):
                del accounts[account_id]

    async def return_all(self) -> None:
        """Return every share not covering a request in flight; drop the heartbeat if nothing is held."""
        registered = [account for account in self._holder.accounts.values() if account.registered]
        held = [account for account in registered if account.gate.in_use == 0]
        for chunk in chunks(held, CHUNK):
            try:
                await self.renew_chunk(chunk, leaving=True)
            except PyMongoError as error:
                self._store.failed("return", error)
        if self._heartbeat.beaten and not any(
            account.registered for account in self._holder.accounts.values()
        ):
            await self._store.drop_beat()
