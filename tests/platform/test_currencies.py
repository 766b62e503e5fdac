"""Currency ids by ISO code against the simulator over HTTP: one SuiteQL query per account, and
the REST records when the account refuses the query."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr

from om_netsuite import NetSuiteClient, NetSuiteSession, RequestRetryPolicy, TbaAuth, TbaCredentials
from om_netsuite_sim import Simulator, SimulatorServer
from om_platform.adapters import currencies

pytestmark = pytest.mark.integration

ACCOUNT = "7654321_SB1"


@pytest_asyncio.fixture(loop_scope="session")
async def account() -> AsyncIterator[tuple[Simulator, NetSuiteSession]]:
    sim = Simulator()
    raw = sim.add_account(ACCOUNT, concurrency_limit=5)
    fields = ("consumer_key", "consumer_secret", "token_id", "token_secret")
    creds = TbaCredentials(**{name: SecretStr(getattr(raw, name)) for name in fields})
    async with (
        SimulatorServer(sim, host="127.0.0.1", port=0) as server,
        NetSuiteClient(base_url_override=server.base_url, retry=RequestRetryPolicy(max_attempts=1)) as client,
    ):
        yield sim, client.session(ACCOUNT, TbaAuth(ACCOUNT, creds))


def _requests(sim: Simulator) -> Counter[str]:
    return Counter(
        "suiteql" if path.endswith("/suiteql") else method
        for method, path, _ in sim.account(ACCOUNT).request_log
    )


async def test_the_currencies_of_an_account_cost_one_suiteql_request(
    account: tuple[Simulator, NetSuiteSession],
) -> None:
    sim, session = account
    assert await currencies.currency_ids(session) == {"AUD": "1", "USD": "2"}
    assert _requests(sim) == {"suiteql": 1}


async def test_an_account_that_refuses_the_query_is_read_through_its_currency_records(
    account: tuple[Simulator, NetSuiteSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, session = account
    monkeypatch.setattr(currencies, "CURRENCIES_QUERY", "SELECT id, symbol FROM no_such_table")
    assert await currencies.currency_ids(session) == {"AUD": "1", "USD": "2"}
    assert _requests(sim) == {"suiteql": 1, "GET": 3}  # the refused query, the list, two records
