"""A budget slot is held until NetSuite's outcome is known, or the attempt's hard deadline.

The simulator keeps working on a request after the client stopped waiting for it (as NetSuite
may): its in-flight count is what NetSuite sees. The account accepts more than the budget's limit,
so its peak measures what the client really had in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from om_netsuite import NetSuiteClient, NetSuiteTimeout, RequestRetryPolicy, TbaAuth, TbaCredentials

if TYPE_CHECKING:
    from om_netsuite_sim import SimulatorServer
    from om_netsuite_sim._simulator import Account

pytestmark = pytest.mark.integration

NO_RETRY = RequestRetryPolicy(max_attempts=1, max_elapsed=60.0, base=0.01, cap=0.05)


async def eventually(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the state lives in the simulator's handlers
            await asyncio.sleep(0.01)


def slow_account(
    simulator: SimulatorServer, unique_name: str, latency: float
) -> tuple[Account, TbaAuth, str]:
    account_id = f"{int(unique_name[:6], 16) % 10_000_000:07d}_SB1"
    creds = simulator.sim.add_account(account_id, concurrency_limit=10)
    account = simulator.sim.account(account_id)
    customer_id = account.add_customer("Slow to answer")
    account.faults.latency = latency
    auth = TbaAuth(
        account_id,
        TbaCredentials(
            consumer_key=SecretStr(creds.consumer_key),
            consumer_secret=SecretStr(creds.consumer_secret),
            token_id=SecretStr(creds.token_id),
            token_secret=SecretStr(creds.token_secret),
        ),
    )
    return account, auth, customer_id


async def test_a_timed_out_attempt_keeps_its_slot_until_the_attempt_deadline(
    simulator: SimulatorServer, unique_name: str
) -> None:
    account, auth, customer_id = slow_account(simulator, unique_name, latency=1.0)
    async with NetSuiteClient(
        base_url_override=simulator.base_url, timeout=0.2, attempt_deadline=2.0, retry=NO_RETRY
    ) as client:
        ns = client.session(auth.realm, auth, 1)
        account.reset_peak()
        first, second = await asyncio.gather(
            ns.get("customer", customer_id), ns.get("customer", customer_id), return_exceptions=True
        )
    # Both gave up after 0.2 s of silence; the simulator still worked on each for 1 s.
    assert isinstance(first, NetSuiteTimeout)
    assert isinstance(second, NetSuiteTimeout)
    assert account.peak_in_flight <= 1  # the second waited for the first's attempt deadline


async def test_a_cancelled_caller_leaves_its_slot_held_while_netsuite_works(
    simulator: SimulatorServer, unique_name: str
) -> None:
    account, auth, customer_id = slow_account(simulator, unique_name, latency=1.0)
    async with NetSuiteClient(
        base_url_override=simulator.base_url, attempt_deadline=3.0, retry=NO_RETRY
    ) as client:
        ns = client.session(auth.realm, auth, 1)
        account.reset_peak()
        abandoned = asyncio.create_task(ns.get("customer", customer_id))
        await eventually(lambda: account.in_flight == 1)
        abandoned.cancel()  # a shutdown, a consumer's timeout: NetSuite does not know
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        await ns.get("customer", customer_id)  # waits until the abandoned attempt is over
    assert account.peak_in_flight <= 1
