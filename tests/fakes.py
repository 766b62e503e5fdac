"""In-memory fakes of the ports (the shared `om_platform.ports` and each service's
`service_layer/ports.py`), for unit tests of use cases.

One definition each, used by every service's unit tests: a fake that drifts from its port is caught
once, by mypy, here (each class is checked against its Protocol below). Integration and end-to-end
tests never use these: they run the real adapters against the embedded broker and Mongo server.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from finance_sync.domain.reconciliation import (
    FoundInvoice,
    InvoiceLookup,
    OpenInvoice,
    OrderLookup,
    RecordedPayment,
    RecordedRef,
)
from finance_sync.service_layer.ports import Ledger as FinanceLedger
from finance_sync.service_layer.ports import Mappings as FinanceMappings
from finance_sync.service_layer.ports import ReconciliationGateway, RefusedByNetSuite
from om_contracts import (
    Customer,
    ErrorCode,
    IntegrationSettings,
    KeyRing,
    NetSuiteRecordRef,
    Product,
    SyncFailed,
    SyncKind,
    TransactionTotals,
)
from om_platform.core.connections import ConnectionView
from om_platform.core.connections import Status as ConnectionStatus
from om_platform.core.failures import TransientFailure
from om_platform.core.mappings import Kind, MappedEntity
from om_platform.core.ports import Cursors, Integrations, LeaseCheck, LeaseLost, Leases, Publish
from om_transactions.mapping import TransactionBody
from order_sync.adapters.netsuite_gateway import transaction_of, translated
from order_sync.domain.blockers import blockers
from order_sync.domain.healing import unblocks
from order_sync.domain.netsuite_records import FoundTransaction, Written
from order_sync.domain.outcomes import Outcome, status_of
from order_sync.service_layer.ports import (
    Claim,
    Counters,
    GatewayFactory,
    HealRequest,
    HealRequests,
    Ledger,
    LedgerEntry,
    MappingResolver,
    Recorded,
    Selection,
)
from stock_sync.domain.levels import ItemLevels, Published, StockView
from stock_sync.service_layer.ports import ProductMap, Snapshot, SnapshotStore, StockReader, StockReadFailed

P = TypeVar("P")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
G = TypeVar("G")


@dataclass
class FakeIntegrations:
    """Settings per supplier; `configured()` walks them in supplier id order, as the store does."""

    settings: dict[str, IntegrationSettings] = field(default_factory=dict)

    async def get(self, supplier_id: str) -> IntegrationSettings | None:
        return self.settings.get(supplier_id)

    async def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]:
        for supplier_id in sorted(self.settings):
            yield supplier_id, self.settings[supplier_id]


@dataclass
class FakeLease:
    name: str
    lost: bool = False

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.name)


@dataclass
class FakeLeases:
    """One holder per name; `busy` names are held by "another replica"; `taken` records each hold."""

    busy: set[str] = field(default_factory=set)
    held: dict[str, FakeLease] = field(default_factory=dict)
    taken: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def hold(self, name: str, ttl_s: float = 60.0) -> AsyncIterator[LeaseCheck | None]:
        if name in self.busy or name in self.held:
            yield None
            return
        lease = self.held[name] = FakeLease(name)
        self.taken.append(name)
        try:
            yield lease
        finally:
            del self.held[name]


@dataclass
class FakeCursors(Generic[P]):
    saved: dict[tuple[str, str], P] = field(default_factory=dict)

    async def get(self, supplier_id: str, stream: str) -> P | None:
        return self.saved.get((supplier_id, stream))

    async def save(self, supplier_id: str, stream: str, position: P) -> None:
        self.saved[(supplier_id, stream)] = position


@dataclass
class RecordingPublisher:
    """Keeps what was published, with its key; `fail` makes the broker unreachable."""

    sent: list[BaseModel] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, event: BaseModel, *, key: str) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent.append(event)
        self.keys.append(key)

    def of_type(self, event_type: str) -> list[Any]:
        return [e for e in self.sent if getattr(e, "event_type", None) == event_type]


@dataclass
class FakeConnections:
    """Suppliers' NetSuite connections: those in `down` have their breaker open."""

    down: set[str] = field(default_factory=set)

    def is_open(self, supplier_id: str, _credentials: str | None = None) -> bool:
        return supplier_id in self.down

    async def refresh(self, supplier_id: str) -> None:
        return None

    async def load(self, supplier_ids: list[str]) -> Mapping[str, ConnectionStatus]:
        return {
            s: ConnectionStatus(s, state="unreachable" if s in self.down else "connected")
            for s in supplier_ids
        }


