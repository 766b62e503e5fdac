"""``netsuite.sync-results.v1``: the outcome of every order/invoice these services handled.

CONTRACTS.md, "Outbound". Synced, cancelled and voided results carry the NetSuite record;
failed results carry an ``error`` with a stable ``code`` and every problem found in ``details``.
A synced result may also carry ``totals`` (Ordermentum's and NetSuite's, read back after the
write) and ``warnings``; ``TOTALS_MISMATCH`` says NetSuite booked other totals than Ordermentum's
while the record is still synced.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from om_contracts._base import OutboundModel
from om_contracts._envelope import OutboundEnvelope
from om_contracts._ids import NetSuiteId, OrdermentumId
from om_contracts._money import Money


class ErrorCode(StrEnum):
    """Stable failure codes (CONTRACTS.md). Consumers may branch on them; never rename one.

    ``NOT_CANCELLABLE`` and ``NOT_VOIDABLE`` are additions of these services for refusals
    NetSuite makes on follow-ups: the sales order is already fulfilled or billed, so it cannot be
    closed; the invoice has payments or credits applied. ``UNMAPPED_TAX_RATE``: the integration
    maps tax rates to NetSuite tax codes (``tax_codes``) but not the rate of a line (the detail
    names the rate).
    """

    UNMAPPED_CUSTOMER = "UNMAPPED_CUSTOMER"
    UNMAPPED_PRODUCT = "UNMAPPED_PRODUCT"
    MISSING_FREIGHT_ITEM = "MISSING_FREIGHT_ITEM"
    MISSING_SURCHARGE_ITEM = "MISSING_SURCHARGE_ITEM"
    INTEGRATION_NOT_CONFIGURED = "INTEGRATION_NOT_CONFIGURED"
    NETSUITE_REJECTED = "NETSUITE_REJECTED"
    NETSUITE_AUTH_FAILED = "NETSUITE_AUTH_FAILED"
    NETSUITE_UNAVAILABLE = "NETSUITE_UNAVAILABLE"
    INVALID_EVENT = "INVALID_EVENT"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    NOT_VOIDABLE = "NOT_VOIDABLE"
    UNMAPPED_TAX_RATE = "UNMAPPED_TAX_RATE"


class WarningCode(StrEnum):
    """Stable warning codes of a synced outcome; never rename one.

    ``TOTALS_MISMATCH``: the totals (or the line count) NetSuite computed for the record differ
    from Ordermentum's, typically because NetSuite applied its own tax codes, price levels or
    rounding. The record is synced; someone has to look at it.
    """

    TOTALS_MISMATCH = "TOTALS_MISMATCH"


SyncKind = Literal["order", "invoice"]


class NetSuiteRecordRef(OutboundModel):
    """The NetSuite record an Ordermentum order or invoice became."""

    record_type: str = Field(description="NetSuite REST record type, e.g. 'salesOrder'.")
    internal_id: NetSuiteId
    external_id: str = Field(description="Deterministic external id, e.g. 'OM-ORDER-ord_8f3a2c'.")
    tran_id: str | None = Field(default=None, description="NetSuite transaction number (tranId).")


class TransactionTotals(OutboundModel):
    """One side's totals of a transaction, compared after the write."""

    subtotal: Money = Field(description="Total before tax, freight and surcharge lines included.")
    tax: Money = Field(description="Total tax.")
    total: Money = Field(description="Total including tax.")
    lines: int | None = Field(
        default=None, ge=0, description="Number of item lines (freight and surcharge included)."
    )


class ComparedTotals(OutboundModel):
    """Ordermentum's totals next to the ones NetSuite booked."""

    ordermentum: TransactionTotals = Field(description="Totals as Ordermentum computed them.")
    netsuite: TransactionTotals = Field(description="Totals as NetSuite booked them (read back).")


class SyncWarning(OutboundModel):
    """Something to look at on a record that did sync."""

    code: WarningCode = Field(description="Stable warning code, e.g. 'TOTALS_MISMATCH'.")
    message: str = Field(description="What differs, in plain English.")


class ErrorDetail(OutboundModel):
    """One problem behind a failure (all problems are listed, not only the first)."""

    reason: str = Field(description="What is wrong, in plain English.")
    path: str | None = Field(default=None, description="Field path the problem is about.")
    ordermentum_id: str | None = Field(
        default=None, description="Ordermentum id concerned, e.g. the unmapped product."
    )
    netsuite_code: str | None = Field(
        default=None, description="NetSuite's own error code (o:errorCode), when it answered."
    )


