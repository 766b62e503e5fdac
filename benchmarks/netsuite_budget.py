"""Benchmark of the per-account NetSuite budget: what sharing a limit costs the request path.

    .venv/bin/python benchmarks/netsuite_budget.py [--quick] [--requests 600] [--rounds 5]
                                                   [--latency 0.05] [--limit 5] [--callers 20]

The simulator runs in a child process (``netsuite_client.simulator``: each request answered after
``--latency`` s; it accepts twice ``--limit`` so its peak in-flight count shows what was really
sent at once), the Mongo-protocol server (secantusdb) as a child of the embedded stack. In one run:

1. One process, one account at ``--limit``: the bare client with ``--limit`` callers and no
   budget (the baseline), ``LocalBudget`` and the distributed ``MongoBudget`` with ``--callers``
   callers queueing on the budget. Variants run in ``--rounds`` rounds in rotating order and the
   best run of each counts (the machine is shared: other load only slows runs down); the ratio of
   each round is printed too. Throughput as a ratio of the ideal C/L and of the bare client;
   MongoDB commands per NetSuite request (the budget's collection only, counted with a pymongo
   CommandListener; returning the shares after a run is not counted).
2. ``--processes`` OS processes sharing that account through ``MongoBudget`` (info), each sending
   its part of ``--requests``: total throughput as a ratio of the ideal and of phase 1's bare
   client (it includes the time the shares take to settle and to move when a process finishes).
3. Several accounts in one process (info): bare vs distributed, each account at its limit.
4. Liveness cost: one process holding idle shares of 1, 100, 1,000 and 5,000 accounts (kept:
   ``keep_idle_s``), its renewal loop running for ``--liveness-renewals`` renewals: MongoDB
   commands per second (heartbeat, audit reads) and the longest renewal.

Targets: distributed >= 0.97 x bare; <= 0.05 MongoDB commands per request; the simulator's peak
in-flight count <= the limit everywhere; liveness commands per second at 5,000 accounts <= 1.5 x
at 1 account; the longest renewal <= 1/4 of the margin (the budget's commands give up after it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
from pymongo import AsyncMongoClient, monitoring

from netsuite_client import simulator, tba_auth
from om_netsuite import Budget, LocalBudget, NetSuiteClient, RequestRetryPolicy
from om_platform.adapters.budget import LeaseTiming, MongoBudget

COLLECTION = "netsuite_shares"


class Unbudgeted:
    """No budget at all: the callers themselves are the only bound."""

    @contextlib.asynccontextmanager
    async def slot(self, _account_id: str, _limit: int, /) -> AsyncIterator[None]:
        yield


class BudgetCommands(monitoring.CommandListener):
    """Counts the commands sent to the budget's collection."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) in (COLLECTION, f"{COLLECTION}_holders"):
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Run:
    name: str
    requests: int
    wall: float
    mongo_ops: int = 0
    peak: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.wall


async def sim_admin(http: httpx2.AsyncClient, account: str, action: str) -> dict[str, Any]:
    if action == "stats":
        response = await http.get(f"/_sim/accounts/{account}/stats")
    else:
        response = await http.post(f"/_sim/accounts/{account}/{action}", json={})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def drive(
    url: str, accounts: list[dict[str, Any]], budget: Budget, callers: int, per_account: int, limit: int
) -> float:
    """``per_account`` GETs on each account with ``callers`` callers each; returns the wall time."""
    async with NetSuiteClient(
        base_url_override=url, budget=budget, retry=RequestRetryPolicy(max_attempts=1)
    ) as client:
        sessions = [client.session(a["account"], tba_auth(a), concurrency_limit=limit) for a in accounts]
        for ns, account in zip(sessions, accounts, strict=True):
            await ns.get("customer", account["customer"])  # warm the connection pool

        async def caller(ns: Any, customer: str, queue: Any) -> None:
            for _ in queue:
                await ns.get("customer", customer)

        queues = [iter(range(per_account)) for _ in accounts]
        started = time.perf_counter()
        await asyncio.gather(
            *(
                caller(ns, account["customer"], queue)
                for ns, account, queue in zip(sessions, accounts, queues, strict=True)
                for _ in range(callers)
            )
        )
        return time.perf_counter() - started


