"""The distributed budget's pure rules: fair targets, grants, shrinking, limits (no I/O)."""

from __future__ import annotations

import itertools
import math
import random

from om_platform.adapters.budget.allocation import Lease, Need, plan, water_fill

NOW = 1_000_000


def lease(share: int, demand: int, limit: int = 5, expires_ms: int = NOW + 10_000) -> Lease:
    return Lease(share=share, demand=demand, limit=limit, expires_ms=expires_ms)


# -- water filling --------------------------------------------------------------------------------


def test_everyone_gets_their_demand_when_it_fits() -> None:
    assert water_fill(5, {"a": 2, "b": 3}) == {"a": 2, "b": 3}
    assert water_fill(5, {"a": 1, "b": 0}) == {"a": 1, "b": 0}


def test_demand_above_the_capacity_is_capped() -> None:
    assert water_fill(5, {"a": 50}) == {"a": 5}


def test_small_demands_are_met_and_the_rest_is_shared_equally() -> None:
    assert water_fill(10, {"small": 1, "b": 20, "c": 20}) == {"small": 1, "b": 5, "c": 4}
    assert water_fill(9, {"small": 1, "b": 20, "c": 20}) == {"small": 1, "b": 4, "c": 4}


def test_the_leftover_unit_goes_by_holder_id_whatever_anyone_holds() -> None:
    # Every process computes the same targets while shares move, and they do not change at the
    # next renewal: no unit swaps back and forth.
    assert water_fill(5, {"b": 5, "a": 5}) == {"a": 3, "b": 2}
    assert water_fill(5, {"a": 5, "b": 5}) == {"a": 3, "b": 2}


def test_shares_never_exceed_the_capacity_nor_a_demand() -> None:
    for capacity in range(1, 8):
        for demands in itertools.product(range(7), repeat=3):
            wanted = dict(zip("abc", demands, strict=True))
            shares = water_fill(capacity, wanted)
            assert sum(shares.values()) <= capacity
            assert all(0 <= shares[h] <= wanted[h] for h in wanted)
            # Max-min: capacity is left over only if every demand is met.
            if sum(shares.values()) < capacity:
                assert shares == wanted
            # Nobody below its demand gets two units fewer than anybody else.
            for h, want in wanted.items():
                if shares[h] < want:
                    assert all(shares[h] >= shares[o] - 1 for o in wanted)


def rotation_gaps(holders: int, units: int, rotate_ms: int, seed: int, steps: int = 400) -> dict[str, int]:
    """Simulate ``holders`` always-hungry processes re-planning (in a random order each second)
    on an account of ``units``; return each one's longest time (ms) without a unit."""
    rng = random.Random(seed)
    names = [f"p{n}" for n in range(holders)]
    doc: dict[str, Lease] = {}
    in_flight = dict.fromkeys(names, 0)
    served_last = dict.fromkeys(names, 0)
    gaps = dict.fromkeys(names, 0)
    joined = {name: rng.randrange(0, 20) for name in names}  # staggered arrivals
    for step in range(steps):
        now = step * 1_000
        for name in rng.sample(names, len(names)):
            if step < joined[name]:
                served_last[name] = now
                continue
            result = plan(doc, name, now, Need(demand=units, limit=units, in_flight=in_flight[name]))
            mine = doc.get(name)
            fresh = result.fresh_turn or mine is None
            moved = result.share > 0 or (mine is not None and mine.share > 0)
            turn = (
                now + (1 if moved else 0) if fresh else mine.turn_ms
            )  # as adapters/budget/documents.py writes it
            doc = {**result.others, name: Lease(result.share, units, units, turn_ms=turn)}
            # Its requests (1 s long) end before its next plan; it starts up to its grant.
            in_flight[name] = result.grant
            assert sum(lease.share for lease in doc.values()) <= units
        for name in names:
            if in_flight[name]:
                served_last[name] = now
            gaps[name] = max(gaps[name], now - served_last[name])
    return gaps


def test_with_more_hungry_holders_than_units_a_round_robin_bounds_every_wait() -> None:
    # The bound of the module docstring: ceil((n - 1) / u) quanta, each rotate_ms + a hand-over
    # of three re-planning steps of 1 s: the holder sees its quantum end, its requests in flight
    # end, the next holder takes the unit.
    rotate_ms = 10_000
    for holders, units in ((3, 1), (7, 5), (4, 2), (9, 2)):
        handover = 3_000
        bound = math.ceil((holders - 1) / units) * (rotate_ms + handover) + handover
        for seed in range(5):
            gaps = rotation_gaps(holders, units, rotate_ms, seed)
            assert max(gaps.values()) <= bound, (holders, units, seed, gaps)
            assert min(gaps.values()) > 0  # everyone really waited its turn: the test can fail


# -- plans ----------------------------------------------------------------------------------------


