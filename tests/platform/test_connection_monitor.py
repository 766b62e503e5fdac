"""The connection monitor against the Mongo-protocol server and the NetSuite simulator over HTTP:
a missing permission named, an outage that opens the breaker and a probe that closes it, processes
agreeing on one change, and a change whose process died before publishing it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import IntegrationSettings, KeyRing, NetSuiteIntegrationStatus
from om_devstack import sealed_credentials, sealed_m2m_credentials
from om_netsuite import AuthenticationFailed, RateLimited, RequestRetryPolicy
from om_netsuite_sim import Account, SimulatorServer
from om_platform.adapters.connections import ConnectionMonitor
from om_platform.adapters.mongo.connections import COLLECTION, ConnectionStore
from om_platform.adapters.netsuite_access import NetSuiteAccess
from om_platform.core.connections import ConnectionDown, ConnectionSettings, Signal
from om_platform.metrics import Metrics

pytestmark = pytest.mark.integration

KEY = KeyRing.generate_key()
RING = KeyRing([KEY])


@dataclass
class Published:
    events: list[NetSuiteIntegrationStatus] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, event: NetSuiteIntegrationStatus) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.events.append(event)


@dataclass
class Integrations:
    settings: dict[str, IntegrationSettings] = field(default_factory=dict)

    async def get(self, supplier_id: str, *, fresh: bool = False) -> IntegrationSettings | None:
        return self.settings.get(supplier_id)


@dataclass
class Process:
    """One service process's NetSuite access and connection monitor."""

    monitor: ConnectionMonitor
    access: NetSuiteAccess
    published: Published
    integrations: Integrations
    recovered: list[str] = field(default_factory=list)

    def session(self, supplier_id: str) -> Any:
        return self.access.session(supplier_id, self.integrations.settings[supplier_id])


def _integration(account: Account) -> IntegrationSettings:
    return IntegrationSettings.model_validate(
        {
            "account_id": account.account_id,
            "credentials": sealed_credentials(RING, account.credentials),
            "sync_type": "orders",
            "concurrency_limit": 2,
        }
    )


@pytest_asyncio.fixture(loop_scope="session")
async def processes(mongo_db: AsyncDatabase[Any], simulator: SimulatorServer) -> AsyncIterator[Any]:
    started: list[Process] = []
    store = ConnectionStore(mongo_db[COLLECTION])
    await store.ensure_indexes()

    def start(service: str = "order_sync", **overrides: Any) -> Process:
        settings = ConnectionSettings(
            **{"status_poll_s": 0.1, "probe_interval_s": 0.3, "unreachable_after_s": 0.2, **overrides}
        )
        monitor = ConnectionMonitor(service, settings)
        access = NetSuiteAccess(
            RING,
            Metrics(),
            base_url_override=simulator.base_url,
            timeout_s=5,
            budget_db=mongo_db,
            retry=RequestRetryPolicy(max_attempts=2, base=0.01, cap=0.02),
            connections=monitor,
        )
        process = Process(monitor, access, Published(), Integrations())

        async def heard(supplier_id: str) -> None:
            process.recovered.append(supplier_id)

        monitor.on_recovered(heard)
        monitor.attach(
            store,
            process.published,
            functools.partial(process.integrations.get, fresh=True),
            lambda supplier_id, integration: access.session(supplier_id, integration, probe=True),
        )
        started.append(process)
        return process

    yield start
    for process in started:
        await process.monitor.stop()
        await process.access.aclose()


async def _run_until_recovered(process: Process) -> None:
    """Run the monitor's loop (polls and probes) until a recovery was heard, 10 s at most."""
    loop = asyncio.create_task(process.monitor.run())
    try:
        for _ in range(200):
            if process.recovered:
                break
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


def _account(simulator: SimulatorServer, unique_name: str, suffix: str = "") -> Account:
    account_id = f"{int(unique_name, 16) % 10**8}{suffix}_SB1"
    simulator.sim.add_account(account_id, concurrency_limit=2)
    return simulator.sim.account(account_id)


