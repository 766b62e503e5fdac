"""The single registry of Kafka topics and the events that travel on them.

Used by consumers (:func:`parse_event`, in ``_parse``), the schema generator, the dev stack's topic creation
and the deploy manifests. Keys are the ``supplier_id`` on every topic (CONTRACTS.md); dead
letters of ``<topic>`` go to ``<topic>.dlq``.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from om_contracts._catalog import NetSuiteCustomerChanged, NetSuiteItemChanged
from om_contracts._customers import CustomerUpserted
from om_contracts._documents import (
    NetSuiteCreditNoteCreated,
    NetSuiteFinalisedInvoiceVoided,
    NetSuiteInvoiceFinalised,
    NetSuiteInvoicePaid,
    NetSuiteInvoiceUpdated,
)
from om_contracts._envelope import (
    Envelope,
    OutboundEnvelope,
)
from om_contracts._integration_status import NetSuiteIntegrationStatus
from om_contracts._integrations import IntegrationConfigured, IntegrationDisconnected
from om_contracts._limits import (
    DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES,
    INBOUND_TOPIC_MAX_MESSAGE_BYTES,
)
from om_contracts._orders import (
    InvoiceIssued,
    InvoiceUpdated,
    InvoiceVoided,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
)
from om_contracts._payments import PaymentSucceeded, PayoutSettled
from om_contracts._products import ProductUpserted
from om_contracts._reconciliation import NetSuitePaymentReconciled, NetSuitePayoutDeposited
from om_contracts._stock_levels import NetSuiteStockChanged
from om_contracts._sync_results import (
    NetSuiteInvoiceFailed,
    NetSuiteInvoiceSynced,
    NetSuiteInvoiceVoided,
    NetSuiteOrderCancelled,
    NetSuiteOrderFailed,
    NetSuiteOrderSynced,
)

DEFAULT_PARTITIONS = 12
"""Partitions per topic unless a deployment says otherwise."""

DLQ_SUFFIX = ".dlq"

EventModel = type[Envelope[Any]] | type[OutboundEnvelope[Any]]
Direction = Literal["inbound", "outbound"]


def event_type_of(model: EventModel) -> str:
    """The ``event_type`` literal an event class carries."""
    default = model.model_fields["event_type"].default
    if not isinstance(default, str):  # pragma: no cover - guarded by the registry test
        raise TypeError(f"{model.__name__} has no event_type default")
    return default


def dead_letter_topic(topic: str) -> str:
    """``<topic>.dlq``."""
    return f"{topic}{DLQ_SUFFIX}"


@dataclass(frozen=True)
class Topic:
    """One topic: its name, family, direction, Kafka settings and event classes."""

    name: str
    family: str
    direction: Direction
    events: tuple[EventModel, ...]
    compacted: bool = False
    partitions: int = DEFAULT_PARTITIONS
    key: str = "supplier_id"
    description: str = ""

    @property
    def dead_letter_topic(self) -> str:
        """Where messages from this topic that cannot be handled go."""
        return dead_letter_topic(self.name)

    @property
    def max_message_bytes(self) -> int:
        """``max.message.bytes`` the topic is created with (CONTRACTS.md "Limits on input")."""
        return INBOUND_TOPIC_MAX_MESSAGE_BYTES

    @property
    def dead_letter_max_message_bytes(self) -> int:
        """``max.message.bytes`` of the dead-letter topic: the source's plus room for the context."""
        return DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES

    @cached_property
    def event_types(self) -> dict[str, EventModel]:
        """``event_type`` -> event class."""
        return {event_type_of(model): model for model in self.events}

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        """A validator for any event of this topic, discriminated by ``event_type``."""
        if len(self.events) == 1:
            return TypeAdapter(self.events[0])
        union: Any = functools.reduce(operator.or_, self.events)
        return TypeAdapter(Annotated[union, Field(discriminator="event_type")])


INTEGRATIONS_TOPIC = "ordermentum.integrations.v1"
ORDERS_TOPIC = "ordermentum.orders.v1"
INVOICES_TOPIC = "ordermentum.invoices.v1"
CUSTOMERS_TOPIC = "ordermentum.customers.v1"
PRODUCTS_TOPIC = "ordermentum.products.v1"
PAYMENTS_TOPIC = "ordermentum.payments.v1"
SYNC_RESULTS_TOPIC = "netsuite.sync-results.v1"
STOCK_LEVELS_TOPIC = "netsuite.stock-levels.v1"
NETSUITE_INVOICES_TOPIC = "netsuite.invoices.v1"
CREDIT_NOTES_TOPIC = "netsuite.credit-notes.v1"
INVOICE_PAYMENTS_TOPIC = "netsuite.invoice-payments.v1"
RECONCILIATION_TOPIC = "netsuite.reconciliation.v1"
CATALOG_TOPIC = "netsuite.catalog.v1"
INTEGRATION_STATUS_TOPIC = "netsuite.integration-status.v1"

