"""The distributed budget's pure rules: fair targets, grants, shrinking, limits (no I/O)."""

from __future__ import annotations

import itertools

from om_netsuite._allocation import Lease, Need, live_leases, plan, water_fill

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


def test_with_more_hungry_holders_than_units_the_lucky_ones_rotate() -> None:
    demands = {f"p{n}": 5 for n in range(7)}
    winners = set()
    for bucket in range(20):
        shares = water_fill(5, demands, now_ms=bucket * 10_000, rotate_ms=10_000)
        assert sorted(shares.values()) == [0, 0, 1, 1, 1, 1, 1]
        # Within one rotation period every process computes the same answer.
        assert shares == water_fill(5, demands, now_ms=bucket * 10_000 + 9_999, rotate_ms=10_000)
        winners |= {h for h, share in shares.items() if share}
    assert winners == set(demands)


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


def test_a_holder_never_claims_in_flight_requests_it_holds_no_share_for() -> None:
    # Its entry expired while requests were still in flight: it starts over as a newcomer.
    holders = {"me": lease(share=5, demand=5, expires_ms=NOW - 1), "other": lease(share=4, demand=4)}
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=3))
    assert (result.grant, result.share) == (1, 1)
    assert set(result.others) == {"other"}


def test_expired_holders_count_for_nothing() -> None:
    holders = {"dead": lease(share=5, demand=5, expires_ms=NOW), "alive": lease(share=1, demand=1)}
    assert set(live_leases(holders, NOW)) == {"alive"}
    result = plan(holders, "me", NOW, Need(demand=5, limit=5, in_flight=0))
    assert (result.grant, set(result.others)) == (4, {"alive"})


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
