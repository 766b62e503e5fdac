"""Benchmark of stock_sync: a 100,000-item catalog at 3 locations (issue 5).

    .venv/bin/python benchmarks/stock_sync.py [--items 100000] [--latency 0.05] [--limit 5]

The NetSuite simulator runs in a child process (seeded through its Python API, answering every
request after `--latency` seconds, concurrency limit `--limit`); the embedded broker and
Mongo-protocol server run as children too, so this process is the service alone. Figures:

1. scan: the striped keyset SuiteQL read of every item (no Mongo, no broker) vs the ideal
   `pages x latency / limit`; target within 1.5x.
2. first run: the whole use case (read, map, compare, publish 100% and snapshot).
3. rescan without changes: read + compare against the MongoDB snapshots; publishes nothing.
4. rescan with 1% of the levels changed: time and events (must be exactly the changed items).
5. peak RSS of this process (target under 300 MB) and CPU per item.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from om_contracts import (
    INTEGRATIONS_TOPIC,
    PRODUCTS_TOPIC,
    STOCK_LEVELS_TOPIC,
    IntegrationSettings,
    KeyRing,
    dead_letter_topic,
    get_topic,
)
from om_devstack.stack import EmbeddedStack, create_topics

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


async def run(args: argparse.Namespace, child: subprocess.Popen[str]) -> int:
    # Imported here: this script's own folder had to leave sys.path first (see main()).
    from stock_sync.adapters.netsuite_gateway import NetSuiteStockReader
    from stock_sync.app import build_service
    from stock_sync.domain.levels import StockView
    from stock_sync.domain.queries import stripe_count, stripes
    from stock_sync.settings import Settings

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
            runtime, service = build_service(settings)
            app = runtime.app()
            await app.start()
            try:
                # The mapping comes from the integration's product tab (100,000 pairs): written as the
                # integrations consumer would store it, since one Kafka record that size exceeds 1 MB.
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
                        "product_mappings": {f"prd_{item}": item for item in sim["items"]},
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

                # 1. The scan alone.
                reader = NetSuiteStockReader(
                    runtime.netsuite.session(SUPPLIER, integration), item_types=settings.item_types()
                )
                view = StockView.from_settings(integration.stock)
                started, cpu, sim_cpu = time.perf_counter(), time.process_time(), cpu_s(child.pid)
                _, bounds = await asyncio.gather(reader.known_locations(view.location_ids), reader.id_range())
                assert bounds is not None
                parts = stripes(bounds[0], bounds[1], stripe_count(args.limit, settings.stock_max_stripes))
                counted = [0, 0]

                async def drain(after: int, up_to: int) -> None:
                    async for page in reader.pages(view, after, up_to):
                        counted[0] += 1
                        counted[1] += len(page)

                await asyncio.gather(*(drain(a, b) for a, b in parts))
                scan_s = time.perf_counter() - started
                scan_cpu = time.process_time() - cpu
                scan_sim_cpu = cpu_s(child.pid) - sim_cpu
                pages = counted[0]
                ideal = pages * args.latency / args.limit
                print(
                    f"scan: {counted[1]} items, {pages} pages in {len(parts)} stripes, {scan_s:.2f}s "
                    f"(ideal {ideal:.2f}s = {pages} x {args.latency}s / {args.limit}; "
                    f"{scan_s / ideal:.2f}x, target <= 1.5x) {verdict(scan_s <= 1.5 * ideal)}; "
                    f"client CPU {scan_cpu * 1000 / max(counted[1], 1):.3f} ms/item"
                )
                print(
                    f"  simulator CPU during the scan {scan_sim_cpu:.2f}s ({scan_sim_cpu * 1000 / pages:.1f} ms/page, "
                    f"one thread: pages queue behind each other there); with it, pages x (latency + simulator "
                    f"ms/page) / limit = {pages * (args.latency + scan_sim_cpu / pages) / args.limit:.2f}s"
                )

                # 2-4. The use case.
                results: dict[str, tuple[float, float, Any]] = {}
                for label, change in (("first run", 0), ("rescan, no change", 0), ("rescan, 1% changed", 1)):
                    if change:
                        ask(f"change {args.items // 100}")
                    started, cpu = time.perf_counter(), time.process_time()
                    report = await service.scheduler.run_now(SUPPLIER)
                    assert report is not None
                    elapsed = time.perf_counter() - started
                    results[label] = (elapsed, time.process_time() - cpu, report)
                    counts = report.counts
                    print(
                        f"{label}: {elapsed:.1f}s, {report.outcome}, published {counts.published}, "
                        f"unchanged {counts.unchanged}, unmapped {counts.unmapped}, pages {counts.pages}; "
                        f"service CPU {(time.process_time() - cpu) * 1000 / max(counts.items, 1):.3f} ms/item"
                    )
                changed = results["rescan, 1% changed"][2].counts.published
                peak = rss_mb()
                stats = ask("stats")
                print(
                    f"peak RSS {peak:.0f} MB (baseline {baseline:.0f} MB; target < 300 MB) {verdict(peak < 300)}; "
                    f"simulator peak in-flight {stats['peak_in_flight']} (limit {args.limit})"
                )
                print(
                    f"1% rescan published {changed} events for {args.items // 100} changed items "
                    f"{verdict(changed == args.items // 100)}"
                )
                first = results["first run"][0]
                print(
                    f"first run {first:.1f}s vs scan {scan_s:.2f}s: the difference is MongoDB snapshot writes "
                    f"and {results['first run'][2].counts.published} broker confirmations"
                )
            finally:
                await app.stop()
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # This file is named like the service's package: drop its folder from the import path so
    # `import stock_sync` finds the package, not this script.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    child = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(args.items), str(args.latency), str(args.limit)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sys.exit(asyncio.run(run(args, child)))


if __name__ == "__main__":
    main()
