"""``MongoBudget``: each process holds a leased share of an account's limit, kept in MongoDB.

NetSuite's concurrency limit is per account, whoever calls (every service, every replica). Each
process holds a granted integer **share** of every account it is using and spends it through a
local :class:`~om_netsuite.FifoGate`; MongoDB is only touched to obtain, renew, grow, shrink or
return a share. In steady state a NetSuite request costs no MongoDB operation at all. This is the
design of lease-based global rate limiters such as Doorman: clients lease capacity, shares are
recomputed by a fair-share rule at every renewal, and a crashed client's lease simply expires.

Storage (queried by ``_id`` only)
---------------------------------
* ``<collection>``: one document per account, ``{_id: <account>, epoch, version, holders: {<holder
  id>: {share, demand, limit, turn, stamp, name, expires}}, restored?}``. Written only when an
  allocation changes. Every change is a compare-and-set: read, compute (:mod:`._allocation`), write
  filtered on ``{_id, epoch, version}``, retry on conflict. A holder writes its own entry (and
  drops entries that no longer count). A document is created by an upsert filtered on a fresh
  random ``epoch`` (a concurrent creation fails with a duplicate key and is retried) and deleted,
  version-guarded, when its last holder leaves. ``expires`` in an entry is for operators only.
* ``<collection>_holders``: one **heartbeat** per process, ``{_id: <holder id>, expires, drain,
  name, wanted, expire_at}``, renewed every ``renew`` with one ``findAndModify`` whatever the number
  of accounts held: liveness costs O(1) per process. ``wanted`` lists the accounts other processes
  are starved on (they add to it; the beat reads and clears it atomically). ``expire_at`` (TTL)
  removes it once nothing it held can count.

Writes use ``w: majority`` and reads a majority read concern: a fail-over cannot roll back an
acknowledged grow. Every command runs under ``pymongo.timeout(margin)``: a renewal never blocks
longer than the margin.

Time: the server's clock
------------------------
Expiry is judged in MongoDB's time: reads return ``$$NOW`` next to the documents and the heartbeat
sets ``expires = $$NOW + lease`` in an update pipeline. Client clocks may be off by any amount. A
process stops **starting** requests ``margin`` before its heartbeat ends, measured on its monotonic
clock from the moment the heartbeat was *sent*. ``margin`` covers a step of the server clock (or a
fail-over to a primary whose clock differs), event-loop stalls, and the time to the wire.

The invariant: the shares that count sum to at most the limit, and cover every request that may be at NetSuite
-------------------------------------------------------------------------------------------------------------
* Who counts: an entry counts while its holder's heartbeat is live, then for the holder's ``drain``
  (``attempt_deadline``: the client's hard per-attempt deadline), because a request it started
  before its heartbeat lapsed may still run at NetSuite until then. Only then is it dropped.
* A grant only takes capacity that no counted entry covers, computed on the exact state it
  replaces (compare-and-set), and a holder never writes less than it has in flight — where "in
  flight" includes attempts the client stopped waiting for (timeout, cancellation), whose slot the
  client keeps until their attempt deadline.
* SIGKILL / SIGSTOP / a stalled loop: the holder's shares count for ``lease + attempt_deadline``; a
  holder that comes back finds its heartbeat lapsed, starts nothing until it has re-read each
  account (``suspect``), and one whose entry was dropped claims what it still has in flight.
* MongoDB unreachable: nobody can grant; a holder that cannot beat stops starting requests
  ``margin`` before its heartbeat ends, so its waiters wait (at most ``max_wait`` ->
  :class:`~om_netsuite.BudgetTimeout`, transient).
* Limit lowered at run time: grants use the lowest limit among counted holders; a process that sees
  a lower limit in ``slot()`` clamps locally at once and writes it at once. Others shrink when they
  re-plan (they are told, or it is contended) and keep covering their requests in flight.
* Documents lost (a restore, an in-memory restart): each holder finds its heartbeat gone at its
  next beat (``before`` 0) and marks every account suspect; an account document lost alone is found
  by the audit (50 held accounts checked per renewal: within ``ceil(held / 50)`` renewals). The former
  holder that re-creates the document stamps ``restored`` (+30 s): until then former holders come
  back with at most what they held and nobody grows. While the copy of the document a holder keeps
  (``known``) records an open window, its writes read the document first and are never computed
  from the copy (they were: a re-creator grew to the whole limit from its copy while the other former
  holder, not aware of the loss yet, still had requests in flight, then claimed them: 6 in flight
  against 5). A holder that claims more in flight than it may hold starts nothing until it has
  drained below its grant. Not covered: a process that never held the
  account creating it first, within one renewal of the loss. NetSuite answers such an excess with
  429, which the client's retry policy absorbs.

Fairness and responsiveness
---------------------------
* The fair target is max-min by demand (:func:`~._allocation.water_fill`); with more hungry
  holders than units, a round robin with a proven bound (:mod:`._allocation`).
* A process whose waiting requests want more than it holds writes its demand and tells the
  holders (``wanted``, one update per starvation episode); they re-plan that account at their next
  heartbeat and every renewal while it stays contended. A holder above its target lowers its local
  limit at once and writes the lower share when its requests in flight fit ("early return").
* A starved process polls every ``poll`` (jittered); one at its fair share with requests waiting
  reads every ``renew / 4``. Bound: a starved process gets its fair share within about ``renew``
  + the longest request in flight + ``poll`` + a few MongoDB round trips.
* An idle share nobody wants is kept for ``keep_idle`` after its last request (1 h by default):
  keeping costs nothing per renewal. A newcomer wanting it tells the idle holder, which leaves at
  its next heartbeat.
* A first contact with an account creates its document without reading it (one command); when it
  exists already, that insert fails on the ``_id`` and the holder reads it and retries. A holder
  that grows computes its write from the document as it last wrote it (filtered on that version)
  unless the account is contended (its rotation must be judged at the current server time).
* Cost: one ``findAndModify`` per ``renew`` per process, plus one audit read (and a read of the
  holders' heartbeats when others hold shares) per renewal, plus reads and writes where
  allocations change; nothing per request.

Lifecycle
---------
:meth:`MongoBudget.start` starts the renewal loop (the service runtime does so in its lifespan and
supervises the task: if it dies, liveness fails); ``slot()`` starts it on first need if nobody did.
:meth:`MongoBudget.aclose` stops it and returns every share (run it after requests have drained).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

import pymongo
from pymongo import DeleteOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from ._allocation import Lease, Need, Plan, plan
from ._budget import FifoGate
from ._exceptions import BudgetTimeout

__all__ = ["LeaseTiming", "MongoBudget"]

logger = logging.getLogger("om_netsuite.budget")

_NOW_MS = {"$toLong": "$$NOW"}
_CHUNK = 500  # accounts per renewal read and bulk write
_AUDIT = 50  # held accounts checked per renewal (finds a document lost alone; one small read)
#: After a lost account document is re-created by a former holder, nobody grows (newcomers wait)
#: for this long: the other former holders find the loss (a lost database at their next heartbeat)
#: and claim back what they held, so the shares written never exceed what was held before it.
_RESTORE_WINDOW_MS = 30_000
_CAS_ATTEMPTS = 8

#: ``on_operation(name)`` once per MongoDB command the budget sends.
OperationHook = Callable[[str], None]
#: ``on_share_change(kind)``: ``grow``, ``shrink``, ``return`` or ``expired``.
ShareChangeHook = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    """The budget's clocks (seconds); see the module docstring for what each one bounds."""

    renew_s: float = 2.0
    lease_s: float = 10.0
    margin_s: float = 2.0
    poll_s: float = 0.2
    max_wait_s: float = 300.0
    keep_idle_s: float = 3600.0
    """How long after its last request an idle share nobody else wants is kept (0: returned at the
    first renewal without demand). Another process wanting the account's capacity takes it back
    within the starvation bound whatever this says. Keeping costs nothing per renewal (liveness is
    one heartbeat per process)."""
    attempt_deadline_s: float = 120.0
    """The hard deadline of one request attempt (``NetSuiteClient(attempt_deadline=...)``, the same
    value): after its holder's heartbeat lapsed, a share still counts this long, since a request
    it covered may still be running at NetSuite until then."""

    def __post_init__(self) -> None:
        timings = (
            self.renew_s,
            self.lease_s,
            self.margin_s,
            self.poll_s,
            self.max_wait_s,
            self.attempt_deadline_s,
        )
        if min(timings) <= 0:
            raise ValueError("budget timings must be positive")
        if self.keep_idle_s < 0:
            raise ValueError("keep_idle_s must not be negative")
        if self.renew_s + self.margin_s >= self.lease_s:
            raise ValueError("the lease must outlast a renewal interval plus the margin")


