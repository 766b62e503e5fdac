"""`python -m om_demo`: the whole product on the embedded stack, a supplier's day, and a checked summary.

Exit status 0 only when every check against the simulator's records and the published events holds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.table import Table

from om_demo import _invoicing as crumb_co
from om_demo import _m2m as leaf_co
from om_demo import _world as world
from om_demo._harness import PRACTICE_DLQ, Harness, Simulator
from om_demo._invoicing import InvoiceSupplier
from om_demo._m2m import M2MSupplier
from om_demo._story import Story


def _synced(outbox: Any, order_ids: set[str]) -> set[str]:
    return {e["data"]["ordermentum_id"] for e in outbox.of("netsuite.order.synced")} & order_ids


def _mismatched(outbox: Any) -> list[dict[str, Any]]:
    """Synced outcomes whose totals NetSuite booked differently (TOTALS_MISMATCH)."""
    return [
        e
        for e in outbox.of("netsuite.order.synced")
        if any(w["code"] == "TOTALS_MISMATCH" for w in e["data"].get("warnings") or [])
    ]


async def run(
    console: Console,
    keep_running: bool,
    log_level: str = "INFO",
    external: dict[str, str] | None = None,
    env_file: Path | None = None,
) -> int:
    harness = Harness(log_level=log_level, external=external)
    checks: list[tuple[str, bool, str]] = []
    began = time.monotonic()
    try:
        seconds = await harness.start_stack()
        console.print(f"[green]✓[/] stack up in {seconds:.1f}s: Kafka {harness.kafka_bootstrap}, "
                      f"MongoDB, NetSuite simulator {harness.simulator_url}")  # fmt: skip
        harness.sim = Simulator(harness.simulator_url, world.ACCOUNT)
        story = Story(harness, console)
        story.mongo = AsyncMongoClient(harness.mongo_url)
        await story.seed_netsuite()
        seconds = await harness.start_services()
        console.print(
            f"[green]✓[/] order_sync, stock_sync, finance_sync ready in {seconds:.1f}s (logs in {harness.workdir})"
        )
        outbox = harness.outbox
        assert outbox is not None

        preview = await _morning(console, story, outbox)
        await _outages(console, story, outbox)
        leaf = await _m2m_supplier(console, harness, story, outbox)
        crumb = await _invoice_supplier(console, harness, story, outbox)
        invoices = await _stock_and_finance(console, story, outbox)
        await asyncio.sleep(
            1.0
        )  # a moment for any unexpected extra event (a duplicate) to show up in the checks

        checks = await verify(harness, story, outbox, invoices, preview)
        checks.append(await verify_m2m(harness, leaf, outbox))
        checks.append(await verify_invoice_sync(crumb, outbox))
        summarise(console, outbox, checks, time.monotonic() - began)
        if keep_running:
            sandbox(console, harness, env_file or Path(".om-dev.env"))
            await asyncio.Event().wait()
    except TimeoutError:
        console.print_exception(max_frames=2)
        if harness.outbox is not None:
            for failure in harness.outbox.of("netsuite.order.failed"):
                error = failure["data"]["error"]
                console.print(f"  {failure['data']['ordermentum_id']}: {error['code']} {error['message']}")
        console.print(f"[red]✗ the demo timed out waiting; service logs are in {harness.workdir}[/]")
        return 1
    finally:
        await harness.stop()
    return 0 if checks and all(ok for _, ok, _ in checks) else 1


async def _morning(console: Console, story: Story, outbox: Any) -> dict[str, Any]:
    """Orders and edits; one fails on an unmapped product, one is cancelled; the preview of the failure."""
    await story.configure_integration()
    await story.wait_projected()
    await story.orders_morning()
    await story.edits()
    morning = {"ord_1001", "ord_1002", "ord_1005"}
    await outbox.wait(
        lambda: morning <= _synced(outbox, morning) and bool(outbox.of("netsuite.order.failed")), 90
    )
    await outbox.wait(lambda: bool(outbox.of("netsuite.order.cancelled")) or any(
        e["data"]["ordermentum_id"] == "ord_1003" for e in outbox.of("netsuite.order.failed")), 60)  # fmt: skip
    failed = outbox.of("netsuite.order.failed")
    console.print(f"  [yellow]![/] ord_1004 failed as expected: {failed[0]['data']['error']['code']} "
                  f"{failed[0]['data']['error']['details']}")  # fmt: skip
    for synced in _mismatched(outbox):
        totals = synced["data"]["totals"]
        console.print(f"  [yellow]![/] {synced['data']['ordermentum_id']} synced, but NetSuite booked other totals: "
                      f"Ordermentum {totals['ordermentum']['total']} (tax {totals['ordermentum']['tax']}), "
                      f"NetSuite {totals['netsuite']['total']} (tax {totals['netsuite']['tax']})")  # fmt: skip
    return await story.preview("ord_1004")


async def _outages(console: Console, story: Story, outbox: Any) -> None:
    """NetSuite down, a mapping fixed, a token expired: the orders wait and sync by themselves."""
    await story.outage()
    later = {"ord_1006", "ord_1007", "ord_1008"}
    await outbox.wait(lambda: later <= _synced(outbox, later), 120)
    console.print("  [green]✓[/] all three orders placed during the outage synced once it cleared")

    await story.fix_mapping()
    await outbox.wait(lambda: "ord_1004" in _synced(outbox, {"ord_1004"}), 60)
    console.print("  [green]✓[/] the mapping fix healed ord_1004 by itself: synced, no resync command sent")

    expired = await story.token_expires()
    await outbox.wait(lambda: expired <= _failed(outbox) and bool(_statuses(outbox, "auth_failed")), 90)
    refused = len((await story.sim.call("GET", "stats"))["auth_failures"])
    console.print(f"  [yellow]![/] the token expired: status auth_failed published once, {len(expired)} orders "
                  f"parked as NETSUITE_AUTH_FAILED, {refused} request(s) reached NetSuite")  # fmt: skip
    story.refused_during_outage = refused
    await story.reconnect()
    await outbox.wait(
        lambda: expired <= _synced(outbox, expired) and bool(_statuses(outbox, "connected")), 90
    )
    console.print(
        "  [green]✓[/] new credentials: status connected, the parked orders synced by themselves (no resync command)"
    )
    story.expired_orders = expired


async def _m2m_supplier(console: Console, harness: Harness, story: Story, outbox: Any) -> M2MSupplier:
    """A second supplier on OAuth 2.0 machine-to-machine: token expiry and certificate rotation."""
    assert story.mongo is not None
    leaf = M2MSupplier(harness, console, story.mongo)
    leaf_orders = await leaf.connect()
    await outbox.wait(lambda: leaf_orders <= _synced(outbox, leaf_orders) and bool(_statuses(outbox, supplier=leaf_co.SUPPLIER)), 90)  # fmt: skip
    [warned] = _statuses(outbox, supplier=leaf_co.SUPPLIER)
    console.print(f"  [green]✓[/] M2M: orders synced with an OAuth 2.0 token; status warns once: "
                  f"{', '.join(w['code'] + ' ' + w['expires_at'][:10] for w in warned['data']['warnings'])}")  # fmt: skip
    leaf_orders = await leaf.token_expires()
    await outbox.wait(lambda: leaf_orders <= _synced(outbox, leaf_orders), 90)
    console.print(
        "  [green]✓[/] M2M: the expired token was replaced on the fly; the orders synced, none failed"
    )
    leaf_orders = await leaf.rotate()
    await outbox.wait(lambda: leaf_orders <= _synced(outbox, leaf_orders) and len(_statuses(outbox, supplier=leaf_co.SUPPLIER)) >= 2, 90)  # fmt: skip
    console.print(
        "  [green]✓[/] M2M: certificate rotated, the old one revoked; orders synced, the warning ended"
    )
    return leaf


async def _invoice_supplier(console: Console, harness: Harness, story: Story, outbox: Any) -> InvoiceSupplier:
    """A third supplier that syncs invoices rather than orders."""
    assert story.mongo is not None
    crumb = InvoiceSupplier(harness, console, story.mongo)
    await crumb.connect()
    await outbox.wait(lambda: len(_results(outbox, crumb_co.SUPPLIER)) >= 3, 90)
    console.print(
        "  [green]✓[/] invoice sync: 2 NetSuite invoices, and the voided one credited in full by a credit memo"
    )
    return crumb


async def _stock_and_finance(console: Console, story: Story, outbox: Any) -> dict[str, str]:
    """Stock runs, billing, payments and a payout, a void; the practice material for the DLQ."""
    items = len(world.ITEMS)
    await story.command("stock_sync", "run_stock")
    await outbox.wait(lambda: len(outbox.of("netsuite.stock.changed")) >= items, 60)
    console.print(f"  [green]✓[/] stock: the on-demand run published all {items} products at 3 locations")

    ledger = {
        e["data"]["ordermentum_id"]: e["data"]["netsuite"]["internal_id"]
        for e in outbox.of("netsuite.order.synced")
    }
    invoices = await story.billing(ledger)
    await story.customer_pays_in_netsuite(invoices)
    await story.payments(ledger)
    await outbox.wait(
        lambda: any(e["data"]["payment_id"] == "pay_0002" for e in outbox.of("netsuite.payment.reconciled")),
        90,
    )
    await story.bill_paid_in_advance(ledger, invoices)
    await story.stock_changes()
    for feature in ("finalised_invoices", "credit_notes", "paid_invoices"):
        await story.command("finance_sync", "run_finance", {"feature": feature})
    await story.command("stock_sync", "run_stock")
    await outbox.wait(lambda: len(outbox.of("netsuite.stock.changed")) >= items + 2, 60)
    await outbox.wait(
        lambda: (
            len(outbox.of("netsuite.payment.reconciled")) >= 3
            and bool(outbox.of("netsuite.payout.deposited"))
            and len(outbox.of("netsuite.invoice.paid")) >= 4
        ),
        90,
    )
    await outbox.wait(lambda: len(_documents(outbox, "netsuite.invoice.finalised")) >= 5, 60)
    await story.void_in_netsuite(invoices)
    await story.command("finance_sync", "run_finance", {"feature": "invoice_changes"})
    await outbox.wait(lambda: bool(_documents(outbox, "netsuite.invoice.voided")), 60)
    [void] = _documents(outbox, "netsuite.invoice.voided")
    console.print(f"  [green]✓[/] finance_sync told Ordermentum: netsuite.invoice.voided for "
                  f"{void['data']['order_id']} ({void['data']['reason']})")  # fmt: skip
    await story.leave_practice_material()
    await outbox.wait(lambda: "ord_1009" in _failed(outbox) and bool(outbox.events.get(PRACTICE_DLQ)), 60)
    return invoices


def _statuses(outbox: Any, state: str | None = None, supplier: str = world.SUPPLIER) -> list[dict[str, Any]]:
    """`netsuite.integration.status` events of a supplier (in one state)."""
    return [
        e
        for e in outbox.of("netsuite.integration.status")
        if e["supplier_id"] == supplier and (state is None or e["data"]["state"] == state)
    ]


async def verify_m2m(harness: Harness, leaf: M2MSupplier, outbox: Any) -> tuple[str, bool, str]:
    """Leaf & Co on OAuth 2.0 M2M: every order once, none failed, one warning and its end, no auth_failed,
    and neither private key nor the client id in any log, event or document."""
    placed = set().union(*leaf.orders.values())
    synced = _synced(outbox, placed)
    failed = _failed(outbox) & placed
    sales_orders = await leaf.sim.records("salesOrder")
    stats = await leaf.stats()
    statuses = [
        (e["data"]["state"], [w["code"] for w in e["data"].get("warnings", [])])
        for e in _statuses(outbox, supplier=leaf_co.SUPPLIER)
    ]
    expired = stats["auth_failures"].count("token_expired")
    tokens = stats["counters"].get("oauth2 token", 0)
    leaks = await harness.leaked([*leaf.keys, leaf_co.CLIENT_ID])
    return (
        "Leaf & Co on OAuth 2.0 M2M: 6 orders synced once each, none failed, through an expired token "
        "(retried on a new one) and a certificate rotation; CREDENTIALS_EXPIRING published once, and its end; "
        "no schema violation",
        synced == placed
        and not failed
        and len(sales_orders) == len(placed)
        and expired >= 1
        and statuses == [("connected", ["CREDENTIALS_EXPIRING"]), ("connected", [])]
        and not stats["schema_violations"]
        and not leaks,
        f"{', '.join(leaks) or 'no key leaked'}; {len(synced)}/{len(placed)} synced, {len(failed)} failed; {tokens} tokens minted, {expired} request(s) "
        f"met the expired token; statuses {statuses}; {len(stats['schema_violations'])} schema violation(s)",
    )


def _results(outbox: Any, supplier: str) -> list[dict[str, Any]]:
    """A supplier's outcomes on netsuite.sync-results.v1."""
    return [e for e in outbox.events["netsuite.sync-results.v1"] if e and e["supplier_id"] == supplier]


