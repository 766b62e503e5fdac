"""Benchmark of finance_sync (issue 6): 10,000 invoices in an hour, 2,000 payments reconciled.

    .venv/bin/python benchmarks/bench_finance_sync.py [--invoices 10000] [--payments 2000] [--latency 0.05] [--limit 5]

The NetSuite simulator runs in a child process (seeded through its Python API, answering each
request after `--latency` seconds, concurrency limit `--limit`); the embedded broker and the
Mongo-protocol server run as children too, so this process is the service alone. Figures:

1. finalised invoices: one hourly run over `--invoices` invoices billed from our sales orders in
   that hour: wall time to publish all (broker-confirmed), NetSuite requests per invoice, CPU per
   invoice. Targets: under 60 s (a run must finish well inside its hour), at most 0.01 requests
   per invoice.
2. reconciliation: `--payments` `payment.succeeded` events through the payments topic, each
   applied to its invoice: payments per second against the budget's ideal
   (limit / latency requests per second, divided by the measured requests per payment).
   Target: at least 70 % of the ideal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from om_contracts import (
    CREDIT_NOTES_TOPIC,
    CUSTOMERS_TOPIC,
    INTEGRATIONS_TOPIC,
    INVOICE_PAYMENTS_TOPIC,
    NETSUITE_INVOICES_TOPIC,
    PAYMENTS_TOPIC,
    PRODUCTS_TOPIC,
    RECONCILIATION_TOPIC,
    IntegrationSettings,
    KeyRing,
    dead_letter_topic,
)
from om_devstack.stack import EmbeddedStack, create_topics

ORDERS_ACCOUNT, INVOICES_ACCOUNT = "7000001_SB1", "7000002_SB1"
ORDERS_SUPPLIER, INVOICES_SUPPLIER = "sup_bench_orders", "sup_bench_invoices"

SIMULATOR = """
import asyncio, json, sys, time
from datetime import UTC, datetime, timedelta
from om_netsuite_sim import Simulator, SimulatorServer

