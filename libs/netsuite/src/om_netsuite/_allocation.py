"""The pure rules of the distributed budget: who may hold how much of an account's limit.

No I/O, no clock, no randomness: :mod:`._mongo_budget` reads an account document, calls
:func:`plan` with the server's time and what this process knows, and writes the result back
with a compare-and-set. Every rule here is stated against the invariant it protects:

    the shares of the live (unexpired) holders of an account sum to at most its limit.

* **Fair target** (:func:`water_fill`): max-min fairness by demand. Every holder gets
  ``min(demand, level)`` for the highest integer ``level`` the limit allows; the units left over
  go, one each, to the holders that want more than ``level``, in holder-id order. The order does
  not depend on what anyone holds, so every process computes the same targets from the same
  demands while shares move, and a unit does not swap back and forth between renewals (holder
  ids are random per process start: which process gets the odd unit is arbitrary but stable).
  When there are more hungry holders than units (``level == 0``), the order rotates every
  ``rotate_ms`` of server time instead, so that no process waits forever behind a busy one.
* **Grant** = ``min(target, limit - shares of the other live holders)``: a holder only takes
  capacity nobody else holds; capacity above its target that others hold comes back when they
  shrink, at their next renewal.
* **Never below what is in flight**: the share written is ``max(grant, min(held, in_flight))``.
  A holder that must shrink lowers its local limit to the grant at once, keeps covering its
  requests already on the wire, and writes the lower share when they have finished.
* **Limit**: the lowest ``concurrency_limit`` seen among the live holders (a lowered limit applies
  as soon as one process has seen it; a raised one once every live holder has).
* **An idle share is kept while nobody wants it** (``keep_idle``): a holder without demand keeps
  what it holds, written with demand 0, as long as no other live holder wants more than it holds.
  Its fair target is 0, so a newcomer sees itself starved and writes its demand; the idle holder
  sees that demand at its next renewal and leaves. A supplier whose orders come seconds apart
  therefore does not obtain and return a share for each of them.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Lease", "Need", "Plan", "live_leases", "plan", "water_fill"]


@dataclass(frozen=True, slots=True)
class Lease:
    """One holder's entry in an account document."""

    share: int
    """Units of the account's limit this holder may have in flight."""
    demand: int
    """Its peak demand (requests in flight + waiting) since its previous renewal."""
    limit: int
    """The account's ``concurrency_limit`` as this holder last saw it."""
    expires_ms: int
    """Server time (ms since the epoch) after which the entry no longer counts."""
    stamp: str = ""
    """Token of the write that set this entry (tells a holder whether its write applied)."""
    name: str = ""
    """Who holds it (host, pid, service): for operators only."""

    @classmethod
    def from_doc(cls, raw: Mapping[str, Any]) -> Lease:
        return cls(
            share=int(raw.get("share", 0)),
            demand=int(raw.get("demand", 0)),
            limit=int(raw.get("limit", 0)),
            expires_ms=int(raw.get("expires", 0)),
            stamp=str(raw.get("stamp", "")),
            name=str(raw.get("name", "")),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "demand": self.demand,
            "limit": self.limit,
            "expires": self.expires_ms,
            "stamp": self.stamp,
            "name": self.name,
        }


@dataclass(frozen=True, slots=True)
class Need:
    """What this process knows about one account, locally."""

    demand: int
    """Peak of (requests in flight + waiting) since the previous renewal."""
    limit: int
    """The ``concurrency_limit`` of its latest request."""
    in_flight: int
    """Requests of this process on the wire now."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a holder should write and use, computed from one state of the document."""

    limit: int
    """The limit in force: the lowest seen among the live holders."""
    target: int
    """This holder's fair share (:func:`water_fill`)."""
    grant: int
    """What it may have in flight from now on (its local limit)."""
    share: int
    """What it writes: ``grant``, or more while requests above the grant are still in flight."""
    leave: bool
    """No demand and nothing in flight: remove the entry (return the share)."""
    starved: bool
    """It wants more, its fair share is larger, and others hold the difference: poll."""
    others: dict[str, Lease]
    """The other live holders (expired entries are dropped on write)."""


def live_leases(holders: Mapping[str, Lease], now_ms: int) -> dict[str, Lease]:
    """The entries that still count at server time ``now_ms``."""
    return {holder: lease for holder, lease in holders.items() if lease.expires_ms > now_ms}


def _rotation_key(holder: str, bucket: int) -> int:
    # crc32, not hash(): every process must compute the same order (hash() is salted per process).
    return zlib.crc32(f"{bucket}:{holder}".encode())


def water_fill(
    capacity: int,
    demands: Mapping[str, int],
    *,
    now_ms: int = 0,
    rotate_ms: int = 10_000,
) -> dict[str, int]:
    """Max-min fair integer shares of ``capacity`` for ``demands`` (see the module docstring)."""
    wants = {holder: max(0, min(demand, capacity)) for holder, demand in demands.items()}
    if sum(wants.values()) <= capacity:
        return wants
    # The highest level every holder can be raised to; sum(min(want, level)) grows with level.
    level = 0
    while sum(min(want, level + 1) for want in wants.values()) <= capacity:
        level += 1
    shares = {holder: min(want, level) for holder, want in wants.items()}
    spare = capacity - sum(shares.values())
    hungry = [holder for holder, want in wants.items() if want > level]
    if level == 0:
        bucket = now_ms // max(1, rotate_ms)
        hungry.sort(key=lambda holder: (_rotation_key(holder, bucket), holder))
    else:
        hungry.sort()
    for holder in hungry[:spare]:
        shares[holder] += 1
    return shares


def plan(
    holders: Mapping[str, Lease],
    me: str,
    now_ms: int,
    need: Need,
    *,
    rotate_ms: int = 10_000,
    keep_idle: bool = False,
) -> Plan:
    """This holder's next entry, given the document's ``holders`` at server time ``now_ms``.

    ``keep_idle``: without demand, keep the share held unless another live holder wants more.
    """
    live = live_leases(holders, now_ms)
    mine = live.get(me)
    held = mine.share if mine is not None else 0
    others = {holder: lease for holder, lease in live.items() if holder != me}
    limit = min([need.limit, *(lease.limit for lease in others.values() if lease.limit > 0)])
    if need.demand <= 0 and need.in_flight <= 0:
        wanted = any(lease.demand > lease.share for lease in others.values())
        kept = min(held, max(0, limit - sum(lease.share for lease in others.values())))
        if keep_idle and kept > 0 and not wanted:
            return Plan(limit, 0, kept, kept, leave=False, starved=False, others=others)
        return Plan(limit, 0, 0, 0, leave=True, starved=False, others=others)
    demands = {holder: lease.demand for holder, lease in others.items()} | {me: need.demand}
    target = water_fill(limit, demands, now_ms=now_ms, rotate_ms=rotate_ms)[me]
    free = max(0, limit - sum(lease.share for lease in others.values()))
    grant = min(target, free)
    share = max(grant, min(held, need.in_flight))
    starved = min(need.demand, limit) > grant and grant < target
    return Plan(limit, target, grant, share, leave=False, starved=starved, others=others)