def _documents(outbox: Any, event_type: str) -> list[dict[str, Any]]:
    """finance_sync's invoice documents of one type (netsuite.invoice.voided is also a sync result)."""
    return [e for e in outbox.events["netsuite.invoices.v1"] if e and e["event_type"] == event_type]


async def verify_invoice_sync(crumb: InvoiceSupplier, outbox: Any) -> tuple[str, bool, str]:
    """Crumb & Co on invoice sync: each invoice once as a NetSuite invoice with our external id, the
    voided one credited in full by a credit memo transformed from it, every body within the schemas."""
    outcomes = sorted(
        (e["data"]["ordermentum_id"], e["event_type"]) for e in _results(outbox, crumb_co.SUPPLIER)
    )
    wanted = sorted(
        [(crumb_co.KEPT, "netsuite.invoice.synced"), (crumb_co.VOIDED, "netsuite.invoice.synced"),
         (crumb_co.VOIDED, "netsuite.invoice.voided")]
    )  # fmt: skip
    synced = {
        e["data"]["ordermentum_id"]: e["data"]["netsuite"]["internal_id"]
        for e in _results(outbox, crumb_co.SUPPLIER)
        if e["event_type"] == "netsuite.invoice.synced"
    }
    invoices = {r.get("externalId"): r for r in await crumb.sim.records("invoice")}
    memos = [r.get("externalId") for r in await crumb.sim.records("creditMemo")]
    by_us = {f"OM-INV-{i}": synced.get(i) for i in (crumb_co.KEPT, crumb_co.VOIDED)}
    voided = invoices.get(f"OM-INV-{crumb_co.VOIDED}") or {}
    kept = invoices.get(f"OM-INV-{crumb_co.KEPT}") or {}
    stats = await crumb.sim.call("GET", "stats")
    refused = [f"{v['method']} {v['error_path']} {v['code']}" for v in stats["schema_violations"]]
    leaks = await crumb.h.leaked(list(crumb.credentials.values()))
    return (
        "Crumb & Co on invoice sync: 2 invoices synced once each as NetSuite invoices (OM-INV-<id>), the "
        "voided one credited in full by a credit memo (OM-INV-<id>-VOID); no schema violation, no credential leaked",
        outcomes == wanted
        and {eid: r["id"] for eid, r in invoices.items()} == by_us
        and memos == [f"OM-INV-{crumb_co.VOIDED}-VOID"]
        and Decimal(str(voided.get("amountRemaining"))) == 0
        and Decimal(str(kept.get("amountRemaining")))
        == Decimal(crumb.invoices[crumb_co.KEPT]["totals"]["total"])
        and not refused
        and not leaks,
        f"{', '.join(leaks) or 'no credential leaked'}; {len(outcomes)} outcomes; {len(invoices)} invoices, credit memos {memos}; remaining "
        f"{kept.get('amountRemaining')} / {voided.get('amountRemaining')}; {'; '.join(refused) or 'no violation'}",
    )


