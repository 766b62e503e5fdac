"""What this process knows: its identity and clocks (:class:`Holder`), each account it uses
(:class:`Account`) and one prepared compare-and-set (:class:`Write`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

from pymongo import DeleteOne, UpdateOne

from om_netsuite import FifoGate

from .allocation import Lease, Need, Plan
from .timing import LeaseTiming, ShareChangeHook

__all__ = ["Account", "Holder", "Write", "chunks", "holders_of", "logger"]

logger = logging.getLogger("om_netsuite.budget")


@dataclass(eq=False)
class Account:
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
class Write:
    """One compare-and-set prepared from one document state."""

    account: Account
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


@dataclass(eq=False)
class Holder:
    """This process as a holder of shares: who it is, its clocks and the accounts it uses."""

    holder_id: str
    name: str
    timing: LeaseTiming
    on_share_change: ShareChangeHook | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    deadline: float = 0.0  # monotonic: no request starts from then on unless the heartbeat renews
    closed: bool = False

    @property
    def lease_ms(self) -> int:
        return round(self.timing.lease_s * 1000)

    @property
    def drain_ms(self) -> int:
        return round(self.timing.attempt_deadline_s * 1000)

    @property
    def rotate_ms(self) -> int:
        return round(max(self.timing.lease_s, 5 * self.timing.renew_s) * 1000)

    def usable(self, account: Account) -> int:
        """What ``account`` may start now (see :meth:`Account.usable`)."""
        return account.usable(time.monotonic(), self.deadline)

    def reopen(self) -> None:
        """Hand each waiting gate what its account may start now. A gate's limit is set from
        :meth:`usable` when a slot is taken or released and when a share changes; the deadline
        moving on (a heartbeat after an overdue one) changes ``usable`` too, and a waiter whose
        gate closed meanwhile would otherwise wait for a release that never comes (seen: an
        account of limit 5 and a grant of 1, its one request waiting behind a gate of 0 until
        ``max_wait``, holding its Kafka partition's commits)."""
        for account in self.accounts.values():
            if account.gate.waiters:
                account.gate.wake(self.usable(account))

    def changed(self, kind: str) -> None:
        if self.on_share_change is not None:
            self.on_share_change(kind)


def holders_of(doc: Mapping[str, Any] | None) -> dict[str, Lease]:
    """The entries of an account document (a malformed entry is logged and ignored)."""
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


def chunks(items: list[Account], size: int) -> Iterable[list[Account]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
