"""order_sync's view of a supplier's NetSuite account, over `om_netsuite.NetSuiteSession`.

The service's one NetSuite boundary: every SuiteQL text and every parse of a NetSuite record or row
is here, and the use cases get typed values (`domain.netsuite_records`), never a raw record.

The upsert (``PUT /{type}/eid:{externalId}?replace=item``, Help section_156335203191 and
section_1545142420) answers 204 with the internal id in ``Location`` but neither the ``tranId``
nor what NetSuite made of the body. Both are read back once per write with SuiteQL: the
transaction number, ``foreigntotal``, the tax (sum of the tax lines) and the number of item lines, in one query;
concurrent reads of one account are coalesced into a single query ("group commit"), so a busy
account spends one request per batch of written records instead of one per record.

Updates are read back too (README, "Verify after write"): a record whose tranId the ledger knows
still has its totals verified, through the same batched query, because an edit is exactly when
NetSuite's tax codes or price levels can change what it books. The known tranId is kept when the
row does not come back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from om_contracts import (
    ErrorDetail,
    IntegrationSettings,
    NetSuiteCustomer,
    NetSuiteItem,
    NetSuiteRecordRef,
    TransactionTotals,
)
from om_netsuite import (
    AuthenticationFailed,
    NetSuiteError,
    NetSuiteHTTPError,
    NetSuiteSession,
    PermanentError,
)
from om_platform.adapters.mongo.reference_data import ReferenceDataStore
from om_platform.core.failures import PermanentFailure
from om_transactions.mapping import TransactionBody
from order_sync.domain.netsuite_records import CatalogChange, FoundTransaction, Written
from order_sync.service_layer.ports import (
    CatalogKind,
    NetSuiteAuthFailed,
    NetSuiteRejected,
    NetSuiteUnavailable,
)

SessionFor = Callable[[str, IntegrationSettings], NetSuiteSession]
MAX_BATCH = 500
#: Upserts of one account in flight from which its tranId reads stop waiting for the window: they
#: share a request with the reads of those upserts, which follow within one round trip.
BUSY_UPSERTS = 2


@dataclass(frozen=True)
class ReadBack:
    """What NetSuite holds for a written transaction: its number and the totals it booked."""

    tran_id: str | None
    totals: TransactionTotals


class TranIdReader:
    """Coalesces `read(internal_id)` calls of one account into `SELECT ... WHERE id IN (...)`.

    `window_s` > 0: a batch is sent `window_s` after its first read arrived (or once it holds
    `MAX_BATCH` ids), so the orders of an account written within that window share one request even
    at low rates; no read waits longer than the window for its batch to leave. `window_s` 0, and
    an account with `BUSY_UPSERTS` or more upserts in flight whatever the window: a read waits
    only while other upserts of the account are in flight, up to `linger_s` (they finish within
    one NetSuite round trip of each other); alone, it is sent at once.

    The trade-off (README, "tranId read window"): an account writing r orders/s pays
    1 + 1 / (1 + r * window_s) NetSuite requests per order on average, and every outcome waits up
    to `window_s` longer (half of it on average when orders arrive evenly).

    Why this is not an `om_platform.core.batching.Batch` (the dead-letter memory's group commit
    is): its two waits are not the `Batch`'s. With `window_s` 0 it lingers while upserts of the
    account are in flight (`upsert_started`/`upsert_finished`), because their reads are known to
    follow within one round trip; a `Batch` never waits then. With `window_s` > 0 a quiet account
    waits the window, where a `Batch` waits only once requests came at least two per window. Both are
    measured choices (README, "tranId read window"); folding them into `Batch` would add two modes
    only this reader uses.
    """

    def __init__(self, linger_s: float = 0.02, *, window_s: float = 0.0) -> None:
        self._pending: dict[str, list[asyncio.Future[ReadBack | None]]] = {}
        self._session: NetSuiteSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._linger_s = linger_s
        self._window_s = window_s
        self._upserts = 0
        self._changed = asyncio.Event()
        self._since: dict[str, float] = {}  # when the first read of each pending id arrived

    def upsert_started(self) -> None:
        self._upserts += 1

    def upsert_finished(self) -> None:
        self._upserts -= 1
        self._changed.set()

    async def read(self, session: NetSuiteSession, internal_id: str) -> ReadBack | None:
        """The transaction's number and totals (None when NetSuite returns no row for it)."""
        self._session = session
        future: asyncio.Future[ReadBack | None] = asyncio.get_running_loop().create_future()
        if internal_id not in self._pending:
            self._since[internal_id] = asyncio.get_running_loop().time()
        self._pending.setdefault(internal_id, []).append(future)
        self._changed.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="tran-id-reader")
        return await future

    async def _gather(self) -> None:
        """Wait for company: a quiet account waits the window from its oldest read; a busy one
        (at least BUSY_UPSERTS of its upserts in flight) only while they are, up to `linger_s`,
        since their reads follow within one round trip. (Waiting the whole window when busy too
        made a busy supplier's records move in lockstep, every window: one supplier reached 0.83
        of the bare client instead of 0.90, `benchmarks/bench_order_sync.py`.)"""
        loop = asyncio.get_running_loop()
        lingering_until = loop.time() + self._linger_s
        while len(self._pending) < MAX_BATCH:
            if self._window_s > 0 and self._upserts < BUSY_UPSERTS:
                deadline = min(self._since.values(), default=loop.time()) + self._window_s
            elif self._upserts > 0:
                deadline = lingering_until
            else:
                return
            if loop.time() >= deadline:
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), deadline - loop.time())

    async def _drain(self) -> None:
        while self._pending and self._session is not None:
            await self._gather()
            ids = list(self._pending)[:MAX_BATCH]
            batch = {i: self._pending.pop(i) for i in ids}
            for i in ids:
                self._since.pop(i, None)
            try:
                found = await _read_back(self._session, ids)
            except BaseException as exc:  # every waiter must hear about it, even on cancellation
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for internal_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(internal_id))


