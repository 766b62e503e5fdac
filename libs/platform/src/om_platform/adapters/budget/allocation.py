"""The pure rules of the distributed budget: who may hold how much of an account's limit.

No I/O, no clock, no randomness: :mod:`.renewal` reads an account document, calls
:func:`plan` with the server's time and what this process knows, and writes the result back
with a compare-and-set. Every rule here is stated against the invariant it protects:

    the shares of the live (unexpired) holders of an account sum to at most its limit.

* **Who counts**: a holder's entry counts while its process's heartbeat is live (``active``: its
  demand is heard), and after that while it may still have requests on the wire (``draining``:
  until its heartbeat's expiry + its hard per-attempt deadline; its share counts, its demand does
  not). Only then is the entry dropped. :mod:`.documents` decides who is which and passes the
  counted entries and the active set.
* **Fair target** (:func:`water_fill`): max-min fairness by demand. Every holder gets
  ``min(demand, level)`` for the highest integer ``level`` the limit allows; the units left over
  go, one each, to the holders that want more than ``level``, in holder-id order (stable: a unit
  does not swap back and forth between renewals).
* **Round robin** when there are more hungry holders than units (``level == 0``): the units go
  first to holders inside their quantum (they obtained their unit less than ``rotate_ms`` ago and
  still hold it), then to holders waiting without a unit, by ``turn`` ascending, and last to
  holders past their quantum. ``turn`` is the server time a holder arrived, or last obtained or
  gave back its unit (+ 1 ms, so that it goes behind a holder that arrived in the same
  millisecond). A holder served or giving back goes to the back, a newcomer arrives behind
  everyone already waiting. So with
  ``n`` hungry holders and ``u`` units a holder waits at most ``ceil((n - 1) / u)`` quanta, each
  ``rotate_ms`` + the hand-over (the holder sees
  its quantum end at its next renewal, its requests in flight end, the next one polls): the bound
  is proved in ``test_budget_allocation.py`` by simulation of every arrival order.
* **Grant** = ``min(target, limit - shares of the other counted holders)``: a holder only takes
  capacity nobody else holds; capacity above its target that others hold comes back when they
  shrink.
* **Never below what is in flight**: the share written is ``max(grant, in_flight)``. A holder
  that must shrink lowers its local limit to the grant at once, keeps covering its requests
  already on the wire (and those whose outcome it still waits for), and writes the lower share
  when they have finished. A holder whose entry was lost (a lapse past its drain, a lost
  document) claims what it has in flight when it writes again, whatever the others hold.
* **Limit**: the lowest ``concurrency_limit`` seen among the counted holders (a lowered limit
  applies as soon as one process has seen it; a raised one once every counted holder has).
* **An idle share is kept while nobody wants it** (``keep_idle``): a holder without demand keeps
  what it holds, written with demand 0, as long as no other active holder wants more than it
  holds. Its fair target is 0, so a newcomer sees itself starved, writes its demand and tells the
  holders; the idle holder leaves at its next renewal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Lease", "Need", "Plan", "plan", "rotation_order", "water_fill"]


@dataclass(frozen=True, slots=True)
class Lease:
    """One holder's entry in an account document."""

    share: int
    """Units of the account's limit this holder may have in flight."""
    demand: int
    """Its peak demand (requests in flight + waiting) when it last wrote."""
    limit: int
    """The account's ``concurrency_limit`` as this holder last saw it."""
    expires_ms: int = 0
    """Server time of the write + lease: for operators only (liveness is the holder's heartbeat)."""
    stamp: str = ""
    """Token of the write that set this entry (tells a holder whether its write applied)."""
    name: str = ""
    """Who holds it (host, pid, service): for operators only."""
    turn_ms: int = 0
    """Server time this holder last obtained a unit from none, or arrived (round robin)."""

    @classmethod
    def from_doc(cls, raw: Mapping[str, Any]) -> Lease:
        return cls(
            share=int(raw.get("share", 0)),
            demand=int(raw.get("demand", 0)),
            limit=int(raw.get("limit", 0)),
            expires_ms=int(raw.get("expires", 0)),
            stamp=str(raw.get("stamp", "")),
            name=str(raw.get("name", "")),
            turn_ms=int(raw.get("turn", 0)),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "demand": self.demand,
            "limit": self.limit,
            "expires": self.expires_ms,
            "stamp": self.stamp,
            "name": self.name,
            "turn": self.turn_ms,
        }


