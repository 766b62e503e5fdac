"""Benchmark of order_sync (issues 4 and 10) against the NetSuite simulator answering after 50 ms.

    .venv/bin/python benchmarks/bench_order_sync.py [--quick] [--latency 0.05] [--limit 5] [--orders 1000]
                                              [--rounds 2] [--light 20] [--many 20,100,1000]
                                              [--total 1000] [--per-many 3] [--fetch-wait-ms 50]
                                              [--steady 20,1000,5000] [--steady-rate 50]
                                              [--steady-orders 1500] [--settle-s 15]
                                              [--read-window-s 0.2]
                                              [--ledger-window-s 0.2]

`--quick`: 400 orders, one round, 400 orders per many-supplier phase, one order each for 1,000
suppliers, 600 orders per steady-state size.

Everything but the service runs outside it: the simulator in a child process (uvicorn, each request
answered after `--latency` s, concurrency limit `--limit` per account), the embedded broker (tansu)
and Mongo-protocol server (secantusdb) as children of the stack, and the service itself as
`python -m order_sync` in its own process, so its CPU is read from /proc alone. One account per
supplier; every supplier is configured (integration event) before the first phase, and the phases
start once the service has read every account's reference data (currencies: read when configured,
off the order path). In one run:

1. light load (info): one order at a time, order event produced -> outcome produced, p50/p99.
2. one supplier at `--limit` against the bare client: `--rounds` rounds, each the service syncing
   `--orders` orders of one supplier, then a bare `om_netsuite` client (`--limit` callers, in this
   process, through the in-process budget that never makes them wait) sending the same NetSuite
   requests on another account of the same
   simulator: one upsert of the very body the service sends per order, and the batched tranId/
   totals SuiteQL read in the proportion the service used in that round. The best run of each
   counts (the machine is shared; other load only slows a run down). Target: service / bare
   >= 0.90.
3. cold start (info): total throughput with 1 (phase 2's best) and `--many` configured suppliers
   (fresh suppliers for each figure, so every phase pays each supplier's first order: budget
   share, settings, an unshared tranId read), `--total` orders sent round robin over them
   (`--per-many` each when there are at least `--total` suppliers), NetSuite requests per order by
   operation.
4. steady state: a pool of max(`--steady`) suppliers, each warmed with one order, then
   `--settle-s` seconds of the steady traffic over the smallest size (unmeasured: a supplier's
   budget share grows to its peak concurrency once, then is kept), then for each
   size `--steady-orders` orders at `--steady-rate` orders/s in total, each to a supplier drawn at
   random among the first `size`. Targets: NetSuite requests/order <= 1.15 and MongoDB
   commands/order <= 0.3 at every size; CPU/order at the largest <= 1.2 x at the smallest. Also
   produced -> outcome p50/p99 (which includes the tranId read window).

For every phase: orders/s, service CPU ms per order, MongoDB commands per order (the server's
own `top` counters for the service's two databases, budget included, split by collection),
the Mongo server's CPU, NetSuite requests per order, peak NetSuite concurrency on any account
(<= limit), duplicates (sales orders beyond one per order, outcomes beyond one per order: 0) and
the machine's load average. Ends with `RESULT: PASS|FAIL` and the ratios (phase 2 and phase 4
targets; phase 3 is information).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SIMULATOR = """
import asyncio, json, sys, time
import uvicorn
from om_netsuite_sim import Simulator
from om_netsuite_sim._app import SimulatorApp  # uvicorn sets TCP_NODELAY; see benchmarks/netsuite_client.py

async def main():
    accounts, limit, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    sim = Simulator()
    seeded = []
    for n in range(accounts):
        account_id = f"{8000000 + n}_SB1"
        creds = sim.add_account(account_id, concurrency_limit=limit)
        a = sim.account(account_id)
        seeded.append({
            "account_id": account_id, "ck": creds.consumer_key, "cs": creds.consumer_secret,
            "tk": creds.token_id, "ts": creds.token_secret,
            "customer": a.add_customer("Bench Cafe"),
            "items": [a.add_item(f"SKU{i}") for i in range(3)],
            "freight": a.add_item("FREIGHT", item_type="otherChargeSaleItem"),
            "surcharge": a.add_item("SURCHARGE", item_type="otherChargeSaleItem"),
            "location": a.add_location("Main"),
        })
        a.faults.latency = latency
    config = uvicorn.Config(SimulatorApp(sim), host="127.0.0.1", port=0, lifespan="off",
                            log_level="warning", access_log=False, http="h11")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "accounts": seeded}), flush=True)
    # Integral of in-flight requests over time (slot-seconds), for the first two accounts only
    # (the one-supplier service run and the bare client): sampling a thousand would cost CPU.
    watched = [x["account_id"] for x in seeded[:2]]
    busy = {a: 0.0 for a in watched}

    async def sample():
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            for a in watched:
                busy[a] += sim.account(a).in_flight * (now - last)
            last = now

    sampler = asyncio.create_task(sample())
    while True:
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line.strip():
            break
        wanted = json.loads(line)
        if wanted.get("reset"):
            for a in wanted["reset"]:
                sim.account(a).reset_peak()
            print("{}", flush=True)
            continue
        counts = {a: {"salesOrder": len(sim.account(a).records("salesOrder")),
                      "peak": sim.account(a).peak_in_flight,
                      "busy": busy.get(a, 0.0)} for a in wanted["stats"]}
        print(json.dumps(counts), flush=True)
    server.should_exit = True
    await task

