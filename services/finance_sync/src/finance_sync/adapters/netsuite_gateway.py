"""finance_sync's NetSuite queries and writes, over one supplier's `NetSuiteSession`.

Reads are SuiteQL (Help "SuiteQL", section_157909186990): headers page by a composite keyset on
(timestamp, id) with ``FETCH FIRST n ROWS ONLY``, so a window is read in time order and a run can
stop after any page and resume exactly there; lines of a page of headers come in offset-paged
queries over ``IN`` lists of at most 1,000 transaction ids (SuiteQL refuses longer lists; an id
range could pass the 100,000-row cap). Writes are upserts by external id
(``PUT /record/v1/<type>/eid:<id>``, section_156335203191), safe to repeat.

What SuiteQL exposes, with the public sources the queries rely on:

* a document's source is ``transactionline.createdfrom`` on its main line (``mainline = 'T'``);
  the header has no ``createdfrom`` column (public SuiteQL libraries, e.g. Tim Dietrich's
  "SuiteQL Query Library", join ``TransactionLine.CreatedFrom`` on the main line);
* item lines are ``mainline = 'F' AND taxline = 'F' AND iscogs = 'F'`` (``iscogs`` and
  ``taxline`` are ``transactionline`` columns in published SuiteQL field dumps): an invoice of
  inventory items carries COGS lines in accounts without Advanced Shipping;
* a currency is published by its ISO code, ``currency.symbol`` (what order_sync reads);
  ``BUILTIN.DF(t.currency)`` is the currency record's name ("Australian Dollar");
* SuiteQL shows date-times in the integration user's time zone (REST shows UTC): the account's
  offset is learnt by `finance_sync.adapters.time_zones` and every window bound is sent, and
  every timestamp parsed, in it. Money is parsed into `Decimal` from the text.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from finance_sync.adapters.time_zones import AccountZones
from finance_sync.domain.cursors import Position
from finance_sync.domain.documents import (
    CreditMemoRow,
    DeletedInvoice,
    InvoiceRow,
    LineRow,
    PaymentChange,
    cents,
)
from finance_sync.domain.reconciliation import (
    FoundInvoice,
    FoundOrder,
    InvoiceLookup,
    OpenInvoice,
    OrderLookup,
    RecordedPayment,
    RecordedRef,
)
from finance_sync.service_layer.ports import NetSuiteAuthFailed, RefusedByNetSuite
from om_contracts import IntegrationSettings
from om_netsuite import AuthenticationFailed, NetSuiteError, NetSuiteSession, PermanentError
from om_platform.core.failures import PermanentFailure, TransientFailure

MASK = "'YYYY-MM-DD HH24:MI:SS'"
PY_MASK = "%Y-%m-%d %H:%M:%S"
IN_CHUNK = 100
LINE_IDS_PER_QUERY = 1000
"""SuiteQL refuses ``IN`` lists of more than 1,000 values."""

ZoneSource = Callable[[], Awaitable[tzinfo]]
SessionFor = Callable[[str, IntegrationSettings], NetSuiteSession]
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
"""The account's SuiteQL time zone (`time_zones.AccountZones.zone` bound to a supplier)."""

# The main line holds a document's ``createdfrom``; ``t`` is the document, ``so`` its order.
_ORDER_OF_T = (
    "JOIN transactionline tml ON tml.transaction = t.id AND tml.mainline = 'T' "
    "JOIN transaction so ON so.id = tml.createdfrom "
)
_CURRENCY_OF_T = "LEFT JOIN currency cur ON cur.id = t.currency "
_HEADER_MONEY = (
    "cur.symbol AS currency, t.foreigntotal AS total, "
    "t.foreignamountpaid AS paid, t.foreignamountunpaid AS unpaid "
)


def _ts(value: datetime, zone: tzinfo) -> str:
    """A moment as SuiteQL text in the account's time zone."""
    return value.astimezone(zone).strftime(PY_MASK)