async def one_run(
    name: str, info: dict[str, Any], mongo_url: str, accounts: list[dict[str, Any]], args: argparse.Namespace
) -> Run:
    commands = BudgetCommands()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, event_listeners=[commands])
    budget: Budget
    if name == "bare":
        budget, callers = Unbudgeted(), args.limit
    elif name == "local":
        budget, callers = LocalBudget(), args.callers
    else:
        budget, callers = MongoBudget(mongo["bench"][COLLECTION], timing=LeaseTiming()), args.callers
    async with httpx2.AsyncClient(base_url=info["url"]) as admin:
        for account in accounts:
            await sim_admin(admin, account["account"], "reset-peak")
        wall = await drive(info["url"], accounts, budget, callers, args.requests, args.limit)
        ops = commands.count  # before the shares are returned: that is shutdown, not requests
        if isinstance(budget, MongoBudget):
            await budget.aclose()
        peak = max([(await sim_admin(admin, a["account"], "stats"))["peak_in_flight"] for a in accounts])
    await mongo.close()
    return Run(name, args.requests * len(accounts), wall, ops, peak)


@dataclass
class Compared:
    """Variants run in alternating rounds: the fastest run of each, and ratios paired by round."""

    best: dict[str, Run]
    ratio: dict[str, float]  # best rps / the bare client's best rps
    ops_per_request: dict[str, float]  # over every round
    rounds: list[dict[str, Run]]

    def __getitem__(self, name: str) -> Run:
        return self.best[name]


async def compare(
    names: list[str],
    info: dict[str, Any],
    mongo_url: str,
    accounts: list[dict[str, Any]],
    args: argparse.Namespace,
    rounds_count: int,
) -> Compared:
    """Each variant ``rounds`` times, in rotating order; the best run of each counts. The machine
    is shared: other load only ever slows a run down, so the best run is the least disturbed."""
    rounds: list[dict[str, Run]] = []
    for round_no in range(rounds_count):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        rounds.append({name: await one_run(name, info, mongo_url, accounts, args) for name in order})
    best = {name: max((r[name] for r in rounds), key=lambda run: run.rps) for name in names}
    for name, run in best.items():
        run.peak = max(r[name].peak for r in rounds)  # the bound holds in every round
    ratio = {name: best[name].rps / best["bare"].rps for name in names}
    ops = {
        name: sum(r[name].mongo_ops for r in rounds) / sum(r[name].requests for r in rounds) for name in names
    }
    return Compared(best, ratio, ops, rounds)


def worker(config: dict[str, Any]) -> None:
    """Phase 2's child: ``requests`` GETs through MongoBudget; prints its figures as JSON."""

    async def main() -> dict[str, Any]:
        commands = BudgetCommands()
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            config["mongo_url"], event_listeners=[commands]
        )
        budget = MongoBudget(mongo["bench"][COLLECTION], timing=LeaseTiming())
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        start = time.time()
        await drive(
            config["url"], [config["account"]], budget, config["callers"], config["requests"], config["limit"]
        )
        end = time.time()
        ops = commands.count
        await budget.aclose()
        await mongo.close()
        return {"start": start, "end": end, "requests": config["requests"], "mongo_ops": ops}

    print(json.dumps(asyncio.run(main())), flush=True)


def processes(info: dict[str, Any], mongo_url: str, args: argparse.Namespace, count: int = 3) -> Run:
    """Phase 2: ``count`` processes share the first account; total requests / overall wall time."""
    per_process = args.requests // count
    config = {
        "mongo_url": mongo_url,
        "url": info["url"],
        "account": info["accounts"][0],
        "limit": args.limit,
        "callers": args.callers,
        "requests": per_process,
    }
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    asyncio.run(_reset_peak(info))
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    peak = asyncio.run(_peak(info))
    return Run(f"{count} processes", per_process * count, wall, sum(r["mongo_ops"] for r in results), peak)


async def _reset_peak(info: dict[str, Any]) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=info["url"]) as admin:
        return await sim_admin(admin, info["accounts"][0]["account"], "reset-peak")


