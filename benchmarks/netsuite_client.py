"""Benchmark of the NetSuite client against the simulator (simulator in a separate process).

    .venv/bin/python benchmarks/netsuite_client.py [--requests 400] [--latency 0.05] [--limit 5]

Measures, for concurrency 1 and at the account limit, with the simulator answering after a fixed
latency:

* throughput (requests/s) of ``om_netsuite`` (TBA signing, budget, retries, logging) against the
  ideal ``concurrency / latency``;
* client CPU per request (``time.process_time`` of this process only; the simulator runs in a
  child process) against plain ``httpx2`` sending the same GETs with a static bearer token
  (no signing, no budget, no error mapping).

Targets: client CPU <= 1.5x plain httpx2 per request; throughput >= 90% of limit/latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from pydantic import SecretStr

from om_netsuite import LocalBudget, NetSuiteClient, RequestRetryPolicy, TbaAuth, TbaCredentials

ACCOUNT = "1234567_SB1"

# Runs in the child process: accounts 1234567_SB1, 1000001_SB1, ... with one customer each and a
# fixed latency; prints what the client needs (the first account's fields also at the top level).
SERVER = """
import asyncio, json, sys
import uvicorn
from om_netsuite_sim import Simulator
# Served with uvicorn directly rather than SimulatorServer: SimulatorServer binds its socket without
# IPPROTO_TCP, so asyncio does not set TCP_NODELAY and every keep-alive response stalls ~40 ms on
# Nagle + delayed ACK, which would hide the client's own cost (reported to the simulator's owner).
from om_netsuite_sim._app import SimulatorApp

async def main():
    limit, latency = int(sys.argv[1]), float(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    sim = Simulator()
    accounts = []
    for n in range(count):
        account_id = "1234567_SB1" if n == 0 else f"{1000000 + n}_SB1"
        creds = sim.add_account(account_id, concurrency_limit=limit)
        account = sim.account(account_id)
        account.faults.latency = latency
        accounts.append({"account": account_id,
                         "customer": account.create("customer", {"companyName": "Bench Co", "subsidiary": {"id": "1"}}),
                         "ck": creds.consumer_key, "cs": creds.consumer_secret,
                         "tk": creds.token_id, "ts": creds.token_secret})
    bearer = sim.issue_bearer("1234567_SB1", lifetime=86400)
    config = uvicorn.Config(SimulatorApp(sim), host="127.0.0.1", port=0, lifespan="off",
                            log_level="warning", access_log=False, http="h11")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "bearer": bearer, "accounts": accounts} | accounts[0]),
          flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    server.should_exit = True
    await task

asyncio.run(main())
"""


@contextmanager
def simulator(limit: int, latency: float, accounts: int = 1) -> Iterator[dict[str, Any]]:
    """The simulator in a child process (so its CPU is not the client's); yields its address and accounts."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(limit), str(latency), str(accounts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        yield json.loads(server.stdout.readline())
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


def tba_auth(info: dict[str, Any]) -> TbaAuth:
    """TBA for one account of :func:`simulator`'s answer."""
    creds = TbaCredentials(
        consumer_key=SecretStr(info["ck"]),
        consumer_secret=SecretStr(info["cs"]),
        token_id=SecretStr(info["tk"]),
        token_secret=SecretStr(info["ts"]),
    )
    return TbaAuth(info["account"], creds)


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    wall: float
    cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.requests * 1000


async def run_client(info: dict[str, Any], concurrency: int, total: int, limit: int) -> Result:
    async with NetSuiteClient(
        base_url_override=info["url"], budget=LocalBudget(), retry=RequestRetryPolicy(max_attempts=1)
    ) as client:
        ns = client.session(ACCOUNT, tba_auth(info), concurrency_limit=limit)
        await ns.get("customer", info["customer"])  # warm the connection pool
        queue = iter(range(total))

        async def worker() -> None:
            for _ in queue:
                await ns.get("customer", info["customer"])

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Result(
            "om_netsuite", concurrency, total, time.perf_counter() - wall0, time.process_time() - cpu0
        )


async def run_plain(info: dict[str, Any], concurrency: int, total: int) -> Result:
    url = f"{info['url']}/services/rest/record/v1/customer/{info['customer']}"
    headers = {"Authorization": f"Bearer {info['bearer']}", "Accept": "application/json"}
    async with httpx2.AsyncClient(timeout=60) as http:
        (await http.get(url, headers=headers)).raise_for_status()
        queue = iter(range(total))

        async def worker() -> None:
            for _ in queue:
                response = await http.get(url, headers=headers)
                response.raise_for_status()
                response.json()

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Result(
            "plain httpx2", concurrency, total, time.perf_counter() - wall0, time.process_time() - cpu0
        )


async def measure(info: dict[str, Any], requests: int, limit: int) -> list[tuple[Result, Result]]:
    results: list[tuple[Result, Result]] = []
    for concurrency in (1, limit):
        ours = await run_client(info, concurrency, requests, limit)
        plain = await run_plain(info, concurrency, requests)
        results.append((ours, plain))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--latency", type=float, default=0.05, help="simulator latency in seconds")
    parser.add_argument("--limit", type=int, default=5, help="account concurrency limit")
    args = parser.parse_args()
    # Benchmarks measure the client as deployed: INFO logging on, to a handler that discards.
    logging.basicConfig(level=logging.INFO, handlers=[logging.NullHandler()])

    with simulator(args.limit, args.latency) as info:
        results = asyncio.run(measure(info, args.requests, args.limit))

    ok = True
    ratios: list[str] = []
    print(f"simulator latency {args.latency * 1000:.0f} ms, limit {args.limit}, {args.requests} GETs per run")
    print(f"{'client':<14}{'conc':>5}{'req/s':>9}{'ideal':>8}{'eff':>7}{'cpu ms/req':>12}")
    for ours, plain in results:
        ideal = ours.concurrency / args.latency
        for r in (ours, plain):
            print(
                f"{r.name:<14}{r.concurrency:>5}{r.rps:>9.1f}{ideal:>8.1f}{r.rps / ideal:>7.0%}{r.cpu_ms:>12.3f}"
            )
        ratio = ours.cpu_ms / plain.cpu_ms
        cpu_ok = ratio < 1.5
        eff_ok = ours.rps >= 0.9 * ideal
        ok &= cpu_ok and eff_ok
        ratios.append(
            f"cpu_ratio_c{ours.concurrency}={ratio:.2f} throughput_c{ours.concurrency}={ours.rps / ideal:.2f}"
        )
        print(
            f"  concurrency {ours.concurrency}: CPU ratio {ratio:.2f}x (target < 1.5x) "
            f"{'PASS' if cpu_ok else 'FAIL'}; throughput {ours.rps / ideal:.0%} of ideal "
            f"(target >= 90%) {'PASS' if eff_ok else 'FAIL'}"
        )
    print(f"RESULT: {'PASS' if ok else 'FAIL'}", *ratios)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