@dataclass(frozen=True, slots=True)
class Need:
    """What this process knows about one account, locally."""

    demand: int
    """Peak of (requests in flight + waiting) since the previous renewal."""
    limit: int
    """The ``concurrency_limit`` of its latest request."""
    in_flight: int
    """Requests of this process that may be on the wire now (outcome not known yet)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a holder should write and use, computed from one state of the document."""

    limit: int
    """The limit in force: the lowest seen among the counted holders."""
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
    """The other counted holders (entries no longer counted are dropped on write)."""
    fresh_turn: bool = False
    """The entry is new, or its share goes from none to some or back: its turn becomes now."""


def rotation_order(
    leases: Mapping[str, Lease], now_ms: int, rotate_ms: int
) -> dict[str, tuple[int, int, str]]:
    """Round-robin priority (lower first) of holders competing for the odd units at level 0."""
    order: dict[str, tuple[int, int, str]] = {}
    for holder, lease in leases.items():
        # Inside its quantum: first; waiting (by turn): next; past its quantum: behind them all.
        in_quantum = lease.turn_ms + rotate_ms > now_ms
        rank = 1 if lease.share <= 0 else 0 if in_quantum else 2
        order[holder] = (rank, lease.turn_ms, holder)
    return order


def water_fill(
    capacity: int,
    demands: Mapping[str, int],
    *,
    rotation: Mapping[str, tuple[int, int, str]] | None = None,
) -> dict[str, int]:
    """Max-min fair integer shares of ``capacity`` for ``demands`` (see the module docstring).

    ``rotation`` (:func:`rotation_order`) orders the hungry holders when there are more of them
    than units; without it (or above level 0) the leftover units go in holder-id order.
    """
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
    if level == 0 and rotation is not None:
        hungry.sort(key=lambda holder: rotation.get(holder, (1, 0, holder)))
    else:
        hungry.sort()
    for holder in hungry[:spare]:
        shares[holder] += 1
    return shares


def plan(
    counted: Mapping[str, Lease],
    me: str,
    now_ms: int,
    need: Need,
    *,
    active: Collection[str] | None = None,
    rotate_ms: int = 10_000,
    keep_idle: bool = False,
) -> Plan:
    """This holder's next entry, given the document's ``counted`` entries at server time ``now_ms``.

    ``counted``: the entries whose shares count (active or draining holders, and this holder's own
    entry if it has one); ``active``: the holders whose demand is heard (default: all of them).
    ``keep_idle``: without demand, keep the share held unless another active holder wants more.
    """
    mine = counted.get(me)
    held = mine.share if mine is not None else 0
    others = {holder: lease for holder, lease in counted.items() if holder != me}
    hearing = {h: lease for h, lease in others.items() if active is None or h in active}
    limit = min([need.limit, *(lease.limit for lease in others.values() if lease.limit > 0)])
    taken = sum(lease.share for lease in others.values())
    if need.demand <= 0 and need.in_flight <= 0:
        wanted = any(lease.demand > lease.share for lease in hearing.values())
        kept = min(held, max(0, limit - taken))
        if keep_idle and kept > 0 and not wanted:
            return Plan(limit, 0, kept, kept, leave=False, starved=False, others=others)
        return Plan(limit, 0, 0, 0, leave=True, starved=False, others=others)
    demands = {holder: lease.demand for holder, lease in hearing.items()} | {me: need.demand}
    me_now = mine if mine is not None else Lease(0, need.demand, need.limit, turn_ms=now_ms)
    rotation = rotation_order({**hearing, me: me_now}, now_ms, rotate_ms)
    target = water_fill(limit, demands, rotation=rotation)[me]
    grant = min(target, max(0, limit - taken))
    share = max(grant, need.in_flight)
    starved = min(need.demand, limit) > grant and grant < target
    # A turn starts on arrival, when served and when a unit is given back (then it waits behind
    # everyone already waiting).
    fresh = mine is None or (mine.share > 0) != (share > 0)
    return Plan(limit, target, grant, share, leave=False, starved=starved, others=others, fresh_turn=fresh)