TOPICS: tuple[Topic, ...] = (
    Topic(
        INTEGRATIONS_TOPIC,
        "integrations",
        "inbound",
        (IntegrationConfigured, IntegrationDisconnected),
        compacted=True,
        description="Suppliers' NetSuite Integration settings; a null value disconnects.",
    ),
    Topic(
        ORDERS_TOPIC,
        "orders",
        "inbound",
        (OrderPlaced, OrderUpdated, OrderCancelled),
        description="Ordermentum orders.",
    ),
    Topic(
        INVOICES_TOPIC,
        "invoices",
        "inbound",
        (InvoiceIssued, InvoiceUpdated, InvoiceVoided),
        description="Ordermentum invoices.",
    ),
    Topic(
        CUSTOMERS_TOPIC,
        "customers",
        "inbound",
        (CustomerUpserted,),
        description="Ordermentum customers.",
    ),
    Topic(PRODUCTS_TOPIC, "products", "inbound", (ProductUpserted,), description="Products."),
    Topic(
        PAYMENTS_TOPIC,
        "payments",
        "inbound",
        (PaymentSucceeded, PayoutSettled),
        description="Ordermentum payments and payouts.",
    ),
    Topic(
        SYNC_RESULTS_TOPIC,
        "sync-results",
        "outbound",
        (
            NetSuiteOrderSynced,
            NetSuiteOrderFailed,
            NetSuiteOrderCancelled,
            NetSuiteInvoiceSynced,
            NetSuiteInvoiceFailed,
            NetSuiteInvoiceVoided,
        ),
        description="Outcome of every order or invoice sync.",
    ),
    Topic(
        STOCK_LEVELS_TOPIC,
        "stock-levels",
        "outbound",
        (NetSuiteStockChanged,),
        description="Stock levels from NetSuite, published on change.",
    ),
    Topic(
        NETSUITE_INVOICES_TOPIC,
        "invoices",
        "outbound",
        (NetSuiteInvoiceFinalised, NetSuiteInvoiceUpdated, NetSuiteFinalisedInvoiceVoided),
        description="NetSuite invoices finalised from synced orders, then edited, voided or deleted.",
    ),
    Topic(
        CREDIT_NOTES_TOPIC,
        "credit-notes",
        "outbound",
        (NetSuiteCreditNoteCreated,),
        description="NetSuite credit memos.",
    ),
    Topic(
        INVOICE_PAYMENTS_TOPIC,
        "invoice-payments",
        "outbound",
        (NetSuiteInvoicePaid,),
        description="NetSuite invoices marked paid.",
    ),
    Topic(
        RECONCILIATION_TOPIC,
        "reconciliation",
        "outbound",
        (NetSuitePaymentReconciled, NetSuitePayoutDeposited),
        description="How Ordermentum payments and payouts were recorded in NetSuite.",
    ),
    Topic(
        CATALOG_TOPIC,
        "catalog",
        "outbound",
        (NetSuiteCustomerChanged, NetSuiteItemChanged),
        description="NetSuite customers and items, for mapping.",
    ),
    Topic(
        INTEGRATION_STATUS_TOPIC,
        "integration-status",
        "outbound",
        (NetSuiteIntegrationStatus,),
        # The latest state per supplier is what a consumer joining late needs; every change is
        # still there for one that keeps up (compaction keeps at least the last per key).
        compacted=True,
        description="State of each supplier's NetSuite connection, published when it changes.",
    ),
)

_BY_NAME: dict[str, Topic] = {topic.name: topic for topic in TOPICS}


def get_topic(name: str) -> Topic:
    """The registered topic called ``name``; ``KeyError`` if there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}") from None


def topic_for_event(model: EventModel) -> Topic:
    """The topic an event class travels on."""
    for topic in TOPICS:
        if model in topic.events:
            return topic
    raise KeyError(f"{model.__name__} is not registered on any topic")


def topic_configs(name: str, *, compacted: bool = False) -> dict[str, str]:
    """Kafka configs a topic is created with, by name: compaction and the record size limit.

    A ``.dlq`` topic accepts what its source accepts plus the dead-letter headers, so a record
    that could arrive can always be dead-lettered whole; every other topic gets Kafka's default
    limit written out, so a broker configured otherwise does not silently change the contract.
    Retention is a deployment's choice and is not set here.
    """
    configs = {"cleanup.policy": "compact"} if compacted else {}
    size = (
        DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES if name.endswith(DLQ_SUFFIX) else INBOUND_TOPIC_MAX_MESSAGE_BYTES
    )
    configs["max.message.bytes"] = str(size)
    return configs


def topic_specs(partitions: int | None = None) -> list[tuple[str, int, bool]]:
    """``(name, partitions, compacted)`` for every topic and every inbound topic's ``.dlq``.

    What a deployment (or the embedded stack) must create; ``partitions`` overrides the registry
    default. Dead-letter topics are never compacted: each dead letter is its own record.
    """
    specs: list[tuple[str, int, bool]] = []
    for topic in TOPICS:
        count = partitions or topic.partitions
        specs.append((topic.name, count, topic.compacted))
        if topic.direction == "inbound":
            specs.append((topic.dead_letter_topic, count, False))
    return specs
