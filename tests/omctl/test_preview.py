"""`omctl preview` and the mismatches of `omctl status --supplier`, against the real order_sync
(embedded broker, Mongo-protocol server, simulator): the preview names every unmapped id and
rate, writes nothing to NetSuite, and shows the very request order_sync then sends."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from om_contracts import SYNC_RESULTS_TOPIC

from .conftest import Cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "order_sync"))
from order_sync_harness import KEY as ORDER_SYNC_KEY
from order_sync_harness import OutcomeReader, Stack, Supplier, envelope

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _writes(supplier: Supplier) -> list[tuple[str, str, int]]:
    # SuiteQL is a read sent with POST (the currency lookup uses it).
    return [e for e in supplier.account.request_log if e[0] in WRITES and not e[1].endswith("/suiteql")]


async def test_preview_lists_every_problem_writes_nothing_and_shows_the_request_order_sync_sends(
    cli: Cli,
    kafka_bootstrap: str,
    mongo_url: str,
    simulator: Any,
    order_stack: Stack,
    unique_name: str,
    tmp_path: Path,
) -> None:
    stack = order_stack
    env = {
        "order_sync_mongodb_database": f"order_sync_{unique_name}",
        "netsuite_credentials_keys": ORDER_SYNC_KEY,
        "netsuite_base_url": simulator.base_url,
    }
    reader: OutcomeReader | None = None
    try:
        service = await stack.start()
        supplier = stack.supplier()
        sid = supplier.supplier_id
        await stack.configure(service, supplier, tax_codes={"0.10": "7"})  # no code for rate 0

        unmapped = supplier.order("ord_prev1", customer_mapped=False, mapped_products=False)
        event_file = tmp_path / "order.json"
        event_file.write_bytes(
            envelope(
                "order.placed", sid, unmapped, event_id="evt_prev1", occurred_at="2026-11-24T09:15:00+11:00"
            )
        )
        before = len(supplier.account.request_log)
        result = await cli("preview", str(event_file), "--json", **env)

        assert result.exit_code == 1, result.output
        shown = json.loads(result.stdout)
        assert shown["request"] is None
        assert [(p["code"], p["ordermentum_id"] or p["path"]) for p in shown["problems"]] == [
            ("UNMAPPED_CUSTOMER", "cus_1"),
            ("UNMAPPED_PRODUCT", "prd_a"),
            ("UNMAPPED_PRODUCT", "prd_b"),
            ("UNMAPPED_PRODUCT", "prd_c"),
            ("UNMAPPED_TAX_RATE", "surcharge"),
        ]
        assert {d["field"]: d["source"] for d in shown["decisions"]}["entity"] == "unmapped"
        assert _writes(supplier) == []
        assert len(supplier.account.request_log) > before  # it did read NetSuite (currencies)
        human = await cli("preview", str(event_file), **env)
        assert "UNMAPPED_PRODUCT" in human.stdout
        assert "prd_c" in human.stdout

        await stack.configure(service, supplier, tax_codes={"0.10": "7", "0": "8"})
        mapped = supplier.order("ord_prev2")
        mapped["totals"] = {**mapped["totals"], "tax": "0.01", "total": "0.01"}  # Ordermentum got it wrong
        reader = OutcomeReader(kafka_bootstrap, SYNC_RESULTS_TOPIC, {sid})
        await reader.start()
        event_id = await stack.order(supplier, "order.placed", mapped)
        [synced] = await reader.wait_for(lambda e: len(e) >= 1, timeout=60)
        shown = await cli.json("preview", "--event-id", event_id, "--supplier", sid, **env)

        assert shown["problems"] == []
        request = shown["request"]
        assert request["method"] == "PUT"
        assert request["url"] == (
            f"{simulator.base_url}/services/rest/record/v1/salesOrder/eid:OM-ORDER-ord_prev2?replace=item"
        )
        assert request["headers"] == {"X-NetSuite-PropertyNameValidation": "Error"}
        sources = {d["field"]: d["source"] for d in shown["decisions"]}
        assert sources["entity"] == "netsuite_id property on the customer in the event"
        assert sources["item.items[0].item (prd_a)"] == "netsuite_id property on the product in the event"
        assert sources["location"] == "netsuite_location_id property on the order"
        assert sources["salesRep"] == "netsuite_sales_rep_id property on the customer"
        [order] = supplier.account.records("salesOrder")
        sent = [
            (
                line["item"]["id"],
                Decimal(str(line["quantity"])),
                Decimal(str(line["amount"])),
                line["taxCode"]["id"],
            )
            for line in request["body"]["item"]["items"]
        ]
        stored = [
            (
                line["item"]["id"],
                Decimal(str(line["quantity"])),
                Decimal(str(line["amount"])),
                line["taxCode"]["id"],
            )
            for line in order["item"]
        ]
        assert sent == stored  # what the preview shows is what order_sync wrote
        # Quantities and amounts go as JSON numbers, as the 2026.1 schema types them.
        assert all(
            isinstance(line[k], int | float)
            for line in request["body"]["item"]["items"]
            for k in ("quantity", "amount")
        )

        assert synced["data"]["warnings"][0]["code"] == "TOTALS_MISMATCH"
        status = await cli.json("status", "--supplier", sid, **env)
        [mismatch] = status["suppliers"][sid]["order_sync"]["mismatches"]
        assert (mismatch["ordermentum_id"], mismatch["ordermentum"]["total"]) == ("ord_prev2", "0.01")
        assert mismatch["netsuite"]["total"] == synced["data"]["totals"]["netsuite"]["total"]
        table = await cli("status", "--supplier", sid, **env)
        assert "totals mismatches" in table.stdout
        assert "ord_prev2" in table.stdout
    finally:
        if reader is not None:
            await reader.stop()
        await stack.close()