@dataclass(eq=False)
class _Account:
    """This process's view of one account."""

    account_id: str
    limit: int
    gate: FifoGate = field(default_factory=lambda: FifoGate(limit=0))
    grant: int = 0  # local limit: what may be in flight from this process
    share: int = 0  # what the document holds for this process (>= grant, >= in flight)
    target: int = 0
    starved: bool = False
    contended: bool = False  # another live holder wants more than it holds
    registered: bool = False  # has an entry in the document
    suspect: bool = False  # the heartbeat lapsed: nothing starts until the entry is read again
    lost_share: int | None = None  # the share held when the entry was found lost, until re-registered
    holding: list[str] = field(default_factory=list)  # other active holders with a share (last read)
    written_limit: int = 0
    epoch: Any = None
    version: int = 0
    peak_demand: int = 0  # since the previous renewal
    settled_for: int = -1  # capped demand for which the last plan left nothing to gain
    last_used: float = 0.0  # monotonic: when a request of this process last finished
    met: bool = False  # a write for this account was tried: its document may exist
    known: dict[str, Any] | None = None  # the document as this process last wrote it
    known_now_ms: int = 0  # the server time the write was computed with
    known_beats: dict[str, tuple[int, int]] = field(default_factory=dict)  # holders' heartbeats then
    told: set[str] = field(default_factory=set)  # holders told this process is starved here
    task: asyncio.Task[None] | None = None
    wait_timer: asyncio.TimerHandle | None = None  # fails waits longer than max_wait

    def demand(self) -> int:
        return self.gate.in_use + len(self.gate.waiters)

    def usable(self, now: float, deadline: float) -> int:
        """What may start now: nothing once the process's heartbeat is about to lapse."""
        if not self.registered or self.suspect or now >= deadline:
            return 0
        return min(self.grant, self.limit)

    def need(self) -> Need:
        return Need(max(self.peak_demand, self.demand()), self.limit, self.gate.in_use)

    def take_need(self) -> Need:
        """The need for a renewal; the peak starts again from the current demand."""
        need = self.need()
        self.peak_demand = self.demand()
        return need

    def unmet(self) -> bool:
        """Requests wait for more than this process holds, and the limit has more."""
        return bool(self.gate.waiters) and self.grant < min(self.demand(), self.limit)

    def wants_write(self) -> bool:
        """A lower share can be written (early return) or a lowered limit is not written yet."""
        if not self.registered:
            return False
        early_return = self.share > self.grant and self.gate.in_use <= self.grant
        return early_return or self.written_limit > self.limit


