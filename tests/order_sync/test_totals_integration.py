"""Verify after write, end to end: tax codes, NetSuite's totals read back, mismatches, request counts."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from order_sync_harness import Stack, Supplier, money

from order_sync.app import Wired

pytestmark = pytest.mark.integration

TAX_CODES = {"0.10": "7", "0": "8"}


def gst_and_gst_free(supplier: Supplier, order_id: str) -> dict[str, Any]:
    """Coffee (GST) and milk (GST-free) lines, freight (GST) and a card surcharge (no GST).

    Every item's NetSuite default tax code is GST, so without `tax_codes` NetSuite taxes the milk.
    """
    data = supplier.order(
        order_id, products=("prd_a", "prd_b"), quantities=("3", "4"), prices=("42.50", "3.35")
    )
    data["lines"][1]["tax_rate"] = "0"
    totals = {
        "subtotal": "140.90",
        "freight": "15.00",
        "surcharge": "2.35",
        "tax": "14.25",
        "total": "172.50",
    }
    return {**data, "totals": totals}


def _once(events: list[dict[str, Any]], answering: set[str]) -> list[dict[str, Any]]:
    """The outcomes answering these events, each once (a republished outcome keeps its event id)."""
    by_id = {e["event_id"]: e for e in events if e["data"]["source_event_id"] in answering}
    return list(by_id.values())


async def _outcomes(
    stack: Stack, service: Wired, supplier: Supplier, orders: list[dict[str, Any]], **integration: Any
) -> list[dict[str, Any]]:
    async with stack.results(supplier.supplier_id) as reader:
        await stack.configure(service, supplier, **integration)
        sent = {await stack.order(supplier, "order.placed", order) for order in orders}
        events = await reader.wait_for(
            lambda e: sent <= {x["data"]["source_event_id"] for x in e}, timeout=60
        )
        return _once(events, sent)


async def test_with_tax_codes_gst_and_gst_free_lines_sync_with_ordermentums_totals(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()

    [outcome] = await _outcomes(
        stack, service, supplier, [gst_and_gst_free(supplier, "ord_tax_1")], tax_codes=TAX_CODES
    )

    assert outcome["event_type"] == "netsuite.order.synced", outcome
    data = outcome["data"]
    assert data["warnings"] == []
    assert data["totals"]["ordermentum"] == {
        "subtotal": "158.25",
        "tax": "14.25",
        "total": "172.50",
        "lines": 4,
    }
    assert {k: money(v) for k, v in data["totals"]["netsuite"].items()} == {
        "subtotal": Decimal("158.25"),
        "tax": Decimal("14.25"),
        "total": Decimal("172.50"),
        "lines": 4,
    }
    [order] = supplier.account.records("salesOrder")
    assert [line["taxCode"]["id"] for line in order["item"]] == ["7", "8", "7", "8"]
    assert (order["taxTotal"], order["total"]) == (Decimal("14.25"), Decimal("172.50"))


async def test_without_tax_codes_netsuites_item_defaults_make_a_totals_mismatch_with_both_totals(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier()

    [outcome] = await _outcomes(stack, service, supplier, [gst_and_gst_free(supplier, "ord_tax_2")])

    assert outcome["event_type"] == "netsuite.order.synced", outcome
    data = outcome["data"]
    assert data["totals"]["ordermentum"]["tax"] == "14.25"
    assert money(data["totals"]["netsuite"]["tax"]) == Decimal("15.59")  # the milk taxed at 10 %
    assert money(data["totals"]["netsuite"]["total"]) == Decimal("173.84")
    [warning] = data["warnings"]
    assert warning["code"] == "TOTALS_MISMATCH"
    assert "tax 14.25 in Ordermentum, 15.59 in NetSuite" in warning["message"]
    ledger = await service.runtime.db["ledger"].find_one({"ordermentum_id": "ord_tax_2"})
    assert ledger is not None
    assert [w["code"] for w in ledger["warnings"]] == ["TOTALS_MISMATCH"]
    assert ledger["totals"]["ordermentum"]["total"] == "172.50"


def _requests(supplier: Supplier) -> Counter[str]:
    """The account's requests by kind: PUT (upserts), suiteql (read-backs and the currency query), GETs."""
    kinds: Counter[str] = Counter()
    for method, path, _status in supplier.account.request_log:
        kinds["suiteql" if path.endswith("/suiteql") else method] += 1
    return kinds


async def test_reading_totals_back_costs_no_extra_request_per_order_created_or_updated(
    shared: tuple[Stack, Wired],
) -> None:
    stack, service = shared
    supplier = stack.supplier(concurrency_limit=5)
    orders = [supplier.order(f"ord_count_{n}") for n in range(8)]

    placed = await _outcomes(stack, service, supplier, orders)
    created = _requests(supplier)

    assert [e["event_type"] for e in placed] == ["netsuite.order.synced"] * 8, placed
    assert all(e["data"]["totals"] is not None and e["data"]["warnings"] == [] for e in placed), placed
    assert created["PUT"] == 8
    # The tranId read, now with totals: batched, never more than one per order; plus the account's
    # currencies, one query once per account.
    assert created["suiteql"] <= 8 + 1
    assert set(created) <= {"PUT", "suiteql"}

    async with stack.results(supplier.supplier_id) as reader:
        sent = set()
        for order in orders:
            order["lines"][0]["quantity"] = "5"
            order["totals"] = supplier.order(order["id"], quantities=("5", "1.5", "2"))["totals"]
            sent.add(
                await stack.order(supplier, "order.updated", order, occurred_at="2026-11-24T10:15:00+11:00")
            )
        events = await reader.wait_for(
            lambda e: sent <= {x["data"]["source_event_id"] for x in e}, timeout=60
        )
        updated = _once(events, sent)
    after = _requests(supplier) - created

    assert all(e["data"]["warnings"] == [] for e in updated), updated
    assert {money(e["data"]["totals"]["netsuite"]["total"]) for e in updated} == {Decimal("269.37")}
    assert len(updated) == 8, [(e["data"]["ordermentum_id"], e["data"]["source_event_id"]) for e in events]
    assert after["PUT"] == 8
    assert after["suiteql"] <= 8  # updates are verified too, in the same batched read
    assert set(after) <= {"PUT", "suiteql"}
