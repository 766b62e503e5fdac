"""Fixtures: a simulator served over real HTTP and a signing httpx2 client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from om_netsuite_sim import Account, Simulator, SimulatorServer, TbaCredentials

from ._signer import tba_header

REALM = "1234567_SB1"


class NetSuiteSession:
    """Signs every request with TBA (fresh nonce each time) like a real client would."""

    def __init__(self, http: httpx2.AsyncClient, base_url: str, realm: str, creds: TbaCredentials):
        self.http = http
        self.base_url = base_url
        self.realm = realm
        self.creds = creds

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
        realm: str | None = None, **sign_options: Any,
    ) -> httpx2.Response:  # fmt: skip
        url = self.base_url + path
        auth = tba_header(method, url, realm or self.realm, self.creds, **sign_options)
        return await self.http.request(
            method, url, json=json, headers={"Authorization": auth, **(headers or {})}
        )

    async def suiteql(
        self, q: str, *, limit: int = 1000, offset: int = 0, params: list[Any] | None = None
    ) -> httpx2.Response:
        body: dict[str, Any] = {"q": q}
        if params is not None:
            body["params"] = params
        return await self.request(
            "POST", f"/services/rest/query/v1/suiteql?limit={limit}&offset={offset}", json=body,
            headers={"Prefer": "transient"},
        )  # fmt: skip

    async def create(self, record_type: str, body: Any) -> str:
        response = await self.request("POST", f"/services/rest/record/v1/{record_type}", json=body)
        assert response.status_code == 204, response.text
        return response.headers["location"].rsplit("/", 1)[1]

    async def get(self, record_type: str, rid: str, query: str = "") -> dict[str, Any]:
        response = await self.request("GET", f"/services/rest/record/v1/{record_type}/{rid}{query}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def sim() -> Simulator:
    return Simulator()


@pytest.fixture
def creds(sim: Simulator) -> TbaCredentials:
    return sim.add_account(REALM, concurrency_limit=5)


@pytest.fixture
def account(sim: Simulator, creds: TbaCredentials) -> Account:
    return sim.account(REALM)


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(sim) as running:
        yield running


@pytest.fixture
async def ns(server: SimulatorServer, creds: TbaCredentials) -> AsyncIterator[NetSuiteSession]:
    async with httpx2.AsyncClient(timeout=10) as http:
        yield NetSuiteSession(http, server.base_url, REALM, creds)
