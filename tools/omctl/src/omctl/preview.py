"""`omctl preview`: what order_sync would send NetSuite for an event, without writing anything.

The event comes from a file (the JSON envelope) or from its topic by `event_id`. The preview
uses what order_sync uses: the supplier's settings and mappings from order_sync's database
(`integrations`, `mappings`), the same pure body mapping (`om_platform.transaction_mapping`) and
the same precedence (`MappingStore.resolve_sources`, which also says where each id came from).
NetSuite is only read: the currency list, as order_sync reads it (`om_platform.currencies`).
The request printed is built by `NetSuiteSession.prepare_upsert`, the code `upsert` sends with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from om_contracts import (
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    ContractViolation,
    CredentialError,
    ErrorCode,
    IntegrationSettings,
    Invoice,
    Order,
    SyncKind,
    SyncType,
    external_id,
    parse_event,
)
from om_netsuite import InvalidAccountId, NetSuiteError, PreparedRequest
from om_platform.adapters.currencies import currency_ids
from om_platform.adapters.mongo.mappings import MappingStore
from om_platform.core.mappings import Resolution
from om_transactions import mapping
from omctl import _kafka
from omctl._mongo import mongo
from omctl._settings import OpsSettings
from omctl.integration_check import advice_for, load_integration, netsuite_client, open_credentials

UPSERTS = {"order.placed", "order.updated", "invoice.issued", "invoice.updated"}
TOPICS = (ORDERS_TOPIC, INVOICES_TOPIC)


@dataclass(frozen=True)
class Problem:
    """One reason the record would fail (the code order_sync's failure would carry)."""

    code: str
    reason: str
    path: str | None = None
    ordermentum_id: str | None = None


@dataclass
class Preview:
    supplier_id: str
    event_id: str
    event_type: str
    ordermentum_id: str | None = None
    request: PreparedRequest | None = None
    decisions: list[mapping.Decision] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "supplier_id": self.supplier_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "ordermentum_id": self.ordermentum_id,
            "request": asdict(self.request) if self.request else None,
            "decisions": [asdict(d) for d in self.decisions],
            "problems": [asdict(p) for p in self.problems],
            "note": self.note,
        }


class EventNotFound(LookupError):
    """No event with that id on the topics searched."""


def topic_of(raw: bytes) -> str:
    """The inbound topic an event file belongs to, from its event type."""
    event_type = str(json.loads(raw).get("event_type", ""))
    return INVOICES_TOPIC if event_type.startswith("invoice.") else ORDERS_TOPIC


def read_file(path: Path) -> tuple[str, bytes]:
    raw = path.read_bytes()
    return topic_of(raw), raw


async def find_event(
    settings: OpsSettings, event_id: str, *, topics: tuple[str, ...] = TOPICS, supplier_id: str | None = None
) -> tuple[str, bytes]:
    """(topic, value) of the event with this id, read from the beginning of each topic.

    With the supplier, only its partition is read (the key is the supplier id).
    """
    async with _kafka.reader(settings) as consumer:
        for topic in topics:
            partitions = await _kafka.partitions_of(consumer, topic)
            if supplier_id is not None:
                partitions = [partitions[_kafka.partition_for_key(supplier_id, len(partitions))]]
            ends = await _kafka.log_ends(consumer, partitions)
            for tp in partitions:
                async for record in _kafka.read_range(consumer, tp, 0, ends[tp]):
                    if record.value is None:
                        continue
                    if supplier_id is not None and record.key != supplier_id.encode():
                        continue
                    try:
                        found = json.loads(record.value).get("event_id") == event_id
                    except (ValueError, AttributeError):
                        continue
                    if found:
                        return topic, record.value
    raise EventNotFound(f"no event {event_id} on {', '.join(topics)}")


class _Database:
    """What `MappingStore` needs: the service database (`HasDatabase`)."""

    def __init__(self, db: Any) -> None:
        self.db = db


