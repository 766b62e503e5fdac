"""The /_sim/ admin API and the standalone ``python -m om_netsuite_sim`` entry point."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from om_netsuite_sim import Simulator, SimulatorServer, TbaCredentials

from ._signer import tba_header

pytestmark = pytest.mark.integration


async def test_an_out_of_process_user_can_seed_act_and_inspect_through_the_admin_api() -> None:
    sim = Simulator()
    async with SimulatorServer(sim) as server, httpx2.AsyncClient(base_url=server.base_url) as http:
        created = await http.post("/_sim/accounts", json={"account_id": "555_SB1", "concurrency_limit": 3})
        assert created.status_code == 201
        creds = TbaCredentials(**created.json()["credentials"])
        base = "/_sim/accounts/555_SB1"
        customer = (
            await http.post(f"{base}/customers", json={"company_name": "Cafe", "external_id": "C1"})
        ).json()["id"]
        item = (await http.post(f"{base}/items", json={"item_id": "SKU-1", "display_name": "Beans"})).json()[
            "id"
        ]
        location = (await http.post(f"{base}/locations", json={"name": "Sydney"})).json()["id"]
        stock = await http.post(f"{base}/stock", json={"rows": [
            {"item_id": item, "location_id": location, "on_hand": "10", "available": "8"}]})  # fmt: skip
        assert stock.json() == {"updated": 1}
        so = (await http.post(f"{base}/records/salesOrder", json={
            "entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 2, "rate": 5}]},
        })).json()["id"]  # fmt: skip
        invoice = (await http.post(f"{base}/sales-orders/{so}/bill")).json()["id"]
        payment = await http.post(
            f"{base}/payments",
            json={"customer_id": customer, "amount": "10", "applications": {invoice: "10"}},
        )
        assert payment.status_code == 201
        invoices = (await http.get(f"{base}/records/invoice")).json()["items"]
        assert [(i["id"], i["status"], i["amountRemaining"]) for i in invoices] == [(invoice, "B", 0)]

        faults = await http.post(
            f"{base}/faults", json={"latency": [0.0, 0.01], "rules": [{"kind": "5xx", "count": 1}]}
        )
        assert faults.json() == {"rules": 1}
        url = server.base_url + "/services/rest/record/v1/customer/eid:C1"
        first = await http.get(url, headers={"Authorization": tba_header("GET", url, "555_SB1", creds)})
        second = await http.get(url, headers={"Authorization": tba_header("GET", url, "555_SB1", creds)})
        assert (first.status_code, second.status_code) == (500, 200)
        assert (await http.delete(f"{base}/faults")).status_code == 204

        stats = (await http.get(f"{base}/stats")).json()
        assert stats["concurrency_limit"] == 3
        assert stats["peak_in_flight"] == 1
        assert stats["counters"]["GET customer"] == 1
        assert (await http.get("/_sim/accounts")).json() == {"accounts": ["555_SB1"]}
        assert (await http.get("/_sim/accounts/nope/stats")).status_code == 404


async def test_the_module_runs_standalone_writes_its_port_and_serves_the_demo_seed(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "om_netsuite_sim", "--host", "127.0.0.1", "--port", "0",
        "--port-file", str(port_file), "--seed", "demo", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        announced: dict[str, Any] = json.loads(await asyncio.wait_for(process.stdout.readline(), 20))
        assert port_file.read_text() == str(announced["port"])
        async with httpx2.AsyncClient(base_url=announced["base_url"]) as http:
            accounts = (await http.get("/_sim/accounts")).json()
            assert accounts == {"accounts": ["1234567_SB1"]}
            items = (await http.get("/_sim/accounts/1234567_SB1/records/inventoryItem")).json()["items"]
            assert len(items) == 20
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