@dataclass
class SameForEverySupplier(Generic[G]):
    """A per-supplier NetSuite factory (`for_supplier`) answering one fake for every supplier."""

    gateway: G

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> G:
        return self.gateway


_RING = KeyRing([KeyRing.generate_key()])


def integration_settings(**fields: Any) -> IntegrationSettings:
    """A supplier's settings as `FakeIntegrations` holds them: `fields` over a minimal valid set.

    The credentials are sealed with a key of this test run only: a unit test never opens them.
    """
    sealed = _RING.seal("x").token
    credentials = dict.fromkeys(("client_id", "client_secret", "token_id", "token_secret"), sealed)
    return IntegrationSettings.model_validate(
        {"account_id": "1234567_SB1", "credentials": credentials, "sync_type": "orders", **fields}
    )


# -- order_sync ---------------------------------------------------------------------------------


@dataclass
class FakeOrderLedger:
    """The ledger port in memory, with the adapter's claim and version rules."""

    entries: dict[tuple[str, str, str], LedgerEntry] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    claims: dict[tuple[str, str, str], str] = field(default_factory=dict)
    fail_mark_published: bool = False

    async def get(self, supplier_id: str, kind: SyncKind, ordermentum_id: str) -> LedgerEntry | None:
        entry = self.entries.get((supplier_id, kind, ordermentum_id))
        return self._copy(entry) if entry is not None else None

    def _copy(self, entry: LedgerEntry) -> LedgerEntry:
        key = (entry.supplier_id, entry.kind, entry.ordermentum_id)
        return dataclasses.replace(
            entry, applied_event_ids=list(entry.applied_event_ids), claimed_by=self.claims.get(key)
        )

    async def record(
        self, entry: LedgerEntry, outcome: Outcome, *, claim: Claim | None = None, **kw: Any
    ) -> Recorded:
        key = (entry.supplier_id, entry.kind, entry.ordermentum_id)
        current = self.entries.get(key)
        version = current.version if current is not None else 0
        if claim is not None and (version != claim.version or self.claims.get(key) != claim.owner):
            return "superseded"
        overlapped = current is not None and (version != entry.version or self.claims.get(key) is not None)
        data = outcome.data
        error = data.error if isinstance(data, SyncFailed) else None
        stored = self._copy(current or entry)
        stored.status = status_of(outcome)
        stored.netsuite = data.netsuite or stored.netsuite
        stored.last_event_id = data.source_event_id
        stored.last_occurred_at = kw["occurred_at"]
        stored.last_event_payload = kw["event_payload"]
        stored.applied_event_ids.append(data.source_event_id)
        stored.outcome = outcome.model_dump_json()
        stored.outcome_event_id = outcome.event_id
        stored.outcome_published = False
        stored.last_error = error.model_dump(mode="json") if error is not None else None
        stored.blocked_by = blockers(error)
        stored.version = version + 1
        self.entries[key] = stored
        return "overlapped" if claim is None and overlapped else "written"

    async def mark_published(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, event_id: str, claim: Claim | None = None
    ) -> None:
        if self.fail_mark_published:
            raise ConnectionError("mongo went away")
        key = (supplier_id, kind, ordermentum_id)
        self.entries[key].outcome_published = True
        if claim is not None and self.claims.get(key) == claim.owner:
            del self.claims[key]

    async def note_attempt(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, error: dict[str, Any]
    ) -> None:
        self.notes.append(error)

    def _selected(self, entry: LedgerEntry, selection: Selection) -> bool:
        if entry.supplier_id != selection.supplier_id:
            return False
        if selection.ordermentum_id is not None:
            if entry.ordermentum_id != selection.ordermentum_id:
                return False
        elif selection.status is not None and entry.status != selection.status:
            return False
        if selection.code is not None and (entry.last_error or {}).get("code") != selection.code.value:
            return False
        return not selection.blocked_by or unblocks(entry.blocked_by, selection.blocked_by)

    async def select(self, selection: Selection) -> AsyncIterator[LedgerEntry]:
        chosen = [e for e in self.entries.values() if self._selected(e, selection)]
        for entry in sorted(chosen, key=lambda e: (e.last_occurred_at or _EPOCH, e.ordermentum_id)):
            yield self._copy(entry)

    async def claim(
        self, entry: LedgerEntry, selection: Selection, owner: str, ttl_s: float
    ) -> tuple[LedgerEntry, Claim] | Literal["gone", "busy"]:
        key = (entry.supplier_id, entry.kind, entry.ordermentum_id)
        current = self.entries.get(key)
        if current is None or not self._selected(current, selection):
            return "gone"
        if self.claims.get(key) not in (None, owner):
            return "busy"
        self.claims[key] = owner
        return self._copy(current), Claim(owner=owner, version=current.version)

    async def renew(self, entries: Any, owner: str, ttl_s: float) -> None:
        return None

    async def release(self, entry: LedgerEntry, claim: Claim) -> None:
        key = (entry.supplier_id, entry.kind, entry.ordermentum_id)
        if self.claims.get(key) == claim.owner:
            del self.claims[key]

    async def abandoned(self) -> AsyncIterator[LedgerEntry]:
        lapsed: list[LedgerEntry] = []  # claims never lapse here
        for entry in lapsed:
            yield entry

    async def blocking(self, supplier_id: str, wanted: Any) -> set[str]:
        waiting = {b for e in self.entries.values() if e.status == "failed" for b in e.blocked_by}
        return waiting if wanted is None else waiting & set(wanted)

    async def failing_with(self, codes: Iterable[ErrorCode], supplier_id: str | None = None) -> list[str]:
        wanted = {code.value for code in codes}
        return sorted(
            {
                e.supplier_id
                for e in self.entries.values()
                if e.status == "failed"
                and (e.last_error or {}).get("code") in wanted
                and supplier_id in (None, e.supplier_id)
            }
        )