async def preview(settings: OpsSettings, topic: str, raw: bytes) -> Preview:
    """Everything order_sync would do with the event up to (not including) the NetSuite write."""
    try:
        event = parse_event(topic, raw)
    except ContractViolation as exc:
        loaded = _loose(raw)
        result = Preview(
            str(loaded.get("supplier_id")), str(loaded.get("event_id")), str(loaded.get("event_type"))
        )
        result.problems = [
            Problem(ErrorCode.INVALID_EVENT.value, reason, path or None) for path, reason in exc.problems
        ]
        return result
    event_type = str(getattr(event, "event_type", ""))
    result = Preview(str(getattr(event, "supplier_id", "")), str(getattr(event, "event_id", "")), event_type)
    transaction = getattr(event, "data", None)
    if not isinstance(transaction, Order | Invoice):
        result.note = f"{event_type or 'this record'} is not an order or invoice event"
        return result
    result.ordermentum_id = transaction.id
    if event_type not in UPSERTS:
        result.note = (
            f"{event_type} does not upsert: order_sync finds the NetSuite record by external id and "
            "closes its lines (cancel) or credits it (void); only placed/issued/updated events are previewed"
        )
        return result
    integration = await load_integration(settings, result.supplier_id, "order_sync")
    if integration is None:
        result.problems.append(
            Problem(
                ErrorCode.INTEGRATION_NOT_CONFIGURED.value,
                f"supplier {result.supplier_id} has no NetSuite integration configured in order_sync",
            )
        )
        return result
    kind: SyncKind = "order" if isinstance(transaction, Order) else "invoice"
    wanted = SyncType.ORDERS if kind == "order" else SyncType.INVOICES
    if integration.sync_type != wanted:
        result.note = (
            f"sync_type is {integration.sync_type}: order_sync acknowledges this {kind} without writing"
        )
        return result
    await _resolve(settings, result, integration, kind, transaction)
    return result


def _loose(raw: bytes) -> dict[str, Any]:
    try:
        loaded = json.loads(raw)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


async def _resolve(
    settings: OpsSettings,
    result: Preview,
    integration: IntegrationSettings,
    kind: SyncKind,
    tx: Order | Invoice,
) -> None:
    async with mongo(settings) as client:
        store = MappingStore(_Database(client[settings.database("order_sync")]))
        customers = await store.resolve_sources(result.supplier_id, integration, "customer", [tx.customer])
        unique = list({line.product.id: line.product for line in tx.lines}.values())
        products = await store.resolve_sources(result.supplier_id, integration, "product", unique)
    customer = customers.get(tx.customer.id, Resolution(None, None))
    currency, request_for = await _netsuite(settings, integration, tx.currency, result)
    resolved = mapping.Mappings(
        customer=customer.netsuite_id,
        products={k: r.netsuite_id for k, r in products.items()},
        currency=currency,
        tax_codes=mapping.resolve_tax_codes(tx, integration),
    )
    result.decisions = mapping.decisions(
        tx,
        resolved,
        customer_source=customer.source,
        product_sources={k: r.source for k, r in products.items()},
        surcharge_item_id=integration.surcharge_item_id,
    )
    failure = mapping.check_mappings(tx, resolved, surcharge_item_id=integration.surcharge_item_id)
    if failure is not None:
        result.problems.extend(
            Problem(code.value, d.reason, d.path, d.ordermentum_id)
            for code, d in zip(failure.codes, failure.details, strict=True)
        )
    if currency is None and request_for is not None:
        result.problems.append(
            Problem(
                ErrorCode.NETSUITE_REJECTED.value,
                f"currency {tx.currency} is not set up in the NetSuite account",
                "currency",
            )
        )
    if result.problems or request_for is None:
        return
    eid = external_id("ORDER" if kind == "order" else "INV", tx.id)
    body = mapping.build_body(
        kind, tx, resolved, external_id=eid, surcharge_item_id=integration.surcharge_item_id
    )
    result.request = request_for(body)


RequestFor = Callable[[mapping.TransactionBody], PreparedRequest]


async def _netsuite(
    settings: OpsSettings, integration: IntegrationSettings, currency: str, result: Preview
) -> tuple[str | None, RequestFor | None]:
    """The currency's NetSuite id (read only) and a builder of the exact upsert request."""
    try:
        credentials = open_credentials(settings, integration)
    except CredentialError as exc:
        result.problems.append(Problem(ErrorCode.INTEGRATION_NOT_CONFIGURED.value, str(exc), "credentials"))
        return None, None
    client = netsuite_client(settings)
    try:
        session = client.session(integration.account_id, credentials, 1)
        found = await currency_ids(session)
    except (InvalidAccountId, NetSuiteError) as exc:
        problem, fix = advice_for(exc, "currency")
        result.problems.append(Problem("NETSUITE_UNREADABLE", f"{problem}. {fix}", "currency"))
        return None, None
    finally:
        await client.aclose()

    def request_for(body: mapping.TransactionBody) -> PreparedRequest:
        return session.prepare_upsert(body.record_type, body.external_id, body.body, replace=["item"])

    return found.get(currency.upper()), request_for
