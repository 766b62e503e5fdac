"""`omctl status`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from omctl import _output
from omctl._common import JsonOpt, SupplierOpt, WideOpt, fail, run, settings
from omctl._output import Col, emit_json, table


class State(StrEnum):
    """A supplier's NetSuite connection state (om_contracts' ConnectionState; a test keeps them equal)."""

    connected = "connected"
    auth_failed = "auth_failed"
    permission_missing = "permission_missing"
    rate_limited = "rate_limited"
    unreachable = "unreachable"


def status(
    supplier: SupplierOpt = None,
    state: Annotated[
        list[State] | None,
        typer.Option(
            "--state", help="Only suppliers whose NetSuite connection is in this state (repeatable)."
        ),
    ] = None,
    group_prefix: Annotated[
        str, typer.Option("--group-prefix", help="Consumer groups to report lag for.")
    ] = "om.",
    account: Annotated[
        str | None, typer.Option("--account", help="Only this NetSuite account's budget shares.")
    ] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Per supplier and flow: ledger counts, failures by code, last success, cursors; health (NetSuite
    connection state, time since the last success, oldest unresolved failure, records parked);
    consumer lag; NetSuite budget shares per account in use."""
    import asyncio

    from omctl import status as status_ops

    ops = settings()

    async def gather() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        # MongoDB and Kafka at once: with both down the answer comes within one connect timeout
        suppliers, lag, shares = await asyncio.gather(
            status_ops.suppliers(ops, supplier),
            status_ops.consumer_lag(ops, group_prefix),
            status_ops.budget_shares(ops, account),
        )
        return suppliers, lag, shares

    per_supplier, lag, shares = run(gather())
    if supplier is not None and supplier not in per_supplier:
        fail(
            f"no supplier {supplier!r} in any service's database (no integration, ledger, cursor or command): "
            "check the id; `omctl status` lists every supplier it knows"
        )
    if state:
        wanted = {s.value for s in state}
        per_supplier = {
            sid: services for sid, services in per_supplier.items() if _state_of(services) in wanted
        }
    idle = account is not None and not any(r["live"] for r in shares)
    if as_json:
        document: dict[str, Any] = {"suppliers": per_supplier, "consumer_lag": lag, "netsuite_budget": shares}
        if account is not None:
            document["account"] = {"id": account, "idle": idle}
        emit_json(document)
        return
    if state and not per_supplier:
        _output.console.print(f"no supplier whose connection is {' or '.join(s.value for s in state)}")
    _supplier_tables(per_supplier, wide)
    _platform_tables(lag, shares, wide)
    if idle:
        _output.console.print(
            f"netsuite account {account}: idle (no process holds a share of its concurrency limit)"
        )
    if not per_supplier and not lag and not shares and not state and account is None:
        _output.console.print("nothing to report yet (no supplier state, no om.* consumer groups)")


_SUPPLIER_COLUMNS = (
    Col("supplier"),
    Col("service"),
    Col("flow"),
    Col("ledger"),
    Col("failures"),
    Col("last success", optional=True),
    Col("integration", optional=True),
    Col("cursors", optional=True, justify="right"),
    Col("queued", optional=True, justify="right"),
)
_HEALTH_COLUMNS = (
    Col("supplier"),
    Col("connection"),
    Col("service"),
    Col("last success"),
    Col("oldest failure"),
    Col("parked", justify="right"),
    Col("flow", optional=True),
)
_MISMATCH_COLUMNS = (
    Col("record"),
    Col("number", optional=True),
    Col("Ordermentum total/tax"),
    Col("NetSuite total/tax"),
)
_LAG_COLUMNS = (
    Col("group"),
    Col("lag", justify="right"),
    Col("state", optional=True),
    Col("members", optional=True, justify="right"),
    Col("topic", optional=True),
)
_BUDGET_COLUMNS = (
    Col("account"),
    Col("holder"),
    Col("share", justify="right"),
    Col("demand", optional=True, justify="right"),
    Col("limit", optional=True, justify="right"),
    Col("expires in s", optional=True, justify="right"),
)
_NO_FLOWS: dict[str, dict[str, Any]] = {"-": {"counts": {}, "failures_by_code": {}, "last_success": None}}


def _views(per_supplier: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(supplier, service, view) in the order the tables list them."""
    return [
        (supplier_id, service, view)
        for supplier_id, services in sorted(per_supplier.items())
        for service, view in sorted(services.items())
    ]


def _supplier_tables(per_supplier: dict[str, Any], wide: bool) -> None:
    """The ledger per supplier and flow; the health per flow; the totals NetSuite booked otherwise."""
    views = _views(per_supplier)
    rows = [
        (supplier_id, service, flow, counts["counts"], counts["failures_by_code"], counts["last_success"],
         view["integration"], len(view["cursors"]), view["pending_commands"])
        for supplier_id, service, view in views
        for flow, counts in (view["flows"] or _NO_FLOWS).items()
    ]  # fmt: skip
    table("suppliers", _SUPPLIER_COLUMNS, rows, wide=wide)
    now = datetime.now(UTC)
    health = [
        (supplier_id, _connection(view.get("connection"), now), service, _age(fresh.get("last_success"), now),
         _age(fresh.get("oldest_failure"), now), fresh.get("parked", 0), flow)
        for supplier_id, service, view in views
        for flow, fresh in sorted(view.get("freshness", {}).items())
    ]  # fmt: skip
    if health:
        table("health (ages: time since)", _HEALTH_COLUMNS, health, wide=wide)
    mismatched = [
        (f"{m['kind']} {m['ordermentum_id']}", m["number"], _total(m["ordermentum"]), _total(m["netsuite"]))
        for _supplier, _service, view in views
        for m in view.get("mismatches", [])
    ]
    if mismatched:
        table("totals mismatches (NetSuite booked other totals)", _MISMATCH_COLUMNS, mismatched, wide=wide)


def _platform_tables(lag: list[dict[str, Any]], shares: list[dict[str, Any]], wide: bool) -> None:
    """Consumer lag per group; the NetSuite budget's shares per account."""
    table(
        "consumer lag",
        _LAG_COLUMNS,
        [(r["group"], r["lag"], r["state"], r["members"], r["topic"]) for r in lag],
        wide=wide,
    )
    if shares:
        table(
            "netsuite budget (shares of each account's concurrency limit)",
            _BUDGET_COLUMNS,
            [
                (r["account"], r["holder"], r["share"], r["demand"], r["limit"], r["expires_in_s"])
                for r in shares
            ],
            wide=wide,
        )


def _state_of(services: dict[str, Any]) -> str:
    """The supplier's connection state (the shared document every service's view carries)."""
    for view in services.values():
        connection = view.get("connection") or {}
        return str(connection.get("state", "connected"))
    return "connected"


def _age(moment: datetime | None, now: datetime) -> str:
    """`12s`, `4m`, `3h`, `2d` since `moment`; `-` when there is none."""
    if moment is None:
        return "-"
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    seconds = max(0, int((now - aware).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _connection(connection: dict[str, Any] | None, now: datetime) -> str:
    """`auth_failed 12m`, `permission_missing 3m (Customer Deposit)`, `connected`."""
    if not connection or connection.get("state", "connected") == "connected":
        return "connected"
    text = f"{connection['state']} {_age(connection.get('since'), now)}"
    return f"{text} ({connection['detail']})" if connection.get("detail") else text


def _total(totals: dict[str, Any] | None) -> str:
    return f"{totals['total']} / {totals['tax']}" if totals else "-"
