"""Currencies kept in MongoDB across processes: a second process's first order of an account asks
NetSuite nothing; a code the stored ones lack is asked again (against the simulator over HTTP)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from om_contracts import IntegrationSettings, KeyRing
from om_netsuite import NetSuiteClient, NetSuiteSession, RequestRetryPolicy, TbaAuth, TbaCredentials
from om_netsuite_sim import SimulatorServer
from order_sync.adapters.currencies import CurrencyStore
from order_sync.adapters.netsuite_gateway import Gateways

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


async def test_a_second_process_reads_an_accounts_currencies_from_mongodb_not_netsuite(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    first = Gateways(lambda _s, _i: session, CurrencyStore(mongo_db["currencies"]))
    assert await first.for_supplier("sup_1", integration).currency_id("AUD") == "1"
    assert _queries(sim_account) == 1
    second = Gateways(lambda _s, _i: session, CurrencyStore(mongo_db["currencies"]))
    gateway = second.for_supplier("sup_2", integration)
    assert (await gateway.currency_id("AUD"), await gateway.currency_id("USD")) == ("1", "2")
    assert _queries(sim_account) == 1


async def test_a_code_the_stored_currencies_lack_or_an_old_entry_is_read_from_netsuite_again(
    account: tuple[Any, IntegrationSettings, NetSuiteSession], mongo_db: Any
) -> None:
    sim_account, integration, session = account
    await CurrencyStore(mongo_db["currencies"]).put(integration.account_id, {"AUD": "1"})
    fresh = Gateways(lambda _s, _i: session, CurrencyStore(mongo_db["currencies"]))
    assert await fresh.for_supplier("sup_1", integration).currency_id("USD") == "2"
    assert _queries(sim_account) == 1
    expired = Gateways(lambda _s, _i: session, CurrencyStore(mongo_db["currencies"], max_age_s=0))
    assert await expired.for_supplier("sup_1", integration).currency_id("AUD") == "1"
    assert _queries(sim_account) == 2
