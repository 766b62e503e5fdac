"""The edge owns retries: order_sync reads the attempt and whether it is the last from the record context.

On the edge's last attempt a NetSuite outage becomes a NETSUITE_UNAVAILABLE failure outcome (which an
operator can re-sync), never a dead letter; order_sync keeps no retry state of its own.
"""

from __future__ import annotations

import pytest
from order_sync_harness import OutcomeReader, Stack, dead_letters

from om_contracts import ORDERS_TOPIC, SYNC_RESULTS_TOPIC

pytestmark = pytest.mark.integration


async def test_an_outage_outlasting_the_edges_retries_ends_as_netsuite_unavailable_not_a_dead_letter(
    stack: Stack,
) -> None:
    supplier = stack.supplier()
    service = await stack.start(retry_max_attempts=3, retry_base_delay_s=0.01, retry_max_delay_s=0.02)
    reader = OutcomeReader(stack.kafka_bootstrap, SYNC_RESULTS_TOPIC, {supplier.supplier_id})
    await reader.start()
    try:
        await stack.configure(service, supplier)
        supplier.account.faults.add("5xx", status=503)  # down for as long as the test runs
        await stack.order(supplier, "order.placed", supplier.order("ord_500001"))
        # Three edge attempts, each the NetSuite client's own retries of a 503: ~25 s on an idle machine.
        [outcome] = await reader.wait_for(lambda events: len(events) >= 1, timeout=100)
    finally:
        supplier.account.faults.clear()
        await reader.stop()
    assert outcome["event_type"] == "netsuite.order.failed"
    error = outcome["data"]["error"]
    assert (error["code"], error["retryable"], outcome["data"]["attempts"]) == (
        "NETSUITE_UNAVAILABLE",
        True,
        3,
    )
    assert await dead_letters(stack.kafka_bootstrap, ORDERS_TOPIC, supplier.supplier_id) == []