def _failed(outbox: Any) -> set[str]:
    return {e["data"]["ordermentum_id"] for e in outbox.of("netsuite.order.failed")}


def sandbox(console: Console, harness: Harness, env_file: Path) -> None:
    """Write every connection setting to env_file and say how to point omctl at the running day."""
    if harness.external is None:
        harness.stack.write_env_file(env_file, harness.connection_env())
    console.print(
        f"\nThe stack and the services keep running (Ctrl-C stops them). Their settings are in {env_file}:"
    )
    console.print(f"  set -a; . {env_file}; set +a")
    console.print("  .venv/bin/omctl status --supplier sup_bean_co")
    console.print(f"  .venv/bin/omctl dlq list --topic {PRACTICE_DLQ}     # then dlq show <ref>, dlq redrive")
    console.print(
        "  .venv/bin/omctl resync --supplier sup_bean_co --record ord_1009   # UNMAPPED_PRODUCT: map prd_gift_box first"
    )
    for service, url in harness.urls.items():
        console.print(f"  {service}: {url}/metrics  {url}/health/ready  {url}/docs/asyncapi")


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, labels: dict[str, str]) -> float:
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == w for k, w in labels.items()))


def _lines(record: dict[str, Any]) -> list[Any]:
    lines = record.get("item") or []
    return list(lines.get("items", [])) if isinstance(lines, dict) else list(lines)


