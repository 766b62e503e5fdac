"""Computing a compare-and-set on an account document, and adopting it once the server applied it.

No I/O here: :class:`Planner` turns one state of a document (and the heartbeats of its holders, at
one server time) into this holder's next entry with :func:`~.allocation.plan`, and keeps the
account's local view in step with what was written.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from typing import Any

from .allocation import Lease, Need, Plan, plan
from .state import Account, Holder, Write, holders_of, logger
from .timing import NOW_MS, RESTORE_WINDOW_MS

__all__ = ["Planner"]


class Planner:
    def __init__(self, holder: Holder) -> None:
        self._holder = holder

    # -- computing a write ---------------------------------------------------------------------

    def prepare(
        self,
        account: Account,
        doc: Mapping[str, Any] | None,
        now_ms: int,
        beats: Mapping[str, tuple[int, int]],
        need: Need,
        *,
        keep_idle: bool = False,
    ) -> Write:
        holders = holders_of(doc)
        me = self._holder.holder_id
        counted, active = self.counted(holders, beats, now_ms)
        mine = counted.get(me)
        if account.registered and mine is None:
            self._forget_lost(account)
        result = plan(
            counted, me, now_ms, need, active=active, rotate_ms=self._holder.rotate_ms, keep_idle=keep_idle
        )
        restoring = doc is None and account.lost_share is not None
        # The end of the restore window this write is computed under (server time). A restoring
        # insert opens it at the server's $$NOW + window; ``now_ms`` (0 when nothing was read) is
        # not later than that, so the copy kept in ``known`` ends no later than the real one.
        restored_ms = now_ms + RESTORE_WINDOW_MS if restoring else int((doc or {}).get("restored", 0))
        if restoring or restored_ms > now_ms:
            # A lost document is being rebuilt: former holders come back with at most what they
            # held, nobody else gets anything until the window ends.
            ceiling = mine.share if mine is not None else account.lost_share or 0
            if result.grant > ceiling:
                result = dataclasses.replace(
                    result, grant=ceiling, share=max(ceiling, need.in_flight), starved=False
                )
        account.holding = [h for h, lease in result.others.items() if h in active and lease.share > 0]
        if result.grant < account.grant:
            # Lower the local limit before the write: if its outcome is unknown we stay within both.
            if not result.leave:
                self._holder.changed("shrink")
            account.grant = result.grant
        epoch, version = (doc.get("epoch"), int(doc.get("version", 0))) if doc is not None else (None, 0)
        write = Write(account, "noop", result, need, epoch=epoch, version=version, restored_ms=restored_ms)
        if result.leave:
            return self._leave(write, result, present=doc is not None and me in holders)
        if self._unchanged(account, mine, result, need, active):
            return write  # nothing another process needs to know: no write
        return self._entry(write, result, mine, now_ms, beats, create=doc is None, restoring=restoring)

    def _forget_lost(self, account: Account) -> None:
        """Our entry is gone (dropped after a lapse longer than the drain, or the document was
        lost): whatever we held is no longer ours; the next write claims what is in flight."""
        account.lost_share = account.share  # remembered until a write registers us again
        if account.share > 0:
            self._holder.changed("expired")
            logger.warning("netsuite budget: share lost", extra={"account_id": account.account_id})
        account.grant = account.share = 0
        account.registered, account.known = False, None

    def _leave(self, write: Write, result: Plan, *, present: bool) -> Write:
        """Remove this holder's entry (the document itself when nobody else is in it)."""
        if not present:
            return write
        epoch, version = write.epoch, write.version
        write.filter = {"_id": write.account.account_id, "epoch": epoch, "version": version}
        write.version = version + 1
        if not result.others:
            write.kind = "delete"
            return write
        write.kind = "update"
        write.update = [self.set_holders(result.others, epoch, version + 1)]
        return write

    @staticmethod
    def _unchanged(account: Account, mine: Lease | None, result: Plan, need: Need, active: set[str]) -> bool:
        """The entry as written already says everything another process needs to know."""
        demand = min(need.demand, result.limit)
        contended = any(lease.demand > lease.share for h, lease in result.others.items() if h in active)
        return (
            mine is not None
            and mine.share == result.share == account.share
            and result.grant == account.grant
            and mine.limit == need.limit
            and (mine.demand == demand or (mine.demand > demand and not contended))
        )

    def _entry(
        self,
        write: Write,
        result: Plan,
        mine: Lease | None,
        now_ms: int,
        beats: Mapping[str, tuple[int, int]],
        *,
        create: bool,
        restoring: bool,
    ) -> Write:
        """Write this holder's entry: an insert of a new document, or an update of the one read."""
        holder, need = self._holder, write.need
        me = holder.holder_id
        write.stamp = secrets.token_hex(6)
        served = 1 if result.share > 0 or (mine is not None and mine.share > 0) else 0
        entry = Lease(
            share=result.share,
            demand=min(need.demand, need.limit),
            limit=need.limit,
            expires_ms=0,  # set by the server: $$NOW + lease (for operators)
            stamp=write.stamp,
            name=holder.name,
            turn_ms=now_ms + served if result.fresh_turn or mine is None else mine.turn_ms,
        )
        epoch, version = write.epoch, write.version
        if create:
            write.kind, write.epoch, write.version = "insert", secrets.token_hex(8), 1
            # Filtered on a fresh epoch: matches nothing, so it inserts or fails on the _id.
            write.filter = {"_id": write.account.account_id, "epoch": write.epoch}
        else:
            write.kind, write.version = "update", version + 1
            write.filter = {"_id": write.account.account_id, "epoch": epoch, "version": version}
        write.holders, write.now_ms = {**result.others, me: entry}, now_ms
        stamped: dict[str, Any] = {f"holders.{me}.expires": {"$add": [NOW_MS, holder.lease_ms]}}
        if restoring:
            stamped["restored"] = {"$add": [NOW_MS, RESTORE_WINDOW_MS]}
        if result.fresh_turn or mine is None:
            # Round robin: served (+1 ms: behind whoever arrived at the same time) or arrived now.
            stamped[f"holders.{me}.turn"] = {"$add": [NOW_MS, served]}
        write.update = [self.set_holders(write.holders, write.epoch, write.version), {"$set": stamped}]
        write.beats = dict(beats)
        return write

    def counted(
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
            if holder == self._holder.holder_id:
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

    @staticmethod
    def set_holders(holders: Mapping[str, Lease], epoch: Any, version: int) -> dict[str, Any]:
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

    # -- adopting a write ----------------------------------------------------------------------

    def landed(self, write: Write, doc: Mapping[str, Any] | None) -> bool:
        """Whether ``write`` (whose acknowledgement was lost) is what ``doc`` holds now."""
        entry = holders_of(doc).get(self._holder.holder_id)
        if write.plan is not None and write.plan.leave:
            return entry is None
        return entry is not None and entry.stamp == write.stamp

    def apply(self, write: Write) -> None:
        """Adopt a write the server applied (or a no-op computed from a fresh state)."""
        account, result = write.account, write.plan
        if result is None:
            return
        if write.kind == "noop":
            self._adopt_noop(account, result, write.need)
            return
        if account.registered and write.epoch == account.epoch and write.version <= account.version:
            return  # an older acknowledgement than one already applied
        before = account.grant
        if result.leave:
            if account.share > 0:
                self._holder.changed("return")
            account.grant = account.share = account.target = 0
            account.registered = False
            account.epoch, account.version, account.known = None, 0, None
            return
        account.grant, account.share = result.grant, result.share
        account.registered, account.suspect, account.lost_share = True, False, None
        self._remember(write)
        account.written_limit = write.need.limit
        account.epoch, account.version = write.epoch, write.version
        self.settle(account, result, write.need)
        if account.grant > before:
            self._holder.changed("grow")
        elif account.grant < before:
            self._holder.changed("shrink")
        account.gate.wake(self._holder.usable(account))

    def _adopt_noop(self, account: Account, result: Plan, need: Need) -> None:
        account.suspect = False  # computed from a fresh read that holds our entry
        # Nothing changed in the document, but the gate may have closed while the heartbeat was
        # overdue (a slot released then): a poll that finds the grant unchanged reopens it.
        account.gate.wake(self._holder.usable(account))
        if not result.leave:
            self.settle(account, result, need)
        elif not account.registered:
            account.grant = account.share = 0

    def _remember(self, write: Write) -> None:
        """Keep the document as this write left it (``known``): the next grow computes from it."""
        account, me = write.account, self._holder.holder_id
        # Our entry expires at least a lease after the server time the write was computed with.
        mine = dataclasses.replace(write.holders[me], expires_ms=write.now_ms + self._holder.lease_ms)
        if write.plan is not None and write.plan.fresh_turn:
            mine = dataclasses.replace(mine, turn_ms=write.holders[me].turn_ms)
        account.known = {
            "_id": account.account_id,
            "epoch": write.epoch,
            "version": write.version,
            "holders": {h: lease.to_doc() for h, lease in {**write.holders, me: mine}.items()},
            # A restore window in force when this was written: until a write computed after it
            # ended, writes read first (_cas) and are capped by it, never computed from this copy.
            "restored": write.restored_ms if write.restored_ms > write.now_ms else 0,
        }
        account.known_now_ms = write.now_ms
        account.known_beats = write.beats

    @staticmethod
    def settle(account: Account, result: Plan, need: Need) -> None:
        account.target, account.starved = result.target, result.starved
        account.contended = any(lease.demand > lease.share for lease in result.others.values())
        if not account.gate.waiters or account.grant >= min(account.demand(), account.limit):
            account.told.clear()  # the episode is over: tell the holders again next time
        # In the terms _wait() compares with: demand capped by the limit this process saw.
        account.settled_for = -1 if result.starved else min(need.demand, need.limit)
