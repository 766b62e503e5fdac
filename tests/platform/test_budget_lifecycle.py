"""The NetSuite budget's renewal loop in a service's lifespan: started, supervised, shares returned."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import uvicorn
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from om_contracts import KeyRing
from om_netsuite import BudgetTimeout, TbaAuth, TbaCredentials
from om_platform.adapters.netsuite_access import BUDGET_COLLECTION
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings
from support import print_tasks

pytestmark = pytest.mark.integration

TBA_FIELDS = ("consumer_key", "consumer_secret", "token_id", "token_secret")


@dataclass
class Served:
    base: str
    runtime: ServiceRuntime
    server: uvicorn.Server
    task: asyncio.Task[None]
    budget_db: str

    async def stop(self) -> None:
        self.server.should_exit = True
        try:
            async with asyncio.timeout(60):  # the service's own shutdown is bounded well below this
                await asyncio.shield(self.task)
        except TimeoutError:
            print_tasks()  # what the shutdown waits for
            raise


async def eventually(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the state lives in the service's tasks
            await asyncio.sleep(0.02)


@pytest.fixture
async def served(kafka_bootstrap: str, mongo_url: str, unique_name: str) -> AsyncIterator[Served]:
    settings = ServiceSettings(
        service_name="budget-test",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_enable_idempotence=False,
        mongodb_url=mongo_url,
        mongodb_database=f"svc_{unique_name}",
        netsuite_budget_database=f"budget_{unique_name}",
        netsuite_credentials_keys=KeyRing.generate_key(),
        netsuite_budget_renew_s=0.2,
        netsuite_budget_lease_s=2.0,
        netsuite_budget_margin_s=0.5,
        netsuite_budget_max_wait_s=0.5,
        shutdown_grace_s=0.1,
    )
    runtime = ServiceRuntime(settings, title="budget lifecycle test")
    server = uvicorn.Server(
        uvicorn.Config(runtime.app(), host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    served = Served(f"http://127.0.0.1:{port}", runtime, server, task, settings.netsuite_budget_database)
    try:
        yield served
    finally:
        if not task.done():
            await served.stop()
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
        await client.drop_database(settings.mongodb_database)
        await client.drop_database(settings.netsuite_budget_database)
        await client.close()


async def test_the_service_returns_its_shares_when_it_stops(served: Served, mongo_url: str) -> None:
    budget = served.runtime.netsuite.budget
    assert budget.running
    async with budget.slot("1234567", 5):
        assert budget.accounts_held() == 1
        async with httpx2.AsyncClient() as http:
            metrics = (await http.get(f"{served.base}/metrics")).text
        assert "om_netsuite_budget_granted_slots 1.0" in metrics
        assert 'om_netsuite_budget_share_changes_total{change="grow"} 1.0' in metrics
        # A first contact creates the account's document without reading it: one update.
        assert 'om_netsuite_budget_mongo_operations_total{operation="update"}' in metrics
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    shares = client[served.budget_db][BUDGET_COLLECTION]
    try:
        assert await shares.count_documents({}) == 1
        await served.stop()  # graceful shutdown: the share goes back without waiting for its lease
        assert await shares.count_documents({}) == 0
    finally:
        await client.close()


async def test_a_wait_that_ends_in_budget_timeout_is_observed(served: Served) -> None:
    netsuite = served.runtime.netsuite
    auth = TbaAuth("1234567", TbaCredentials(**dict.fromkeys(TBA_FIELDS, SecretStr("x"))))
    session = netsuite.client.session("1234567", auth, 1)
    async with netsuite.budget.slot("1234567", 1):  # the account's only slot, held
        with pytest.raises(BudgetTimeout):
            await session.get("customer", "1")  # never sent: no slot within the wait
    async with httpx2.AsyncClient() as http:
        metrics = (await http.get(f"{served.base}/metrics")).text
    values = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if not line.startswith("#"))
    timeouts = float(values["om_netsuite_budget_timeouts_total"])
    assert timeouts >= 1  # every attempt (the request is retried as transient) waited in vain
    assert float(values["om_netsuite_budget_wait_seconds_count"]) == timeouts
    assert float(values['om_netsuite_budget_wait_seconds_bucket{le="0.1"}']) == 0  # each waited 0.5 s


async def test_liveness_fails_when_the_renewal_loop_dies(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = served.runtime.netsuite.budget

    async def broken() -> None:
        raise RuntimeError("renewal bug")

    monkeypatch.setattr(budget, "renew", broken)
    await eventually(lambda: not budget.running)
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{served.base}/health/live")
    assert response.status_code == 503
    assert response.json()["problems"] == {"netsuite-budget": "background loop stopped"}


async def test_the_service_stops_although_its_renewal_loop_lost_a_cancellation(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Python 3.11 a cancellation arriving with a MongoDB command's answer can be lost inside
    PyMongo (`asyncio.wait_for`); the loop then goes on, and the shutdown used to wait for it forever."""
    budget = served.runtime.netsuite.budget
    entered = asyncio.Event()
    lost: list[bool] = []

    async def renew_losing_a_cancellation() -> None:
        entered.set()
        if lost:  # one lost cancellation is the race; the next one is seen
            await asyncio.sleep(3600)
        try:
            await asyncio.sleep(3600)  # a command under way when the shutdown cancels the loop
        except asyncio.CancelledError:
            lost.append(True)  # the answer "arrived with" the cancellation: the loop goes on

    monkeypatch.setattr(budget, "renew", renew_losing_a_cancellation)
    async with asyncio.timeout(10):
        await entered.wait()
    await served.stop()  # bounded at 60 s: this used to hang
    assert lost == [True]
    assert not budget.running


def test_a_lease_shorter_than_a_renewal_plus_the_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="NETSUITE_BUDGET_LEASE_S"):
        ServiceSettings(
            netsuite_budget_renew_s=5.0, netsuite_budget_lease_s=6.0, netsuite_budget_margin_s=2.0
        )