def _parse_ts(text: str, zone: tzinfo) -> datetime:
    """SuiteQL text in the account's time zone as a UTC moment."""
    return datetime.strptime(text, PY_MASK).replace(tzinfo=zone).astimezone(UTC)


def _parse_date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text[:10]) if text else None


def _dec(text: Any) -> Decimal:
    return Decimal(str(text)) if text not in (None, "") else Decimal(0)


def _money(text: Any) -> Decimal:
    """An amount with at least cents (SuiteQL drops trailing zeros: '127.5'); never rounds."""
    return cents(_dec(text))


def _opt_dec(text: Any) -> Decimal | None:
    return Decimal(str(text)) if text not in (None, "") else None


def _amount_due(text: Any) -> Decimal:
    """NetSuite answers money as JSON numbers or SuiteQL text; kept exact, with cents (none: 0)."""
    return cents(Decimal(str(text))) if text not in (None, "") else Decimal(0)


def _window(column: str, id_column: str = "t.id") -> str:
    """Rows strictly after the (timestamp, id) position and strictly before the window's end."""
    return (
        f"({column} > TO_TIMESTAMP(?, {MASK}) OR ({column} = TO_TIMESTAMP(?, {MASK}) AND {id_column} > ?)) "
        f"AND {column} < TO_TIMESTAMP(?, {MASK})"
    )


def _window_params(after: Position, until: datetime, zone: tzinfo) -> list[object]:
    return [_ts(after.at, zone), _ts(after.at, zone), after.id, _ts(until, zone)]


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


def _translated(error: NetSuiteError) -> Exception:
    """The client's error as the service's failure (`service_layer.ports`, the core taxonomy)."""
    if isinstance(error, AuthenticationFailed):
        return NetSuiteAuthFailed(str(error))
    if error.retryable:
        return TransientFailure(f"NetSuite unavailable ({type(error).__name__}): {error}")
    return PermanentFailure(getattr(error, "code", None) or "PERMANENT_ERROR", str(error))