class SyncError(OutboundModel):
    """Why a sync failed."""

    code: ErrorCode = Field(description="Stable failure code.")
    message: str = Field(description="Human-readable summary.")
    retryable: bool = Field(description="Whether the same event may succeed if retried later.")
    details: tuple[ErrorDetail, ...] = Field(default=(), description="Every problem found.")


class _SyncResult(OutboundModel):
    source_event_id: str = Field(description="event_id of the Ordermentum event handled.")
    kind: SyncKind = Field(description="'order' or 'invoice'.")
    ordermentum_id: OrdermentumId
    number: str = Field(description="Ordermentum order or invoice number.")
    attempts: int = Field(ge=1, description="How many attempts were made.")


class SyncSucceeded(_SyncResult):
    """A successful sync (synced, cancelled or voided): the NetSuite record is known."""

    netsuite: NetSuiteRecordRef = Field(description="The NetSuite record.")
    totals: ComparedTotals | None = Field(
        default=None,
        description="Ordermentum's and NetSuite's totals, when NetSuite's were read back after the write.",
    )
    warnings: tuple[SyncWarning, ...] = Field(
        default=(), description="Warnings, e.g. TOTALS_MISMATCH; the record is synced regardless."
    )


class SyncFailed(_SyncResult):
    """A failed sync, with the reason."""

    netsuite: NetSuiteRecordRef | None = Field(
        default=None, description="The NetSuite record, when one already exists."
    )
    error: SyncError = Field(description="Why it failed.")


ResultT = TypeVar("ResultT", bound="SyncSucceeded | SyncFailed")


class _SyncResultEnvelope(OutboundEnvelope[ResultT], Generic[ResultT]):
    """A sync-result event whose ``data.kind`` must agree with its event type."""

    expected_kind: ClassVar[SyncKind]

    @model_validator(mode="after")
    def _kind_matches_event_type(self) -> Self:
        if self.data.kind != self.expected_kind:
            raise PydanticCustomError(
                "sync_kind",
                "data.kind must be '{kind}' for {event_type}",
                {"kind": self.expected_kind, "event_type": self.event_type},
            )
        return self


class NetSuiteOrderSynced(_SyncResultEnvelope[SyncSucceeded]):
    """An order was created or updated in NetSuite as a sales order."""

    expected_kind: ClassVar[SyncKind] = "order"

    event_type: Literal["netsuite.order.synced"] = Field(
        default="netsuite.order.synced", description="Always 'netsuite.order.synced'."
    )


class NetSuiteOrderFailed(_SyncResultEnvelope[SyncFailed]):
    """An order could not be synced."""

    expected_kind: ClassVar[SyncKind] = "order"

    event_type: Literal["netsuite.order.failed"] = Field(
        default="netsuite.order.failed", description="Always 'netsuite.order.failed'."
    )


class NetSuiteOrderCancelled(_SyncResultEnvelope[SyncSucceeded]):
    """An order's sales order was closed in NetSuite."""

    expected_kind: ClassVar[SyncKind] = "order"

    event_type: Literal["netsuite.order.cancelled"] = Field(
        default="netsuite.order.cancelled", description="Always 'netsuite.order.cancelled'."
    )


class NetSuiteInvoiceSynced(_SyncResultEnvelope[SyncSucceeded]):
    """An invoice was created or updated in NetSuite."""

    expected_kind: ClassVar[SyncKind] = "invoice"

    event_type: Literal["netsuite.invoice.synced"] = Field(
        default="netsuite.invoice.synced", description="Always 'netsuite.invoice.synced'."
    )


class NetSuiteInvoiceFailed(_SyncResultEnvelope[SyncFailed]):
    """An invoice could not be synced."""

    expected_kind: ClassVar[SyncKind] = "invoice"

    event_type: Literal["netsuite.invoice.failed"] = Field(
        default="netsuite.invoice.failed", description="Always 'netsuite.invoice.failed'."
    )


class NetSuiteInvoiceVoided(_SyncResultEnvelope[SyncSucceeded]):
    """An invoice was voided in NetSuite."""

    expected_kind: ClassVar[SyncKind] = "invoice"

    event_type: Literal["netsuite.invoice.voided"] = Field(
        default="netsuite.invoice.voided", description="Always 'netsuite.invoice.voided'."
    )


SyncResultEvent = Annotated[
    NetSuiteOrderSynced
    | NetSuiteOrderFailed
    | NetSuiteOrderCancelled
    | NetSuiteInvoiceSynced
    | NetSuiteInvoiceFailed
    | NetSuiteInvoiceVoided,
    Field(discriminator="event_type"),
]