def read_back_query(count: int) -> str:
    """Number, total, tax and item-line count of `count` transactions, in one SuiteQL query.

    ``foreigntotal`` is the total in the transaction's currency. The tax is the sum of the tax
    lines (``transactionline.taxline = 'T'``, sales-side amounts negative): no public source
    shows a SuiteQL column ``transaction.taxtotal`` (issue 21 item 10; the simulator's column
    catalogue leaves it out). Lines exclude the main line and tax lines (reference §5.4).
    """
    marks = ", ".join("?" for _ in range(count))
    return (
        "SELECT t.id, t.tranid, t.foreigntotal, "  # noqa: S608 - only ? markers
        "SUM(CASE WHEN tl.taxline = 'T' THEN -tl.netamount ELSE 0 END) AS tax, "
        "SUM(CASE WHEN tl.taxline = 'F' THEN 1 ELSE 0 END) AS linecount "
        "FROM transaction t LEFT JOIN transactionline tl ON tl.transaction = t.id "
        "AND tl.mainline = 'F' "
        f"WHERE t.id IN ({marks}) GROUP BY t.id, t.tranid, t.foreigntotal"
    )


def _decimal(text: Any) -> Decimal:
    # SuiteQL answers numbers as text and omits null columns.
    return Decimal(str(text)) if text not in (None, "") else Decimal(0)