@dataclass
class FakeOrderMappings:
    freight_items: dict[str, str] = field(default_factory=dict)

    async def resolve_customer(
        self, supplier_id: str, integration: IntegrationSettings, customer: Customer
    ) -> str | None:
        return integration.customer_mappings.get(customer.id) or customer.property("netsuite_id")

    async def resolve_products(
        self, supplier_id: str, integration: IntegrationSettings, products: list[Product]
    ) -> Mapping[str, str | None]:
        return {p.id: integration.product_mappings.get(p.id) for p in products}

    async def freight_item(self, supplier_id: str, customer_id: str) -> str | None:
        return self.freight_items.get(customer_id)

    async def mapped(
        self, supplier_id: str, integration: IntegrationSettings, kind: str, ids: Any
    ) -> set[str]:
        tab = integration.customer_mappings if kind == "customer" else integration.product_mappings
        return {i for i in ids if i in tab}


@dataclass
class FakeOrderNetSuite:
    """NetSuite records by external id, read through the real gateway's record parsing."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: list[TransactionBody] = field(default_factory=list)
    fail_with: Exception | None = None
    closed: list[list[dict[str, Any]]] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)
    booked: TransactionTotals | None = None  # what NetSuite reads back after a write

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> FakeOrderNetSuite:
        return self

    async def currency_id(self, iso_code: str) -> str | None:
        return {"AUD": "1"}.get(iso_code)

    async def upsert(self, transaction: TransactionBody, *, known_tran_id: str | None) -> Written:
        if self.fail_with is not None:
            with translated():  # the real adapter's translation of the client's errors
                raise self.fail_with
        self.writes.append(transaction)
        record = self.records.setdefault(
            transaction.external_id,
            {"id": str(len(self.records) + 10), "tranId": f"SO{len(self.records) + 1}"},
        )
        record.update(transaction.body, status={"id": "B"})
        ref = NetSuiteRecordRef(
            record_type=transaction.record_type,
            internal_id=record["id"],
            external_id=transaction.external_id,
            tran_id=record["tranId"],
        )
        return Written(ref, self.booked)

    async def find(self, record_type: str, external_id: str) -> FoundTransaction | None:
        record = self.records.get(external_id)
        return transaction_of(record_type, external_id, record) if record is not None else None

    async def close_lines(self, found: FoundTransaction) -> None:
        self.closed.append([dict(line) for line in found.lines_to_close])

    async def credit_invoice(self, invoice_id: str, credit_external_id: str, memo: str) -> str:
        self.credits.append(credit_external_id)
        self.records[credit_external_id] = {"id": "99"}
        return "99"


@dataclass
class FakeOrderCounters:
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def failure(self, code: str) -> None:
        self.counts[f"failure:{code}"] = self.counts.get(f"failure:{code}", 0) + 1

    def warning(self, code: str) -> None:
        self.counts[f"warning:{code}"] = self.counts.get(f"warning:{code}", 0) + 1

    def resynced(self) -> None:
        self.counts["resynced"] = self.counts.get("resynced", 0) + 1


@dataclass
class FakeHealRequests:
    requests: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)

    async def add(self, supplier_id: str, blockers: Iterable[str]) -> None:
        for blocker in blockers:
            generation, _ = self.requests.get((supplier_id, blocker), (0, False))
            self.requests[supplier_id, blocker] = (generation + 1, True)

    async def suppliers(self) -> list[str]:
        return sorted({s for (s, _), (_, pending) in self.requests.items() if pending})

    async def pending(self, supplier_id: str) -> list[HealRequest]:
        return [
            HealRequest(b, g)
            for (s, b), (g, pending) in self.requests.items()
            if s == supplier_id and pending
        ]

    async def finish(self, supplier_id: str, requests: Iterable[HealRequest]) -> None:
        for request in requests:
            if self.requests.get((supplier_id, request.blocker)) == (request.generation, True):
                self.requests[supplier_id, request.blocker] = (request.generation, False)

    async def wait(self, timeout_s: float) -> None:
        await asyncio.sleep(0)


# -- finance_sync -------------------------------------------------------------------------------


@dataclass
class FakeFinanceLedger:
    entries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    async def get(self, supplier_id: str, kind: str, ordermentum_id: str) -> dict[str, Any] | None:
        return self.entries.get((kind, ordermentum_id))

    async def many(self, supplier_id: str, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {i: self.entries[(kind, i)] for i in ids if (kind, i) in self.entries}

    async def update(self, supplier_id: str, kind: str, ordermentum_id: str, fields: dict[str, Any]) -> None:
        self.entries.setdefault((kind, ordermentum_id), {}).update(fields)

    async def forget_plan(self, supplier_id: str, kind: str, ordermentum_id: str) -> None:
        entry = self.entries.get((kind, ordermentum_id), {})
        entry.pop("plan", None)
        entry["status"] = "failed"

    async def park(self, supplier_id: str, kind: str, ordermentum_id: str, parked: dict[str, Any]) -> None:
        entry = self.entries.setdefault((kind, ordermentum_id), {})
        entry.update(_id=f"{supplier_id}:{kind}:{ordermentum_id}", supplier_id=supplier_id, parked=parked)

    async def parked(self, supplier_id: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.entries.values() if "parked" in e and supplier_id in (None, e["supplier_id"])]

    async def claim_redrive(self, entry_id: str, now: datetime, until: datetime) -> bool:
        return True


@dataclass
class FakeFinanceMappings:
    customers: dict[str, str] = field(default_factory=dict)

    async def resolve(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, entities: Iterable[MappedEntity]
    ) -> dict[str, str | None]:
        return {e.id: self.customers.get(e.id) for e in entities}

    async def reverse(
        self, supplier_id: str, integration: IntegrationSettings, kind: Kind, netsuite_ids: Iterable[str]
    ) -> dict[str, str]:
        return {}


@dataclass
class FakeFinanceNetSuite:
    """Invoices by number with their amount due; payments and deposits upserted by external id."""

    due: dict[str, Decimal] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deposits: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next_upsert: bool = False
    refuse_upsert: bool = False

    async def find_invoices(
        self, external_ids: Sequence[str], numbers: Sequence[str], payment_external_id: str
    ) -> InvoiceLookup:
        invoices = tuple(
            FoundInvoice(None, number, OpenInvoice(str(100 + n), "812", due))
            for n, (number, due) in enumerate(self.due.items())
            if number in numbers
        )
        recorded = RecordedRef("900", "CustPymt") if payment_external_id in self.payments else None
        return InvoiceLookup(invoices, recorded)

    async def find_orders(self, external_ids: Sequence[str], payment_external_id: str) -> OrderLookup:
        return OrderLookup({}, None)

    async def customer_payment(self, recorded: RecordedRef) -> RecordedPayment:
        (body,) = self.payments.values()
        lines = body.get("apply", {"items": []})["items"]
        return RecordedPayment(
            str(body["customer"]["id"]),
            tuple(
                (str(line["doc"]["id"]), Decimal(str(line["amount"])).quantize(Decimal("0.01")))
                for line in lines
                if line.get("apply", True)
            ),
        )

    async def upsert_customer_payment(self, external_id: str, body: dict[str, Any]) -> str:
        if self.fail_next_upsert:
            self.fail_next_upsert = False
            raise TransientFailure("NetSuite timed out")
        if self.refuse_upsert:
            raise RefusedByNetSuite("INVALID_FLD_VALUE", "refused")
        self.payments[external_id] = body
        return str(500 + list(self.payments).index(external_id))

    async def upsert_customer_deposit(self, external_id: str, body: dict[str, Any]) -> str:
        self.payments[external_id] = body
        return "800"

    async def upsert_deposit(self, external_id: str, body: dict[str, Any]) -> str:
        self.deposits[external_id] = body
        return "700"


# -- stock_sync ---------------------------------------------------------------------------------


class FakeStockNetSuite:
    """Items 1..n with quantities per location; `fail_after` pages raise like an exhausted retry."""

    def __init__(
        self, levels: dict[str, dict[str, Decimal]], locations: Iterable[str] = ("1", "2", "3")
    ) -> None:
        self.levels = levels
        self.locations = set(locations)
        self.page_size = 4
        self.fail_at_page: int | None = None
        self.pages_served = 0

    async def known_locations(self, location_ids: tuple[str, ...]) -> set[str]:
        return self.locations & set(location_ids)

    async def id_range(self) -> tuple[int, int] | None:
        ids = [int(i) for i in self.levels]
        return (min(ids), max(ids)) if ids else None

    async def pages(self, view: StockView, after: int, up_to: int) -> AsyncIterator[list[ItemLevels]]:
        ids = sorted(int(i) for i in self.levels if after < int(i) <= up_to)
        for start in range(0, len(ids), self.page_size):
            if self.fail_at_page is not None and self.pages_served >= self.fail_at_page:
                raise StockReadFailed("NETSUITE_UNAVAILABLE", "429 after retries", retryable=True)
            self.pages_served += 1
            yield [
                ItemLevels(
                    str(i), tuple(self.levels[str(i)].get(loc, Decimal(0)) for loc in view.location_ids)
                )
                for i in ids[start : start + self.page_size]
            ]


class FakeStockSnapshots:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], Snapshot] = {}
        self.marks: list[tuple[str, list[Snapshot]]] = []

    async def published(self, supplier_id: str, item_ids: Sequence[str]) -> dict[str, Published]:
        return {
            i: Published(self.docs[(supplier_id, i)].fingerprint, self.docs[(supplier_id, i)].seq)
            for i in item_ids
            if (supplier_id, i) in self.docs
        }

    async def save(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None:
        for snap in snapshots:
            self.docs[(supplier_id, snap.item_id)] = snap

    async def pending(self, supplier_id: str) -> dict[str, Published]:
        found: dict[str, Published] = {}
        for supplier, snaps in self.marks:
            for snap in snaps:
                if supplier == supplier_id and (
                    snap.item_id not in found or snap.seq > found[snap.item_id].seq
                ):
                    found[snap.item_id] = Published(snap.fingerprint, snap.seq)
        return found

    async def mark_pending(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None:
        self.marks.append((supplier_id, list(snapshots)))

    async def clear_pending(self, supplier_id: str) -> None:
        self.marks = [(supplier, snaps) for supplier, snaps in self.marks if supplier != supplier_id]


class FakeStockProducts:
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    async def products_for(
        self, supplier_id: str, integration: IntegrationSettings, item_ids: Iterable[str]
    ) -> dict[str, str]:
        return {i: self.mapping[i] for i in item_ids if i in self.mapping}


# `manage.py typecheck` runs mypy --strict on this file: each fake must satisfy its port.
_integrations: Integrations = FakeIntegrations()
_leases: Leases = FakeLeases()
_cursors: Cursors[str] = FakeCursors[str]()
_publish: Publish = RecordingPublisher()
_connections: ConnectionView = FakeConnections()

_order_ledger: Ledger = FakeOrderLedger()
_order_mappings: MappingResolver = FakeOrderMappings()
_order_netsuite: GatewayFactory = FakeOrderNetSuite()
_order_counters: Counters = FakeOrderCounters()
_heal_requests: HealRequests = FakeHealRequests()
_finance_ledger: FinanceLedger = FakeFinanceLedger()
_finance_mappings: FinanceMappings = FakeFinanceMappings()
_finance_netsuite: ReconciliationGateway = FakeFinanceNetSuite()
_stock_netsuite: StockReader = FakeStockNetSuite({})
_stock_snapshots: SnapshotStore = FakeStockSnapshots()
_stock_products: ProductMap = FakeStockProducts({})