def _translating(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(method)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except NetSuiteError as exc:
            raise _translated(exc) from exc

    return translated


def _translates(cls: type[T]) -> type[T]:
    """Every public coroutine method of `cls` raises the service's failures, not the client's."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, _translating(member))
    return cls


@_translates
class FinanceGateway:
    """Queries and writes of one supplier's NetSuite account; its methods raise the service's
    failures (`NetSuiteAuthFailed`, `RefusedByNetSuite`, the core's transient/permanent ones)."""

    def __init__(
        self, session: NetSuiteSession, page_size: int = 1000, zone: ZoneSource | None = None
    ) -> None:
        self.session = session
        self.page_size = page_size
        self._zone_source = zone
        self._zone: tzinfo | None = None

    async def zone(self) -> tzinfo:
        """The account's SuiteQL time zone (UTC when no source is given), asked once."""
        if self._zone is None:
            self._zone = await self._zone_source() if self._zone_source is not None else UTC
        return self._zone

    async def _rows(self, query: str, params: Sequence[object]) -> list[dict[str, Any]]:
        return [row async for row in self.session.suiteql(query, params)]

    async def _page(self, query: str, params: Sequence[object], limit: int) -> list[dict[str, Any]]:
        limit = max(1, min(limit, self.page_size))
        return [
            row
            async for row in self.session.suiteql(
                f"{query} FETCH FIRST {limit} ROWS ONLY", params, page_size=limit
            )
        ]

    # -- finalised invoices and credit memos ---------------------------------------------------

    async def invoices_created(self, after: Position, until: datetime, limit: int) -> list[InvoiceRow]:
        """Invoices created from sales orders with one of our external ids, in (created, id) order.

        Voided ones are left out: an invoice voided before it was ever published is no news.
        """
        return await self._our_invoices("t.createddate", "AND t.voided = 'F' ", after, until, limit)

    async def invoices_modified(self, after: Position, until: datetime, limit: int) -> list[InvoiceRow]:
        """Invoices of our sales orders last modified in the window, in (modified, id) order.

        Edits and voids change an invoice's lastmodifieddate; applying a payment does not.
        """
        return await self._our_invoices("t.lastmodifieddate", "", after, until, limit)

    async def _our_invoices(
        self, column: str, condition: str, after: Position, until: datetime, limit: int
    ) -> list[InvoiceRow]:
        query = (
            "SELECT t.id, t.tranid, t.entity, t.externalid, so.externalid AS order_eid, "
            f"TO_CHAR(t.createddate, {MASK}) AS created, TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, "
            f"TO_CHAR(t.lastmodifieddate, {MASK}) AS modified, t.voided AS voided, {_HEADER_MONEY}"
            f"FROM transaction t {_ORDER_OF_T}{_CURRENCY_OF_T}"
            f"WHERE t.type = 'CustInvc' AND so.externalid LIKE 'OM-ORDER-%' {condition}AND "
            f"{_window(column)} ORDER BY {column}, t.id"
        )
        zone = await self.zone()
        rows = await self._page(query, _window_params(after, until, zone), limit)
        headers = [_invoice_row(row, zone) for row in rows]
        lines = await self.lines("CustInvc", [h.id for h in headers], sign=Decimal(-1))
        return [_with_lines(h, lines.get(h.id, ())) for h in headers]

    async def invoices_deleted(self, after: Position, until: datetime, limit: int) -> list[DeletedInvoice]:
        """Invoices deleted in the window, in (deleted, id) order (SuiteQL ``deletedrecord``).

        SuiteQL cannot see deleted rows of ``transaction``; NetSuite logs deletions in
        ``deletedrecord`` (role permission "Deleted Records"). The ``type`` value of invoices
        is UNCONFIRMED against a real account (reference §5.4 does not list the table).
        """
        query = (
            f"SELECT d.recordid AS id, TO_CHAR(d.deleteddate, {MASK}) AS deleted FROM deletedrecord d "  # noqa: S608 - fixed SQL; values are bound ? parameters
            f"WHERE d.type = 'invoice' AND {_window('d.deleteddate', 'd.recordid')} "
            "ORDER BY d.deleteddate, d.recordid"
        )
        zone = await self.zone()
        rows = await self._page(query, _window_params(after, until, zone), limit)
        return [DeletedInvoice(str(row["id"]), _parse_ts(row["deleted"], zone)) for row in rows]

    async def credit_memos_created(self, after: Position, until: datetime, limit: int) -> list[CreditMemoRow]:
        query = (
            "SELECT t.id, t.tranid, t.entity, "  # noqa: S608 - fixed SQL; values are bound ? parameters
            f"TO_CHAR(t.createddate, {MASK}) AS created, cur.symbol AS currency, "
            "t.foreigntotal AS total, inv.externalid AS invoice_eid, so.externalid AS order_eid "
            "FROM transaction t "
            "LEFT JOIN transactionline tml ON tml.transaction = t.id AND tml.mainline = 'T' "
            "LEFT JOIN transaction inv ON inv.id = tml.createdfrom "
            "LEFT JOIN transactionline iml ON iml.transaction = inv.id AND iml.mainline = 'T' "
            f"LEFT JOIN transaction so ON so.id = iml.createdfrom {_CURRENCY_OF_T}"
            f"WHERE t.type = 'CustCred' AND {_window('t.createddate')} ORDER BY t.createddate, t.id"
        )
        zone = await self.zone()
        rows = await self._page(query, _window_params(after, until, zone), limit)
        memos = [
            CreditMemoRow(
                id=str(row["id"]),
                tran_id=str(row.get("tranid") or row["id"]),
                created_at=_parse_ts(row["created"], zone),
                entity_id=row.get("entity"),
                currency=row.get("currency"),
                total=_money(row.get("total")),
                invoice_external_id=row.get("invoice_eid"),
                invoice_order_external_id=row.get("order_eid"),
            )
            for row in rows
        ]
        lines = await self.lines("CustCred", [m.id for m in memos], sign=Decimal(1))
        return [CreditMemoRow(**{**m.__dict__, "lines": tuple(lines.get(m.id, ()))}) for m in memos]

    async def lines(self, type_code: str, ids: Sequence[str], *, sign: Decimal) -> dict[str, list[LineRow]]:
        """Item and tax lines of the given transactions (never their main line or COGS lines),
        in queries over ``IN`` lists of at most 1,000 ids.

        `sign` turns NetSuite's posting sign (negative quantities on sales documents) into the
        document's own.
        """
        out: dict[str, list[LineRow]] = {}
        for start in range(0, len(ids), LINE_IDS_PER_QUERY):
            chunk = [int(i) for i in ids[start : start + LINE_IDS_PER_QUERY]]
            query = (
                "SELECT tl.transaction AS tx, tl.id AS line, tl.item AS item, tl.memo AS memo, "  # noqa: S608 - fixed SQL; values are bound ? parameters
                "tl.quantity AS quantity, tl.rate AS rate, tl.netamount AS amount, tl.taxline AS taxline "
                "FROM transactionline tl JOIN transaction t ON t.id = tl.transaction "
                "WHERE t.type = ? AND tl.mainline = 'F' AND tl.iscogs = 'F' "
                f"AND tl.transaction IN ({_marks(len(chunk))}) ORDER BY tl.transaction, tl.id"
            )
            for row in await self._rows(query, [type_code, *chunk]):
                rate = _opt_dec(row.get("rate"))
                out.setdefault(str(row["tx"]), []).append(
                    LineRow(
                        line=int(row["line"]),
                        item_id=row.get("item"),
                        description=row.get("memo"),
                        quantity=_dec(row.get("quantity")) * sign
                        if row.get("quantity") is not None
                        else Decimal(1),
                        rate=rate,
                        amount=_money(row.get("amount")) * sign,
                        is_tax=row.get("taxline") == "T",
                    )
                )
        return out

    # -- paid invoices ------------------------------------------------------------------------

    async def payment_changes(self, after: Position, until: datetime, limit: int) -> list[PaymentChange]:
        """Customer payments, credit memos and deposit applications changed in the window, in
        (modified, id) order.

        Applying a payment does not change the invoice's own `lastmodifieddate`, so paid invoices
        are found through what pays them: payments, credits, and the deposit applications
        NetSuite creates when an order with a customer deposit is billed (type ``DepAppl``).
        """
        query = (
            f"SELECT t.id, t.entity, TO_CHAR(t.lastmodifieddate, {MASK}) AS modified FROM transaction t "  # noqa: S608 - fixed SQL; values are bound ? parameters
            f"WHERE t.type IN ('CustPymt', 'CustCred', 'DepAppl') AND {_window('t.lastmodifieddate')} "
            "ORDER BY t.lastmodifieddate, t.id"
        )
        zone = await self.zone()
        rows = await self._page(query, _window_params(after, until, zone), limit)
        return [PaymentChange(str(r["id"]), r.get("entity"), _parse_ts(r["modified"], zone)) for r in rows]

    async def paid_known_invoices(
        self, entity_ids: Iterable[str], created_since: datetime
    ) -> list[InvoiceRow]:
        """Paid-in-full invoices of these customers that Ordermentum knows (our external ids)."""
        entities = sorted(set(entity_ids))
        zone = await self.zone()
        out: list[InvoiceRow] = []
        for start in range(0, len(entities), IN_CHUNK):
            chunk = entities[start : start + IN_CHUNK]
            query = (
                "SELECT t.id, t.tranid, t.entity, t.externalid, so.externalid AS order_eid, "
                f"TO_CHAR(t.createddate, {MASK}) AS created, TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, "
                f"{_HEADER_MONEY}FROM transaction t "
                "LEFT JOIN transactionline tml ON tml.transaction = t.id AND tml.mainline = 'T' "
                f"LEFT JOIN transaction so ON so.id = tml.createdfrom {_CURRENCY_OF_T}"
                "WHERE t.type = 'CustInvc' AND BUILTIN.CF(t.status) = 'CustInvc:B' "
                f"AND t.entity IN ({_marks(len(chunk))}) "
                "AND (t.externalid LIKE 'OM-INV-%' OR so.externalid LIKE 'OM-ORDER-%') "
                f"AND t.createddate >= TO_TIMESTAMP(?, {MASK}) ORDER BY t.id"
            )
            rows = await self._rows(query, [*chunk, _ts(created_since, zone)])
            out.extend(_invoice_row(row, zone) for row in rows)
        return out

    # -- reconciliation -----------------------------------------------------------------------

    async def find_invoices(
        self, external_ids: Sequence[str], numbers: Sequence[str], payment_external_id: str
    ) -> InvoiceLookup:
        """Invoices with one of our external ids or numbers (tranid), plus our payment if it exists.

        The payment row (`type` CustPymt) rides along in the same request: a payment NetSuite
        already holds is never re-planned (see `Reconciler`).
        """
        terms: list[str] = []
        params: list[object] = []
        if external_ids:
            terms.append(f"t.externalid IN ({_marks(len(external_ids))})")
            params.extend(external_ids)
        if numbers:
            terms.append(f"t.tranid IN ({_marks(len(numbers))})")
            params.extend(numbers)
        invoices = f"(t.type = 'CustInvc' AND ({' OR '.join(terms)})) OR " if terms else ""
        query = (
            "SELECT t.id, t.type, t.tranid, t.externalid, t.entity, t.currency AS currency, "  # noqa: S608 - fixed SQL; values are bound ? parameters
            "t.foreignamountunpaid AS unpaid "
            f"FROM transaction t WHERE {invoices}(t.type IN ('CustPymt', 'CustDep') AND t.externalid = ?) "
            "ORDER BY t.id"
        )
        rows = await self._rows(query, [*params, payment_external_id])
        return InvoiceLookup(
            invoices=tuple(
                FoundInvoice(row.get("externalid"), row.get("tranid"), _open_invoice(row, "id", "entity"))
                for row in rows
                if row.get("type") == "CustInvc"
            ),
            recorded_payment=_recorded(rows, "id"),
        )

    async def find_orders(self, external_ids: Sequence[str], payment_external_id: str) -> OrderLookup:
        """Sales orders by external id, one row per invoice billed from them (an invoice's main
        line names its order in ``createdfrom``), plus our payment or customer deposit if held."""
        orders = (
            f"(so.type = 'SalesOrd' AND so.externalid IN ({_marks(len(external_ids))})) OR "
            if external_ids
            else ""
        )
        query = (
            "SELECT so.id AS so_id, so.type AS type, so.externalid AS externalid, so.entity AS entity, "  # noqa: S608 - fixed SQL; values are bound ? parameters
            "so.currency AS so_currency, inv.id AS invoice_id, inv.entity AS invoice_entity, "
            "inv.currency AS currency, inv.foreignamountunpaid AS unpaid FROM transaction so "
            "LEFT JOIN transactionline iml ON iml.createdfrom = so.id AND iml.mainline = 'T' "
            "AND so.type = 'SalesOrd' "
            "LEFT JOIN transaction inv ON inv.id = iml.transaction AND inv.type = 'CustInvc' "
            f"WHERE {orders}(so.type IN ('CustPymt', 'CustDep') AND so.externalid = ?) ORDER BY so.id, inv.id"
        )
        rows = await self._rows(query, [*external_ids, payment_external_id])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row.get("type") == "SalesOrd":
                grouped.setdefault(row["externalid"], []).append(row)
        return OrderLookup(
            orders={
                eid: FoundOrder(
                    found[0].get("entity"),
                    tuple(
                        _open_invoice(r, "invoice_id", "invoice_entity") for r in found if r.get("invoice_id")
                    ),
                    netsuite_id=str(found[0]["so_id"]),
                    currency_id=_opt_str(found[0].get("so_currency")),
                )
                for eid, found in grouped.items()
            },
            recorded_payment=_recorded(rows, "so_id"),
        )

    async def customer_payment(self, recorded: RecordedRef) -> RecordedPayment:
        """A payment NetSuite holds: its customer and what its `apply` sublist applies to which
        invoice; a customer deposit: its customer and sales order."""
        if recorded.kind == "CustDep":
            deposit = await self.session.get("customerDeposit", recorded.id)
            return RecordedPayment(
                customer_id=str((deposit.get("customer") or {}).get("id")),
                applied=(),
                sales_order_id=_opt_str((deposit.get("salesOrder") or {}).get("id")),
                customer_deposit=True,
            )
        record = await self.session.get("customerPayment", recorded.id, expand_sub_resources=True)
        lines = (record.get("apply") or {}).get("items") or []
        return RecordedPayment(
            customer_id=str((record.get("customer") or {}).get("id")),
            applied=tuple(
                (str(line["doc"]["id"]), _amount_due(line.get("amount")))
                for line in lines
                if line.get("apply", True) and line.get("doc")
            ),
        )

    async def upsert_customer_payment(self, external_id: str, body: dict[str, Any]) -> str:
        """Create or update our payment; a refusal of it as it is raises `RefusedByNetSuite`."""
        try:
            return await self.session.upsert("customerPayment", external_id, body, replace=["apply"])
        except PermanentError as exc:
            raise RefusedByNetSuite(exc.code, str(exc)) from exc

    async def upsert_customer_deposit(self, external_id: str, body: dict[str, Any]) -> str:
        """Create or update our customer deposit; a refusal of it raises `RefusedByNetSuite`."""
        try:
            return await self.session.upsert("customerDeposit", external_id, body)
        except PermanentError as exc:
            raise RefusedByNetSuite(exc.code, str(exc)) from exc

    async def upsert_deposit(self, external_id: str, body: dict[str, Any]) -> str:
        # The sublists are sent whole: a repeated upsert replaces them instead of appending.
        replace = [name for name in ("payment", "cashback") if name in body]
        return await self.session.upsert("deposit", external_id, body, replace=replace)


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _open_invoice(row: dict[str, Any], id_key: str, entity_key: str) -> OpenInvoice:
    return OpenInvoice(
        str(row[id_key]), row.get(entity_key), _amount_due(row.get("unpaid")), _opt_str(row.get("currency"))
    )


def _recorded(rows: Sequence[dict[str, Any]], id_key: str) -> RecordedRef | None:
    """Our payment (CustPymt) or customer deposit (CustDep) among the rows, if NetSuite holds it."""
    found = next((r for r in rows if r.get("type") in ("CustPymt", "CustDep")), None)
    return RecordedRef(str(found[id_key]), str(found["type"])) if found else None


def _invoice_row(row: dict[str, Any], zone: tzinfo) -> InvoiceRow:
    return InvoiceRow(
        id=str(row["id"]),
        tran_id=str(row.get("tranid") or row["id"]),
        created_at=_parse_ts(row["created"], zone),
        entity_id=row.get("entity"),
        external_id=row.get("externalid"),
        order_external_id=row.get("order_eid"),
        currency=row.get("currency"),
        due_date=_parse_date(row.get("duedate")),
        total=_money(row.get("total")),
        amount_paid=_money(row.get("paid")),
        amount_unpaid=_money(row.get("unpaid")),
        modified_at=_parse_ts(row["modified"], zone) if row.get("modified") else None,
        voided=row.get("voided") == "T",
    )


def _with_lines(row: InvoiceRow, lines: Iterable[LineRow]) -> InvoiceRow:
    return InvoiceRow(**{**row.__dict__, "lines": tuple(lines)})


class FinanceGateways:
    """`FeedSources` and `ReconciliationGateways`: a `FinanceGateway` over each supplier's own
    session, its account's SuiteQL time zone learnt once (`time_zones.AccountZones`)."""

    def __init__(self, session_for: SessionFor, zones: AccountZones, page_size: int) -> None:
        self._session_for = session_for
        self._zones = zones
        self._page_size = page_size

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> FinanceGateway:
        session = self._session_for(supplier_id, integration)
        return FinanceGateway(
            session, self._page_size, functools.partial(self._zones.zone, supplier_id, session)
        )