Check = tuple[str, bool, str]

# Each service's /metrics must count these (service, metric, labels a sample must carry).
_WANTED_METRICS = [
    ("order_sync", "om_events_consumed_total", {"topic": "ordermentum.orders.v1", "outcome": "processed"}),
    ("order_sync", "om_events_produced_total", {"topic": "netsuite.sync-results.v1"}),
    ("order_sync", "om_failures_total", {"code": "UNMAPPED_PRODUCT"}),
    ("order_sync", "om_netsuite_request_seconds_count", {}),
    ("order_sync", "om_netsuite_budget_wait_seconds_count", {}),
    ("stock_sync", "om_job_seconds_count", {"sync_job": "stock"}),
    ("finance_sync", "om_job_seconds_count", {"sync_job": "finance.finalised_invoices"}),
    (
        "finance_sync",
        "om_events_consumed_total",
        {"topic": "ordermentum.payments.v1", "outcome": "processed"},
    ),
]


async def verify(
    harness: Harness, story: Story, outbox: Any, invoices: dict[str, str], preview: dict[str, Any]
) -> list[Check]:
    return [
        *await _order_checks(harness, story, outbox, preview),
        *await _finance_checks(harness, outbox, invoices),
        *await _platform_checks(harness, story),
    ]


async def _order_checks(harness: Harness, story: Story, outbox: Any, preview: dict[str, Any]) -> list[Check]:
    """Orders in NetSuite: once each, edited in place, healed, parked during the expired token."""
    assert harness.sim is not None
    sales_orders = await harness.sim.records("salesOrder")
    external = Counter(r.get("externalId") for r in sales_orders)
    synced = {e["data"]["ordermentum_id"] for e in outbox.of("netsuite.order.synced")}
    expected = {"ord_1001", "ord_1002", "ord_1004", "ord_1005", "ord_1006", "ord_1007", "ord_1008"}
    expected |= story.expired_orders
    lines_1002 = _lines(next(r for r in sales_orders if r.get("externalId") == "OM-ORDER-ord_1002"))
    lines_1001 = _lines(next(r for r in sales_orders if r.get("externalId") == "OM-ORDER-ord_1001"))
    results = outbox.events["netsuite.sync-results.v1"]
    healed = [e["event_type"] for e in results if e and e["data"]["ordermentum_id"] == "ord_1004"]
    resyncs = await story.commands_sent("order_sync", "resync")
    practice = bool(outbox.events.get(PRACTICE_DLQ)) and "ord_1009" in _failed(outbox) - synced
    states = [e["data"]["state"] for e in _statuses(outbox)]
    expired_results = [
        (e["data"]["ordermentum_id"], e["event_type"], (e["data"].get("error") or {}).get("code"))
        for e in results
        if e and e["data"]["ordermentum_id"] in story.expired_orders
    ]
    parked_then_synced = sorted(expired_results) == sorted(
        [(o, "netsuite.order.failed", "NETSUITE_AUTH_FAILED") for o in story.expired_orders]
        + [(o, "netsuite.order.synced", None) for o in story.expired_orders]
    )
    mismatched = {e["data"]["ordermentum_id"]: e["data"]["totals"] for e in _mismatched(outbox)}
    cups = mismatched.get("ord_1001") or {"ordermentum": {"tax": "?"}, "netsuite": {"tax": "?"}}
    unmapped = [p["ordermentum_id"] for p in preview["problems"] if p["code"] == "UNMAPPED_PRODUCT"]
    return [
        ("every placed order exists once in NetSuite (no duplicate external ids)", max(external.values()) == 1 and len(sales_orders) == 12, f"{len(sales_orders)} sales orders"),
        ("the expired token: status auth_failed once then connected, a handful of requests refused, the 4 orders parked then synced once each by themselves", states == ["auth_failed", "connected"] and story.refused_during_outage <= 8 and parked_then_synced and resyncs == 0, f"{' -> '.join(states)}; {story.refused_during_outage} refused; {len(expired_results)} outcomes"),
        ("every order except the cancelled one synced", expected <= synced, f"{len(synced & expected)}/{len(expected)}"),
        ("the unmapped order failed once, then the mapping fix healed it once, with no resync command", healed == ["netsuite.order.failed", "netsuite.order.synced"] and resyncs == 0, f"{', '.join(healed)}; {resyncs} resync command(s)"),
        ("the edited order has its new lines, replaced not appended (2 items + freight)", len(lines_1002) == 3, f"{len(lines_1002)} lines"),
        ("order 1001 has 3 items + freight + surcharge", len(lines_1001) == 5, f"{len(lines_1001)} lines"),
        ("one totals mismatch caught: ord_1001, whose cups are GST-free in NetSuite (no tax_codes), with both totals", set(mismatched) == {"ord_1001"}, f"{sorted(mismatched)}: tax {cups['ordermentum']['tax']} vs {cups['netsuite']['tax']}"),
        ("omctl preview of the unmapped order names its product and writes nothing", unmapped == ["prd_seasonal_500g"] and preview["request"] is None and not preview["writes_during_preview"], f"{unmapped}, {len(preview['writes_during_preview'])} writes"),
        ("left for practice: a dead letter on ordermentum.orders.v1.dlq and a failed order (ord_1009, UNMAPPED_PRODUCT)", practice, f"{len(outbox.events.get(PRACTICE_DLQ, []))} dead letter(s)"),
    ]  # fmt: skip


