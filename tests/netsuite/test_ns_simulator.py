"""The client against the NetSuite simulator over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from om_netsuite import (
    AuthenticationFailed,
    Budget,
    Customer,
    Invoice,
    LocalBudget,
    NetSuiteClient,
    NetSuiteSession,
    OAuth2ClientCredentials,
    PermanentError,
    RateLimited,
    Ref,
    RequestRetryPolicy,
    SalesOrder,
    Sublist,
    TbaAuth,
    TbaCredentials,
    TransactionLine,
    Transient,
)
from om_netsuite_sim import Simulator, SimulatorServer
from om_platform.adapters.budget import MongoBudget

pytestmark = pytest.mark.integration

ACCOUNT = "1234567_SB1"
#: The MongoDB budget's worker process (the budget lives in om_platform.adapters.budget).
WORKER = Path(__file__).parent.parent / "platform" / "budget_worker.py"
FAST_RETRY = RequestRetryPolicy(max_attempts=8, max_elapsed=30.0, base=0.005, cap=0.05)


@dataclass
class SimEnv:
    sim: Simulator
    url: str
    creds: TbaCredentials

    @property
    def account(self) -> Any:
        return self.sim.account(ACCOUNT)

    def auth(self) -> TbaAuth:
        return TbaAuth(ACCOUNT, self.creds)

    def client(self, budget: Budget | None = None, **kwargs: Any) -> NetSuiteClient:
        kwargs.setdefault("retry", FAST_RETRY)
        return NetSuiteClient(base_url_override=self.url, budget=budget, **kwargs)


@pytest_asyncio.fixture(loop_scope="session")
async def env() -> AsyncIterator[SimEnv]:
    sim = Simulator()
    raw = sim.add_account(ACCOUNT, concurrency_limit=5)
    creds = TbaCredentials(
        consumer_key=SecretStr(raw.consumer_key),
        consumer_secret=SecretStr(raw.consumer_secret),
        token_id=SecretStr(raw.token_id),
        token_secret=SecretStr(raw.token_secret),
    )
    async with SimulatorServer(sim, host="127.0.0.1", port=0) as server:
        yield SimEnv(sim, server.base_url, creds)


@pytest_asyncio.fixture(loop_scope="session")
async def ns(env: SimEnv) -> AsyncIterator[NetSuiteSession]:
    async with env.client() as client:
        yield client.session(ACCOUNT.lower(), env.auth())


async def test_a_customer_is_created_read_updated_and_deleted(ns: NetSuiteSession, env: SimEnv) -> None:
    customer_id = await ns.create("customer", Customer(company_name="Café Luna", subsidiary=Ref(id="1")))
    assert customer_id.isdigit()
    got = await ns.get("customer", customer_id, model=Customer)
    assert got.company_name == "Café Luna"
    await ns.update("customer", customer_id, {"email": "accounts@cafeluna.example"})
    assert (await ns.get("customer", customer_id))["email"] == "accounts@cafeluna.example"
    await ns.delete("customer", customer_id)
    with pytest.raises(PermanentError) as caught:
        await ns.get("customer", customer_id)
    assert (caught.value.status, caught.value.code) == (404, "NONEXISTENT_ID")
    assert env.account.auth_failures == []


async def test_an_upsert_by_external_id_is_idempotent(ns: NetSuiteSession) -> None:
    body = {"companyName": "Upsert Co", "subsidiary": {"id": "1"}}
    first = await ns.upsert("customer", "OM-CUSTOMER-cus_1", body)
    second = await ns.upsert("customer", "OM-CUSTOMER-cus_1", {**body, "email": "a@b.example"})
    assert first == second
    record = await ns.get("customer", "eid:OM-CUSTOMER-cus_1")
    assert (record["id"], record["email"]) == (first, "a@b.example")


async def _sales_order(
    ns: NetSuiteSession, env: SimEnv, external_id: str, quantities: list[int]
) -> tuple[str, str]:
    customer = await ns.upsert(
        "customer", f"C-{external_id}", {"companyName": "SO Co", "subsidiary": {"id": "1"}}
    )
    item = env.account.add_item(f"SKU-{external_id}")
    order = SalesOrder(
        entity=Ref(id=customer),
        item=Sublist[TransactionLine](
            items=[TransactionLine(item=Ref(id=item), quantity=q, rate=Decimal("3.50")) for q in quantities]
        ),
    )
    return await ns.upsert("salesOrder", external_id, order), item


async def test_sublist_lines_are_replaced_only_when_asked(ns: NetSuiteSession, env: SimEnv) -> None:
    so_id, item = await _sales_order(ns, env, "OM-ORDER-replace", [1, 2])
    line = {"item": {"items": [{"item": {"id": item}, "quantity": 5, "rate": 1}]}}
    await ns.update("salesOrder", so_id, line)
    appended = await ns.get("salesOrder", so_id, expand_sub_resources=True, model=SalesOrder)
    assert appended.item is not None
    assert appended.item.items is not None
    assert [int(x.quantity or 0) for x in appended.item.items] == [1, 2, 5]
    await ns.update("salesOrder", so_id, line, replace=["item"])
    replaced = await ns.get("salesOrder", so_id, expand_sub_resources=True, model=SalesOrder)
    assert replaced.item is not None
    assert replaced.item.items is not None
    assert [int(x.quantity or 0) for x in replaced.item.items] == [5]


async def test_a_sales_order_is_transformed_into_an_invoice_then_paid_and_credited(
    ns: NetSuiteSession, env: SimEnv
) -> None:
    so_id, _ = await _sales_order(ns, env, "OM-ORDER-transform", [2])
    invoice_id = await ns.transform("salesOrder", so_id, "invoice")
    invoice = await ns.get("invoice", invoice_id, expand_sub_resources=True, model=Invoice)
    assert invoice.created_from is not None
    assert invoice.created_from.id == so_id
    assert invoice.item is not None
    assert invoice.item.items is not None
    assert len(invoice.item.items) == 1
    payment_id = await ns.transform("invoice", invoice_id, "customerPayment")
    second_so, _ = await _sales_order(ns, env, "OM-ORDER-transform-2", [1])
    second_invoice = await ns.transform("salesOrder", second_so, "invoice")
    credit_id = await ns.transform("invoice", second_invoice, "creditMemo")
    assert len({invoice_id, second_invoice, credit_id, payment_id}) == 4
    paid = await ns.get("invoice", invoice_id, model=Invoice)
    assert paid.amount_remaining == 0


async def test_governance_limits_report_the_accounts_concurrency(ns: NetSuiteSession) -> None:
    limits = await ns.governance_limits()
    assert limits["accountConcurrencyLimit"] == 5


async def test_a_record_list_is_filtered_and_paged(ns: NetSuiteSession) -> None:
    for n in range(7):
        await ns.upsert("customer", f"LIST-{n}", {"companyName": f"Listed {n}", "subsidiary": {"id": "1"}})
    ids = [i async for i in ns.list("customer", page_size=3)]
    assert len(ids) == len(set(ids)) >= 7
    listed = [i async for i in ns.list("customer", 'companyName START_WITH "Listed 1"', page_size=3)]
    assert len(listed) == 1


async def test_a_keyset_scan_returns_each_of_25000_rows_once_while_rows_are_added(env: SimEnv) -> None:
    account = env.account
    seed_ids = [account.add_customer(f"Bulk {n}") for n in range(25_000)]
    added: list[str] = []

    def add_rows_between_pages(operation: str, status: int | None, duration: float, account_id: str) -> None:
        # Runs after every page: new rows land while the scan is in progress.
        added.extend(account.add_customer(f"Late {len(added)}-{i}") for i in range(3))

    async with env.client(on_request=add_rows_between_pages) as client:
        ns = client.session(ACCOUNT, env.auth())
        rows = [
            row
            async for row in ns.suiteql_keyset(
                "SELECT id, companyname FROM customer WHERE id > :last ORDER BY id", types={"id": int}
            )
        ]
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "a row came back twice"
    assert ids == sorted(ids)
    assert {int(i) for i in seed_ids} <= set(ids)
    assert len(added) >= 3 * 25  # at least one page per 1000 rows
    assert any(int(i) in set(ids) for i in added)  # rows added during the scan were picked up


async def _hammer(env: SimEnv, budget: Budget, customer_id: str) -> list[dict[str, Any]]:
    async with env.client(budget) as client:
        ns = client.session(ACCOUNT, env.auth(), concurrency_limit=5)
        return list(await asyncio.gather(*(ns.get("customer", customer_id) for _ in range(50))))


async def _assert_limit_holds(env: SimEnv, budget: Budget) -> None:
    customer_id = env.account.add_customer("Hammered")
    env.account.faults.latency = 0.02
    env.account.reset_peak()
    try:
        results = await _hammer(env, budget, customer_id)
    finally:
        env.account.faults.latency = 0.0
    assert all(r["id"] == customer_id for r in results)
    assert 1 < env.account.peak_in_flight <= 5


async def test_fifty_concurrent_callers_stay_within_the_limit_with_a_local_budget(env: SimEnv) -> None:
    await _assert_limit_holds(env, LocalBudget())


async def test_fifty_concurrent_callers_stay_within_the_limit_with_a_mongo_budget(
    env: SimEnv, mongo_db: AsyncDatabase[Any]
) -> None:
    await _assert_limit_holds(env, MongoBudget(mongo_db["netsuite_budget"]))


async def test_without_a_budget_the_simulator_would_have_refused_requests(env: SimEnv) -> None:
    # Guards the two tests above: the load they send really exceeds the limit when unbudgeted.
    class Unbounded:
        @contextlib.asynccontextmanager
        async def slot(self, account_id: str, limit: int) -> AsyncIterator[None]:
            yield

    customer_id = env.account.add_customer("Unbudgeted")
    env.account.faults.latency = 0.02
    env.account.reset_peak()
    try:
        async with env.client(Unbounded(), retry=RequestRetryPolicy(max_attempts=1)) as client:
            ns = client.session(ACCOUNT, env.auth(), concurrency_limit=5)
            results = await asyncio.gather(
                *(ns.get("customer", customer_id) for _ in range(50)), return_exceptions=True
            )
    finally:
        env.account.faults.latency = 0.0
    assert any(isinstance(r, RateLimited) for r in results)


async def test_two_os_processes_sharing_an_account_stay_within_its_limit(
    env: SimEnv, mongo_url: str, mongo_db: AsyncDatabase[Any]
) -> None:
    customer_id = env.account.add_customer("Shared")
    secrets_env = {
        **os.environ,
        "NS_CK": env.creds.consumer_key.get_secret_value(),
        "NS_CS": env.creds.consumer_secret.get_secret_value(),
        "NS_TK": env.creds.token_id.get_secret_value(),
        "NS_TS": env.creds.token_secret.get_secret_value(),
    }
    env.account.faults.latency = 0.02
    env.account.reset_peak()
    try:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                mongo_url,
                mongo_db.name,
                "netsuite_budget",
                ACCOUNT,
                "5",
                "30",
                "0",
                env.url,
                customer_id,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=secrets_env,
            )
            for _ in range(2)
        ]
        for proc in procs:
            assert proc.stdout is not None
            assert (await proc.stdout.readline()).strip() == b"ready"
        outputs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    finally:
        env.account.faults.latency = 0.0
    assert [proc.returncode for proc in procs] == [0, 0]
    assert [out.strip() for out, _ in outputs] == [b'{"ok": 30}', b'{"ok": 30}']
    assert 1 < env.account.peak_in_flight <= 5


async def test_injected_429s_and_5xx_on_reads_are_absorbed_by_retries(
    ns: NetSuiteSession, env: SimEnv
) -> None:
    customer_id = env.account.add_customer("Flaky")
    env.account.faults.add("429", count=2, method="GET")
    env.account.faults.add("5xx", count=1, method="GET", status=503)
    try:
        assert (await ns.get("customer", customer_id))["id"] == customer_id
    finally:
        env.account.faults.clear()


async def test_a_create_whose_response_failed_is_not_sent_twice(ns: NetSuiteSession, env: SimEnv) -> None:
    before = len(env.account.records("customer"))
    env.account.faults.add("commit_then_500", count=1, method="POST")
    try:
        with pytest.raises(Transient) as caught:
            await ns.create("customer", {"companyName": "Once Only", "subsidiary": {"id": "1"}})
    finally:
        env.account.faults.clear()
    assert caught.value.outcome_unknown
    assert len(env.account.records("customer")) == before + 1


async def test_a_lost_upsert_response_is_retried_without_a_duplicate(
    ns: NetSuiteSession, env: SimEnv
) -> None:
    env.account.faults.add("commit_then_drop", count=1, method="PUT")
    try:
        first = await ns.upsert(
            "customer", "OM-CUSTOMER-lost", {"companyName": "Lost", "subsidiary": {"id": "1"}}
        )
    finally:
        env.account.faults.clear()
    matches = [r for r in env.account.records("customer") if r.get("externalId") == "OM-CUSTOMER-lost"]
    assert [str(r["id"]) for r in matches] == [first]


@pytest.mark.parametrize("algorithm", ["PS256", "ES256"])
async def test_oauth2_client_credentials_work_against_the_token_endpoint(env: SimEnv, algorithm: str) -> None:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "PS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    env.sim.add_oauth2_client(
        ACCOUNT, client_id="m2m-client", certificate_id="cert-1", public_key_pem=public_pem.decode()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    auth = OAuth2ClientCredentials(
        ACCOUNT,
        client_id="m2m-client",
        certificate_id="cert-1",
        private_key_pem=private_pem,
        algorithm=algorithm,  # type: ignore[arg-type]  # parametrised literal
    )
    customer_id = env.account.add_customer("Bearer Co")
    async with env.client() as client:
        ns = client.session(ACCOUNT, auth)
        results = await asyncio.gather(*(ns.get("customer", customer_id) for _ in range(10)))
        rows = [r async for r in ns.suiteql("SELECT id FROM customer WHERE id = ?", [customer_id])]
    assert {r["id"] for r in results} == {customer_id}
    assert rows == [{"id": customer_id}]
    assert auth.token_requests == 1
    assert env.account.auth_failures == []


async def test_wrong_tba_secrets_give_an_authentication_failure(env: SimEnv) -> None:
    bad = TbaCredentials(
        consumer_key=env.creds.consumer_key,
        consumer_secret=SecretStr("wrong"),
        token_id=env.creds.token_id,
        token_secret=env.creds.token_secret,
    )
    async with env.client() as client:
        with pytest.raises(AuthenticationFailed) as caught:
            await client.session(ACCOUNT, TbaAuth(ACCOUNT, bad)).get("customer", 1)
    assert (caught.value.status, caught.value.code) == (401, "INVALID_LOGIN")
    assert [f.reason for f in env.account.auth_failures] == ["InvalidSignature"]
