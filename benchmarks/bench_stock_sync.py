"""Benchmark of stock_sync: a 100,000-item catalog at 3 locations (issues 5 and 10).

    .venv/bin/python benchmarks/bench_stock_sync.py [--items 100000] [--latency 0.05] [--limit 5] [--rounds 5] [--scan-only]

The NetSuite simulator runs in a child process (seeded through its Python API, answering every
request after `--latency` seconds, concurrency limit `--limit`); the embedded broker and
Mongo-protocol server run as children too, so this process is the service alone. Figures:

1. capacity: what the simulator itself serves on this machine now. A bare `om_netsuite` client
   (in-process budget at the limit, no MongoDB, rows left as dicts) reads the same pages as the
   service: the same stripes, query and page size.
2. scan: the service's striped keyset read of every item (its NetSuite access with the shared
   MongoDB budget, rows parsed into levels), as a ratio of the capacity; target <= 1.2. Both are
   measured in rotating order, `--rounds` times, and the median of the per-round ratios counts.
   The same reader over the bare client's in-process budget shows what the MongoDB budget costs.
   Requests per scan are counted at the simulator: pages + 2 (no trailing empty page per stripe).
3. first run: the whole use case (read, map, compare, publish 100% and snapshot).
4. rescan without changes: read + compare against the MongoDB snapshots; publishes nothing.
5. rescan with 1% of the levels changed: time and events (must be exactly the changed items).
6. peak RSS of this process (target under 300 MB), CPU per item, simulator peak in-flight.

Ends with `RESULT: PASS` or `RESULT: FAIL` and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic import SecretStr

from om_contracts import (
    INTEGRATIONS_TOPIC,
    MAX_MAPPINGS,
    PRODUCTS_TOPIC,
    STOCK_LEVELS_TOPIC,
    IntegrationSettings,
    KeyRing,
    dead_letter_topic,
    get_topic,
)
from om_devstack.stack import EmbeddedStack, create_topics
from om_netsuite import LocalBudget, NetSuiteClient, NetSuiteSession, TbaAuth, TbaCredentials

ACCOUNT = "7654321_SB1"
SUPPLIER = "sup_bench"

SIMULATOR = """
import asyncio, json, random, sys, time
from om_netsuite_sim import Simulator, SimulatorServer

async def main():
    items, latency, limit = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    sim = Simulator()
    creds = sim.add_account("7654321_SB1", concurrency_limit=limit)
    account = sim.account("7654321_SB1")
    started = time.perf_counter()
    locations = [account.add_location(f"Warehouse {n}") for n in range(3)]
    ids = []
    for n in range(items):
        item = account.add_item(f"SKU-{n}")
        ids.append(item)
        for k, location in enumerate(locations):
            if (n + k) % 10:  # one in ten item/location pairs has no stock record (counts as zero)
                account.set_stock(item, location, on_hand=(n * 7 + k) % 500, available=(n * 5 + k) % 400)
    seeded = time.perf_counter() - started
    account.faults.latency = latency
    async with SimulatorServer(sim, host="127.0.0.1", port=0) as server:
        print(json.dumps({"url": server.base_url, "ck": creds.consumer_key, "cs": creds.consumer_secret,
                          "tk": creds.token_id, "ts": creds.token_secret, "locations": locations,
                          "items": ids, "seeded_s": seeded}), flush=True)
        loop = asyncio.get_running_loop()
        rng = random.Random(7)
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line:
                return
            if line.startswith("change "):
                count = int(line.split()[1])
                for item in rng.sample(ids, count):
                    account.set_stock(item, locations[0], on_hand=10_000, available=9_000)
                print(json.dumps({"changed": count, "peak_in_flight": account.peak_in_flight}), flush=True)
            elif line == "stats":
                print(json.dumps(account.stats()), flush=True)
            elif line == "requests":  # requests since the last ask (the log holds the last 10,000)
                print(json.dumps({"requests": len(account.request_log)}), flush=True)
                account.request_log.clear()

asyncio.run(main())
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc), to show the simulator's share."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@dataclass
class Scan:
    """One read of every page: wall and CPU seconds, pages, items, simulator requests and CPU."""

    seconds: float
    cpu_s: float
    pages: int
    items: int
    requests: int = 0
    sim_cpu_s: float = 0.0

    def describe(self) -> str:
        return (
            f"{self.seconds:.2f}s ({self.pages} pages, {self.requests} requests, "
            f"client CPU {self.cpu_s * 1000 / max(self.pages, 1):.1f} ms/page)"
        )


