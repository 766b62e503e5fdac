"""`omctl status`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from omctl import _output
from omctl._common import JsonOpt, SupplierOpt, WideOpt, fail, run, settings
from omctl._output import Col, emit_json, table


def status(
    supplier: SupplierOpt = None,
    group_prefix: Annotated[
        str, typer.Option("--group-prefix", help="Consumer groups to report lag for.")
    ] = "om.",
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Per supplier and flow: ledger counts, failures by code, last success, cursors; consumer lag."""
    import asyncio

    from omctl import status as status_ops

    ops = settings()

    async def gather() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        # MongoDB and Kafka at once: with both down the answer comes within one connect timeout
        suppliers, lag = await asyncio.gather(
            status_ops.suppliers(ops, supplier), status_ops.consumer_lag(ops, group_prefix)
        )
        return suppliers, lag

    per_supplier, lag = run(gather())
    if supplier is not None and supplier not in per_supplier:
        fail(
            f"no supplier {supplier!r} in any service's database (no integration, ledger, cursor or command): "
            "check the id; `omctl status` lists every supplier it knows"
        )
    if as_json:
        emit_json({"suppliers": per_supplier, "consumer_lag": lag})
        return
    rows = []
    for supplier_id, services in sorted(per_supplier.items()):
        for service, view in sorted(services.items()):
            flows = view["flows"] or {"-": {"counts": {}, "failures_by_code": {}, "last_success": None}}
            for flow, counts in flows.items():
                rows.append(
                    (
                        supplier_id,
                        service,
                        flow,
                        counts["counts"],
                        counts["failures_by_code"],
                        counts["last_success"],
                        view["integration"],
                        len(view["cursors"]),
                        view["pending_commands"],
                    )
                )
    table(
        "suppliers",
        [
            Col("supplier"),
            Col("service"),
            Col("flow"),
            Col("ledger"),
            Col("failures"),
            Col("last success", optional=True),
            Col("integration", optional=True),
            Col("cursors", optional=True, justify="right"),
            Col("queued", optional=True, justify="right"),
        ],
        rows,
        wide=wide,
    )
    mismatched = [
        (supplier_id, service, m) for supplier_id, services in sorted(per_supplier.items())
        for service, view in sorted(services.items()) for m in view.get("mismatches", [])
    ]  # fmt: skip
    if mismatched:
        table(
            "totals mismatches (NetSuite booked other totals)",
            [
                Col("record"),
                Col("number", optional=True),
                Col("Ordermentum total/tax"),
                Col("NetSuite total/tax"),
            ],
            [
                (
                    f"{m['kind']} {m['ordermentum_id']}",
                    m["number"],
                    _total(m["ordermentum"]),
                    _total(m["netsuite"]),
                )
                for _supplier, _service, m in mismatched
            ],
            wide=wide,
        )
    table(
        "consumer lag",
        [
            Col("group"),
            Col("lag", justify="right"),
            Col("state", optional=True),
            Col("members", optional=True, justify="right"),
            Col("topic", optional=True),
        ],
        [(r["group"], r["lag"], r["state"], r["members"], r["topic"]) for r in lag],
        wide=wide,
    )
    if not per_supplier and not lag:
        _output.console.print("nothing to report yet (no supplier state, no om.* consumer groups)")


def _total(totals: dict[str, Any] | None) -> str:
    return f"{totals['total']} / {totals['tax']}" if totals else "-"
