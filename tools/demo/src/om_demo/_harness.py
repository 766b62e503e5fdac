"""What the demo drives: the embedded stack, the three services as processes, Kafka in and out, the simulator.

The services run exactly as in production (`python -m order_sync`, ...), configured only through
their environment variables; the demo talks to them only through Kafka topics, MongoDB command
documents (the same ones `omctl` writes) and the NetSuite simulator's admin API.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from om_contracts import KeyRing, topic_specs
from om_demo import _world as world
from om_devstack._process import ChildProcess
from om_devstack.stack import EmbeddedStack
from om_platform.adapters.kafka.security import client_settings, kafka_client_kwargs

SERVICES = ("order_sync", "stock_sync", "finance_sync")
OUTBOUND = (
    "netsuite.sync-results.v1",
    "netsuite.catalog.v1",
    "netsuite.stock-levels.v1",
    "netsuite.invoices.v1",
    "netsuite.credit-notes.v1",
    "netsuite.invoice-payments.v1",
    "netsuite.reconciliation.v1",
    "netsuite.integration-status.v1",
)


class Simulator:
    """The simulator's admin API (acting as the supplier's NetSuite users)."""

    def __init__(self, base_url: str, account: str) -> None:
        self._http = httpx2.AsyncClient(base_url=f"{base_url}/_sim", timeout=30)
        self.account = account

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self._http.request(
            method, f"/accounts/{self.account}/{path}" if path else "/accounts", json=body
        )
        response.raise_for_status()
        return response.json() if response.content else None

    async def create_account(self, limit: int) -> dict[str, str]:
        answer = await self._http.post(
            "/accounts", json={"account_id": self.account, "concurrency_limit": limit}
        )
        answer.raise_for_status()
        credentials: dict[str, str] = answer.json()["credentials"]
        return credentials

    async def add_item(self, item: world.Item) -> str:
        """The item in NetSuite, priced and taxed as `item` says; its internal id."""
        body = {"item_id": item.sku, "display_name": item.name, "base_price": str(item.price),
                "tax_code": item.netsuite_tax_code}  # fmt: skip
        internal_id: str = (await self.call("POST", "items", body))["id"]
        return internal_id

    async def add_charge_item(self, item_id: str, name: str, tax_code: str) -> str:
        """An other-charge item (freight, surcharge); its internal id."""
        body = {
            "item_id": item_id,
            "display_name": name,
            "item_type": "otherChargeSaleItem",
            "tax_code": tax_code,
        }
        internal_id: str = (await self.call("POST", "items", body))["id"]
        return internal_id

    async def add_customer(self, venue: world.Venue) -> str:
        """The venue as a NetSuite customer; its internal id."""
        body = {"company_name": venue.name, "email": venue.email}
        internal_id: str = (await self.call("POST", "customers", body))["id"]
        return internal_id

    async def records(self, record_type: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.call("GET", f"records/{record_type}"))["items"]
        return items

    async def aclose(self) -> None:
        await self._http.aclose()


class OtherSupplier:
    """A supplier of the day beside Bean Co: its own NetSuite account, events keyed by its id."""

    def __init__(
        self,
        harness: Harness,
        console: Any,
        mongo: AsyncMongoClient[dict[str, Any]],
        supplier: str,
        account: str,
        clock: datetime,
    ) -> None:
        self.h = harness
        self.console = console
        self.mongo = mongo
        self.supplier = supplier
        self.sim = Simulator(harness.simulator_url, account)
        self.ids: dict[str, str] = {}
        self.clock = clock
        self._event_n = 0

    async def emit(self, topic: str, event_type: str, data: dict[str, Any]) -> None:
        """Publish an Ordermentum event of this supplier, five minutes after the previous one."""
        self._event_n += 1
        self.clock += timedelta(minutes=5)
        event_id = f"evt_{self.supplier.removeprefix('sup_')}_{self._event_n:04d}"
        envelope = world.envelope(event_type, event_id, self.clock, data)
        await self.h.publish(topic, {**envelope, "supplier_id": self.supplier}, key=self.supplier)


# Where the demo leaves its practice dead letter (see Story.leave_practice_material).
PRACTICE_DLQ = "ordermentum.orders.v1.dlq"


class Outbox:
    """Everything the services publish, collected by topic as it arrives."""

    def __init__(self, client: dict[str, Any]) -> None:
        self._consumer = AIOKafkaConsumer(
            *OUTBOUND, PRACTICE_DLQ, **client, group_id=None, auto_offset_reset="earliest"
        )
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.raw: list[bytes] = []  # every published record, key, value and headers, for the secrets check
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for record in self._consumer:
            async with self._changed:
                self.raw.append(
                    b"|".join([record.key or b"", record.value or b"", *(v for _, v in record.headers)])
                )
                self.events[record.topic].append(json.loads(record.value or b"null"))
                self._changed.notify_all()

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [
            e for events in self.events.values() for e in events if e and e.get("event_type") == event_type
        ]

    async def wait(self, predicate: Callable[[], bool], timeout: float = 60) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._consumer.stop()


class Harness:
    """The embedded stack and the services as child processes; or, with `external`, a stack that
    already runs (docker compose --profile demo) described by the services' own variables plus
    `OM_DEMO_SERVICE_URLS` (`order_sync=http://order-sync:8080,...`)."""

    def __init__(
        self, workdir: Path | None = None, log_level: str = "INFO", external: dict[str, str] | None = None
    ) -> None:
        self.log_level = log_level
        self.external = external
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="om-demo-"))
        self.stack = EmbeddedStack(kafka=True, mongo=True, simulator=True, topics=topic_specs(partitions=3))
        self.keyring_key = (
            external["NETSUITE_CREDENTIALS_KEYS"].split(",")[0] if external else KeyRing.generate_key()
        )
        self.keyring = KeyRing([self.keyring_key])
        self.services: dict[str, ChildProcess] = {}
        self.ports: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self.producer: AIOKafkaProducer | None = None
        self.outbox: Outbox | None = None
        self.sim: Simulator | None = None

    @property
    def kafka_bootstrap(self) -> str:
        return self.external["KAFKA_BOOTSTRAP_SERVERS"] if self.external else self.stack.kafka_bootstrap

    @property
    def mongo_url(self) -> str:
        return self.external["MONGODB_URL"] if self.external else self.stack.mongo_url

    @property
    def simulator_url(self) -> str:
        return self.external["NETSUITE_BASE_URL"] if self.external else self.stack.simulator_url

    def seal_tba(self, credentials: dict[str, str]) -> dict[str, str]:
        """TBA credentials as Ordermentum publishes them in an integration: sealed with the key ring."""
        return {
            "client_id": self.keyring.seal(credentials["consumer_key"]).token,
            "client_secret": self.keyring.seal(credentials["consumer_secret"]).token,
            "token_id": self.keyring.seal(credentials["token_id"]).token,
            "token_secret": self.keyring.seal(credentials["token_secret"]).token,
        }

    def kafka_client(self) -> dict[str, Any]:
        """aiokafka arguments for the day's broker, secured or not (the services' own mapping)."""
        if self.external is None:
            return self.stack.kafka_client_config()
        return kafka_client_kwargs(client_settings(self.external))

    def connection_env(self) -> dict[str, str]:
        """Every setting omctl needs to reach this day's stack (written to the env file)."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses idempotent producers
            "MONGODB_URL": self.mongo_url,
            "NETSUITE_BASE_URL": self.simulator_url,
            "NETSUITE_CREDENTIALS_KEYS": self.keyring_key,
        }

    async def start_stack(self) -> float:
        began = time.monotonic()
        if self.external is None:
            await self.stack.astart()
        self.producer = AIOKafkaProducer(**self.kafka_client(), acks="all")
        await self.producer.start()
        self.outbox = Outbox(self.kafka_client())
        await self.outbox.start()
        return time.monotonic() - began

    def service_env(self, service: str, port: int) -> dict[str, str]:  # noqa: ARG002
        # `service` stays for tests/e2e/test_demo_external.py, which calls service_env(service, port):
        # every service gets the same settings today (issue 24: drop it when that test moves).
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "KAFKA_ENABLE_IDEMPOTENCE": "false",  # tansu refuses idempotent producers
            "KAFKA_SESSION_TIMEOUT_MS": "2000",  # tansu waits half of it on every join
            "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "KAFKA_COMMIT_INTERVAL_MS": "100",
            "MONGODB_URL": self.mongo_url,
            "NETSUITE_BASE_URL": self.simulator_url,
            "NETSUITE_CREDENTIALS_KEYS": self.keyring_key,
            "NETSUITE_TIMEOUT_S": "10",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": self.log_level,
            "RETRY_BASE_DELAY_S": "0.2",
            "RETRY_MAX_DELAY_S": "2",
            "SHUTDOWN_GRACE_S": "5",
            "FINANCE_SCHEDULE_POLL_S": "1",
            "STOCK_TICK_S": "1",
            "CATALOG_INTERVAL_S": "3600",
        }

    async def start_services(self) -> float:
        from om_devstack._probes import free_port

        began = time.monotonic()
        if self.external is not None:
            urls = dict(pair.split("=", 1) for pair in self.external["OM_DEMO_SERVICE_URLS"].split(","))
            self.urls = {service: urls[service].rstrip("/") for service in SERVICES}
            await self._wait_ready()
            return time.monotonic() - began
        for service in SERVICES:
            port = free_port()
            self.ports[service] = port
            child = ChildProcess(
                service,
                [sys.executable, "-m", service],
                self.workdir / f"{service}.log",
                env=self.service_env(service, port),
            )
            child.start()
            self.services[service] = child
        self.urls = {service: f"http://127.0.0.1:{port}" for service, port in self.ports.items()}
        await self._wait_ready()
        return time.monotonic() - began

    async def _wait_ready(self) -> None:
        async with httpx2.AsyncClient(timeout=2) as http:
            for service, url in self.urls.items():
                for _ in range(300):
                    child = self.services.get(service)
                    if child is not None and child.poll() is not None:
                        raise RuntimeError(
                            f"{service} exited at start; see {self.workdir / (service + '.log')}"
                        )
                    try:
                        if (await http.get(f"{url}/health/ready")).status_code == 200:
                            break
                    except httpx2.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(
                        f"{service} never became ready; see {self.workdir / (service + '.log')}"
                    )

    async def publish(self, topic: str, event: dict[str, Any] | None, key: str) -> None:
        assert self.producer is not None
        value = None if event is None else json.dumps(event).encode()
        await self.producer.send_and_wait(topic, value, key=key.encode())

    async def metrics(self, service: str) -> str:
        async with httpx2.AsyncClient(timeout=5) as http:
            return (await http.get(f"{self.urls[service]}/metrics")).text

    async def leaked(self, secrets: list[str]) -> list[str]:
        """Where any of `secrets` appears: service logs, published records, or any MongoDB document."""
        found: list[str] = []
        logs = {path.name: path.read_bytes() for path in self.workdir.glob("*.log")}
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.mongo_url)
        try:
            dumps: dict[str, bytes] = {}
            for name in await client.list_database_names():
                for collection in await client[name].list_collection_names():
                    documents = await client[name][collection].find().to_list(None)
                    dumps[f"{name}.{collection}"] = repr(documents).encode()
        finally:
            await client.close()
        published = b"\n".join(self.outbox.raw if self.outbox else [])
        for secret in secrets:
            needle = secret.encode()
            found += [f"log {name}" for name, text in logs.items() if needle in text]
            found += [f"mongo {name}" for name, text in dumps.items() if needle in text]
            if needle in published:
                found.append("published events")
        return found

    async def stop(self) -> None:
        for child in self.services.values():
            await asyncio.to_thread(child.stop, 10.0)
        if self.outbox:
            await self.outbox.stop()
        if self.producer:
            await self.producer.stop()
        if self.sim:
            await self.sim.aclose()
        if self.external is None:
            await self.stack.astop()
