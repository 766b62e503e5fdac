"""The distributed budget across real OS processes, the NetSuite simulator and a Mongo server that
is killed and restarted.

The simulator's account accepts more than the budget's limit, so its peak in-flight count
measures what the processes really sent at once (at its own limit it would answer the excess
with 429 and the peak could never show a breach).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from om_devstack.stack import EmbeddedStack

if TYPE_CHECKING:
    from om_netsuite_sim import SimulatorServer
    from om_netsuite_sim._simulator import Account

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER = Path(__file__).with_name("budget_worker.py")
LIMIT = 5
LATENCY = 0.03
TIMING: dict[str, float] = {
    "renew_s": 0.3,
    "lease_s": 2.0,
    "margin_s": 0.5,
    "poll_s": 0.05,
    "max_wait_s": 60.0,
    "attempt_deadline_s": 6.0,
}


@dataclass
class Shared:
    """One simulator account shared by the workers, and a Mongo server of our own to kill."""

    stack: EmbeddedStack
    url: str
    account_id: str
    account: Account
    customer_id: str
    env: dict[str, str]
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def worker(
        self, *, demand: int | str, seed: int = 0, max_callers: int = 8, limit: int = LIMIT
    ) -> asyncio.subprocess.Process:
        config = {
            "mongo_url": self.stack.mongo_url,
            "db": "budget",
            "collection": "shares",
            "account": self.account_id,
            "limit": limit,
            "sim_url": self.url,
            "customer_id": self.customer_id,
            "demand": demand,
            "max_callers": max_callers,
            "seed": seed,
            "timing": TIMING,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            "--load",
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self.env,
        )
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            assert (await proc.stdout.readline()).strip() == b"ready"
        self.procs.append(proc)
        return proc


def go(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"go\n")


async def stop(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(b"stop\n")
    await proc.stdin.drain()
    async with asyncio.timeout(90):
        line = await proc.stdout.readline()
        assert await proc.wait() == 0
    summary: dict[str, Any] = json.loads(line)
    return summary


@pytest_asyncio.fixture(loop_scope="session")
async def shared(simulator: SimulatorServer, unique_name: str, tmp_path: Path) -> AsyncIterator[Shared]:
    account_id = f"{int(unique_name[:6], 16) % 10_000_000:07d}_SB1"
    creds = simulator.sim.add_account(account_id, concurrency_limit=10 * LIMIT)
    account = simulator.sim.account(account_id)
    customer_id = account.add_customer("Shared by processes")
    account.faults.latency = LATENCY
    env = {
        **os.environ,
        "NS_CK": creds.consumer_key,
        "NS_CS": creds.consumer_secret,
        "NS_TK": creds.token_id,
        "NS_TS": creds.token_secret,
    }
    # Our own server with durable storage: killing it must not lose acknowledged leases.
    stack = EmbeddedStack(kafka=False, mongo_path=tmp_path / "mongo", mongo_sync_on_commit=True)
    await stack.astart()
    state = Shared(stack, simulator.base_url, account_id, account, customer_id, env)
    try:
        yield state
    finally:
        for proc in state.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await stack.astop()


async def test_holders_killed_and_mongo_restarted_never_exceed_the_limit(shared: Shared) -> None:
    procs = list(await asyncio.gather(*(shared.worker(demand="random", seed=seed) for seed in range(4))))
    shared.account.reset_peak()
    for proc in procs:
        go(proc)
    await asyncio.sleep(3)  # random demand under normal operation
    procs[0].send_signal(signal.SIGKILL)  # a holder dies with its share: it lapses after the lease
    await procs[0].wait()
    await asyncio.sleep(2)
    shared.stack.kill_mongo()
    killed_at = time.time()
    await asyncio.sleep(TIMING["lease_s"] + 1.5)  # longer than any lease: requests must stop
    restarted_at = time.time()  # nothing can renew before the server process is back
    await shared.stack.restart_mongo()
    await asyncio.sleep(4)
    summaries = list(await asyncio.gather(*(stop(proc) for proc in procs[1:])))

    assert shared.account.peak_in_flight <= LIMIT
    for summary in summaries:
        starts = summary["starts"]
        # A holder that cannot renew stops starting requests before its lease ends.
        stalled = [t for t in starts if killed_at + TIMING["lease_s"] + 0.5 < t < restarted_at]
        assert stalled == [], (killed_at, restarted_at, stalled[:5])
        assert summary["errors"] == {}
    # Progress, asserted apart from the bound: the survivors worked before and after the restart.
    after = [sum(1 for t in s["starts"] if t > restarted_at) for s in summaries]
    assert sum(1 for s in summaries for t in s["starts"] if t < killed_at) > 0
    assert sum(after) > 0


async def test_a_starved_process_gets_a_share_within_the_bound(shared: Shared) -> None:
    *busy, newcomer = await asyncio.gather(*(shared.worker(demand=d) for d in (8, 8, LIMIT)))
    shared.account.reset_peak()
    for proc in busy:
        go(proc)
    await asyncio.sleep(1)  # the busy processes hold the whole limit between them
    go(newcomer)
    await asyncio.sleep(3)
    late, *early = await asyncio.gather(*(stop(proc) for proc in (newcomer, *busy)))
    print(f"newcomer's first wait: {late['first_wait']:.3f}s")

    # Documented bound: renew + the longest request in flight + poll (+ MongoDB round trips).
    bound = TIMING["renew_s"] + LATENCY + TIMING["poll_s"]
    assert late["first_wait"] is not None
    assert late["first_wait"] <= 3 * bound + 2.0, late["first_wait"]
    assert shared.account.peak_in_flight <= LIMIT
    assert late["ok"] > 0
    assert all(summary["ok"] > 0 for summary in early)
    assert [late["errors"], *(summary["errors"] for summary in early)] == [{}, {}, {}]


async def eventually(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the state lives in the simulator's handlers
            await asyncio.sleep(0.01)


async def test_a_stopped_holder_keeps_its_requests_in_flight_counted_past_its_lease(shared: Shared) -> None:
    # Requests longer than the lease: the stopped holder's requests are still at NetSuite when its
    # heartbeat lapses. Its share must stay counted until they end or pass the attempt deadline.
    shared.account.faults.latency = 3.5
    stopped, other = await asyncio.gather(shared.worker(demand=LIMIT), shared.worker(demand=LIMIT))
    shared.account.reset_peak()
    go(stopped)
    await eventually(lambda: shared.account.in_flight == LIMIT)  # the whole limit, in flight
    stopped.send_signal(signal.SIGSTOP)
    go(other)
    await asyncio.sleep(TIMING["lease_s"] + 2.5)  # past the lease; its requests end at 3.5 s
    stopped.send_signal(signal.SIGCONT)
    await eventually(lambda: shared.account.in_flight == 0 or shared.account.peak_in_flight > LIMIT)
    late, early = await asyncio.gather(stop(other), stop(stopped))

    assert shared.account.peak_in_flight <= LIMIT
    assert [late["errors"], early["errors"]] == [{}, {}]
    assert early["ok"] >= LIMIT  # the stopped holder's requests completed after SIGCONT


async def test_lost_budget_documents_do_not_let_anyone_exceed_the_limit(shared: Shared) -> None:
    # A restore or an in-memory restart: the shares and the heartbeats are gone, requests are not.
    shared.account.faults.latency = 0.3
    procs = list(await asyncio.gather(*(shared.worker(demand=8) for _ in range(2))))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(shared.stack.mongo_url)
    try:
        shared.account.reset_peak()
        for proc in procs:
            go(proc)
        await eventually(lambda: shared.account.in_flight >= LIMIT - 1)  # both hold shares
        await asyncio.sleep(1.0)
        dropped_at = time.time()
        for name in ("shares", "shares_holders"):
            await mongo["budget"][name].delete_many({})
        await asyncio.sleep(3.0)
        summaries = list(await asyncio.gather(*(stop(proc) for proc in procs)))
    finally:
        await mongo.close()

    assert shared.account.peak_in_flight <= LIMIT
    assert [summary["errors"] for summary in summaries] == [{}, {}]
    # Progress after the loss: the former holders claim back what they held.
    assert all(any(t > dropped_at + 0.5 for t in summary["starts"]) for summary in summaries)


async def stall_mongo(shared: Shared, seconds: float) -> tuple[float, float]:
    """Stop the Mongo-protocol server (SIGSTOP) for `seconds`; when it stalled and when it resumed."""
    mongo_pid = shared.stack.pids()["mongo"]
    os.kill(mongo_pid, signal.SIGSTOP)
    stalled_at = time.time()
    try:
        await asyncio.sleep(seconds)
    finally:
        os.kill(mongo_pid, signal.SIGCONT)
    return stalled_at, time.time()


async def test_a_stalled_mongo_server_never_lets_the_limit_be_exceeded(shared: Shared) -> None:
    shared.account.faults.latency = 0.5  # requests in flight through the stall
    procs = list(await asyncio.gather(*(shared.worker(demand="random", seed=seed) for seed in range(3))))
    shared.account.reset_peak()
    for proc in procs:
        go(proc)
    await asyncio.sleep(2.0)
    # Slower than any timeout: every renewal gives up after the margin.
    stalled_at, resumed_at = await stall_mongo(shared, TIMING["lease_s"] + 1.0)
    await asyncio.sleep(3.0)
    summaries = list(await asyncio.gather(*(stop(proc) for proc in procs)))

    assert shared.account.peak_in_flight <= LIMIT
    for summary in summaries:
        # No holder starts a request once its heartbeat could have lapsed.
        late = [t for t in summary["starts"] if stalled_at + TIMING["lease_s"] < t < resumed_at]
        assert late == [], late[:5]
        assert summary["errors"] == {}
    assert sum(1 for s in summaries for t in s["starts"] if t > resumed_at) > 0


async def test_after_a_stall_shorter_than_the_lease_every_process_starts_requests_again(
    shared: Shared,
) -> None:
    """MongoDB stalls past each process's local deadline (lease - margin) but not past its lease:
    requests stop starting, slots are released meanwhile, and once MongoDB answers the heartbeat
    did not lapse. Every process must start requests again (a gate left at 0 kept its waiters until
    max_wait, and with them a Kafka partition's commits)."""
    procs = list(await asyncio.gather(*(shared.worker(demand=3, seed=seed) for seed in range(3))))
    shared.account.reset_peak()
    for proc in procs:
        go(proc)
    await asyncio.sleep(2.0)
    _, resumed_at = await stall_mongo(shared, TIMING["lease_s"] - TIMING["margin_s"] + 0.3)
    await asyncio.sleep(4.0)
    summaries = list(await asyncio.gather(*(stop(proc) for proc in procs)))

    assert shared.account.peak_in_flight <= LIMIT
    for summary in summaries:
        assert summary["errors"] == {}
        # Three callers each, all the time: a process that starts nothing for seconds is stuck.
        assert any(t > resumed_at + 2.0 for t in summary["starts"]), max(summary["starts"]) - resumed_at


async def test_three_processes_on_a_limit_of_one_take_turns_within_the_bound(shared: Shared) -> None:
    procs = list(await asyncio.gather(*(shared.worker(demand=1, limit=1) for _ in range(3))))
    shared.account.reset_peak()
    started = time.time()
    for proc in procs:
        go(proc)
    await asyncio.sleep(14.0)
    ended = time.time()
    summaries = list(await asyncio.gather(*(stop(proc) for proc in procs)))

    # Round robin: at most ceil((n - 1) / u) = 2 quanta ahead, each the rotation period
    # (max(lease, 5 x renew) = 2 s) + a hand-over (a renewal, a request, a poll, MongoDB).
    quantum = max(TIMING["lease_s"], 5 * TIMING["renew_s"])
    handover = TIMING["renew_s"] + LATENCY + TIMING["poll_s"] + 1.0  # + MongoDB on a shared machine
    bound = 2 * (quantum + handover) + handover
    for summary in summaries:
        starts = [started, *sorted(summary["starts"]), ended]
        longest = max(b - a for a, b in itertools.pairwise(starts))
        print(f"longest wait without a slot: {longest:.2f}s (bound {bound:.2f}s)")
        assert longest <= bound
        assert summary["errors"] == {}
    assert shared.account.peak_in_flight <= 1