async def _peak(info: dict[str, Any]) -> int:
    async with httpx2.AsyncClient(base_url=info["url"]) as admin:
        return int((await sim_admin(admin, info["accounts"][0]["account"], "stats"))["peak_in_flight"])


@dataclass
class Liveness:
    accounts: int
    commands_per_s: float
    longest_renewal_s: float
    mean_renewal_s: float


async def liveness(mongo_url: str, accounts: int, renewals: int, timing: LeaseTiming) -> Liveness:
    """Phase 4: one process holds idle shares of ``accounts``; its loop renews ``renewals`` times."""
    commands = BudgetCommands()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, event_listeners=[commands])
    collection = mongo["bench_liveness"][COLLECTION]
    await collection.delete_many({})
    budget = MongoBudget(collection, timing=timing)
    durations: list[float] = []
    done = asyncio.Event()
    renew = budget.renew

    async def timed_renew() -> None:
        started = time.perf_counter()
        await renew()
        durations.append(time.perf_counter() - started)
        if len(durations) > renewals:
            done.set()

    budget.renew = timed_renew  # type: ignore[method-assign]

    async def obtain(account: str) -> None:
        async with budget.slot(account, 5):
            pass

    ids = [f"{n:07d}" for n in range(accounts)]
    for start in range(0, accounts, 500):  # obtained 500 at a time: a first contact each
        await asyncio.gather(*(obtain(account) for account in ids[start : start + 500]))
    assert budget.accounts_held() == accounts, budget.accounts_held()
    await asyncio.wait_for(_renewed(durations, 1), timeout=600)  # a renewal since the last obtain
    durations.clear()
    done.clear()  # renewals during the obtaining do not count
    commands.count = 0
    started = time.perf_counter()
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    count = commands.count
    held = budget.accounts_held()
    await budget.aclose()
    await collection.database.client.drop_database("bench_liveness")
    await mongo.close()
    assert held == accounts, (held, accounts)  # nothing lapsed while measured
    measured = durations[1:]  # the first one had begun before the count
    return Liveness(accounts, count / elapsed, max(measured), sum(measured) / len(measured))


async def _renewed(durations: list[float], count: int) -> None:
    while len(durations) < count:  # noqa: ASYNC110 - the loop's own schedule
        await asyncio.sleep(0.05)