@contextlib.asynccontextmanager
async def bare_session(sim: dict[str, Any], limit: int) -> AsyncIterator[NetSuiteSession]:
    """A plain `om_netsuite` session: in-process budget at the account limit, nothing else."""
    creds = TbaCredentials(
        consumer_key=SecretStr(sim["ck"]),
        consumer_secret=SecretStr(sim["cs"]),
        token_id=SecretStr(sim["tk"]),
        token_secret=SecretStr(sim["ts"]),
    )
    async with NetSuiteClient(base_url_override=sim["url"], budget=LocalBudget()) as client:
        yield client.session(ACCOUNT, TbaAuth(ACCOUNT, creds), concurrency_limit=limit)


async def bare_read(
    session: NetSuiteSession, query: str, parts: list[tuple[int, int]], page_size: int
) -> Scan:
    """The service's pages through the bare session: keyset per stripe, stopping at its bound."""

    async def stripe(after: int, up_to: int) -> int:
        rows = cast(
            AsyncGenerator[dict[str, Any], None],
            session.suiteql_keyset(query, [str(up_to)], key="id", start=str(after), page_size=page_size),
        )
        count = 0
        async with contextlib.aclosing(rows):
            async for row in rows:
                count += 1
                if int(row["id"]) >= up_to:
                    break
        return count

    started, cpu = time.perf_counter(), time.process_time()
    counts = await asyncio.gather(*(stripe(after, up_to) for after, up_to in parts))
    pages = sum(-(-count // page_size) for count in counts)
    return Scan(time.perf_counter() - started, time.process_time() - cpu, pages, sum(counts))


async def service_read(reader: Any, view: Any, parts: list[tuple[int, int]]) -> Scan:
    """The service's own scan: its reader (shared MongoDB budget, rows parsed), every stripe."""
    counted = [0, 0]

    async def stripe(after: int, up_to: int) -> None:
        async for page in reader.pages(view, after, up_to):
            counted[0] += 1
            counted[1] += len(page)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(stripe(after, up_to) for after, up_to in parts))
    return Scan(time.perf_counter() - started, time.process_time() - cpu, counted[0], counted[1])


async def run(args: argparse.Namespace, child: subprocess.Popen[str]) -> int:
    from stock_sync.adapters.netsuite_gateway import NetSuiteStockReader, levels_query
    from stock_sync.app import wire
    from stock_sync.domain.levels import StockView
    from stock_sync.domain.stripes import stripe_count, stripes
    from stock_sync.settings import Settings

    status = 1
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        sim = json.loads(child.stdout.readline())
        print(f"simulator seeded {args.items} items x 3 locations in {sim['seeded_s']:.1f}s")

        def ask(line: str) -> dict[str, Any]:
            assert child.stdin is not None
            assert child.stdout is not None
            child.stdin.write(line + "\n")
            child.stdin.flush()
            return dict(json.loads(child.stdout.readline()))

        async with EmbeddedStack(kafka=True, mongo=True) as stack:
            topics: list[Any] = []
            for name in (INTEGRATIONS_TOPIC, PRODUCTS_TOPIC, STOCK_LEVELS_TOPIC):
                topic = get_topic(name)
                topics += [(topic.name, topic.partitions, topic.compacted), (dead_letter_topic(name), 1)]
            await create_topics(stack.kafka_bootstrap, topics)
            keys = KeyRing.generate_key()
            ring = KeyRing.from_string(keys)
            settings = Settings(
                kafka_bootstrap_servers=stack.kafka_bootstrap,
                kafka_enable_idempotence=False,
                kafka_session_timeout_ms=2000,
                kafka_heartbeat_interval_ms=500,
                mongodb_url=stack.mongo_url,
                mongodb_database="bench_stock",
                netsuite_budget_database="bench_budget",
                netsuite_credentials_keys=keys,
                netsuite_base_url=sim["url"],
                stock_tick_s=3600.0,
                log_level="WARNING",
            )
            service = wire(settings)
            runtime = service.runtime
            app = runtime.app()
            await app.start()
            try:
                # The integration's product tab holds at most MAX_MAPPINGS (50,000) pairs: the first
                # half of the catalog is mapped there (written as the integrations consumer would
                # store it), the rest as product.upserted events with a netsuite_id would have
                # stored it; a scan resolves both (the tab first, then one stored-mapping query).
                tab_items = sim["items"][:MAX_MAPPINGS]
                await runtime.db["mappings"].insert_many(
                    [
                        {
                            "_id": f"{SUPPLIER}:product:prd_{item}",
                            "supplier_id": SUPPLIER,
                            "kind": "product",
                            "ordermentum_id": f"prd_{item}",
                            "event_netsuite_id": item,
                            "event_properties": {},
                            "name": None,
                            "occurred_at": datetime.now(UTC),
                            "event_id": f"evt_prd_{item}",
                            "updated_at": datetime.now(UTC),
                        }
                        for item in sim["items"][MAX_MAPPINGS:]
                    ]
                )
                integration = IntegrationSettings.model_validate(
                    {
                        "account_id": ACCOUNT,
                        "credentials": {
                            "client_id": ring.seal(sim["ck"]).token,
                            "client_secret": ring.seal(sim["cs"]).token,
                            "token_id": ring.seal(sim["tk"]).token,
                            "token_secret": ring.seal(sim["ts"]).token,
                        },
                        "sync_type": "orders",
                        "concurrency_limit": args.limit,
                        "stock": {
                            "enabled": True,
                            "field": "available",
                            "location_ids": ",".join(sim["locations"]),
                        },
                        "product_mappings": {f"prd_{item}": item for item in tab_items},
                    }
                )
                await runtime.db["integrations"].replace_one(
                    {"_id": SUPPLIER},
                    {
                        "status": "configured",
                        "settings": integration.model_dump(mode="json"),
                        "occurred_at": datetime.now(UTC),
                        "event_id": "evt_bench",
                    },
                    upsert=True,
                )
                del sim["items"]
                baseline = rss_mb()
                print(f"service started; RSS {baseline:.0f} MB")

                # 1-2. Capacity (bare client) and the service's scan of the same pages, alternated.
                reader = NetSuiteStockReader(
                    runtime.netsuite.session(SUPPLIER, integration),
                    item_types=settings.item_types(),
                    page_size=settings.stock_page_size,
                )
                view = StockView.from_settings(integration.stock)
                bounds = await reader.id_range()
                assert bounds is not None
                parts = stripes(bounds[0], bounds[1], stripe_count(args.limit, settings.stock_max_stripes))
                query = levels_query(view, settings.item_types(), settings.stock_page_size)
                # Per round, in rotating order: the bare client; the service's reader; the same reader
                # over the bare client's in-process budget (what the shared MongoDB budget costs).
                scans: dict[str, list[Scan]] = {"bare": [], "service": [], "local": []}
                async with bare_session(sim, args.limit) as bare:
                    local = NetSuiteStockReader(
                        bare, item_types=settings.item_types(), page_size=settings.stock_page_size
                    )
                    await bare_read(bare, query, parts[:1], settings.stock_page_size)  # warm its pool
                    ask("requests")
                    for round_ in range(args.rounds):
                        order = list(scans)[round_ % 3 :] + list(scans)[: round_ % 3]
                        for who in order:
                            sim_cpu = cpu_s(child.pid)
                            if who == "bare":
                                scan = await bare_read(bare, query, parts, settings.stock_page_size)
                            else:
                                scan = await service_read(reader if who == "service" else local, view, parts)
                            scan.requests = int(ask("requests")["requests"])
                            scan.sim_cpu_s = cpu_s(child.pid) - sim_cpu
                            scans[who].append(scan)
                        print(
                            f"round {round_ + 1}: capacity (bare client) {scans['bare'][-1].describe()}; "
                            f"service scan {scans['service'][-1].describe()}, "
                            f"ratio {scans['service'][-1].seconds / scans['bare'][-1].seconds:.2f}; "
                            f"with an in-process budget {scans['local'][-1].seconds:.2f}s"
                        )
                bare_scans, service_scans = scans["bare"], scans["service"]
                scan_ratio = statistics.median(
                    s.seconds / b.seconds for s, b in zip(service_scans, bare_scans, strict=True)
                )
                local_ratio = statistics.median(
                    s.seconds / b.seconds for s, b in zip(scans["local"], bare_scans, strict=True)
                )
                capacity_s = statistics.median(scan.seconds for scan in bare_scans)
                last_scan = service_scans[-1]
                ideal = last_scan.pages * args.latency / args.limit
                print(
                    f"scan / capacity (median of {args.rounds}): {scan_ratio:.2f} (target <= 1.2) "
                    f"{verdict(scan_ratio <= 1.2)}; with an in-process budget instead of MongoDB's "
                    f"{local_ratio:.2f}; capacity {capacity_s:.2f}s vs latency-only ideal "
                    f"{ideal:.2f}s = {last_scan.pages} pages x {args.latency}s / {args.limit}"
                )
                requests_ok = all(scan.requests == scan.pages for scan in service_scans)
                print(
                    f"requests per service scan {[scan.requests for scan in service_scans]} for "
                    f"{last_scan.pages} pages in {len(parts)} stripes (no trailing empty page) {verdict(requests_ok)}; "
                    f"client CPU {last_scan.cpu_s * 1000 / max(last_scan.items, 1):.3f} ms/item, "
                    f"simulator CPU {last_scan.sim_cpu_s * 1000 / max(last_scan.pages, 1):.1f} ms/page"
                )

                if args.scan_only:
                    ok = scan_ratio <= 1.2 and requests_ok
                    print(
                        f"RESULT: {verdict(ok)} scan/capacity={scan_ratio:.2f} (<= 1.2) "
                        f"in-process-budget-scan/capacity={local_ratio:.2f} "
                        f"requests/pages={last_scan.requests / max(last_scan.pages, 1):.2f} (= 1.00)"
                    )
                    return 0 if ok else 1

                # 3-5. The use case.
                results: dict[str, tuple[float, float, Any]] = {}
                for label, change in (("first run", 0), ("rescan, no change", 0), ("rescan, 1% changed", 1)):
                    if change:
                        ask(f"change {args.items // 100}")
                    started, cpu = time.perf_counter(), time.process_time()
                    report = await service.on_demand.run_now(SUPPLIER)
                    assert report is not None
                    elapsed = time.perf_counter() - started
                    results[label] = (elapsed, time.process_time() - cpu, report)
                    counts = report.counts
                    print(
                        f"{label}: {elapsed:.1f}s ({elapsed / capacity_s:.1f}x capacity), {report.outcome}, "
                        f"published {counts.published}, unchanged {counts.unchanged}, unmapped {counts.unmapped}, "
                        f"pages {counts.pages}; service CPU "
                        f"{(time.process_time() - cpu) * 1000 / max(counts.items, 1):.3f} ms/item"
                    )
                changed = results["rescan, 1% changed"][2].counts.published
                peak = rss_mb()
                stats = ask("stats")
                rss_ok = peak < 300
                in_flight_ok = stats["peak_in_flight"] <= args.limit
                exact_ok = changed == args.items // 100
                print(
                    f"peak RSS {peak:.0f} MB (baseline {baseline:.0f} MB; target < 300 MB) {verdict(rss_ok)}; "
                    f"simulator peak in-flight {stats['peak_in_flight']} (limit {args.limit}) {verdict(in_flight_ok)}"
                )
                print(
                    f"1% rescan published {changed} events for {args.items // 100} changed items "
                    f"{verdict(exact_ok)}"
                )
                rescan_ratio = results["rescan, no change"][0] / capacity_s
                ok = scan_ratio <= 1.2 and requests_ok and rss_ok and in_flight_ok and exact_ok
                print(
                    f"RESULT: {verdict(ok)} scan/capacity={scan_ratio:.2f} (<= 1.2) "
                    f"in-process-budget-scan/capacity={local_ratio:.2f} rescan/capacity={rescan_ratio:.2f} "
                    f"requests/pages={last_scan.requests / max(last_scan.pages, 1):.2f} (= 1.00) "
                    f"1%-rescan-events/changed={changed / max(args.items // 100, 1):.2f} (= 1.00) "
                    f"peak-in-flight/limit={stats['peak_in_flight'] / args.limit:.2f} (<= 1) "
                    f"peak-rss={peak:.0f}MB (< 300)"
                )
                status = 0 if ok else 1
            finally:
                await app.stop()
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of capacity and scan measured")
    parser.add_argument("--scan-only", action="store_true", help="figures 1-2 only (a few minutes less)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    child = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(args.items), str(args.latency), str(args.limit)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sys.exit(asyncio.run(run(args, child)))


if __name__ == "__main__":
    main()