async def test_a_role_without_customer_deposit_is_reported_permission_missing_naming_it(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    process = processes()
    account = _account(simulator, unique_name)
    account.set_role(["Customer Deposit"])
    customer = account.add_customer("Cafe")
    process.integrations.settings["sup_p"] = _integration(account)
    session = process.session("sup_p")

    with pytest.raises(AuthenticationFailed):
        await session.upsert("customerDeposit", "OM-DEP-1", {"customer": {"id": customer}, "payment": 10})
    await session.get("customer", customer)  # records of other kinds still go to NetSuite

    [event] = process.published.events
    assert event.data.state == "permission_missing"
    assert event.data.detail == "Customer Deposit"
    assert event.data.record_type == "customerDeposit"
    assert event.data.last_error is not None
    assert event.data.last_error.code == "INSUFFICIENT_PERMISSION"
    assert event.data.account_id == account.account_id
    assert not process.monitor.is_open("sup_p")

    account.set_role([])  # the administrator grants it: the next deposit clears the state
    await session.upsert("customerDeposit", "OM-DEP-1", {"customer": {"id": customer}, "payment": 10})
    assert [e.data.state for e in process.published.events] == ["permission_missing", "connected"]
    assert process.recovered == ["sup_p"]


async def test_an_outage_opens_the_breaker_and_a_probe_closes_it_once_netsuite_answers(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    process = processes()
    account = _account(simulator, unique_name)
    process.integrations.settings["sup_u"] = _integration(account)
    session = process.session("sup_u")
    account.faults.add("drop")  # every request: the connection closes without an answer

    refused = 0
    for _ in range(50):
        try:
            await session.get("currency", "1")
        except ConnectionDown:
            refused += 1
            break
        except Exception:  # the outage itself, before the breaker opens
            await asyncio.sleep(0.05)
    sent_while_open = len(account.request_log)
    for _ in range(20):
        with pytest.raises(ConnectionDown):
            await session.get("currency", "1")
    assert refused == 1
    assert len(account.request_log) == sent_while_open  # nothing more reached NetSuite
    assert [e.data.state for e in process.published.events] == ["unreachable"]

    account.faults.clear()
    await _run_until_recovered(process)
    assert [e.data.state for e in process.published.events] == ["unreachable", "connected"]
    assert process.recovered == ["sup_u"]
    await session.get("currency", "1")  # sent again


async def test_a_recovery_a_poll_adopts_while_it_is_being_stored_is_heard_once(
    processes: Any, unique_name: str
) -> None:
    """The monitor's loop polls while a request's recovery is between its write and its read back.

    Under load the poll adopted the stored `connected` first (telling the listeners), then the
    writer adopted it again against the state it had read before writing, and the listeners heard
    the recovery twice (order_sync and finance_sync would re-sync what they parked twice).
    """
    process = processes()
    monitor = process.monitor
    supplier_id = f"sup_{unique_name}"
    assert await monitor.observe(supplier_id, Signal("unreachable", code="NetSuiteTimeout", message="t"))
    store = monitor._store
    assert store is not None
    transition = store.transition

    async def transition_then_poll(*args: Any) -> bool:
        stored: bool = await transition(*args)
        if stored:
            await monitor.poll()  # the loop's poll, between this process's write and its read
        return stored

    store.transition = transition_then_poll  # type: ignore[method-assign]
    assert await monitor.observe(supplier_id, Signal("answered"))
    assert process.recovered == [supplier_id]
    assert not monitor.is_open(supplier_id)


async def test_a_login_refused_for_old_credentials_does_not_hold_back_work_with_new_ones(
    processes: Any, unique_name: str
) -> None:
    """A replica that heard a recovery before it read the supplier's new credentials re-syncs with
    the old ones and records their refusal again: the breaker is open, but only for those."""
    process = processes()
    monitor = process.monitor
    supplier_id = f"sup_{unique_name}"
    refused = Signal("auth_failed", code="INVALID_LOGIN", message="Invalid login attempt.", credentials="old")
    assert await monitor.observe(supplier_id, refused)
    assert monitor.is_open(supplier_id, "old")
    assert not monitor.is_open(supplier_id, "new")


async def test_two_processes_seeing_the_same_refusal_store_and_publish_it_once(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    first, second = processes("order_sync"), processes("finance_sync")
    refused = Signal("auth_failed", code="INVALID_LOGIN", message="Invalid login attempt.")

    won = await asyncio.gather(
        *(p.monitor.observe("sup_2", refused, account_id="1_SB1") for p in (first, second) for _ in range(3))
    )
    await first.monitor.poll()
    await second.monitor.poll()

    assert sum(won) == 1
    assert len(first.published.events) + len(second.published.events) == 1
    assert first.monitor.is_open("sup_2")
    assert second.monitor.is_open("sup_2")


async def test_a_change_whose_process_died_before_publishing_is_published_once_by_another(
    processes: Any, mongo_db: AsyncDatabase[Any]
) -> None:
    dying = processes("stock_sync", publish_claim_s=0.2)
    dying.published.fail = True  # the broker is gone as the process dies
    survivor = processes("order_sync", publish_claim_s=0.2)

    assert await dying.monitor.observe("sup_3", Signal("unreachable", code="NetSuiteTimeout", message="t"))
    await survivor.monitor.poll()  # the claim still holds: not yet
    assert survivor.published.events == []
    await asyncio.sleep(0.3)
    await survivor.monitor.poll()
    await survivor.monitor.poll()

    [event] = survivor.published.events
    assert event.data.state == "unreachable"
    assert event.data.service == "stock_sync"
    document = await mongo_db[COLLECTION].find_one({"_id": "sup_3"})
    assert document is not None
    assert document["published"] is True


async def test_sustained_429s_are_reported_rate_limited_without_parking_and_clear_once_they_stop(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    process = processes(rate_limited_window_s=0.5, rate_limited_share=0.5)
    account = _account(simulator, unique_name)
    process.integrations.settings["sup_r"] = _integration(account)
    session = process.session("sup_r")
    account.faults.add("429", probability=0.8)

    for _ in range(40):
        with contextlib.suppress(RateLimited):
            await session.get("currency", "1")  # never refused by the breaker: 429s park nothing
    limited = [e.data.state for e in process.published.events]
    account.faults.clear()
    await asyncio.sleep(0.6)  # a whole window in rate_limited, so it may end
    for _ in range(15):
        await session.get("currency", "1")

    assert limited == ["rate_limited"]
    assert process.published.events[0].data.last_error is not None
    assert process.published.events[0].data.last_error.code == "CONCURRENCY_LIMIT_EXCEEDED"
    assert [e.data.state for e in process.published.events] == ["rate_limited", "connected"]
    assert process.recovered == []  # nothing was parked: nothing to re-run


def _m2m_integration(
    simulator: SimulatorServer, account: Account, certificate_id: str, *, days_left: float | None = None
) -> IntegrationSettings:
    """An OAuth 2.0 M2M integration of `account` whose certificate (uploaded now) expires in
    `days_left` days (never, for NetSuite, when None)."""
    expires = datetime.now(UTC) + timedelta(days=days_left) if days_left is not None else None
    credentials = sealed_m2m_credentials(
        RING,
        simulator.sim,
        account.account_id,
        client_id=f"client-{account.account_id}",
        certificate_id=certificate_id,
        expires_at=expires,
    )
    return IntegrationSettings.model_validate(
        {
            "account_id": account.account_id,
            "credentials": credentials,
            "sync_type": "orders",
            "concurrency_limit": account.concurrency_limit,
        }
    )


async def test_a_revoked_m2m_certificate_fails_the_login_once_naming_it_and_a_new_one_heals_it(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    process = processes()
    account = _account(simulator, unique_name, "7")
    process.integrations.settings["sup_m"] = _m2m_integration(simulator, account, "cert-a")
    customer = account.add_customer("Cafe")
    simulator.sim.revoke_oauth2_certificate(
        account.account_id, client_id=f"client-{account.account_id}", certificate_id="cert-a"
    )

    for _ in range(5):
        with pytest.raises((AuthenticationFailed, ConnectionDown)):
            await process.session("sup_m").get("customer", customer)

    [event] = process.published.events
    assert event.data.state == "auth_failed"
    assert event.data.detail == "unknown or revoked certificate"
    assert event.data.last_error is not None
    assert event.data.last_error.code == "invalid_client"
    assert process.monitor.is_open("sup_m")

    process.integrations.settings["sup_m"] = _m2m_integration(simulator, account, "cert-b")
    await process.monitor.credentials_changed("sup_m")
    await _run_until_recovered(process)
    assert [e.data.state for e in process.published.events] == ["auth_failed", "connected"]
    assert (await process.session("sup_m").get("customer", customer))["id"] == customer


async def test_an_expiring_certificate_publishes_one_warning_and_one_end_of_it(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    process = processes()
    account = _account(simulator, unique_name, "8")
    customer = account.add_customer("Cafe")
    process.integrations.settings["sup_w"] = _m2m_integration(simulator, account, "cert-old", days_left=10)

    for _ in range(5):
        await process.session("sup_w").get("customer", customer)

    [started] = process.published.events
    assert started.data.state == "connected"
    [warning] = started.data.warnings
    assert warning.code == "CREDENTIALS_EXPIRING"
    assert 9 <= (warning.expires_at - datetime.now(UTC)).days <= 10

    # Rotation: a new certificate, valid for a year, in a new integration event; no request fails.
    process.integrations.settings["sup_w"] = _m2m_integration(simulator, account, "cert-new", days_left=365)
    for _ in range(5):
        await process.session("sup_w").get("customer", customer)

    assert len(process.published.events) == 2
    ended = process.published.events[1]
    assert (ended.data.state, ended.data.warnings) == ("connected", ())


async def test_a_burst_on_an_m2m_token_netsuite_expired_fails_nothing_and_changes_no_status(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    process = processes(auth_failed_after=1)  # a single 401 counted would open the breaker
    account = _account(simulator, unique_name, "9")
    account.concurrency_limit = 10
    customer = account.add_customer("Cafe")
    process.integrations.settings["sup_x"] = _m2m_integration(simulator, account, "cert-x")
    session = process.session("sup_x")
    await session.get("customer", customer)
    issued = account.counters["oauth2 token"]

    assert simulator.sim.expire_bearers(account.account_id) == 1
    results = await asyncio.gather(*(session.get("customer", customer) for _ in range(60)))

    assert len(results) == 60  # every request of the burst answered: none refused by the breaker
    assert account.counters["oauth2 token"] - issued == 1
    assert "token_expired" in [f.reason for f in account.auth_failures]
    assert process.published.events == []
    assert not process.monitor.is_open("sup_x")


async def test_new_credentials_lift_a_refused_login_in_every_process_before_any_poll(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    # Issue 23: after the supplier re-authorised, order_sync was connected while finance_sync's own
    # view was still auth_failed, and an on-demand finance run was refused ("nothing sent").
    orders, finance = processes("order_sync"), processes("finance_sync")
    account = _account(simulator, unique_name)
    integration = _integration(account)  # one event, the same sealed values in every service
    for process in (orders, finance):
        process.integrations.settings["sup_r"] = integration
    account.rotate_token()  # the token in the integration is revoked: NetSuite answers 401
    session = orders.session("sup_r")
    for _ in range(10):
        try:
            await session.get("currency", "1")
        except AuthenticationFailed:
            continue
        except ConnectionDown:
            break
    await finance.monitor.poll()
    assert finance.monitor.is_open("sup_r")
    with pytest.raises(ConnectionDown):
        await finance.session("sup_r").get("currency", "1")
    refused_at = len(account.request_log)

    # The supplier re-authorises: both services consume the integration event with the new token.
    integration = _integration(account)
    for process in (orders, finance):
        process.integrations.settings["sup_r"] = integration
    await finance.monitor.credentials_changed("sup_r")

    assert not finance.monitor.is_open("sup_r")  # at once, no poll in between
    await finance.session("sup_r").get("currency", "1")  # sent, and answered
    assert len(account.request_log) == refused_at + 1
    states = [e.data.state for e in (*orders.published.events, *finance.published.events)]
    assert states == ["auth_failed", "connected"]

    # order_sync has not polled since: an operator's command reads the shared state first.
    assert orders.monitor.status("sup_r").state == "auth_failed"
    await orders.monitor.refresh("sup_r")
    assert not orders.monitor.is_open("sup_r")
    await orders.session("sup_r").get("currency", "1")


async def test_a_login_refused_with_old_credentials_does_not_hold_back_the_new_ones(
    processes: Any, simulator: SimulatorServer, unique_name: str
) -> None:
    late, current = processes("stock_sync", auth_failed_after=1), processes("order_sync")
    account = _account(simulator, unique_name)
    stale = _integration(account)
    account.rotate_token()
    current.integrations.settings["sup_o"] = _integration(account)  # sealed anew: other fingerprint
    late.integrations.settings["sup_o"] = stale  # has not consumed the new integration yet

    with pytest.raises(AuthenticationFailed):
        await late.session("sup_o").get("currency", "1")
    await current.monitor.poll()
    assert current.monitor.status("sup_o").state == "auth_failed"

    await current.session("sup_o").get("currency", "1")  # other credentials: sent, and it closes
    await late.monitor.poll()
    assert late.monitor.status("sup_o").state == "connected"