def test_a_lone_process_gets_what_it_needs() -> None:
    result = plan({}, "me", NOW, Need(demand=3, limit=5, in_flight=0))
    assert (result.target, result.grant, result.share, result.leave, result.starved) == (
        3,
        3,
        3,
        False,
        False,
    )


def test_a_newcomer_takes_only_capacity_nobody_holds_and_is_starved_meanwhile() -> None:
    holders = {"busy": lease(share=5, demand=5)}
    result = plan(holders, "new", NOW, Need(demand=5, limit=5, in_flight=0))
    assert result.target == 2  # "busy" < "new": the odd unit is busy's
    assert (result.grant, result.share) == (0, 0)
    assert result.starved


def test_a_holder_above_its_target_shrinks_but_keeps_what_is_in_flight() -> None:
    holders = {"me": lease(share=5, demand=5), "new": lease(share=0, demand=5)}
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=5))
    assert (result.target, result.grant, result.share) == (3, 3, 5)
    # Once its requests in flight fit, it writes the lower share (the early return).
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=3))
    assert (result.grant, result.share) == (3, 3)
    # And the newcomer then finds the capacity.
    after = {"me": lease(share=3, demand=5), "new": lease(share=0, demand=5)}
    result = plan(after, "new", NOW, Need(demand=5, limit=5, in_flight=0))
    assert (result.grant, result.share, result.starved) == (2, 2, False)


def test_a_holder_whose_entry_was_lost_claims_what_it_has_in_flight() -> None:
    # Its entry was dropped (or the document lost) while requests were still in flight: they
    # still occupy NetSuite, so its share covers them whatever the others hold.
    holders = {"other": lease(share=4, demand=4)}
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=3))
    assert (result.grant, result.share) == (1, 3)
    assert set(result.others) == {"other"}


def test_a_draining_holder_counts_for_its_share_but_not_its_demand() -> None:
    # "draining" lost its heartbeat; requests it started may still run until its drain ends.
    holders = {"draining": lease(share=3, demand=5), "alive": lease(share=1, demand=1)}
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=0), active={"alive"})
    assert (result.grant, set(result.others)) == (1, {"alive", "draining"})
    assert result.target == 4  # its fair share ignores the draining holder's demand
    assert result.starved


def test_a_holder_without_demand_leaves() -> None:
    holders = {"me": lease(share=2, demand=2), "other": lease(share=3, demand=3)}
    result = plan(holders, "me", NOW, Need(demand=0, limit=5, in_flight=0))
    assert result.leave
    assert set(result.others) == {"other"}


def test_an_idle_holder_keeps_its_share_while_nobody_wants_more() -> None:
    holders = {"me": lease(share=2, demand=2), "other": lease(share=3, demand=3)}
    result = plan(holders, "me", NOW, Need(demand=0, limit=5, in_flight=0), keep_idle=True)
    assert not result.leave
    assert (result.grant, result.share, result.target, result.starved) == (2, 2, 0, False)


def test_an_idle_holder_leaves_when_another_wants_more_than_it_holds() -> None:
    holders = {"me": lease(share=2, demand=0), "other": lease(share=3, demand=5)}
    result = plan(holders, "me", NOW, Need(demand=0, limit=5, in_flight=0), keep_idle=True)
    assert result.leave


def test_the_lowest_limit_among_live_holders_applies() -> None:
    holders = {"other": lease(share=1, demand=5, limit=2)}
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=0))
    assert (result.limit, result.target, result.grant) == (2, 1, 1)
    # A lowered limit: the holder above it keeps covering what is in flight, grants nothing more.
    holders = {"other": lease(share=1, demand=5, limit=5)}
    result = plan(holders | {"me": lease(share=4, demand=5)}, "me", NOW, Need(demand=5, limit=2, in_flight=4))
    assert (result.limit, result.grant, result.share) == (2, 1, 4)


def test_shares_written_never_exceed_the_limit_for_any_sequence_of_plans() -> None:
    # Three holders re-plan in turn with changing demand; every written state respects the limit.
    holders: dict[str, Lease] = {}
    in_flight = {"a": 0, "b": 0, "c": 0}
    demands = itertools.cycle([(5, 0, 3), (1, 5, 5), (0, 0, 2), (5, 5, 5), (2, 3, 0)])
    for step in range(60):
        wanted = dict(zip("abc", next(demands), strict=True))
        holder = "abc"[step % 3]
        result = plan(holders, holder, NOW, Need(wanted[holder], 5, in_flight[holder]))
        holders = dict(result.others)
        if not result.leave:
            holders[holder] = lease(share=result.share, demand=wanted[holder])
            # It starts requests up to its grant; those above it keep running until they finish.
            in_flight[holder] = min(max(in_flight[holder], result.grant), result.share)
        else:
            in_flight[holder] = 0
        assert sum(entry.share for entry in holders.values()) <= 5
        assert all(in_flight[h] <= (holders[h].share if h in holders else 0) for h in in_flight)