@dataclass(eq=False)
class _Write:
    """One compare-and-set prepared from one document state."""

    account: _Account
    kind: Literal["update", "insert", "delete", "noop"]
    plan: Plan | None
    need: Need
    stamp: str = ""
    filter: dict[str, Any] = field(default_factory=dict)
    update: list[dict[str, Any]] = field(default_factory=list)
    epoch: Any = None
    version: int = 0
    holders: dict[str, Lease] = field(default_factory=dict)  # what an update writes
    now_ms: int = 0
    beats: dict[str, tuple[int, int]] = field(default_factory=dict)  # heartbeats it was computed with
    restored_ms: int = 0  # the document's restore window (server time) this write was computed under

    def operation(self) -> UpdateOne | DeleteOne:
        if self.kind == "delete":
            return DeleteOne(self.filter)
        return UpdateOne(self.filter, self.update, upsert=self.kind == "insert")


def _holders(doc: Mapping[str, Any] | None) -> dict[str, Lease]:
    raw = doc.get("holders") if doc is not None else None
    if not isinstance(raw, Mapping):
        return {}
    holders: dict[str, Lease] = {}
    for holder, entry in raw.items():
        try:
            holders[str(holder)] = Lease.from_doc(entry)
        except (TypeError, ValueError, AttributeError):
            logger.warning("netsuite budget: malformed holder entry ignored", extra={"holder": holder})
    return holders