async def _finance_checks(harness: Harness, outbox: Any, invoices: dict[str, str]) -> list[Check]:
    """Invoices, credit notes, payments, deposits, the payout, the void; stock."""
    assert harness.sim is not None
    reconciled = Counter(e["data"]["outcome"] for e in outbox.of("netsuite.payment.reconciled"))
    payments = await harness.sim.records("customerPayment")
    customer_deposits = await harness.sim.records("customerDeposit")
    by_invoice = {invoice_id: order_id for order_id, invoice_id in invoices.items()}
    paid = sorted(
        by_invoice.get(e["data"]["netsuite_invoice_id"], "?") for e in outbox.of("netsuite.invoice.paid")
    )
    stock = [e["data"]["product_id"] for e in outbox.of("netsuite.stock.changed")]
    deposits = await harness.sim.records("deposit")
    (deposited,) = [e["data"] for e in outbox.of("netsuite.payout.deposited")] or [{}]
    net = [Decimal(str(d.get("total"))) == Decimal(str(deposited.get("amount"))) for d in deposits]
    voids = [
        (e["data"]["netsuite_invoice_id"], e["data"]["order_id"], e["data"]["reason"])
        for e in _documents(outbox, "netsuite.invoice.voided")
    ]
    return [
        ("5 finalised invoices published", len(outbox.of("netsuite.invoice.finalised")) == 5, f"{len(outbox.of('netsuite.invoice.finalised'))}"),
        ("the invoice voided in NetSuite (ord_1006) published once to Ordermentum as netsuite.invoice.voided", voids == [(invoices["ord_1006"], "ord_1006", "voided")], f"{voids}"),
        ("1 credit note published", len(outbox.of("netsuite.credit_note.created")) == 1, f"{len(outbox.of('netsuite.credit_note.created'))}"),
        ("paid once each: 1002 (paid in NetSuite), 1001 (Ordermentum payment), 1004 (its customer deposit, applied when billed), 1005 (credited in full)", paid == ["ord_1001", "ord_1002", "ord_1004", "ord_1005"], ", ".join(paid)),
        ("payments: one applied, one deposited (order not yet billed), one unmatched", reconciled == Counter({"applied": 1, "deposited": 1, "unmatched": 1}), dict(reconciled).__repr__()),
        ("NetSuite holds 1 Ordermentum payment (+1 entered by accounts), 1 customer deposit and 1 bank deposit", len(payments) == 2 and len(customer_deposits) == 1 and len(deposits) == 1, f"{len(payments)} payments, {len(customer_deposits)} customer deposits, {len(deposits)} deposits"),
        ("the payout's deposit equals the net amount (fees booked to the fees account)", net == [True] and deposited.get("fees_booked") is True, f"deposit {[d.get('total') for d in deposits]}, payout {deposited.get('amount')}"),
        ("stock: every product once, then only the 2 that changed", len(stock) == len(world.ITEMS) + 2 and len(set(stock[:len(world.ITEMS)])) == len(world.ITEMS), f"{len(stock)} stock events"),
    ]  # fmt: skip


