"""finance_sync against NetSuite's published behaviour (issue 21): the account's time zone learnt
and used, COGS lines left out, currencies as ISO codes, invoice lines read by IN lists."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer

from finance_sync.adapters.netsuite_gateway import FinanceGateway
from finance_sync.app import Wired
from finance_sync.domain.cursors import NEVER, Position
from finance_sync.domain.features import Feature
from om_contracts import INVOICE_PAYMENTS_TOPIC, NETSUITE_INVOICES_TOPIC, RECONCILIATION_TOPIC
from om_netsuite_sim import Account

from .conftest import MakeSupplier, Supplier, events_on
from .test_documents_flow import sales_order, seed_catalogue
from .test_reconciliation_flow import RECONCILE, catalogue, envelope, outcomes, payment, send, settled

pytestmark = pytest.mark.integration


def _last_local_midnight(zone: str, before: datetime) -> datetime:
    """The latest local midnight of `zone` (as a UTC moment) at least two hours before `before`."""
    local = (before - timedelta(hours=2)).astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def _supplier_in(
    make_supplier: MakeSupplier, zone: str, **flags: Any
) -> tuple[Supplier, dict[str, str]]:
    ids: dict[str, str] = {}

    def setup(account: Account) -> dict[str, Any]:
        account.set_time_zone(zone)
        seeded = seed_catalogue(account)
        ids.update(seeded.pop("_ids"))
        return seeded

    return await make_supplier(setup, **flags), ids


@pytest.mark.parametrize("zone", ["Australia/Sydney", "America/Los_Angeles"])
async def test_hourly_feeds_miss_nothing_across_local_midnight_and_publish_utc_times(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, zone: str
) -> None:
    supplier, ids = await _supplier_in(make_supplier, zone, finalised_invoice_sync=True)
    midnight = _last_local_midnight(zone, datetime.now(UTC))
    billed: dict[str, datetime] = {}
    for order, moment in (
        ("ord_late", midnight - timedelta(minutes=10)),
        ("ord_early", midnight + timedelta(minutes=10)),
    ):
        with supplier.at(moment):
            supplier.account.bill_sales_order(sales_order(supplier, ids, order))
        billed[order] = moment

    for slot in (midnight, midnight + timedelta(hours=1)):
        await finance.run_feature(supplier.id, supplier.integration, Feature.FINALISED_INVOICES, slot)

    events = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=2)
    issued = {e["data"]["order_id"]: datetime.fromisoformat(e["data"]["issued_at"]) for e in events}
    assert issued == billed
    learnt = await finance.zones.get(supplier.id)
    assert learnt is not None
    assert learnt.offset == midnight.astimezone(ZoneInfo(zone)).utcoffset()


async def test_an_invoice_with_cogs_lines_publishes_only_its_item_lines_and_an_iso_currency(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await _supplier_in(make_supplier, "Australia/Sydney", finalised_invoice_sync=True)
    account = supplier.account
    account.update("inventoryItem", ids["coffee"], {"cost": "20.00"})
    account.add_reference("currency", "3", "Australian Dollar")
    account.update("currency", "3", {"symbol": "AUD"})
    with supplier.at(base_hour + timedelta(minutes=10)):
        so_id = sales_order(supplier, ids, "ord_cogs")
        account.update("salesOrder", so_id, {"currency": {"id": "3"}})
        invoice_id = account.bill_sales_order(so_id)
    cogs = list(account.store.sql.db.execute(
        "SELECT id FROM transactionline WHERE \"transaction\" = ? AND iscogs = 'T'", (int(invoice_id),)))  # fmt: skip
    assert len(cogs) == 2  # a COGS line and an inventory asset line for the coffee

    await finance.run_feature(
        supplier.id, supplier.integration, Feature.FINALISED_INVOICES, base_hour + timedelta(hours=1)
    )

    (event,) = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=1)
    data = event["data"]
    assert [(line["netsuite_item_id"], line["amount"]) for line in data["lines"]] == [
        (ids["coffee"], "127.50"),
        (ids["freight"], "15.00"),
    ]
    assert data["currency"] == "AUD"  # the currency's symbol, not its name "Australian Dollar"


async def test_2500_modified_invoices_page_by_in_lists_without_reaching_the_row_cap(
    finance: Wired, make_supplier: MakeSupplier, base_hour: datetime
) -> None:
    supplier, ids = await _supplier_in(make_supplier, "Australia/Sydney")
    account = supplier.account
    line = {"item": {"id": ids["freight"]}, "quantity": 1, "rate": "1.00"}
    with supplier.at(base_hour):
        order = sales_order(supplier, ids, "ord_many")
        for n in range(2500):
            account.create("invoice", {"entity": {"id": ids["customer"]}, "createdFrom": {"id": order},
                                       "item": {"items": [line]}})  # fmt: skip
            if n == 1200:  # someone else's invoice in the middle, with more lines than a page can reach
                account.create("invoice", {"entity": {"id": ids["customer"]},
                                           "item": {"items": [line] * 100_001}})  # fmt: skip
    session = finance.runtime.netsuite.session(supplier.id, supplier.integration)
    gateway = FinanceGateway(session, 1000, functools.partial(finance.zones.zone, supplier.id, session))

    after, seen, lines = Position(NEVER, 0), 0, 0
    while rows := await gateway.invoices_modified(after, base_hour + timedelta(hours=1), 1000):
        seen += len(rows)
        lines += sum(len(row.lines) for row in rows)
        last = rows[-1]
        after = Position(last.modified_at or last.created_at, int(last.id))

    assert (seen, lines) == (2500, 2500)


async def test_a_payment_for_an_unbilled_order_is_a_customer_deposit_applied_when_billed_then_paid(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    base_hour: datetime,
) -> None:
    supplier: Supplier = await make_supplier(
        catalogue, sync_type="orders", auto_reconciliation=RECONCILE, mark_invoices_paid=True
    )
    account, customer = supplier.account, supplier.integration.customer_mappings["cus_19ab"]
    item = account.add_item("COF")
    so_id = account.create("salesOrder", {"entity": {"id": customer}, "externalId": "OM-ORDER-ord_dep",
                                          "item": {"items": [{"item": {"id": item}, "quantity": 1, "rate": "30"}]}})  # fmt: skip
    paid = payment("p_dep", "30.00", {"order_id": "ord_dep", "amount": "30.00"})
    await send(
        kafka_producer,
        envelope(supplier.id, "payment.succeeded", {**paid, "paid_at": "2026-11-27T08:02:11+11:00"}),
    )
    await settled(finance, supplier.id, "payment", ["p_dep"])

    (deposit,) = account.records("customerDeposit")
    assert (deposit["externalId"], deposit["salesOrder"]["id"], deposit["payment"]) == (
        "OM-PAY-p_dep", so_id, Decimal("30.00"),
    )  # fmt: skip
    assert deposit["tranDate"] == "2026-11-27"  # the date in the payment's own offset (UTC: 26th)
    assert account.records("customerPayment") == []
    (outcome,) = outcomes(
        await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=1)
    ).values()
    assert (outcome["outcome"], outcome["netsuite_customer_deposit_id"]) == ("deposited", deposit["id"])

    with supplier.at(base_hour + timedelta(minutes=20)):
        invoice_id = account.bill_sales_order(so_id)  # NetSuite applies the deposit to the invoice
    assert account.record("invoice", invoice_id)["status"] == "B"
    await finance.run_feature(
        supplier.id, supplier.integration, Feature.PAID_INVOICES, base_hour + timedelta(hours=1)
    )

    (event,) = await events_on(kafka_bootstrap, INVOICE_PAYMENTS_TOPIC, supplier.id, at_least=1)
    assert (event["data"]["invoice_id"], event["data"]["netsuite_invoice_id"]) == ("ord_dep", invoice_id)
    assert event["data"]["amount_paid"] == "30.00"
