"""omctl against the real order_sync service (embedded broker, Mongo-protocol server, simulator):
an order fails on unmapped ids, the operator imports the mappings as CSV and the order heals by
itself, then replays the supplier's orders; NetSuite ends with exactly one sales order."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from om_contracts import ORDERS_TOPIC, SYNC_RESULTS_TOPIC

from .conftest import Cli

# order_sync's own test harness (pytest's importlib mode keeps test folders off sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "order_sync"))
from order_sync_harness import KEY as ORDER_SYNC_KEY
from order_sync_harness import OutcomeReader, Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def order_env(unique_name: str) -> dict[str, str]:
    """omctl's settings for the order_sync the `order_stack` fixture starts."""
    return {
        "order_sync_mongodb_database": f"order_sync_{unique_name}",
        "order_sync_consumer_group": f"order-sync-{unique_name}",
        "netsuite_credentials_keys": ORDER_SYNC_KEY,
    }


async def test_an_import_heals_the_order_and_a_replay_leaves_exactly_one_sales_order(
    cli: Cli,
    kafka_bootstrap: str,
    mongo_url: str,
    simulator,
    order_stack: Stack,
    unique_name: str,
    tmp_path: Path,
) -> None:
    stack = order_stack
    env = order_env(unique_name)
    reader = None
    try:
        service = await stack.start()
        supplier = stack.supplier()
        sid = supplier.supplier_id
        await stack.configure(service, supplier)
        reader = OutcomeReader(kafka_bootstrap, SYNC_RESULTS_TOPIC, {sid})
        await reader.start()
        await stack.order(
            supplier, "order.placed", supplier.order("ord_e2e1", customer_mapped=False, mapped_products=False)
        )
        [failed] = await reader.wait_for(lambda e: len(e) >= 1)
        assert failed["data"]["error"]["code"] == "UNMAPPED_CUSTOMER"

        status = await cli.json("status", "--supplier", sid, **env)
        assert status["suppliers"][sid]["order_sync"]["flows"]["ledger"]["failures_by_code"] == {
            "UNMAPPED_CUSTOMER": 1
        }
        check = await cli.json(
            "integration", "check", "--supplier", sid, netsuite_base_url=simulator.base_url, **env
        )
        assert check["ok"] is True, check

        csv = tmp_path / "fix.csv"
        rows = [f"customer,cus_1,{supplier.customer_id}"] + [
            f"product,{p},{i}" for p, i in supplier.items.items()
        ]
        csv.write_text("kind,ordermentum_id,netsuite_id\n" + "\n".join(rows) + "\nproduct,prd_z,not-an-id\n")
        imported = await cli.json(
            "mappings", "import", str(csv), "--supplier", sid, "--service", "order_sync", **env
        )
        assert (imported["accepted"], [r["line"] for r in imported["rejected"]]) == (4, [6])
        assert len(imported["heal_commands"]) == 1

        # The import alone heals the order: order_sync picks the imported ids up, no resync needed.
        events = await reader.wait_for(lambda e: len(e) >= 2)
        assert events[1]["event_type"] == "netsuite.order.synced"
        assert len(supplier.account.records("salesOrder")) == 1
        resync = await cli.json(
            "resync", "--supplier", sid, "--code", "UNMAPPED_CUSTOMER", "--wait", "30", **env
        )
        assert resync["status"] == "done", resync
        assert resync["result"]["resynced"] == 0  # nothing was left for the operator

        replay = await cli.json(
            "replay",
            ORDERS_TOPIC,
            "--service",
            "order_sync",
            "--supplier",
            sid,
            "--offset",
            "0",
            "--via-replay-topic",
            **env,
        )
        assert replay["republished"] == 1
        group = replay["plan"]["group"]

        async def caught_up() -> bool:
            lag = await cli.json("status", "--supplier", sid, "--group-prefix", group, **env)
            return any(r["topic"] == ORDERS_TOPIC and r["lag"] == 0 for r in lag["consumer_lag"])

        await wait_until(caught_up, timeout=30, interval=0.2)
        assert len(supplier.account.records("salesOrder")) == 1  # the replayed order created nothing new
        final = await cli.json("status", "--supplier", sid, **env)
        assert final["suppliers"][sid]["order_sync"]["flows"]["ledger"]["counts"] == {"synced": 1}
    finally:
        if reader is not None:
            await reader.stop()
        await stack.close()


async def test_a_resync_that_leaves_the_order_failed_exits_non_zero_and_an_unknown_supplier_is_refused(
    cli: Cli, kafka_bootstrap: str, order_stack: Stack, unique_name: str
) -> None:
    stack = order_stack
    env = order_env(unique_name)
    service = await stack.start(heal_enabled=False)
    supplier = stack.supplier()
    sid = supplier.supplier_id
    reader = OutcomeReader(kafka_bootstrap, SYNC_RESULTS_TOPIC, {sid})
    try:
        await stack.configure(service, supplier)
        await reader.start()
        await stack.order(supplier, "order.placed", supplier.order("ord_still", mapped_products=False))
        [failed] = await reader.wait_for(lambda e: len(e) >= 1)
        assert failed["data"]["error"]["code"] == "UNMAPPED_PRODUCT"

        # nothing was mapped: the re-sync runs the order and it fails again
        result = await cli("resync", "--supplier", sid, "--wait", "30", **env)
        assert result.exit_code == 1, result.output
        assert "1 record(s) still failed: ord_still" in result.output
        as_json = await cli("resync", "--supplier", sid, "--wait", "30", "--json", **env)
        assert as_json.exit_code == 1
        assert as_json.stdout.strip().startswith("{")  # the JSON result still comes, then the exit code

        typo = await cli("resync", "--supplier", sid + "x", "--wait", "30", **env)
        assert typo.exit_code == 1
        assert f"no supplier '{sid}x' in order_sync's database" in typo.output
    finally:
        await reader.stop()
        await stack.close()