async def _platform_checks(harness: Harness, story: Story) -> list[Check]:
    """What every service owes the operator: schemas respected, the limit kept, no leak, metrics."""
    assert harness.sim is not None
    stats = await harness.sim.call("GET", "stats")
    metrics = {
        service: _samples(await harness.metrics(service))
        for service in ("order_sync", "stock_sync", "finance_sync")
    }
    missing = [
        f"{service}:{name}{labels or ''}"
        for service, name, labels in _WANTED_METRICS
        if _value(metrics[service], name, labels) <= 0
    ]
    # The outage's 429s go to whichever service calls the shared account first: count them across services.
    if sum(_value(samples, "om_netsuite_rate_limited_total", {}) for samples in metrics.values()) <= 0:
        missing.append("om_netsuite_rate_limited_total (any service)")
    names = {service: {name for name, _, _ in samples} for service, samples in metrics.items()}
    present = (
        all({"om_consumer_lag", "om_netsuite_connections", "om_records_parked"} <= n for n in names.values())
        and "om_cursor_age_seconds" in names["finance_sync"]
    )
    plain = [*story.credentials.values(), *story.expired.values(), harness.keyring_key]
    leaks = await harness.leaked(plain)
    refused = [
        f"{v['method']} {v['path'].rsplit('/', 1)[-1]}: {v['error_path']} {v['code']}"
        for v in stats["schema_violations"]
    ]
    return [
        ("every body and query the services sent passed NetSuite's published schemas and the SuiteQL catalogue", not refused, "; ".join(sorted(set(refused))[:4]) or "no violation"),
        ("the peak of concurrent NetSuite requests stayed within the limit of 5", stats["peak_in_flight"] <= 5, f"peak {stats['peak_in_flight']}"),
        ("no credential or sealing key in any service log, published event or MongoDB document", not leaks, ", ".join(leaks) or "none found"),
        ("each service's /metrics counts consumption, production, failures by code, NetSuite latency, 429s, budget waits, jobs, lag, cursor age, connection states, parked records", not missing and present, ", ".join(missing) or "all present"),
    ]  # fmt: skip