async def start_mongo() -> Any:
    from om_devstack.stack import EmbeddedStack

    stack = EmbeddedStack(kafka=False)
    await stack.astart()
    return stack


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds (under a minute)")
    parser.add_argument("--requests", type=int, default=600, help="GETs per run and account")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of runs of every variant")
    parser.add_argument("--latency", type=float, default=0.05, help="simulator latency in seconds")
    parser.add_argument("--limit", type=int, default=5, help="account concurrency limit")
    parser.add_argument("--callers", type=int, default=20, help="callers queueing on a budget")
    parser.add_argument("--accounts", type=int, default=3, help="accounts in phase 3")
    parser.add_argument("--processes", type=int, default=3, help="processes sharing one account in phase 2")
    parser.add_argument(
        "--liveness-renewals", type=int, default=5, help="renewals measured per size in phase 4"
    )
    parser.add_argument(
        "--liveness-sizes", default="1,100,1000,5000", help="accounts held in phase 4 (comma-separated)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if args.quick:
        args.requests, args.rounds, args.accounts, args.liveness_renewals = 150, 3, 2, 3
    # Benchmarks measure the client as deployed: INFO logging on, to a handler that discards.
    logging.basicConfig(level=logging.INFO, handlers=[logging.NullHandler()])

    loop = asyncio.new_event_loop()
    stack = loop.run_until_complete(start_mongo())
    try:
        with simulator(2 * args.limit, args.latency, accounts=args.accounts) as info:
            first = info["accounts"][:1]
            single = loop.run_until_complete(
                compare(["bare", "local", "distributed"], info, stack.mongo_url, first, args, args.rounds)
            )
            shared = processes(info, stack.mongo_url, args, args.processes)
            many = loop.run_until_complete(
                # Information only, and CPU-bound on 2 cores: fewer rounds.
                compare(
                    ["bare", "distributed"],
                    info,
                    stack.mongo_url,
                    info["accounts"],
                    args,
                    max(1, args.rounds // 2),
                )
            )
        timing = LeaseTiming()
        sizes = [int(size) for size in args.liveness_sizes.split(",")]
        held = [
            loop.run_until_complete(liveness(stack.mongo_url, n, args.liveness_renewals, timing))
            for n in sizes
        ]
    finally:
        loop.run_until_complete(stack.astop())
        loop.close()

    ideal = args.limit / args.latency
    bare = single["bare"]
    print(
        f"simulator latency {args.latency * 1000:.0f} ms, limit {args.limit}, ideal C/L {ideal:.0f} req/s; "
        f"{args.requests} GETs per run and account, {args.rounds} rounds; {os.cpu_count()} CPUs"
    )
    print("req/s: the best round of each variant; /bare: best / the bare client's best")
    print(f"{'phase / variant':<34}{'req/s':>8}{'/ideal':>8}{'/bare':>7}{'mongo ops/req':>15}{'peak':>6}")

    def row(label: str, run: Run, ideal_rps: float, to_bare: float, ops: float) -> None:
        print(
            f"{label:<34}{run.rps:>8.1f}{run.rps / ideal_rps:>8.2f}{to_bare:>7.2f}{ops:>15.4f}{run.peak:>6}"
        )

    for name in ("bare", "local", "distributed"):
        row(
            f"1 account, 1 process: {name}",
            single[name],
            ideal,
            single.ratio[name],
            single.ops_per_request[name],
        )
    to_bare = shared.rps / bare.rps
    row(f"1 account, {args.processes} processes", shared, ideal, to_bare, shared.mongo_ops / shared.requests)
    for name in ("bare", "distributed"):
        label = f"{args.accounts} accounts, 1 process: {name}"
        row(label, many[name], ideal * args.accounts, many.ratio[name], many.ops_per_request[name])

    print(
        f"liveness (renew every {timing.renew_s} s, margin {timing.margin_s} s): one process holding idle shares"
    )
    print(f"{'accounts held':>14}{'commands/s':>12}{'longest renewal ms':>20}{'mean renewal ms':>17}")
    for h in held:
        print(
            f"{h.accounts:>14}{h.commands_per_s:>12.2f}{h.longest_renewal_s * 1000:>20.1f}"
            f"{h.mean_renewal_s * 1000:>17.1f}"
        )
    flat = held[-1].commands_per_s / held[0].commands_per_s
    longest = max(h.longest_renewal_s for h in held)
    for name in ("local", "distributed"):
        per_round = " ".join(f"{r[name].rps / r['bare'].rps:.3f}" for r in single.rounds)
        print(f"1 account, 1 process, {name} / bare by round: {per_round}")
    ratio = single.ratio["distributed"]
    ops = single.ops_per_request["distributed"]
    peaks = [*(r.peak for r in single.best.values()), shared.peak, *(r.peak for r in many.best.values())]
    liveness_ok = flat <= 1.5 and longest <= timing.margin_s / 4
    ok = ratio >= 0.97 and ops <= 0.05 and max(peaks) <= args.limit and liveness_ok
    print(
        f"distributed / bare {ratio:.3f} (target >= 0.97); MongoDB commands per request {ops:.4f} "
        f"(target <= 0.05); peak in flight {max(peaks)} (limit {args.limit}); liveness commands/s at "
        f"{held[-1].accounts} / at {held[0].accounts} accounts {flat:.2f} (target <= 1.5); longest renewal "
        f"{longest * 1000:.0f} ms (target <= {timing.margin_s / 4 * 1000:.0f} ms)"
    )
    print(
        f"RESULT: {'PASS' if ok else 'FAIL'} distributed/bare={ratio:.3f} local/bare={single.ratio['local']:.3f} "
        f"distributed/ideal={single['distributed'].rps / ideal:.2f} bare/ideal={bare.rps / ideal:.2f} "
        f"mongo_ops_per_request={ops:.4f} {args.processes}_processes/bare={to_bare:.2f} "
        f"{args.accounts}_accounts_distributed/bare={many.ratio['distributed']:.2f} "
        f"peak={max(peaks)}/{args.limit} liveness_flat={flat:.2f} longest_renewal_ms={longest * 1000:.0f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