async def _read_back(session: NetSuiteSession, ids: list[str]) -> dict[str, ReadBack]:
    found: dict[str, ReadBack] = {}
    async for row in session.suiteql(read_back_query(len(ids)), [int(i) for i in ids]):
        total, tax = _decimal(row.get("foreigntotal")), _decimal(row.get("tax"))
        lines = int(row["linecount"]) if row.get("linecount") not in (None, "") else None
        found[str(row["id"])] = ReadBack(
            tran_id=str(row["tranid"]) if row.get("tranid") is not None else None,
            totals=TransactionTotals(subtotal=total - tax, tax=tax, total=total, lines=lines),
        )
    return found


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """The NetSuite client's errors as the service's failures (`service_layer.ports`): a refused
    login, a rejection with what NetSuite named, an outage to retry, or another permanent error."""
    try:
        yield
    except AuthenticationFailed as exc:
        raise NetSuiteAuthFailed(
            str(exc.code or exc.status), detail=exc.detail, netsuite_code=exc.code
        ) from exc
    except NetSuiteError as exc:
        if exc.retryable:
            raise NetSuiteUnavailable(str(exc), cause=type(exc).__name__) from exc
        if isinstance(exc, NetSuiteHTTPError):
            details = tuple(
                ErrorDetail(reason=d.detail or "rejected", path=d.path, netsuite_code=d.code)
                for d in exc.details
            )
            raise NetSuiteRejected(
                f"NetSuite rejected the record: {exc.detail or exc.code or exc.status}",
                details or (ErrorDetail(reason=str(exc), netsuite_code=exc.code),),
            ) from exc
        raise PermanentFailure("PERMANENT_ERROR", str(exc)) from exc


class NetSuiteGateway:
    """Implements `service_layer.ports.Gateway` (and `CatalogSource`) for one supplier; every
    method raises the service's failures (`translated`), never the client's errors."""

    def __init__(
        self, session: NetSuiteSession, reader: TranIdReader, references: ReferenceDataStore, account_id: str
    ) -> None:
        self._session = session
        self._reader = reader
        self._references = references
        self._account_id = account_id

    async def currency_id(self, iso_code: str) -> str | None:
        with translated():
            # Read when the integration was configured and kept in memory (om_platform.reference_data):
            # no request on the order path in steady state.
            reference = await self._references.get(
                self._account_id, self._session, has=lambda r: iso_code in r.currencies()
            )
            return reference.currencies().get(iso_code)

    async def upsert(self, transaction: TransactionBody, *, known_tran_id: str | None) -> Written:
        with translated():
            self._reader.upsert_started()
            try:
                internal_id = await self._session.upsert(
                    transaction.record_type, transaction.external_id, transaction.body, replace=["item"]
                )
            finally:
                self._reader.upsert_finished()
            found = await self._reader.read(self._session, internal_id)
            record = NetSuiteRecordRef(
                record_type=transaction.record_type,
                internal_id=internal_id,
                external_id=transaction.external_id,
                tran_id=(found.tran_id if found else None) or known_tran_id,
            )
            return Written(record, found.totals if found else None)

    async def find(self, record_type: str, external_id: str) -> FoundTransaction | None:
        with translated():
            try:
                record = await self._session.get(record_type, f"eid:{external_id}", expand_sub_resources=True)
            except PermanentError as exc:
                if exc.status == 404:
                    return None
                raise
            return transaction_of(record_type, external_id, record)

    async def close_lines(self, found: FoundTransaction) -> None:
        with translated():
            lines = [dict(line) for line in found.lines_to_close]
            await self._session.update(
                found.ref.record_type, found.ref.internal_id, {"item": {"items": lines}}, replace=["item"]
            )

    async def credit_invoice(self, invoice_id: str, credit_external_id: str, memo: str) -> str:
        with translated():
            body = {"externalId": credit_external_id, "memo": memo}
            try:
                return await self._session.transform("invoice", invoice_id, "creditMemo", body)
            except PermanentError:
                # A lost response may have created it already: the external id tells.
                existing = await self.find("creditMemo", credit_external_id)
                if existing is not None:
                    return existing.ref.internal_id
                raise

    async def changed(
        self, kind: CatalogKind, after_modified: str, after_position: int, limit: int
    ) -> list[CatalogChange]:
        with translated():
            params: list[object] = [after_modified, after_modified, after_position]
            changes: list[CatalogChange] = []
            async for row in self._session.suiteql(CATALOG_QUERIES[kind], params, page_size=limit):
                changes.append(catalog_change_of(kind, row))
                if len(changes) == limit:
                    break
            return changes


# -- record parsing (NetSuite's JSON -> domain.netsuite_records) ----------------------------------