asyncio.run(main())
"""


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy, all cores (Linux /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def order(n: int, account: dict[str, Any]) -> dict[str, Any]:
    items = account["items"]
    return {
        "id": f"ord_{n:08d}",
        "number": str(100000 + n),
        "purchase_order_number": f"PO-{n}",
        "placed_at": "2026-11-24T09:15:00+11:00",
        "delivery_date": "2026-11-26",
        "currency": "AUD",
        "customer": {
            "id": "cus_1",
            "name": "Bench Cafe",
            "properties": {
                "netsuite_id": account["customer"],
                "netsuite_freight_item_id": account["freight"],
            },
        },
        "lines": [
            {
                "id": f"l{i}",
                "quantity": str(i + 1),
                "unit_price": "12.50",
                "product": {
                    "id": f"prd_{i}",
                    "sku": f"S{i}",
                    "name": f"P{i}",
                    "properties": {"netsuite_id": item},
                },
            }
            for i, item in enumerate(items)
        ],
        "freight": {"amount": "15.00"},
        "surcharge": {"amount": "2.35", "description": "Card surcharge"},
        "properties": {"netsuite_location_id": account["location"]},
        "totals": {"subtotal": "75.00", "tax": "0", "total": "92.35"},
    }


class Outcomes:
    """Consumes sync results from the current end; records when each order's outcome arrived."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.arrived: dict[str, float] = {}
        self.broker_time: dict[str, float] = {}  # the outcome record's CreateTime (epoch s)
        self.seen: Counter[str] = Counter()  # outcomes per order (more than one is a duplicate)
        self.failed: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def start(self, topic: str) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
        )
        await self.consumer.start()
        tps = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]
        self.consumer.assign(tps)
        ends = await self.consumer.end_offsets(tps)
        for tp in tps:
            self.consumer.seek(tp, ends[tp])
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    event = json.loads(record.value)
                    order_id = event["data"]["ordermentum_id"]
                    self.arrived[order_id] = now
                    self.broker_time[order_id] = record.timestamp / 1000
                    self.seen[order_id] += 1
                    if event["event_type"].endswith(".failed"):
                        self.failed.append(event)
            if batches:
                self.changed.set()

    async def wait(self, ids: list[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not all(i in self.arrived for i in ids):
            self.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                missing = [i for i in ids if i not in self.arrived]
                raise TimeoutError(f"{len(missing)} outcome(s) missing, e.g. {missing[:3]}")
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                continue

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()


BUDGET_COUNTERS = {  # the budget's own counters, to say why it touched MongoDB in a phase
    "om_netsuite_budget_share_changes_total{": "change",
    "om_netsuite_budget_mongo_operations_total{": "operation",
}


async def scrape(port: int) -> tuple[dict[str, float], dict[str, float]]:
    """From the service's /metrics: NetSuite request counts by operation, and the budget's share
    changes and MongoDB commands (keys `change:grow`, `operation:findAndModify`, ...)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
    body = (await reader.read()).decode()
    writer.close()
    counts: dict[str, float] = {}
    budget: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith("om_netsuite_request_seconds_count{"):
            labels, value = line.rsplit(" ", 1)
            operation = labels.split('operation="', 1)[1].split('"', 1)[0]
            counts[operation] = counts.get(operation, 0.0) + float(value)
        for prefix, label in BUDGET_COUNTERS.items():
            if line.startswith(prefix):
                labels, value = line.rsplit(" ", 1)
                name = labels.split(label + '="', 1)[1].split('"', 1)[0]
                budget[f"{label}:{name}"] = budget.get(f"{label}:{name}", 0.0) + float(value)
    return counts, budget


@dataclass
class Phase:
    """One measured run of the service (or of the bare client)."""

    name: str
    orders: int
    wall: float
    service_cpu: float = 0.0
    mongo_cpu: float = 0.0
    mongo_commands: dict[str, int] = field(default_factory=dict)  # collection -> commands
    requests: float = 0.0
    peak: int = 0
    duplicates: int = 0
    failed: int = 0
    load: tuple[float, float] = (0.0, 0.0)
    busy: float = 0.0  # slot-seconds in use at the simulator (watched accounts only)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process, and the machine's
    latencies: list[float] = field(default_factory=list)  # ms, order produced -> outcome produced (paced)
    operations: dict[str, float] = field(default_factory=dict)  # NetSuite requests by operation
    budget: dict[str, float] = field(default_factory=dict)  # the budget's share changes and commands

    def where(self) -> str:
        """Where the machine's CPU went during the phase, in cores."""
        if not self.cpu:
            return ""
        ours = sum(v for k, v in self.cpu.items() if k != "machine")
        parts = " ".join(f"{k} {v / self.wall:.2f}" for k, v in self.cpu.items() if k != "machine")
        other = (self.cpu["machine"] - ours) / self.wall
        return f"cores busy: {parts}, everything else on the machine {other:.2f} (of {os.cpu_count()})"

    @property
    def rate(self) -> float:
        return self.orders / self.wall

    def commands_per_order(self) -> float:
        return sum(self.mongo_commands.values()) / self.orders

    def line(self, limit: int) -> str:
        split = ", ".join(
            f"{name} {count / self.orders:.2f}"
            for name, count in sorted(self.mongo_commands.items(), key=lambda kv: -kv[1])
            if count / self.orders >= 0.005
        )
        return (
            f"{self.name:<26}{self.orders:>6} {self.rate:>9.1f}/s  CPU {1000 * self.service_cpu / self.orders:>5.2f} ms/order "
            f"({100 * self.service_cpu / self.wall:.0f}% of a core)  Mongo {self.commands_per_order():.2f} commands/order "
            f"[{split}], server CPU {100 * self.mongo_cpu / self.wall:.0f}%  NetSuite {self.requests / self.orders:.2f} req/order "
            f"({self.requests / self.wall:.0f}/s)  "
            f"peak {self.peak}/{limit}  duplicates {self.duplicates}  failed {self.failed}  "
            f"load {self.load[0]:.1f}->{self.load[1]:.1f}"
        )


class Bench:
    """The running stack, service, simulator and the benchmark's own producer and consumer."""

    def __init__(self, args: argparse.Namespace, sim_child: subprocess.Popen[str]) -> None:
        self.args = args
        self.sim_child = sim_child
        self.serial = iter(range(10_000_000))

    def sim_call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.sim_child.stdin is not None
        assert self.sim_child.stdout is not None
        self.sim_child.stdin.write(json.dumps(request) + "\n")
        self.sim_child.stdin.flush()
        answer: dict[str, Any] = json.loads(self.sim_child.stdout.readline())
        return answer

    async def top(self) -> dict[str, int]:
        """Commands the Mongo-protocol server ran per collection of the service's databases."""
        answer = await self.mongo.admin.command("top")
        counts: dict[str, int] = {}
        for namespace, sections in answer.get("totals", {}).items():
            db, _, collection = namespace.partition(".")
            if db == self.database:
                counts[collection] = sections["total"]["count"]
            elif db == f"{self.database}_budget":
                counts[f"budget.{collection}"] = sections["total"]["count"]
        return counts

    def envelope(self, supplier_index: int) -> tuple[str, bytes, bytes]:
        n = next(self.serial)
        data = order(n, self.accounts[supplier_index])
        envelope = {
            "event_id": f"evt_{n}",
            "event_type": "order.placed",
            "occurred_at": "2026-11-24T09:15:00+11:00",
            "supplier_id": self.suppliers[supplier_index],
            "data": data,
        }
        return data["id"], json.dumps(envelope).encode(), self.suppliers[supplier_index].encode()

    async def measure(
        self,
        name: str,
        supplier_indexes: list[int],
        per_supplier: int,
        *,
        rate: float | None = None,
        orders: int | None = None,
    ) -> Phase:
        """Send `per_supplier` orders to each supplier (round robin), wait for every outcome.

        `rate`: send `orders` orders instead, at that total rate (orders/s), each to a supplier drawn
        at random from `supplier_indexes` (the steady state: every supplier keeps sending)."""
        import random

        from om_contracts import ORDERS_TOPIC

        if rate is None:
            prepared = [self.envelope(i) for _ in range(per_supplier) for i in supplier_indexes]
        else:
            draw = random.Random(len(supplier_indexes))
            prepared = [self.envelope(draw.choice(supplier_indexes)) for _ in range(orders or 0)]
        account_ids = [self.accounts[i]["account_id"] for i in supplier_indexes]
        before_counts = self.sim_call({"stats": account_ids})
        self.sim_call({"reset": account_ids})
        operations_before, budget_before = await scrape(self.http_port)
        top_before = await self.top()
        service_cpu, mongo_cpu = cpu_s(self.service_pid), cpu_s(self.mongo_pid)
        cpu_before = self.cpu_now()
        load_before = load_average()
        started = time.perf_counter()
        sent_at: dict[str, float] = {}
        for n, (order_id, value, key) in enumerate(prepared):
            if rate is not None:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))  # pacing, not waiting
                sent_at[order_id] = time.time()
                await self.producer.send(ORDERS_TOPIC, value, key=key)
            else:
                await self.producer.send(ORDERS_TOPIC, value, key=key)
        await self.producer.flush()
        ids = [order_id for order_id, _, _ in prepared]
        await self.outcomes.wait(ids, 900)
        wall = max(self.outcomes.arrived[i] for i in ids) - started
        service_cpu = cpu_s(self.service_pid) - service_cpu
        mongo_cpu = cpu_s(self.mongo_pid) - mongo_cpu
        cpu_after = self.cpu_now()
        load_after = load_average()
        top_after = await self.top()
        operations_after, budget_after = await scrape(self.http_port)
        operations = {
            k: v - operations_before.get(k, 0.0)
            for k, v in operations_after.items()
            if v > operations_before.get(k, 0.0)
        }
        budget = {
            k: v - budget_before.get(k, 0.0) for k, v in budget_after.items() if v > budget_before.get(k, 0.0)
        }
        stats = self.sim_call({"stats": account_ids})
        created = sum(stats[a]["salesOrder"] - before_counts[a]["salesOrder"] for a in account_ids)
        return Phase(
            name=name,
            orders=len(ids),
            wall=wall,
            service_cpu=service_cpu,
            mongo_cpu=mongo_cpu,
            mongo_commands={
                k: v - top_before.get(k, 0) for k, v in top_after.items() if v > top_before.get(k, 0)
            },
            requests=sum(operations.values()),
            operations=operations,
            budget=budget,
            latencies=sorted(1000 * (self.outcomes.broker_time[i] - sent_at[i]) for i in sent_at),
            peak=max(stats[a]["peak"] for a in account_ids),
            duplicates=max(0, created - len(ids)) + sum(self.outcomes.seen[i] - 1 for i in ids),
            failed=sum(1 for e in self.outcomes.failed if e["data"]["ordermentum_id"] in set(ids)),
            load=(load_before, load_after),
            busy=sum(stats[a]["busy"] - before_counts[a]["busy"] for a in account_ids),
            cpu={k: cpu_after[k] - cpu_before[k] for k in cpu_after},
        )

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds so far of each process of the benchmark, and of the whole machine."""
        return {
            "service": cpu_s(self.service_pid),
            "mongo": cpu_s(self.mongo_pid),
            "broker": cpu_s(self.broker_pid),
            "simulator": cpu_s(self.sim_child.pid),
            "driver": time.process_time(),
            "machine": machine_busy_s(),
        }

    async def bare(self, orders: int, reads_per_order: float) -> Phase:
        """The bare client at the limit: the service's NetSuite requests, nothing else."""
        import httpx2  # noqa: F401 - the client's transport; imported here like the rest
        from pydantic import SecretStr

        from om_contracts import Order
        from om_netsuite import LocalBudget, NetSuiteClient, RequestRetryPolicy, TbaAuth, TbaCredentials
        from om_transactions.mapping import Mappings, build_body
        from order_sync.adapters.netsuite_gateway import read_back_query

        account = self.accounts[1]
        auth = TbaAuth(
            account["account_id"],
            TbaCredentials(
                consumer_key=SecretStr(account["ck"]),
                consumer_secret=SecretStr(account["cs"]),
                token_id=SecretStr(account["tk"]),
                token_secret=SecretStr(account["ts"]),
            ),
        )
        bodies = []
        for _ in range(orders):
            tx = Order.model_validate(order(next(self.serial), account))
            products = {line.product.id: line.product.property("netsuite_id") for line in tx.lines}
            mappings = Mappings(customer=account["customer"], products=products, currency="1")
            bodies.append(
                build_body(
                    "order",
                    tx,
                    mappings,
                    external_id=f"OM-ORDER-{tx.id}",
                    surcharge_item_id=account["surcharge"],
                )
            )
        # One read of `per_read` ids per `per_read` upserts: the proportion the service used.
        per_read = max(1, round(1 / reads_per_order)) if reads_per_order > 0 else orders
        self.sim_call({"reset": [account["account_id"]]})
        before = self.sim_call({"stats": [account["account_id"]]})[account["account_id"]]
        load_before = load_average()
        cpu_before = time.process_time()
        async with NetSuiteClient(
            base_url_override=self.sim_url, budget=LocalBudget(), retry=RequestRetryPolicy(max_attempts=3)
        ) as client:
            session = client.session(account["account_id"], auth, concurrency_limit=self.args.limit)
            await session.get("customer", account["customer"])  # warm the connection pool
            queue = iter(bodies)
            written: list[str] = []
            requests = 0

            async def caller() -> None:
                nonlocal requests
                for body in queue:
                    internal_id = await session.upsert(
                        body.record_type, body.external_id, body.body, replace=["item"]
                    )
                    requests += 1
                    written.append(internal_id)
                    if len(written) >= per_read:
                        ids = [int(i) for i in written[:per_read]]
                        del written[:per_read]
                        _ = [row async for row in session.suiteql(read_back_query(len(ids)), ids)]
                        requests += 1

            started = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(self.args.limit)))
            if written:
                ids = [int(i) for i in written]
                _ = [row async for row in session.suiteql(read_back_query(len(ids)), ids)]
                requests += 1
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
        after = self.sim_call({"stats": [account["account_id"]]})[account["account_id"]]
        return Phase(
            name="bare client",
            orders=orders,
            wall=wall,
            service_cpu=cpu,
            requests=requests,
            peak=after["peak"],
            duplicates=max(0, after["salesOrder"] - before["salesOrder"] - orders),
            load=(load_before, load_average()),
            busy=after["busy"] - before["busy"],
        )

    async def light(self) -> tuple[float, float]:
        """Latency (ms) of single orders, one at a time: produced -> outcome produced."""
        from om_contracts import ORDERS_TOPIC

        latencies = []
        for _ in range(self.args.light):
            order_id, value, key = self.envelope(0)
            wall_sent = time.time()
            await self.producer.send(ORDERS_TOPIC, value, key=key)
            await self.producer.flush()
            await self.outcomes.wait([order_id], 30)
            latencies.append((self.outcomes.broker_time[order_id] - wall_sent) * 1000)
            await asyncio.sleep(0.02)
        latencies.sort()
        return statistics.median(latencies), latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

    async def run(self) -> int:
        from aiokafka import AIOKafkaProducer
        from pymongo import AsyncMongoClient

        from om_contracts import INTEGRATIONS_TOPIC, SYNC_RESULTS_TOPIC, TOPICS, KeyRing
        from om_devstack.stack import EmbeddedStack, create_topics

        args = self.args
        assert self.sim_child.stdout is not None
        sim = json.loads(self.sim_child.stdout.readline())
        self.sim_url: str = sim["url"]
        self.accounts: list[dict[str, Any]] = sim["accounts"]
        self.suppliers = [f"sup_bench_{n}" for n in range(len(self.accounts))]
        async with EmbeddedStack(kafka=True, mongo=True) as stack:
            await create_topics(
                stack.kafka_bootstrap,
                [(t.name, 12, t.compacted) for t in TOPICS] + [(t.name + ".dlq", 1, False) for t in TOPICS],
            )
            key = KeyRing.generate_key()
            ring = KeyRing.from_string(key)
            self.producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=2)
            await self.producer.start()
            for supplier, account in zip(self.suppliers, self.accounts, strict=True):
                integration = {
                    "account_id": account["account_id"],
                    "credentials": {
                        name: ring.seal(account[short]).token
                        for name, short in (
                            ("client_id", "ck"),
                            ("client_secret", "cs"),
                            ("token_id", "tk"),
                            ("token_secret", "ts"),
                        )
                    },
                    "sync_type": "orders",
                    "concurrency_limit": args.limit,
                    "surcharge_item_id": account["surcharge"],
                }
                envelope = {
                    "event_id": f"evt_cfg_{supplier}",
                    "event_type": "integration.netsuite.configured",
                    "occurred_at": "2026-11-24T09:00:00+11:00",
                    "supplier_id": supplier,
                    "data": integration,
                }
                await self.producer.send(
                    INTEGRATIONS_TOPIC, json.dumps(envelope).encode(), key=supplier.encode()
                )
            await self.producer.flush()

            self.http_port = free_port()
            self.database = f"order_sync_bench_{uuid.uuid4().hex[:6]}"
            env = {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
                "KAFKA_ENABLE_IDEMPOTENCE": "false",
                "KAFKA_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:6]}",
                "KAFKA_SESSION_TIMEOUT_MS": "2000",
                "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
                "MONGODB_URL": stack.mongo_url,
                "MONGODB_DATABASE": self.database,
                "NETSUITE_BUDGET_DATABASE": f"{self.database}_budget",
                "NETSUITE_CREDENTIALS_KEYS": key,
                "NETSUITE_BASE_URL": self.sim_url,
                "CATALOG_ENABLED": "false",
                "HTTP_PORT": str(self.http_port),
                "LOG_LEVEL": "WARNING",
                # tansu holds each fetch for the whole wait even when data arrives (real Kafka answers
                # at once and holds only idle fetches): a short wait keeps it from adding up to 500 ms
                # per hop, but at 10 ms the service's idle consumers alone sent ~700 fetches/s (21-24%
                # of a core, measured); 50 ms costs 7% and adds at most 50 ms per hop.
                "KAFKA_FETCH_MAX_WAIT_MS": str(args.fetch_wait_ms),
                "TRANID_READ_WINDOW_S": str(args.read_window_s),
                "LEDGER_WINDOW_S": str(args.ledger_window_s),
            }
            service_log = stack.workdir / "order_sync.log"
            with service_log.open("wb") as log_file:
                service = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "order_sync", env=env, cwd=ROOT, stdout=log_file, stderr=log_file
                )
            self.service_pid = service.pid
            self.mongo_pid = stack.pids()["mongo"]
            self.broker_pid = stack.pids()["kafka"]
            print(f"service log: {service_log}")
            self.outcomes = Outcomes(stack.kafka_bootstrap)
            await self.outcomes.start(SYNC_RESULTS_TOPIC)
            self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_url)
            try:
                return await self._phases()
            finally:
                service.terminate()
                await service.wait()
                await self.outcomes.stop()
                await self.producer.stop()
                await self.mongo.close()

    async def _phases(self) -> int:
        args = self.args
        deadline = time.perf_counter() + 300
        integrations = self.mongo[self.database]["integrations"]
        while await integrations.count_documents({"status": "configured"}) < len(self.suppliers):
            if time.perf_counter() > deadline:
                raise TimeoutError("the service did not project the integrations")
            await asyncio.sleep(0.5)
        # Each account's reference data (currencies) is read when its integration is configured, off
        # the order path (om_platform.reference_data); the phases start once every account has it.
        references = self.mongo[self.database]["reference_data"]
        loading_started = time.perf_counter()
        while await references.count_documents({"read_at": {"$exists": True}}) < len(self.suppliers):
            if time.perf_counter() > deadline + 1500:
                raise TimeoutError("the service did not read every account's reference data")
            await asyncio.sleep(0.5)
        print(
            f"reference data of {len(self.suppliers)} accounts read when configured in "
            f"{time.perf_counter() - loading_started:.0f} s after the integrations were projected"
        )
        await asyncio.sleep(2)  # consumers of every topic joined (the orders one is what matters)
        warm = [self.envelope(0) for _ in range(5)]
        from om_contracts import ORDERS_TOPIC

        for _, value, key in warm:
            await self.producer.send(ORDERS_TOPIC, value, key=key)
        await self.producer.flush()
        await self.outcomes.wait([w[0] for w in warm], 60)
        idle_cpu, idle_started = cpu_s(self.service_pid), time.perf_counter()
        await asyncio.sleep(3)
        self.idle_share = (cpu_s(self.service_pid) - idle_cpu) / (time.perf_counter() - idle_started)
        ideal = args.limit / args.latency
        print(
            f"service idle: {100 * self.idle_share:.0f}% of a core (its consumers polling the broker every "
            f"KAFKA_FETCH_MAX_WAIT_MS = {args.fetch_wait_ms} ms, as tansu needs; included in the CPU per order below)"
        )
        print(
            f"machine: {os.cpu_count()} CPUs, load average {load_average():.1f} at the start; simulator "
            f"{args.latency * 1000:.0f} ms per request, limit {args.limit} per account (ideal {ideal:.0f} requests/s "
            f"per account); {len(self.suppliers)} suppliers configured"
        )

        p50, p99 = await self.light()
        print(
            f"1. light load, {args.light} orders one at a time: produced -> outcome produced p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms (NetSuite's own time: 2 sequential requests = {2 * args.latency * 1000:.0f} ms) (info)"
        )

        print(
            f"2. one supplier at limit {args.limit} against the bare client, {args.rounds} round(s), best of each:"
        )
        services: list[Phase] = []
        bares: list[Phase] = []
        for round_no in range(args.rounds):
            service_run = await self.measure("service, 1 supplier", [0], args.orders)
            reads = max(0.0, service_run.requests / service_run.orders - 1)
            bare_run = await self.bare(args.orders, reads)
            services.append(service_run)
            bares.append(bare_run)
            print(
                f"   round {round_no + 1}: service {service_run.rate:.1f}/s, bare {bare_run.rate:.1f}/s "
                f"(service / bare {service_run.rate / bare_run.rate:.3f}; {service_run.requests / service_run.orders:.2f} "
                f"vs {bare_run.requests / bare_run.orders:.2f} NetSuite requests per order; slots in use "
                f"{service_run.busy / (service_run.wall * args.limit):.0%} vs {bare_run.busy / (bare_run.wall * args.limit):.0%})"
            )
        best_service = max(services, key=lambda p: p.rate)
        best_bare = max(bares, key=lambda p: p.rate)
        ratio_one = best_service.rate / best_bare.rate
        print(f"   {best_bare.line(args.limit)}")
        print(f"   {best_service.line(args.limit)}")
        print(f"     {best_service.where()}")
        print(
            f"   service / bare {ratio_one:.3f} (target >= 0.90) {verdict(ratio_one >= 0.9)}; "
            f"bare / ideal {best_bare.rate * best_bare.requests / best_bare.orders / ideal:.2f} (requests)"
        )

        print("3. total throughput by configured suppliers (fresh suppliers for each figure):")
        phases = {1: best_service}
        print(f"   {best_service.line(args.limit).replace('service, 1 supplier', '1 supplier (phase 2)')}")
        first = 2
        for count in args.many:
            indexes = list(range(first, first + count))
            first += count
            per_supplier = max(1, round(args.total / count)) if count < args.total else args.per_many
            phase = await self.measure(f"{count} suppliers x {per_supplier}", indexes, per_supplier)
            phases[count] = phase
            print(f"   {phase.line(args.limit)}")
            print(
                "     NetSuite requests by operation per order: "
                + ", ".join(f"{k} {v / phase.orders:.2f}" for k, v in sorted(phase.operations.items()))
                + " (suiteql: the tranId/totals reads; currencies are read when configured, before)"
            )
            print(f"     {phase.where()}")
        base = phases.get(20)
        ratios = {n: phases[n].rate / base.rate for n in phases if base is not None and n > 20}
        for n, r in ratios.items():
            assert base is not None
            per_request = (phases[n].requests / phases[n].wall) / (base.requests / base.wall)
            print(
                f"   {n} suppliers / 20 suppliers: {r:.2f} orders/s (cold start, info); "
                f"in NetSuite requests/s {per_request:.2f} (an order of a supplier with few orders shares its "
                f"tranId read with none)"
            )
        steady = await self._steady(first)
        every = [*services, *bares, *phases.values(), *steady.values()]
        peak = max(p.peak for p in every)
        duplicates = sum(p.duplicates for p in every)
        failed = sum(p.failed for p in every)
        mongo_share = max(p.mongo_cpu / p.wall for p in every if p.mongo_cpu)
        print(
            f"peak NetSuite concurrency on any account {peak} (limit {args.limit}) {verdict(peak <= args.limit)}; "
            f"duplicates {duplicates} {verdict(duplicates == 0)}; failed outcomes {failed} {verdict(failed == 0)}; "
            f"the Mongo-protocol server used up to {100 * mongo_share:.0f}% of a core; load average at the end "
            f"{load_average():.1f}"
        )
        small, large = min(steady), max(steady)
        cpu_ratio = (steady[large].service_cpu / steady[large].orders) / (
            steady[small].service_cpu / steady[small].orders
        )
        requests_ok = all(p.requests / p.orders <= 1.15 for p in steady.values())
        mongo_ok = all(p.commands_per_order() <= 0.3 for p in steady.values())
        ok = ratio_one >= 0.9 and requests_ok and mongo_ok and cpu_ratio <= 1.2
        ok = ok and peak <= args.limit and duplicates == 0 and failed == 0
        cpu_one = 1000 * best_service.service_cpu / best_service.orders
        print(
            f"RESULT: {verdict(ok)} one_supplier/bare={ratio_one:.2f} "
            + " ".join(
                f"steady{n}_requests_per_order={p.requests / p.orders:.2f} "
                f"steady{n}_mongo_per_order={p.commands_per_order():.2f}"
                for n, p in steady.items()
            )
            + f" steady_cpu_{large}/{small}={cpu_ratio:.2f}"
            + " ".join(f" cold{n}_suppliers/20={r:.2f}" for n, r in ratios.items())
            + f" cpu_ms_per_order={cpu_one:.1f} mongo_commands_per_order={best_service.commands_per_order():.2f} "
            f"peak={peak}/{args.limit} duplicates={duplicates}"
        )
        return 0 if ok else 1

    async def _steady(self, first: int) -> dict[int, Phase]:
        """Phase 4: `--steady` configured suppliers all sending orders at the same total rate.

        One pool of max(--steady) suppliers, each warmed with one order first (its first touch:
        budget share, settings, ledger), then `--settle-s` s of the smallest size's traffic, then
        each size sends `--steady-orders` orders at
        `--steady-rate` orders/s to suppliers drawn at random from the first `size` of the pool."""
        args = self.args
        pool = list(range(first, first + max(args.steady)))
        print(
            f"4. steady state: {args.steady_orders} orders at {args.steady_rate:.0f} orders/s in total over "
            f"{', '.join(str(n) for n in args.steady)} warm suppliers (targets: NetSuite <= 1.15 requests/order, "
            f"MongoDB <= 0.3 commands/order at every size; CPU/order at {max(args.steady)} <= 1.2 x at "
            f"{min(args.steady)}); tranId read window {args.read_window_s} s, ledger window {args.ledger_window_s} s"
        )
        warm = await self.measure(f"warm-up of {len(pool)} suppliers x 1", pool, 1)
        print(f"   {warm.line(args.limit)} (first touch, info)")
        if args.settle_s > 0:
            # A supplier's share grows to its peak concurrency once, and is then kept while the
            # supplier keeps sending (NETSUITE_BUDGET_KEEP_IDLE_S): those grows belong to the
            # first minutes of a day, not to its steady state.
            size = min(args.steady)
            settle = await self.measure(
                f"settling {size} suppliers",
                pool[:size],
                1,
                rate=args.steady_rate,
                orders=max(1, round(args.settle_s * args.steady_rate)),
            )
            print(f"   {settle.line(args.limit)} (first {args.settle_s:.0f} s at the steady rate, info)")
            print(
                "     the budget per order: "
                + ", ".join(f"{k} {v / settle.orders:.3f}" for k, v in sorted(settle.budget.items()))
            )
        steady: dict[int, Phase] = {}
        for size in args.steady:
            phase = await self.measure(
                f"steady {size} suppliers", pool[:size], 1, rate=args.steady_rate, orders=args.steady_orders
            )
            steady[size] = phase
            lat = phase.latencies
            p50, p99 = statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            per_account = args.steady_rate / size
            expected = 1 + 1 / (1 + per_account * args.read_window_s)
            print(f"   {phase.line(args.limit)}")
            print(
                f"     produced -> outcome p50 {p50:.0f} ms, p99 {p99:.0f} ms; requests by operation "
                + ", ".join(f"{k} {v / phase.orders:.2f}" for k, v in sorted(phase.operations.items()))
                + f" per order; {per_account:.3f} orders/s per account: the read window predicts "
                f"{expected:.2f} requests/order; {phase.where()}"
            )
            print(
                "     the budget per order: "
                + ", ".join(f"{k} {v / phase.orders:.3f}" for k, v in sorted(phase.budget.items()))
            )
            print(
                f"     requests/order {phase.requests / phase.orders:.2f} "
                f"{verdict(phase.requests / phase.orders <= 1.15)}; MongoDB commands/order "
                f"{phase.commands_per_order():.2f} {verdict(phase.commands_per_order() <= 0.3)}"
            )
        return steady


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer orders and one round (a few minutes)")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--orders", type=int, default=1000, help="orders per one-supplier run and bare run")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of service + bare one-supplier runs")
    parser.add_argument("--total", type=int, default=1000, help="orders per many-supplier phase")
    parser.add_argument(
        "--per-many", type=int, default=3, help="orders per supplier when suppliers >= --total"
    )
    parser.add_argument("--many", default="20,100,1000", help="supplier counts of phase 3")
    parser.add_argument("--light", type=int, default=20)
    parser.add_argument("--steady", default="20,1000,5000", help="supplier counts of the steady-state phase")
    parser.add_argument("--steady-rate", type=float, default=50.0, help="total orders/s of the steady state")
    parser.add_argument("--steady-orders", type=int, default=1500, help="orders per steady-state size")
    parser.add_argument(
        "--settle-s",
        type=float,
        default=15.0,
        help="seconds of the steady traffic over the smallest size before measuring (shares reach their peak)",
    )
    parser.add_argument("--read-window-s", type=float, default=0.2, help="the service's TRANID_READ_WINDOW_S")
    parser.add_argument("--ledger-window-s", type=float, default=0.2, help="the service's LEDGER_WINDOW_S")
    parser.add_argument(
        "--fetch-wait-ms",
        type=int,
        default=50,
        help="the service's KAFKA_FETCH_MAX_WAIT_MS (tansu holds every fetch that long)",
    )
    args = parser.parse_args()
    if args.quick:
        args.orders, args.rounds, args.total, args.per_many, args.light = 400, 1, 400, 1, 5
        args.steady_orders = 600
    args.many = [int(n) for n in args.many.split(",") if n]
    args.steady = [int(n) for n in args.steady.split(",") if n]
    accounts = 2 + sum(args.many) + max(args.steady)
    child = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(accounts), str(args.limit), str(args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        code = asyncio.run(Bench(args, child).run())
    finally:
        if child.stdin is not None:
            child.stdin.write("\n")
            child.stdin.flush()
        child.wait(10)
    sys.exit(code)


if __name__ == "__main__":
    main()