async def main():
    invoices, payments, latency, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    sim = Simulator()
    started = time.perf_counter()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    out = {"hour": hour.isoformat()}
    creds = sim.add_account("7000001_SB1", concurrency_limit=limit)
    orders = sim.account("7000001_SB1")
    customer = orders.add_customer("Cafe Luna")
    items = [orders.add_item(f"SKU-{n}", base_price="10") for n in range(20)]
    real_clock = orders.clock
    for n in range(invoices):
        moment = hour.timestamp() + n * 3600 / invoices
        orders.clock = lambda moment=moment: moment
        so = orders.create("salesOrder", {
            "entity": {"id": customer}, "externalId": f"OM-ORDER-ord_{n}",
            "item": {"items": [{"item": {"id": items[n % 20]}, "quantity": 2, "rate": "12.50"},
                               {"item": {"id": items[(n + 1) % 20]}, "quantity": 1, "rate": "3.05"}]}})
        orders.bill_sales_order(so)
    orders.clock = real_clock
    out["orders"] = {"ck": creds.consumer_key, "cs": creds.consumer_secret, "tk": creds.token_id,
                     "ts": creds.token_secret, "items": items}
    creds = sim.add_account("7000002_SB1", concurrency_limit=limit)
    billing = sim.account("7000002_SB1")
    customer = billing.add_customer("Cafe Luna")
    item = billing.add_item("SKU-1")
    numbers = []
    for n in range(payments):
        invoice = billing.create("invoice", {"entity": {"id": customer}, "externalId": f"OM-INV-inv_{n}",
                                             "item": {"items": [{"item": {"id": item}, "quantity": 1, "rate": "159.10"}]}})
        numbers.append(billing.record("invoice", invoice)["tranId"])
    out["invoices"] = {"ck": creds.consumer_key, "cs": creds.consumer_secret, "tk": creds.token_id,
                       "ts": creds.token_secret, "customer": customer, "numbers": numbers}
    out["seeded_s"] = time.perf_counter() - started
    orders.faults.latency = latency
    billing.faults.latency = latency
    async with SimulatorServer(sim, host="127.0.0.1", port=0) as server:
        out["url"] = server.base_url
        print(json.dumps(out), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line:
                return
            account = sim.account(line.split()[1])
            if line.startswith("stats "):
                stats = account.stats()
                stats["payments"] = len(account.records("customerPayment"))
                print(json.dumps(stats), flush=True)
            elif line.startswith("reset "):
                account.reset_peak()
                print(json.dumps(account.stats()), flush=True)

asyncio.run(main())
"""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def requests(stats: dict[str, Any]) -> int:
    return sum(
        v
        for k, v in stats["counters"].items()
        if k == "suiteql" or k.split(" ")[0] in {"GET", "PUT", "POST", "PATCH", "DELETE"}
    )


def integration(
    ring: KeyRing, account: str, creds: dict[str, Any], limit: int, **extra: Any
) -> IntegrationSettings:
    return IntegrationSettings.model_validate(
        {
            "account_id": account,
            "credentials": {
                "client_id": ring.seal(creds["ck"]).token,
                "client_secret": ring.seal(creds["cs"]).token,
                "token_id": ring.seal(creds["tk"]).token,
                "token_secret": ring.seal(creds["ts"]).token,
            },
            "concurrency_limit": limit,
            **extra,
        }
    )


async def run(args: argparse.Namespace, child: subprocess.Popen[str]) -> int:
    from finance_sync.app import wire
    from finance_sync.domain.features import Feature
    from finance_sync.settings import Settings

    assert child.stdin is not None
    assert child.stdout is not None
    sim = json.loads(child.stdout.readline())
    print(
        f"simulator seeded {args.invoices} billed orders and {args.payments} invoices in {sim['seeded_s']:.1f}s"
    )

    def ask(line: str) -> dict[str, Any]:
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(line + "\n")
        child.stdin.flush()
        return dict(json.loads(child.stdout.readline()))

    failures = 0
    async with EmbeddedStack(kafka=True, mongo=True) as stack:
        topics: list[Any] = [(INTEGRATIONS_TOPIC, 1, True)]
        for name in (CUSTOMERS_TOPIC, PRODUCTS_TOPIC, PAYMENTS_TOPIC):
            topics += [(name, 4, False), (dead_letter_topic(name), 1, False)]
        topics += [
            (name, 4, False)
            for name in (
                NETSUITE_INVOICES_TOPIC,
                CREDIT_NOTES_TOPIC,
                INVOICE_PAYMENTS_TOPIC,
                RECONCILIATION_TOPIC,
            )
        ]
        await create_topics(stack.kafka_bootstrap, topics)
        keys = KeyRing.generate_key()
        ring = KeyRing.from_string(keys)
        settings = Settings(
            kafka_bootstrap_servers=stack.kafka_bootstrap,
            kafka_enable_idempotence=False,
            kafka_session_timeout_ms=2000,
            kafka_heartbeat_interval_ms=500,
            mongodb_url=stack.mongo_url,
            mongodb_database="bench_finance",
            netsuite_budget_database="bench_budget",
            netsuite_credentials_keys=keys,
            netsuite_base_url=sim["url"],
            finance_schedule_poll_s=3600.0,
            log_level="WARNING",
        )
        service = wire(settings)
        app = service.runtime.app()
        await app.start()
        try:
            orders = integration(ring, ORDERS_ACCOUNT, sim["orders"], args.limit, sync_type="orders",
                                 finalised_invoice_sync=True,
                                 product_mappings={f"prd_{item}": item for item in sim["orders"]["items"]})  # fmt: skip
            invoices = integration(ring, INVOICES_ACCOUNT, sim["invoices"], args.limit, sync_type="invoices",
                                   auto_reconciliation={"enabled": True, "bank_account_id": "112"},
                                   customer_mappings={"cus_1": sim["invoices"]["customer"]})  # fmt: skip
            for supplier, settings_ in ((ORDERS_SUPPLIER, orders), (INVOICES_SUPPLIER, invoices)):
                await service.runtime.db["integrations"].replace_one(
                    {"_id": supplier},
                    {"status": "configured", "settings": settings_.model_dump(mode="json"),
                     "occurred_at": datetime.now(UTC), "event_id": "evt_bench"},
                    upsert=True,
                )  # fmt: skip
                await service.integrations.get(supplier)  # as the start-up warm-up would have cached it

            # 1. One hourly run over the hour's invoices.
            hour = datetime.fromisoformat(sim["hour"])
            before = ask(f"stats {ORDERS_ACCOUNT}")
            started, cpu = time.perf_counter(), time.process_time()
            result = await service.run_feature(
                ORDERS_SUPPLIER, orders, Feature.FINALISED_INVOICES, hour + timedelta(hours=1)
            )
            wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
            after = ask(f"stats {ORDERS_ACCOUNT}")
            used = requests(after) - requests(before)
            per_invoice = used / max(result.published, 1)
            print(
                f"finalised invoices: {result.published} published (broker-confirmed) in {wall:.2f}s "
                f"= {result.published / wall:.0f}/s; {used} NetSuite requests = {per_invoice:.4f} per invoice; "
                f"CPU {cpu_s:.2f}s = {1000 * cpu_s / max(result.published, 1):.2f} ms per invoice; "
                f"peak NetSuite concurrency {after['peak_in_flight']}"
            )
            ok_time, ok_requests = wall < 60 and result.published == args.invoices, per_invoice <= 0.01
            print(
                f"  target: all {args.invoices} within 60s -> {verdict(ok_time)}; <= 0.01 requests/invoice -> {verdict(ok_requests)}"
            )
            failures += (not ok_time) + (not ok_requests)

            # 2. Reconciliation of payments through the topic.
            before = ask(f"stats {INVOICES_ACCOUNT}")
            producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=5)
            await producer.start()
            try:
                started = time.perf_counter()
                for n, number in enumerate(sim["invoices"]["numbers"]):
                    event = {
                        "event_id": f"evt_{uuid.uuid4().hex}", "event_type": "payment.succeeded",
                        "occurred_at": datetime.now(UTC).isoformat(), "supplier_id": INVOICES_SUPPLIER,
                        "data": {"id": f"pay_{n}", "customer": {"id": "cus_1", "name": "Cafe Luna"},
                                 "amount": "159.10", "currency": "AUD", "paid_at": datetime.now(UTC).isoformat(),
                                 "allocations": [{"invoice_id": f"inv_{n}", "invoice_number": number, "amount": "159.10"}]},
                    }  # fmt: skip
                    await producer.send(
                        PAYMENTS_TOPIC, json.dumps(event).encode(), key=INVOICES_SUPPLIER.encode()
                    )
                await producer.flush()
            finally:
                await producer.stop()
            ledger = service.runtime.db["reconciliations"]
            done = 0
            while done < args.payments:
                await asyncio.sleep(0.25)  # polling Mongo: progress has no event to await here
                done = await ledger.count_documents({"supplier_id": INVOICES_SUPPLIER, "status": "published"})
                if time.perf_counter() - started > 600:
                    break
            wall = time.perf_counter() - started
            after = ask(f"stats {INVOICES_ACCOUNT}")
            used = requests(after) - requests(before)
            per_payment = used / max(done, 1)
            ideal = args.limit / args.latency / per_payment
            rate = done / wall
            print(
                f"reconciliation: {done} payments applied and reported in {wall:.1f}s = {rate:.1f} payments/s; "
                f"{used} NetSuite requests = {per_payment:.2f} per payment; NetSuite payments recorded: {after['payments']}; "
                f"peak NetSuite concurrency {after['peak_in_flight']} (limit {args.limit})"
            )
            ok_rate = done == args.payments and rate >= 0.7 * ideal and after["payments"] == args.payments
            print(
                f"  budget ideal {args.limit}/{args.latency}s = {args.limit / args.latency:.0f} requests/s / "
                f"{per_payment:.2f} = {ideal:.1f} payments/s; achieved {100 * rate / ideal:.0f}% "
                f"(target >= 70%) -> {verdict(ok_rate)}"
            )
            failures += not ok_rate
        finally:
            await app.stop()
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--payments", type=int, default=2_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SIMULATOR,
            str(args.invoices),
            str(args.payments),
            str(args.latency),
            str(args.limit),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        sys.exit(asyncio.run(run(args, child)))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()