def _chunks(items: list[_Account], size: int) -> Iterable[list[_Account]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class MongoBudget:
    """:class:`~om_netsuite.Budget` shared by every process using the same collection.

    ``collection`` holds one document per account in use; ``timing`` sets the renewal interval,
    lease, margin, starvation poll and longest wait; ``name`` labels this process's entries for
    operators; ``on_operation`` / ``on_share_change`` feed metrics.
    """

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        timing: LeaseTiming | None = None,
        name: str | None = None,
        on_operation: OperationHook | None = None,
        on_share_change: ShareChangeHook | None = None,
    ) -> None:
        # Majority on both sides: a grow acknowledged by a primary that then fails over is not
        # rolled back, and a read never sees a share that may be rolled back.
        majority, committed = WriteConcern("majority"), ReadConcern("majority")
        self._collection = collection.with_options(write_concern=majority, read_concern=committed)
        self._beats = collection.database.get_collection(
            f"{collection.name}_holders", write_concern=majority, read_concern=committed
        )
        self.timing = timing if timing is not None else LeaseTiming()
        self.holder_id = secrets.token_hex(8)
        self.name = name or f"{socket.gethostname()}/{os.getpid()}"
        self._on_operation = on_operation
        self._on_share_change = on_share_change
        self._lease_ms = round(self.timing.lease_s * 1000)
        self._drain_ms = round(self.timing.attempt_deadline_s * 1000)
        self._deadline = 0.0  # monotonic: no request starts from then on unless the heartbeat renews
        self._beaten = False  # a heartbeat was acknowledged: the holder document exists
        self._beat_lock = asyncio.Lock()
        self._audit_at = 0  # where the next audit of held accounts starts
        self._rotate_ms = round(max(self.timing.lease_s, 5 * self.timing.renew_s) * 1000)
        self._accounts: dict[str, _Account] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._indexed = False
        self._closed = False
        self._failing = False
        self.operations: dict[str, int] = {}
        """MongoDB commands sent by this budget, by command name."""

    # -- what the process holds ----------------------------------------------------------------

    def granted(self) -> int:
        """Slots this process may use now, summed over its accounts."""
        now = time.monotonic()
        return sum(account.usable(now, self._deadline) for account in self._accounts.values())

    def accounts_held(self) -> int:
        """Accounts this process has an entry for."""
        return sum(1 for account in self._accounts.values() if account.registered)

    def share_of(self, account_id: str) -> int:
        """The share the document holds for this process (>= what it may start, >= its in flight)."""
        account = self._accounts.get(account_id)
        return account.share if account is not None and account.registered else 0

    def gate(self, account_id: str) -> FifoGate | None:
        """The local gate of an account in use (``in_use`` = this process's requests in flight)."""
        account = self._accounts.get(account_id)
        return None if account is None else account.gate

    # -- the hot path --------------------------------------------------------------------------

    @asynccontextmanager
    async def slot(self, account_id: str, limit: int) -> AsyncIterator[None]:
        """Hold one of this process's share of ``account_id``'s ``limit`` slots."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        account = self._accounts.get(account_id)
        if account is None:
            if self._closed:
                raise RuntimeError("the NetSuite budget is closed")
            account = self._accounts[account_id] = _Account(account_id, limit)
        elif limit != account.limit:
            self._limit_seen(account, limit)
        gate = account.gate
        gate.limit = account.usable(time.monotonic(), self._deadline)
        if gate.in_use < gate.limit and not gate.waiters:
            await gate.acquire()  # free: returns without suspending
            account.peak_demand = max(account.peak_demand, gate.in_use)
        else:
            await self._wait(account)
        try:
            yield
        finally:
            account.last_used = time.monotonic()
            gate.release(account.usable(account.last_used, self._deadline))
            if not self._closed:
                if account.wants_write():
                    self._kick(account)
                elif account.contended and account.demand() == 0 and account.registered:
                    self._start(account, self._manage(account, returning=True))

    async def _wait(self, account: _Account) -> None:
        demand = account.demand() + 1
        account.peak_demand = max(account.peak_demand, demand)
        if self._runner is None and not self._closed:
            self.start()
        lapsed = time.monotonic() >= self._deadline or not account.registered
        capped = min(demand, account.limit)
        if lapsed or (capped > account.grant and capped > account.settled_for):
            self._kick(account)
        if account.wait_timer is None:
            # One timer per account with waiters, not one per wait (that cost ~20 us per request).
            loop = asyncio.get_running_loop()
            account.wait_timer = loop.call_later(self.timing.max_wait_s, self._expire_waits, account)
        await account.gate.acquire()

    def _expire_waits(self, account: _Account) -> None:
        """Fail the waits longer than ``max_wait`` with BudgetTimeout; re-arm for the next oldest."""
        max_wait = self.timing.max_wait_s

        def timeout() -> BudgetTimeout:
            return BudgetTimeout(f"no NetSuite concurrency slot for {account.account_id} within {max_wait}s")

        account.gate.fail_waiters(time.monotonic() - max_wait, timeout)
        oldest = account.gate.oldest_wait()
        account.wait_timer = None
        if oldest is not None:
            delay = max(0.0, oldest + max_wait - time.monotonic())
            account.wait_timer = asyncio.get_running_loop().call_later(delay, self._expire_waits, account)

    def _limit_seen(self, account: _Account, limit: int) -> None:
        lowered = limit < account.limit
        account.limit = limit
        if lowered:
            account.gate.limit = account.usable(time.monotonic(), self._deadline)
            if account.registered and not self._closed:
                self._kick(account)

    # -- obtaining, growing, early returns -----------------------------------------------------

    def _kick(self, account: _Account) -> None:
        self._start(account, self._manage(account))

    def _start(self, account: _Account, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as the account's one background task, unless one is running."""
        if account.task is not None and not account.task.done():
            work.close()
            return
        task = asyncio.create_task(work, name=f"netsuite-budget:{account.account_id}")
        account.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _manage(self, account: _Account, *, returning: bool = False) -> None:
        """The account's one background task: obtain, grow or write a lower share now; poll while
        starved or waiting at the fair share; retry while MongoDB fails; give an idle share back at
        once when another process wants it (``returning``), not at the next renewal."""
        failures = rewrites = 0
        while not self._closed:
            if returning:
                # After ``poll`` without a request, so that a steady trickle of requests keeps its share.
                await asyncio.sleep(self.timing.poll_s)
                returning = account.demand() == 0 and account.registered
                if not returning and not account.gate.waiters:
                    return
            try:
                await self._cas(account, self._idle_need(account) if returning else account.need)
                if account.gate.waiters and (account.starved or account.unmet()):
                    await self._tell(account)  # the holders re-plan at their next heartbeat
                failures = 0
                self._recovered()
            except PyMongoError as error:
                failures += 1
                self._failed("obtain", error)
            returning = False
            waiting = bool(account.gate.waiters)
            if failures:
                if not (waiting or account.wants_write()):
                    return
                pause = min(self.timing.renew_s, self.timing.poll_s * 2 ** min(failures, 6))
            elif account.wants_write() and rewrites < 3:
                rewrites += 1  # released again while we wrote: write the lower share now
                continue
            elif waiting and account.starved:
                pause = self.timing.poll_s
            elif account.unmet():
                # At its fair share but wanting more: capacity comes back when another process's
                # demand drops, which only a read shows. Look more often than the renewal does.
                pause = self.timing.renew_s / 4
            elif account.contended and account.demand() == 0 and account.registered:
                returning = True
                continue
            else:
                return
            rewrites = 0
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - jitter only

    @staticmethod
    def _idle_need(account: _Account) -> Callable[[], Need]:
        """Leave if still idle when the document has been read; else what is in flight and waiting."""
        return lambda: Need(0, account.limit, 0) if account.demand() == 0 else account.need()

    async def _cas(self, account: _Account, need: Callable[[], Need]) -> None:
        """Read the account's document and write this holder's entry until no conflict.

        ``need`` is taken after each read, with no await before the write is prepared: what is in
        flight then is what the written share must cover.
        """
        await self._ensure_beat()
        # While a restore window may be open, read: the window must be judged at the server's time.
        restoring = account.known is not None and int(account.known.get("restored", 0)) > account.known_now_ms
        for attempt in range(_CAS_ATTEMPTS):
            if not account.met:
                # First contact: most accounts in use by nobody else have no document, so try to
                # create it without reading first (one command). If it exists, the insert fails
                # on the _id and the next attempt reads it.
                account.met = True
                write = self._prepare(account, None, 0, {}, need())
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
                known, beats = account.known, account.known_beats
                write = self._prepare(account, known, account.known_now_ms, beats, need())
                if write.kind == "noop":
                    continue
            else:
                docs, now_ms, beats = await self._read([account.account_id])
                write = self._prepare(account, docs.get(account.account_id), now_ms, beats, need())
            if await self._execute(write):
                return
            await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter only
        logger.warning(
            "netsuite budget: write conflicts did not settle", extra={"account_id": account.account_id}
        )

    async def _execute(self, write: _Write) -> bool:
        if write.kind == "noop":
            self._apply(write, time.monotonic())
            return True
        sent = time.monotonic()
        try:
            with self._bounded():
                if write.kind == "delete":
                    self._count("delete")
                    deleted = await self._collection.delete_one(write.filter)
                    ok = deleted.deleted_count == 1
                else:
                    self._count("update")
                    updated = await self._collection.update_one(
                        write.filter, write.update, upsert=write.kind == "insert"
                    )
                    ok = bool(updated.matched_count == 1 or updated.upserted_id is not None)
        except DuplicateKeyError:
            return False  # another process created the document first
        if ok:
            self._apply(write, sent)
        return ok

    # -- computing a write ---------------------------------------------------------------------

    def _prepare(
        self,
        account: _Account,
        doc: Mapping[str, Any] | None,
        now_ms: int,
        beats: Mapping[str, tuple[int, int]],
        need: Need,
        *,
        keep_idle: bool = False,
    ) -> _Write:
        holders = _holders(doc)
        me = self.holder_id
        counted, active = self._counted(holders, beats, now_ms)
        mine = counted.get(me)
        if account.registered and mine is None:
            account.lost_share = account.share  # remembered until a write registers us again
            # Our entry is gone (dropped after a lapse longer than the drain, or the document was
            # lost): whatever we held is no longer ours; the write below claims what is in flight.
            if account.share > 0:
                self._changed("expired")
                logger.warning("netsuite budget: share lost", extra={"account_id": account.account_id})
            account.grant = account.share = 0
            account.registered, account.known = False, None
        result = plan(
            counted, me, now_ms, need, active=active, rotate_ms=self._rotate_ms, keep_idle=keep_idle
        )
        prior = account.lost_share
        restoring = doc is None and prior is not None
        # The end of the restore window this write is computed under (server time). A restoring
        # insert opens it at the server's $$NOW + window; ``now_ms`` (0 when nothing was read) is
        # not later than that, so the copy kept in ``known`` ends no later than the real one.
        restored_ms = now_ms + _RESTORE_WINDOW_MS if restoring else int((doc or {}).get("restored", 0))
        if restoring or restored_ms > now_ms:
            # A lost document is being rebuilt: former holders come back with at most what they
            # held, nobody else gets anything until the window ends.
            ceiling = mine.share if mine is not None else prior or 0
            if result.grant > ceiling:
                result = dataclasses.replace(
                    result, grant=ceiling, share=max(ceiling, need.in_flight), starved=False
                )
        account.holding = [h for h, lease in result.others.items() if h in active and lease.share > 0]
        if result.grant < account.grant:
            # Lower the local limit before the write: if its outcome is unknown we stay within both.
            if not result.leave:
                self._changed("shrink")
            account.grant = result.grant
        epoch, version = (doc.get("epoch"), int(doc.get("version", 0))) if doc is not None else (None, 0)
        write = _Write(account, "noop", result, need, epoch=epoch, version=version, restored_ms=restored_ms)
        if result.leave:
            if doc is None or me not in holders:
                return write
            write.filter = {"_id": account.account_id, "epoch": epoch, "version": version}
            write.version = version + 1
            if not result.others:
                write.kind = "delete"
                return write
            write.kind = "update"
            write.update = [self._set_holders(result.others, epoch, version + 1)]
            return write
        demand = min(need.demand, result.limit)
        contended = any(lease.demand > lease.share for h, lease in result.others.items() if h in active)
        if (
            mine is not None
            and mine.share == result.share == account.share
            and result.grant == account.grant
            and mine.limit == need.limit
            and (mine.demand == demand or (mine.demand > demand and not contended))
        ):
            return write  # nothing another process needs to know: no write
        write.stamp = secrets.token_hex(6)
        served = 1 if result.share > 0 or (mine is not None and mine.share > 0) else 0
        entry = Lease(
            share=result.share,
            demand=min(need.demand, need.limit),
            limit=need.limit,
            expires_ms=0,  # set by the server: $$NOW + lease (for operators)
            stamp=write.stamp,
            name=self.name,
            turn_ms=now_ms + served if result.fresh_turn or mine is None else mine.turn_ms,
        )
        if doc is None:
            write.kind, write.epoch, write.version = "insert", secrets.token_hex(8), 1
            # Filtered on a fresh epoch: matches nothing, so it inserts or fails on the _id.
            write.filter = {"_id": account.account_id, "epoch": write.epoch}
        else:
            write.kind, write.version = "update", version + 1
            write.filter = {"_id": account.account_id, "epoch": epoch, "version": version}
        write.holders, write.now_ms = {**result.others, me: entry}, now_ms
        stamped: dict[str, Any] = {f"holders.{me}.expires": {"$add": [_NOW_MS, self._lease_ms]}}
        if restoring:
            stamped["restored"] = {"$add": [_NOW_MS, _RESTORE_WINDOW_MS]}
        if result.fresh_turn or mine is None:
            # Round robin: served (+1 ms: behind whoever arrived at the same time) or arrived now.
            stamped[f"holders.{me}.turn"] = {"$add": [_NOW_MS, served]}
        write.update = [self._set_holders(write.holders, write.epoch, write.version), {"$set": stamped}]
        write.beats = dict(beats)
        return write

    def _counted(
        self, holders: Mapping[str, Lease], beats: Mapping[str, tuple[int, int]], now_ms: int
    ) -> tuple[dict[str, Lease], set[str]]:
        """The entries whose shares count at ``now_ms``, and the holders whose demand is heard.

        A holder counts while its heartbeat is live (active), then for its drain (its hard
        per-attempt deadline: a request it started may still run at NetSuite); an entry without a
        heartbeat document (lost) counts until the lease its last write set.
        """
        counted: dict[str, Lease] = {}
        active: set[str] = set()
        for holder, lease in holders.items():
            beat = beats.get(holder)
            if holder == self.holder_id:
                live = drained = True
            elif beat is None:
                live = drained = lease.expires_ms > now_ms
            else:
                expires, drain = beat
                live, drained = expires > now_ms, expires + drain > now_ms
            if drained:
                counted[holder] = lease
            if live:
                active.add(holder)
        return counted, active

    def _set_holders(self, holders: Mapping[str, Lease], epoch: Any, version: int) -> dict[str, Any]:
        # Every other entry was written with server time + lease, so $$NOW + 2 leases outlives them.
        return {
            "$set": {
                "epoch": epoch,
                "version": version,
                "holders": {"$literal": {h: lease.to_doc() for h, lease in holders.items()}},
                # Liveness is the heartbeat now: account documents do not expire by themselves.
                "expire_at": "$$REMOVE",
            }
        }

    def _apply(self, write: _Write, sent: float) -> None:
        """Adopt a write the server applied (``sent``: when it left this process)."""
        account, result = write.account, write.plan
        if result is None:
            return
        if write.kind == "noop":
            if account.suspect:
                account.suspect = False  # computed from a fresh read that holds our entry
                account.gate.wake(account.usable(time.monotonic(), self._deadline))
            if not result.leave:
                self._settle(account, result, write.need)
            elif not account.registered:
                account.grant = account.share = 0
            return
        if account.registered and write.epoch == account.epoch and write.version <= account.version:
            return  # an older acknowledgement than one already applied
        before = account.grant
        if result.leave:
            if account.share > 0:
                self._changed("return")
            account.grant = account.share = account.target = 0
            account.registered = False
            account.epoch, account.version, account.known = None, 0, None
            return
        account.grant, account.share = result.grant, result.share
        account.registered, account.suspect, account.lost_share = True, False, None
        # Our entry expires at least a lease after the server time the write was computed with.
        mine = dataclasses.replace(write.holders[self.holder_id], expires_ms=write.now_ms + self._lease_ms)
        if write.plan is not None and write.plan.fresh_turn:
            mine = dataclasses.replace(mine, turn_ms=write.holders[self.holder_id].turn_ms)
        account.known = {
            "_id": account.account_id,
            "epoch": write.epoch,
            "version": write.version,
            "holders": {h: lease.to_doc() for h, lease in {**write.holders, self.holder_id: mine}.items()},
            # A restore window in force when this was written: until a write computed after it
            # ended, writes read first (_cas) and are capped by it, never computed from this copy.
            "restored": write.restored_ms if write.restored_ms > write.now_ms else 0,
        }
        account.known_now_ms = write.now_ms
        account.known_beats = write.beats
        account.written_limit = write.need.limit
        account.epoch, account.version = write.epoch, write.version
        self._settle(account, result, write.need)
        if account.grant > before:
            self._changed("grow")
        elif account.grant < before:
            self._changed("shrink")
        account.gate.wake(account.usable(time.monotonic(), self._deadline))

    @staticmethod
    def _settle(account: _Account, result: Plan, need: Need) -> None:
        account.target, account.starved = result.target, result.starved
        account.contended = any(lease.demand > lease.share for lease in result.others.values())
        if not account.gate.waiters or account.grant >= min(account.demand(), account.limit):
            account.told.clear()  # the episode is over: tell the holders again next time
        # In the terms _wait() compares with: demand capped by the limit this process saw.
        account.settled_for = -1 if result.starved else min(need.demand, need.limit)

    # -- the renewal loop ----------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start the renewal loop (once); the returned task is the one to supervise."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="netsuite-budget")
            self._runner.add_done_callback(self._stopped)
        return self._runner

    @staticmethod
    def _stopped(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # Shares now lapse: requests stop starting a margin before their leases end.
            logger.error("netsuite budget: renewal loop died", exc_info=task.exception())

    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    async def _run(self) -> None:
        while not self._closed:
            await self.renew()
            await asyncio.sleep(self.timing.renew_s * random.uniform(0.9, 1.1))  # noqa: S311 - jitter only

    async def renew(self) -> None:
        """One renewal: one heartbeat for the process, then a read (and a write where an allocation
        changes) for the accounts that need one: those another process asked for, those contended,
        idle ones to return, and a bounded audit slice (a lost document is found within
        ``ceil(held / 200)`` renewals). Nothing per account held otherwise."""
        if not self._indexed:
            await self._ensure_index()
        self._forget_idle()
        try:
            async with self._beat_lock:
                asked, lapsed = await self._beat()
            self._recovered()
        except PyMongoError as error:
            self._failed("heartbeat", error)
            return
        held = [account for account in self._accounts.values() if account.registered]
        if lapsed:
            logger.warning("netsuite budget: heartbeat lapsed; re-reading every share held")
            for account in held:
                account.suspect = True  # nothing starts until its entry has been read again
                account.gate.limit = 0
        keep_since = time.monotonic() - self.timing.keep_idle_s
        due: dict[str, _Account] = {}
        for account in held:
            idle = account.demand() == 0 and account.last_used <= keep_since
            asked_for = account.account_id in asked
            if account.suspect or account.contended or idle or asked_for or account.wants_write():
                due[account.account_id] = account
            else:
                account.take_need()  # the peak starts again for this interval
        audit = [account for account in self._audit(held) if account.account_id not in due]
        try:
            for account in await self._missing(audit):
                due[account.account_id] = account
        except PyMongoError as error:
            self._failed("audit", error)
        for chunk in _chunks(list(due.values()), _CHUNK):
            try:
                await self._renew_chunk(chunk, leaving=self._closed)
                self._recovered()
            except PyMongoError as error:
                self._failed("renew", error)

    def _audit(self, held: list[_Account]) -> list[_Account]:
        """The next ``_AUDIT`` held accounts in turn: a renewal costs the same whatever is held, and
        a document lost alone is found within ``ceil(held / 50)`` renewals (a lost database is
        found at the next heartbeat: its document is gone too)."""
        if len(held) <= _AUDIT:
            return held
        start = self._audit_at % len(held)
        self._audit_at = start + _AUDIT
        return (held[start:] + held[:start])[:_AUDIT]

    async def _missing(self, accounts: list[_Account]) -> list[_Account]:
        """The audit: of ``accounts``, those whose document or entry is gone (one small read)."""
        if not accounts:
            return []
        self._count("aggregate")
        stamp = f"holders.{self.holder_id}.stamp"
        with self._bounded():
            cursor = await self._collection.aggregate(
                [{"$match": {"_id": {"$in": [a.account_id for a in accounts]}}}, {"$project": {stamp: 1}}],
                batchSize=len(accounts) + 1,
            )
            present = {
                str(doc["_id"])
                for doc in await cursor.to_list()
                if (doc.get("holders") or {}).get(self.holder_id, {}).get("stamp")
            }
        return [account for account in accounts if account.account_id not in present]

    async def _beat(self) -> tuple[set[str], bool]:
        """Renew this process's heartbeat (one command): every share it holds stays live.

        Returns the accounts other processes asked for since the previous beat, and whether the
        heartbeat had lapsed (or its document was lost): then entries may have been dropped.
        """
        sent = time.monotonic()
        self._count("findAndModify")
        with self._bounded():
            doc = await self._beats.find_one_and_update(
                {"_id": self.holder_id},
                [
                    {
                        "$set": {
                            "asked": {"$ifNull": ["$wanted", []]},
                            "wanted": [],
                            "before": {"$ifNull": ["$expires", 0]},
                            "expires": {"$add": [_NOW_MS, self._lease_ms]},
                            "drain": self._drain_ms,
                            "name": {"$literal": self.name},
                            # Removed (TTL) once nothing it held can count any more.
                            "expire_at": {"$add": ["$$NOW", 2 * self._lease_ms + self._drain_ms]},
                        }
                    }
                ],
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:  # pragma: no cover - an upsert returning AFTER always has a document
            return set(), True
        now_ms = int(doc["expires"]) - self._lease_ms
        lapsed = self._beaten and int(doc.get("before", 0)) <= now_ms
        self._beaten = True
        self._deadline = sent + self.timing.lease_s - self.timing.margin_s
        return {str(account_id) for account_id in doc.get("asked") or ()}, lapsed

    async def _ensure_beat(self) -> None:
        """Beat now if the heartbeat is not live (first use, or after a lapse) before writing a share."""
        if time.monotonic() < self._deadline:
            return
        async with self._beat_lock:
            if time.monotonic() >= self._deadline:
                _, lapsed = await self._beat()
                if lapsed:
                    for account in self._accounts.values():
                        if account.registered:
                            account.suspect = True

    async def _tell(self, account: _Account) -> None:
        """Ask the holders of an account this process is starved on to re-plan it at their next
        heartbeat (one command per starvation episode, for the holders not told yet)."""
        holders = [holder for holder in account.holding if holder not in account.told]
        if not holders:
            return
        self._count("update")
        with self._bounded():
            await self._beats.update_many(
                {"_id": {"$in": holders}}, {"$addToSet": {"wanted": account.account_id}}
            )
        account.told.update(holders)

    def _bounded(self) -> contextlib.AbstractContextManager[None]:
        """Every budget command gives up after ``margin``: a renewal never blocks past it."""
        return pymongo.timeout(self.timing.margin_s)

    async def _renew_chunk(self, chunk: list[_Account], *, leaving: bool) -> None:
        docs, now_ms, beats = await self._read([account.account_id for account in chunk])
        needs: dict[str, Need] = {}
        writes: list[_Write] = []
        redo: list[_Account] = []
        keep_since = time.monotonic() - self.timing.keep_idle_s
        for account in chunk:
            need = Need(0, account.limit, 0) if leaving else account.take_need()
            needs[account.account_id] = need
            doc = docs.get(account.account_id)
            if doc is None:
                redo.append(account)  # the document is gone with our entry: start over
                continue
            keep = not leaving and account.last_used > keep_since
            writes.append(self._prepare(account, doc, now_ms, beats, need, keep_idle=keep))
        sent_writes = [write for write in writes if write.kind != "noop"]
        for write in writes:
            if write.kind == "noop":
                self._apply(write, time.monotonic())
        if sent_writes:
            sent = time.monotonic()
            # An unordered bulk is one "update" and/or one "delete" command.
            for command in sorted({"delete" if w.kind == "delete" else "update" for w in sent_writes}):
                self._count(command)
            try:
                with self._bounded():
                    result = await self._collection.bulk_write(
                        [w.operation() for w in sent_writes], ordered=False
                    )
                complete = result.matched_count + result.deleted_count == len(sent_writes)
            except BulkWriteError:
                complete = False
            if complete:
                for write in sent_writes:
                    self._apply(write, sent)
            else:
                after, _, _ = await self._read([write.account.account_id for write in sent_writes])
                for write in sent_writes:
                    if self._landed(write, after.get(write.account.account_id)):
                        self._apply(write, sent)
                    else:
                        redo.append(write.account)
        for account in redo:
            redo_need = functools.partial(self._redo_need, account, needs[account.account_id], leaving)
            await self._cas(account, redo_need)
        for account in chunk:
            if account.gate.waiters and (account.starved or account.unmet() or account.suspect):
                self._kick(account)  # poll for capacity between renewals

    @staticmethod
    def _redo_need(account: _Account, taken: Need, leaving: bool) -> Need:
        """A renewal's need for its redo: its peak, and whatever is in flight or waiting by then."""
        if leaving:
            return taken
        return Need(max(taken.demand, account.demand()), account.limit, account.gate.in_use)

    def _landed(self, write: _Write, doc: Mapping[str, Any] | None) -> bool:
        entry = _holders(doc).get(self.holder_id)
        if write.plan is not None and write.plan.leave:
            return entry is None
        return entry is not None and entry.stamp == write.stamp

    def _forget_idle(self) -> None:
        for account_id, account in list(self._accounts.items()):
            idle = not account.registered and account.demand() == 0
            if idle and (account.task is None or account.task.done()):
                del self._accounts[account_id]

    async def aclose(self) -> None:
        """Stop the renewal loop and return every share (call once requests have drained).

        A share still covering a request whose outcome is unknown (the client stopped waiting, or
        holds the slot until the attempt's deadline) is not returned: it lapses with the heartbeat
        and counts for the drain after it, as NetSuite may still be working on that request.
        """
        if self._closed:
            return
        self._closed = True
        tasks = [task for task in (self._runner, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        registered = [account for account in self._accounts.values() if account.registered]
        held = [account for account in registered if account.gate.in_use == 0]
        for chunk in _chunks(held, _CHUNK):
            try:
                await self._renew_chunk(chunk, leaving=True)
            except PyMongoError as error:
                self._failed("return", error)
        if self._beaten and not any(account.registered for account in self._accounts.values()):
            with contextlib.suppress(PyMongoError):  # else it expires by itself
                self._count("delete")
                with self._bounded():
                    await self._beats.delete_one({"_id": self.holder_id})

    # -- MongoDB -------------------------------------------------------------------------------

    async def _read(
        self, ids: list[str]
    ) -> tuple[dict[str, dict[str, Any]], int, dict[str, tuple[int, int]]]:
        """The documents of ``ids``, the server's time (ms) and the heartbeats of their holders:
        one command on the _id index, and one more on the holders' _id when others hold shares."""
        self._count("aggregate")
        with self._bounded():
            cursor = await self._collection.aggregate(
                [{"$match": {"_id": {"$in": ids}}}, {"$addFields": {"_now": _NOW_MS}}],
                batchSize=len(ids) + 1,  # one batch: no getMore
            )
            docs = await cursor.to_list()
            now_ms = max((int(doc.pop("_now")) for doc in docs), default=0)
            holders = {str(h) for doc in docs for h in (doc.get("holders") or {})} - {self.holder_id}
            beats: dict[str, tuple[int, int]] = {}
            if holders:
                self._count("find")
                async for beat in self._beats.find(
                    {"_id": {"$in": sorted(holders)}}, {"expires": 1, "drain": 1}, batch_size=len(holders) + 1
                ):
                    beats[str(beat["_id"])] = (int(beat.get("expires", 0)), int(beat.get("drain", 0)))
        return {str(doc["_id"]): doc for doc in docs}, now_ms, beats

    async def _ensure_index(self) -> None:
        with contextlib.suppress(PyMongoError):  # retried at the next renewal
            self._count("createIndexes")
            await self._beats.create_index("expire_at", expireAfterSeconds=0, name="expire_at_ttl")
            self._indexed = True

    def _count(self, operation: str) -> None:
        self.operations[operation] = self.operations.get(operation, 0) + 1
        if self._on_operation is not None:
            self._on_operation(operation)

    def _changed(self, kind: str) -> None:
        if self._on_share_change is not None:
            self._on_share_change(kind)

    def _failed(self, what: str, error: PyMongoError) -> None:
        if not self._failing:
            logger.warning(
                "netsuite budget: MongoDB unreachable; shares lapse unless renewed",
                extra={"step": what, "error": type(error).__name__},
            )
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            logger.info("netsuite budget: MongoDB answers again")
        self._failing = False