def summarise(console: Console, outbox: Any, checks: list[tuple[str, bool, str]], seconds: float) -> None:
    table = Table(title="What happened", show_lines=False)
    table.add_column("topic")
    table.add_column("events", justify="right")
    table.add_column("by type")
    for topic, events in sorted(outbox.events.items()):
        kinds = Counter(e.get("event_type") for e in events)
        table.add_row(topic, str(len(events)), ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    console.print(table)
    verdicts = Table(title="Checked against the simulator's records")
    verdicts.add_column("check")
    verdicts.add_column("result")
    verdicts.add_column("seen")
    for name, ok, seen in checks:
        verdicts.add_row(name, "[green]✓[/]" if ok else "[red]✗[/]", seen)
    console.print(verdicts)
    for name, ok, seen in checks:  # again in one line each, so the end of a failed run names them
        if not ok:
            console.print(f"[red]✗ check failed:[/] {name} (seen: {seen})", soft_wrap=True)
    console.print(f"Demo finished in {seconds:.0f}s.")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m om_demo", description=__doc__)
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the stack and services up after the day"
    )
    parser.add_argument(
        "--log-level", default="INFO", help="the services' LOG_LEVEL (DEBUG makes the secrets check stricter)"
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".om-dev.env"),
        help="with --keep-running: where to write the stack's settings for omctl (default .om-dev.env)",
    )
    parser.add_argument(
        "--external",
        action="store_true",
        help="run the day against a stack that already runs (docker compose --profile demo): "
        "KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL, NETSUITE_BASE_URL, NETSUITE_CREDENTIALS_KEYS and "
        "OM_DEMO_SERVICE_URLS from the environment",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    console = Console()
    external = dict(os.environ) if args.external else None
    sys.exit(asyncio.run(run(console, args.keep_running, args.log_level, external, args.env_file)))


if __name__ == "__main__":
    main()