def transaction_of(record_type: str, external_id: str, record: Mapping[str, Any]) -> FoundTransaction:
    """A transaction read with its sublists expanded, in the terms cancel and void decide on."""
    tran_id = record.get("tranId")
    lines = _lines(record)
    return FoundTransaction(
        ref=NetSuiteRecordRef(
            record_type=record_type,
            internal_id=str(record["id"]),
            external_id=external_id,
            tran_id=str(tran_id) if tran_id is not None else None,
        ),
        status=_status(record),
        billed=any(_number(line.get("quantityBilled")) > 0 for line in lines),
        amount_paid=_number(record.get("amountPaid")),
        lines_to_close=tuple(_closed_copy(line) for line in lines),
    )


def _status(record: Mapping[str, Any]) -> str | None:
    status = record.get("status")
    if isinstance(status, dict):
        status = status.get("id")
    return str(status) if status is not None else None


def _lines(record: Mapping[str, Any]) -> list[dict[str, object]]:
    sublist = record.get("item")
    items = sublist.get("items") if isinstance(sublist, dict) else None
    return [line for line in items if isinstance(line, dict)] if isinstance(items, list) else []


def _number(value: object) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _closed_copy(line: Mapping[str, object]) -> dict[str, object]:
    """The line with ``isClosed``, keeping what NetSuite would otherwise reset on a sublist replace."""
    copy: dict[str, object] = {"isClosed": True}
    for key in ("item", "quantity", "rate", "amount", "description", "location", "department", "class"):
        value = line.get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            value = {"id": value.get("id")}
        copy[key] = value
    return copy


# -- catalog: keyset pages of customers and items ---------------------------------------------------

CATALOG_QUERIES: dict[CatalogKind, str] = {
    "customer": (
        "SELECT id, entityid, companyname, email, isinactive, "
        "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM customer "
        "WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') "
        "OR (lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?) "
        "ORDER BY lastmodifieddate, id"
    ),
    "item": (
        "SELECT id, itemid, displayname, isinactive, "
        "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM item "
        "WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') "
        "OR (lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?) "
        "ORDER BY lastmodifieddate, id"
    ),
}
"""Keyset paging on ``(lastmodifieddate, id)`` (reference/netsuite.md §5.3): each page starts after
the last row of the previous one, so no row is skipped or repeated while records change."""


def catalog_change_of(kind: CatalogKind, row: Mapping[str, Any]) -> CatalogChange:
    """A row of `CATALOG_QUERIES[kind]` (SuiteQL answers text and omits null columns)."""
    record: NetSuiteCustomer | NetSuiteItem
    if kind == "customer":
        name = _text(row.get("companyname")) or _text(row.get("entityid")) or f"customer {row['id']}"
        record = NetSuiteCustomer(
            netsuite_id=str(row["id"]),
            name=name,
            email=_text(row.get("email")),
            is_inactive=_flag(row.get("isinactive")),
            ordermentum_id=None,
        )
    else:
        sku = _text(row.get("itemid"))
        record = NetSuiteItem(
            netsuite_id=str(row["id"]),
            name=_text(row.get("displayname")) or sku or f"item {row['id']}",
            sku=sku,
            is_inactive=_flag(row.get("isinactive")),
            ordermentum_id=None,
        )
    lmd = row.get("lmd")
    return CatalogChange(record=record, position=int(row["id"]), modified=str(lmd) if lmd else None)


def _flag(value: Any) -> bool:
    return value in (True, "T", "t", "true", "True")


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


class Gateways:
    """`GatewayFactory`: a gateway per supplier over the runtime's NetSuite access."""

    def __init__(
        self, session_for: SessionFor, references: ReferenceDataStore, *, read_window_s: float = 0.0
    ) -> None:
        self._session_for = session_for
        self._references = references
        self._read_window_s = read_window_s
        self._readers: dict[str, TranIdReader] = {}

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> NetSuiteGateway:
        session = self._session_for(supplier_id, integration)
        account_id = integration.account_id
        reader = self._readers.get(account_id)
        if reader is None:  # once per account (not `setdefault`, which builds one per order)
            reader = self._readers[account_id] = TranIdReader(window_s=self._read_window_s)
        return NetSuiteGateway(session, reader, self._references, account_id)
