"""An operator command acts on the state that includes every event published before it (omctl
carries the topics' end offsets; the service waits until it has processed them)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from om_contracts import SYNC_RESULTS_TOPIC
from omctl import commands as ops_commands
from omctl._settings import OpsSettings

# order_sync's own test harness (pytest's importlib mode keeps test folders off sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "order_sync"))
from order_sync_harness import OutcomeReader, Stack

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ROUNDS = 50


async def test_a_resync_issued_right_after_a_mapping_event_never_fails_for_that_mapping(
    kafka_bootstrap: str,
    mongo_url: str,
    simulator,
    order_stack: Stack,
    unique_name: str,
) -> None:
    stack = order_stack
    ops = OpsSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_enable_idempotence=False,
        mongodb_url=mongo_url,
        order_sync_mongodb_database=f"order_sync_{unique_name}",
    )
    reader = None
    try:
        # Without the heal, only the operator's resync can sync these orders: it must see each mapping.
        service = await stack.start(heal_enabled=False)
        supplier = stack.supplier()
        sid = supplier.supplier_id
        await stack.configure(service, supplier)
        reader = OutcomeReader(kafka_bootstrap, SYNC_RESULTS_TOPIC, {sid})
        await reader.start()
        for n in range(ROUNDS):
            order = supplier.order(f"ord_r{n:05d}", products=(f"prd_r{n}",), quantities=("1",), prices=("5",))
            await stack.order(supplier, "order.placed", order)
        await reader.wait_for(lambda e: len(e) >= ROUNDS, timeout=60)
        assert Counter(e["event_type"] for e in reader.events) == {"netsuite.order.failed": ROUNDS}

        started = time.monotonic()
        for n in range(ROUNDS):
            product = {
                "id": f"prd_r{n}",
                "sku": f"R{n}",
                "name": f"Product {n}",
                "properties": {"netsuite_id": supplier.items["prd_a"]},
            }
            await stack.upsert_entity(supplier, "product", product)
            command_id = await ops_commands.submit(
                ops, "order_sync", "resync", sid, {"ordermentum_id": f"ord_r{n:05d}"}
            )
            document = await ops_commands.wait(ops, "order_sync", command_id, 60, poll_s=0.05)
            assert document is not None
            assert document["status"] == "done", document
            assert document["result"]["synced"] == [f"ord_r{n:05d}"], (n, document["result"])
        per_round = (time.monotonic() - started) / ROUNDS
        await reader.wait_for(lambda e: len(e) >= 2 * ROUNDS, timeout=60)
    finally:
        if reader is not None:
            await reader.stop()
        await stack.close()
    kinds = Counter(e["event_type"] for e in reader.events)
    assert kinds == {"netsuite.order.failed": ROUNDS, "netsuite.order.synced": ROUNDS}
    assert len(supplier.account.records("salesOrder")) == ROUNDS
    print(f"{ROUNDS} rounds of mapping event + resync: {per_round:.2f}s per round")
