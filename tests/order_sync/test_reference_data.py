"""Per-account reference data (currencies) shared in MongoDB, and the windowed tranId read, against
the simulator over HTTP: a second process's first order of an account asks NetSuite nothing; replicas
refreshing the same accounts read each once; orders of an account within the read window share one
SuiteQL request."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from order_sync_harness import Stack, wait_until
from pydantic import SecretStr

from om_contracts import IntegrationSettings, KeyRing
from om_netsuite import NetSuiteClient, NetSuiteSession, RequestRetryPolicy, TbaAuth, TbaCredentials
from om_netsuite_sim import SimulatorServer
from om_platform.adapters.currencies import currency_ids
from om_platform.adapters.mongo.reference_data import ReferenceDataStore
from order_sync.adapters.netsuite_gateway import BUSY_UPSERTS, Gateways, TranIdReader
from order_sync.app import Wired

pytestmark = pytest.mark.integration

RING = KeyRing([KeyRing.generate_key()])


@pytest_asyncio.fixture(loop_scope="session")
async def account(
    simulator: SimulatorServer, unique_name: str
) -> AsyncIterator[tuple[Any, IntegrationSettings, NetSuiteSession]]:
    account_id = f"{int(hashlib.sha256(unique_name.encode()).hexdigest(), 16) % 10**9}_SB1"
    raw = simulator.sim.add_account(account_id, concurrency_limit=5)
    fields = ("consumer_key", "consumer_secret", "token_id", "token_secret")
    auth = TbaAuth(account_id, TbaCredentials(**{name: SecretStr(getattr(raw, name)) for name in fields}))
    sealed = RING.seal("unused").token
    integration = IntegrationSettings.model_validate(
        {
            "account_id": account_id,
            "credentials": dict.fromkeys(("client_id", "client_secret", "token_id", "token_secret"), sealed),
            "sync_type": "orders",
        }
    )
    async with NetSuiteClient(
        base_url_override=simulator.base_url, retry=RequestRetryPolicy(max_attempts=1)
    ) as client:
        yield simulator.sim.account(account_id), integration, client.session(account_id, auth)


def _queries(account: Any) -> int:
    return sum(1 for _method, path, _status in account.request_log if path.endswith("/suiteql"))


def _store(mongo_db: Any, **options: Any) -> ReferenceDataStore:
    return ReferenceDataStore(mongo_db["reference_data"], {"currencies": currency_ids}, **options)


async def test_a_second_process_reads_an_accounts_currencies_from_mongodb_not_netsuite(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    first = Gateways(lambda _s, _i: session, _store(mongo_db))
    assert await first.for_supplier("sup_1", integration).currency_id("AUD") == "1"
    assert _queries(sim_account) == 1
    second = Gateways(lambda _s, _i: session, _store(mongo_db))
    gateway = second.for_supplier("sup_2", integration)
    assert (await gateway.currency_id("AUD"), await gateway.currency_id("USD")) == ("1", "2")
    assert _queries(sim_account) == 1


async def test_concurrent_first_orders_of_an_account_share_one_load(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    gateways = Gateways(lambda _s, _i: session, _store(mongo_db))
    found = await asyncio.gather(
        *(gateways.for_supplier(f"sup_{n}", integration).currency_id("AUD") for n in range(10))
    )
    assert found == ["1"] * 10
    assert _queries(sim_account) == 1


async def test_a_code_the_account_lacks_is_asked_again_only_after_the_recheck_age(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    patient = Gateways(lambda _s, _i: session, _store(mongo_db)).for_supplier("sup_1", integration)
    assert await patient.currency_id("XYZ") is None
    assert await patient.currency_id("XYZ") is None
    assert _queries(sim_account) == 1  # the first load; the unknown code asks nothing more
    eager = Gateways(lambda _s, _i: session, _store(mongo_db, recheck_s=0)).for_supplier("sup_1", integration)
    assert await eager.currency_id("XYZ") is None
    assert _queries(sim_account) == 2  # read again: a currency may have been added since


async def test_stored_data_older_than_twice_the_refresh_age_is_read_again_on_the_path(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    await _store(mongo_db).load(integration.account_id, session)
    assert _queries(sim_account) == 1
    expired = Gateways(lambda _s, _i: session, _store(mongo_db, refresh_s=0))
    assert await expired.for_supplier("sup_1", integration).currency_id("AUD") == "1"
    assert _queries(sim_account) == 2


async def test_replicas_refreshing_the_same_account_read_netsuite_once(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    replicas = [_store(mongo_db) for _ in range(3)]
    sessions = {integration.account_id: lambda: session}
    loaded = await asyncio.gather(*(r.refresh(sessions, concurrency=2) for r in replicas))
    assert sum(loaded) == 1
    assert _queries(sim_account) == 1
    # Loaded now: due again only after refresh_s; any replica's order path finds it in MongoDB.
    assert await replicas[0].due([integration.account_id]) == []
    assert await _store(mongo_db, refresh_s=0).due([integration.account_id]) == [integration.account_id]
    reference = await _store(mongo_db).get(integration.account_id, session)
    assert reference.currencies()["AUD"] == "1"
    assert _queries(sim_account) == 1


async def test_reads_of_one_account_within_the_window_share_one_query(
    account: tuple[Any, IntegrationSettings, NetSuiteSession],
) -> None:
    sim_account, _integration, session = account
    windowed = TranIdReader(window_s=2)  # far longer than the reads below take to arrive
    first = asyncio.ensure_future(windowed.read(session, "900001"))
    await asyncio.sleep(0.05)  # the spacing of orders arriving at a low rate
    second = asyncio.ensure_future(windowed.read(session, "900002"))
    await asyncio.sleep(0.05)
    third = asyncio.ensure_future(windowed.read(session, "900003"))
    assert _queries(sim_account) == 0  # nothing sent before the window ends
    assert await asyncio.gather(first, second, third) == [None, None, None]  # no such transactions
    assert _queries(sim_account) == 1
    unwindowed = TranIdReader(window_s=0)
    for internal_id in ("900004", "900005"):
        assert await unwindowed.read(session, internal_id) is None
    assert _queries(sim_account) == 3  # alone, each read is sent at once
    busy = TranIdReader(window_s=30)
    for _ in range(BUSY_UPSERTS):
        busy.upsert_started()  # an account with upserts in flight: their reads follow at once
    async with asyncio.timeout(10):  # far less than the window: it did not wait for it
        assert await busy.read(session, "900006") is None
    assert _queries(sim_account) == 4


async def test_the_service_reads_an_account_when_its_integration_is_configured_before_any_order(
    shared: tuple[Stack, Wired],
) -> None:
    harness, service = shared
    supplier = harness.supplier()
    await harness.configure(service, supplier)
    references = service.runtime.db["reference_data"]

    async def read() -> bool:
        return (
            await references.find_one({"_id": supplier.account_id, "read_at": {"$exists": True}}) is not None
        )

    await wait_until(read, timeout=30)
    assert _queries(supplier.account) == 1  # the currency query; no order was sent
    document = await references.find_one({"_id": supplier.account_id})
    assert document is not None
    assert document["values"]["currencies"]["AUD"] == "1"
