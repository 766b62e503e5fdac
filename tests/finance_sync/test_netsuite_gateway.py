"""The gateway's parsing of NetSuite answers and its translation of a refused write (stub session).

The queries themselves run against the simulator in the flow tests; here the rows a session
answers are given, to pin what the use cases receive: typed values, never NetSuite's dicts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from finance_sync.adapters.netsuite_gateway import FinanceGateway
from finance_sync.domain.reconciliation import (
    FoundInvoice,
    FoundOrder,
    OpenInvoice,
    RecordedPayment,
    RecordedRef,
)
from finance_sync.service_layer.ports import RefusedByNetSuite
from om_netsuite import PermanentError


@dataclass
class StubSession:
    """Answers every SuiteQL query with `rows`, a record GET with `record`; `refuse` fails upserts."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    refuse: bool = False

    async def suiteql(self, query: str, params: Sequence[object], **_: Any) -> AsyncIterator[dict[str, Any]]:
        for row in self.rows:
            yield row

    async def get(self, record_type: str, internal_id: str, **_: Any) -> dict[str, Any]:
        return self.record

    async def upsert(self, record_type: str, external_id: str, body: dict[str, Any], **_: Any) -> str:
        if self.refuse:
            raise PermanentError("refused", status=400, top_code="INVALID_FLD_VALUE")
        return "501"


def gateway(session: StubSession) -> FinanceGateway:
    stub: Any = session
    return FinanceGateway(stub)


async def test_invoices_found_are_typed_and_our_payment_rides_along() -> None:
    session = StubSession(
        rows=[
            {"id": 101, "type": "CustInvc", "tranid": "INV1", "externalid": "OM-INV-inv_1", "entity": "812",
             "unpaid": "127.5"},
            {"id": 102, "type": "CustInvc", "tranid": "INV2", "externalid": None, "entity": "812",
             "unpaid": None},
            {"id": 900, "type": "CustPymt", "tranid": None, "externalid": "OM-PAY-pay_1", "entity": "812"},
        ]
    )  # fmt: skip
    found = await gateway(session).find_invoices(["OM-INV-inv_1"], ["INV2"], "OM-PAY-pay_1")
    assert found.recorded_payment == RecordedRef("900", "CustPymt")
    assert found.invoices == (
        FoundInvoice("OM-INV-inv_1", "INV1", OpenInvoice("101", "812", Decimal("127.50"))),
        FoundInvoice(None, "INV2", OpenInvoice("102", "812", Decimal(0))),
    )


async def test_orders_found_group_their_invoices_under_the_order_external_id() -> None:
    session = StubSession(
        rows=[
            {"so_id": 7, "type": "SalesOrd", "externalid": "OM-ORDER-o1", "entity": "812",
             "invoice_id": 101, "invoice_entity": "812", "unpaid": "40", "so_currency": "2", "currency": "2"},
            {"so_id": 7, "type": "SalesOrd", "externalid": "OM-ORDER-o1", "entity": "812",
             "invoice_id": 102, "invoice_entity": "812", "unpaid": "10.00"},
            {"so_id": 8, "type": "SalesOrd", "externalid": "OM-ORDER-o2", "entity": "813",
             "invoice_id": None, "invoice_entity": None, "unpaid": None},
        ]
    )  # fmt: skip
    found = await gateway(session).find_orders(["OM-ORDER-o1", "OM-ORDER-o2"], "OM-PAY-pay_1")
    assert found.recorded_payment is None
    assert found.orders == {
        "OM-ORDER-o1": FoundOrder(
            "812",
            (OpenInvoice("101", "812", Decimal("40.00"), "2"), OpenInvoice("102", "812", Decimal("10.00"))),
            netsuite_id="7",
            currency_id="2",
        ),
        "OM-ORDER-o2": FoundOrder("813", (), netsuite_id="8"),
    }


async def test_a_recorded_payment_keeps_only_the_applied_lines() -> None:
    session = StubSession(
        record={
            "customer": {"id": "812"},
            "apply": {"items": [
                {"doc": {"id": "101"}, "apply": True, "amount": 60.0},
                {"doc": {"id": "102"}, "apply": False, "amount": 5},
                {"apply": True, "amount": 1},
            ]},
        }
    )  # fmt: skip
    assert await gateway(session).customer_payment(RecordedRef("900", "CustPymt")) == RecordedPayment(
        "812", (("101", Decimal("60.00")),)
    )


async def test_a_refused_payment_is_translated_with_netsuites_code() -> None:
    with pytest.raises(RefusedByNetSuite) as refused:
        await gateway(StubSession(refuse=True)).upsert_customer_payment("OM-PAY-pay_1", {})
    assert refused.value.code == "INVALID_FLD_VALUE"
    assert await gateway(StubSession()).upsert_customer_payment("OM-PAY-pay_1", {}) == "501"
