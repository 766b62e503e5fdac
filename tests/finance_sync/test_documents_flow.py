"""Finalised invoices, credit notes and paid invoices from the simulator to the broker."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from finance_sync.adapters.netsuite_gateway import FinanceGateway
from finance_sync.app import Wired
from finance_sync.domain.features import Feature
from finance_sync.service_layer.feeds import feed
from finance_sync.service_layer.polling import WindowOptions, run_window
from om_contracts import CREDIT_NOTES_TOPIC, INVOICE_PAYMENTS_TOPIC, NETSUITE_INVOICES_TOPIC
from om_netsuite_sim import Account

from .conftest import MakeSupplier, Supplier, events_on

pytestmark = pytest.mark.integration


def seed_catalogue(account: Account) -> dict[str, Any]:
    customer = account.add_customer("Cafe Luna", external_id="CUS-1")
    coffee = account.add_item("COF-1KG", "House Blend 1kg", base_price="42.50")
    freight = account.add_item("FREIGHT", "Freight", item_type="serviceSaleItem")
    return {
        "product_mappings": {"prd_55": coffee},
        "customer_mappings": {"cus_19ab": customer},
        "_ids": {"customer": customer, "coffee": coffee, "freight": freight},
    }


async def supplier_with_catalogue(
    make_supplier: MakeSupplier, **flags: Any
) -> tuple[Supplier, dict[str, str]]:
    ids: dict[str, str] = {}

    def setup(account: Account) -> dict[str, Any]:
        seeded = seed_catalogue(account)
        ids.update(seeded.pop("_ids"))
        return seeded

    supplier = await make_supplier(setup, **flags)
    return supplier, ids


def sales_order(supplier: Supplier, ids: dict[str, str], order_id: str) -> str:
    return supplier.account.create(
        "salesOrder",
        {
            "entity": {"id": ids["customer"]},
            "externalId": f"OM-ORDER-{order_id}",
            "item": {
                "items": [
                    {
                        "item": {"id": ids["coffee"]},
                        "quantity": 3,
                        "rate": "42.50",
                        "description": "House Blend 1kg",
                    },
                    {"item": {"id": ids["freight"]}, "quantity": 1, "rate": "15.00"},
                ]
            },
        },
    )


async def test_a_billed_sales_order_yields_one_finalised_invoice_with_lines_mapped_back(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    with supplier.at(base_hour + timedelta(minutes=10)):
        invoice_id = supplier.account.bill_sales_order(sales_order(supplier, ids, "ord_8f3a2c"))
        supplier.account.create(
            "salesOrder",
            {
                "entity": {"id": ids["customer"]},
                "item": {"items": [{"item": {"id": ids["coffee"]}, "quantity": 1}]},
            },
        )
    slot = base_hour + timedelta(hours=1)
    result = await finance.run_feature(supplier.id, supplier.integration, Feature.FINALISED_INVOICES, slot)
    assert result.published == 1
    (event,) = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=1)
    assert event["event_type"] == "netsuite.invoice.finalised"
    data = event["data"]
    assert (data["order_id"], data["netsuite_invoice_id"]) == ("ord_8f3a2c", invoice_id)
    assert data["tran_id"] == supplier.account.record("invoice", invoice_id)["tranId"]
    assert [
        (line["product_id"], line["netsuite_item_id"], line["quantity"], line["unit_price"], line["amount"])
        for line in data["lines"]
    ] == [
        ("prd_55", ids["coffee"], "3", "42.5", "127.50"),
        (None, ids["freight"], "1", "15", "15.00"),
    ]
    assert data["totals"] == {"subtotal": "142.50", "tax": "0", "total": "142.50"}
    assert data["amount_due"] == "142.50"


async def test_running_an_hour_twice_or_rewinding_publishes_nothing_new(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    with supplier.at(base_hour + timedelta(minutes=50)):
        supplier.account.bill_sales_order(sales_order(supplier, ids, "ord_twice"))
    slot = base_hour + timedelta(hours=1)
    first = await finance.run_feature(supplier.id, supplier.integration, Feature.FINALISED_INVOICES, slot)
    again = await finance.run_feature(supplier.id, supplier.integration, Feature.FINALISED_INVOICES, slot)
    from finance_sync.service_layer.hourly_runs import rewind_cursor

    await rewind_cursor(
        finance.cursors, supplier.id, Feature.FINALISED_INVOICES, base_hour - timedelta(hours=1)
    )
    rewound = await finance.run_feature(supplier.id, supplier.integration, Feature.FINALISED_INVOICES, slot)
    assert (first.published, again.published, rewound.published) == (1, 0, 0)
    assert rewound.rows == 1  # the rewound window did read it again
    assert len(await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=1)) == 1


async def test_a_credit_memo_yields_one_credit_note_event(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, inbound_credit_notes=True)
    with supplier.at(base_hour + timedelta(minutes=5)):
        invoice_id = supplier.account.create(
            "invoice",
            {"entity": {"id": ids["customer"]}, "externalId": "OM-INV-inv_77d1",
             "item": {"items": [{"item": {"id": ids["coffee"]}, "quantity": 2, "rate": "42.50"}]}},
        )  # fmt: skip
    with supplier.at(base_hour + timedelta(minutes=20)):
        memo_id = supplier.account.create_credit_memo(
            invoice_id, {"item": {"items": [{"item": {"id": ids["coffee"]}, "quantity": 1, "rate": "42.50"}]}}
        )
    slot = base_hour + timedelta(hours=1)
    for _ in range(2):
        await finance.run_feature(supplier.id, supplier.integration, Feature.CREDIT_NOTES, slot)
    (event,) = await events_on(kafka_bootstrap, CREDIT_NOTES_TOPIC, supplier.id, at_least=1)
    data = event["data"]
    assert event["event_type"] == "netsuite.credit_note.created"
    assert (data["netsuite_credit_memo_id"], data["customer_id"], data["invoice_id"]) == (
        memo_id,
        "cus_19ab",
        "inv_77d1",
    )
    assert data["total"] == "42.50"
    assert [(line["product_id"], line["quantity"], line["amount"]) for line in data["lines"]] == [
        ("prd_55", "1", "42.50")
    ]


async def test_a_payment_in_full_yields_one_paid_event_although_the_invoice_was_not_modified(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, mark_invoices_paid=True)
    with supplier.at(base_hour - timedelta(days=3)):
        invoice_id = supplier.account.create(
            "invoice",
            {"entity": {"id": ids["customer"]}, "externalId": "OM-INV-inv_paid",
             "item": {"items": [{"item": {"id": ids["coffee"]}, "quantity": 2, "rate": "42.50"}]}},
        )  # fmt: skip
        other = supplier.account.create(
            "invoice",
            {
                "entity": {"id": ids["customer"]},
                "item": {"items": [{"item": {"id": ids["coffee"]}, "quantity": 1, "rate": "42.50"}]},
            },
        )
    modified_before = supplier.account.record("invoice", invoice_id)["_modified"]
    with supplier.at(base_hour + timedelta(minutes=15)):
        supplier.account.record_customer_payment(ids["customer"], "40.00", {invoice_id: "40.00"})
    with supplier.at(base_hour + timedelta(minutes=30)):
        supplier.account.record_customer_payment(ids["customer"], "45.00", {invoice_id: "45.00"})
        supplier.account.record_customer_payment(ids["customer"], "42.50", {other: "42.50"})
    invoice = supplier.account.record("invoice", invoice_id)
    assert invoice["_modified"] == modified_before  # NetSuite does not touch the invoice itself
    assert invoice["status"] == "B"
    slot = base_hour + timedelta(hours=1)
    for _ in range(2):
        await finance.run_feature(supplier.id, supplier.integration, Feature.PAID_INVOICES, slot)
    (event,) = await events_on(kafka_bootstrap, INVOICE_PAYMENTS_TOPIC, supplier.id, at_least=1)
    assert event["event_type"] == "netsuite.invoice.paid"
    assert event["data"]["invoice_id"] == "inv_paid"
    assert event["data"]["netsuite_invoice_id"] == invoice_id
    assert event["data"]["amount_paid"] == "85.00"
    assert datetime.fromisoformat(event["data"]["paid_at"]) == base_hour + timedelta(minutes=30)


class DyingPublisher:
    """Publishes the first `alive` events, then fails as a killed process would (nothing sent)."""

    def __init__(self, real: Any, alive: int) -> None:
        self.real, self.alive = real, alive

    async def __call__(self, event: BaseModel, *, key: str) -> None:
        if self.alive <= 0:
            raise SystemError("process killed")
        self.alive -= 1
        await self.real.publish(event, key=key)


async def test_a_run_killed_mid_window_resumes_without_a_second_event(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    for n in range(5):
        with supplier.at(base_hour + timedelta(minutes=10 + n)):
            supplier.account.bill_sales_order(sales_order(supplier, ids, f"ord_kill_{n}"))
    slot = base_hour + timedelta(hours=1)
    session = finance.runtime.netsuite.session(supplier.id, supplier.integration)
    options = WindowOptions(
        overlap=timedelta(minutes=10), max_rows=100, page_size=2, initial_lookback=timedelta(hours=1)
    )
    real = finance.runtime.publisher(NETSUITE_INVOICES_TOPIC, schema=None)

    async def run(publisher: Any) -> Any:
        gateway = FinanceGateway(session, 2, functools.partial(finance.zones.zone, supplier.id, session))
        fetch = feed(Feature.FINALISED_INVOICES, supplier.id, supplier.integration, gateway, finance.mappings,
                     default_currency="AUD", paid_lookback=timedelta(days=1), versions=finance.versions)  # fmt: skip
        return await run_window(supplier.id, "finalised_invoices", slot, fetch, cursors=finance.cursors,
                                published=finance.published, publisher=publisher, options=options)  # fmt: skip

    with pytest.raises(SystemError):
        await run(DyingPublisher(real, alive=2))  # dies as the second page starts publishing
    finished = await run(real.publish)
    assert finished.published == 3
    events = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=5)
    assert sorted(e["data"]["order_id"] for e in events) == [f"ord_kill_{n}" for n in range(5)]
    assert Decimal(events[0]["data"]["amount_due"]) == Decimal("142.50")
