"""Fixtures for omctl tests: the CLI run in a worker thread (it owns its event loop) against the
embedded stack, a probe service built on the platform runtime, and a producer."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from typer.testing import CliRunner, Result

from om_contracts import DLQ_SUFFIX, TOPICS, KeyRing
from om_devstack.stack import create_topics
from om_platform.adapters.kafka import DeadLetterPolicy
from om_platform.core.failures import InvalidEvent, PermanentFailure
from om_platform.core.records import Decoded, RecordContext
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings
from omctl.cli import app

KEY = KeyRing.generate_key()
ORDER_SYNC_TESTS = str(Path(__file__).resolve().parents[1] / "order_sync")
"""Where order_sync's test harness lives (pytest's importlib mode keeps test folders off sys.path)."""


@dataclass
class Cli:
    env: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)

    async def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        merged = self.env | {k.upper(): v for k, v in env.items()}
        return await asyncio.to_thread(self.runner.invoke, app, list(args), env=merged, input=input)

    async def json(self, *args: str, **env: str) -> Any:
        result = await self(*args, "--json", **env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(kafka_bootstrap: str, mongo_url: str, unique_name: str) -> Cli:
    return Cli(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_ENABLE_IDEMPOTENCE": "false",
            "MONGODB_URL": mongo_url,
            "OMCTL_MONGODB_DATABASE": f"ops_{unique_name}",
            "ORDER_SYNC_MONGODB_DATABASE": f"order_{unique_name}",
            "STOCK_SYNC_MONGODB_DATABASE": f"stock_{unique_name}",
            "FINANCE_SYNC_MONGODB_DATABASE": f"finance_{unique_name}",
            "NETSUITE_BUDGET_DATABASE": f"budget_{unique_name}",
            "NETSUITE_CREDENTIALS_KEYS": KEY,
            "COLUMNS": "200",  # rich tables would wrap cells at 80 columns
        }
    )


async def known(db: Any, *supplier_ids: str) -> None:
    """Give a service's database an integration document for each supplier, as its integration
    event would (disconnected: no settings needed): omctl refuses a supplier no service knows."""
    await db["integrations"].insert_many([{"_id": s, "status": "disconnected"} for s in supplier_ids])


@dataclass
class Probe:
    """A stand-in service handler: idempotent upsert of an outcome per event id; products not in
    `mapped` fail permanently with UNMAPPED_PRODUCT (dead-lettered by the platform edge)."""

    db: Any
    mapped: set[str] = field(default_factory=set)
    handled: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, payload: dict[str, Any], ctx: RecordContext) -> None:
        if payload["product"] not in self.mapped:
            raise PermanentFailure("UNMAPPED_PRODUCT", f"product {payload['product']} is not mapped")
        await self.db["outcomes"].update_one(
            {"_id": payload["event_id"]}, {"$set": {"supplier_id": payload["supplier_id"]}}, upsert=True
        )
        async with self.changed:
            self.handled.append(payload["event_id"])
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)


def decode(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]]:
    try:
        payload = json.loads(raw or b"")
    except ValueError as exc:
        raise InvalidEvent(f"value is not JSON: {exc}") from exc
    return Decoded(tenant=payload["supplier_id"], lane=payload["event_id"], payload=payload)


class ProbeService:
    """Starts and stops runtimes that consume a topic with a probe, as a service would."""

    def __init__(self, kafka_bootstrap: str, mongo_url: str, group: str) -> None:
        self.group = group
        self._kafka = kafka_bootstrap
        self._mongo = mongo_url
        self._apps: list[Any] = []

    async def start(
        self, topic: str, probe: Probe, dead_letter_policy: DeadLetterPolicy | None = None
    ) -> None:
        settings = ServiceSettings.model_validate(
            {
                "service_name": "omctl-probe",
                "kafka_bootstrap_servers": self._kafka,
                "kafka_enable_idempotence": False,
                "kafka_consumer_group": self.group,
                "kafka_session_timeout_ms": 2000,
                "kafka_heartbeat_interval_ms": 500,
                "kafka_commit_interval_ms": 50,
                "retry_max_attempts": 1,
                "shutdown_grace_s": 5,
                "mongodb_url": self._mongo,
                "netsuite_credentials_keys": KEY,
            }
        )
        runtime = ServiceRuntime(settings, title="omctl probe")
        if dead_letter_policy is not None:  # e.g. a dead-letter topic smaller than its source's records
            runtime.dead_letters.policy = dead_letter_policy
        runtime.consume(topic, decode=decode, handle=probe.handle, limit_for=lambda _t: 4, group_suffix="")
        started = runtime.app()
        await started.start()
        self._apps.append(started)

    async def stop(self) -> None:
        while self._apps:
            await self._apps.pop().stop()


@pytest_asyncio.fixture(loop_scope="session")
async def probe_service(
    kafka_bootstrap: str, mongo_url: str, unique_name: str
) -> AsyncIterator[ProbeService]:
    service = ProbeService(kafka_bootstrap, mongo_url, f"omctl-probe-{unique_name}")
    try:
        yield service
    finally:
        await service.stop()


def event(supplier_id: str, n: int, product: str = "prd_1") -> tuple[bytes, bytes]:
    body = {"event_id": f"evt_{supplier_id}_{n}", "supplier_id": supplier_id, "product": product, "n": n}
    return supplier_id.encode(), json.dumps(body).encode()


@pytest_asyncio.fixture
async def order_stack(
    kafka_bootstrap: str,
    mongo_url: str,
    kafka_idempotence: bool,
    simulator: Any,
    kafka_producer: Any,
    unique_name: str,
) -> Any:
    """order_sync's test `Stack` (tests/order_sync/order_sync_harness.py) on every contract topic and
    its dead-letter topic, for the omctl tests that drive the real order_sync service."""
    sys.path.insert(0, ORDER_SYNC_TESTS)
    from order_sync_harness import Stack

    await create_topics(
        kafka_bootstrap,
        [(t.name, 3, t.compacted) for t in TOPICS] + [(t.name + DLQ_SUFFIX, 1, False) for t in TOPICS],
    )
    return Stack(kafka_bootstrap, mongo_url, kafka_idempotence, simulator, kafka_producer, unique_name)
