"""`omctl status`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from omctl import status as status_ops
from omctl._common import JsonOpt, SupplierOpt, run, settings
from omctl._output import console, emit_json, table


def status(
    supplier: SupplierOpt = None,
    group_prefix: Annotated[
        str, typer.Option("--group-prefix", help="Consumer groups to report lag for.")
    ] = "om.",
    as_json: JsonOpt = False,
) -> None:
    """Per supplier and flow: ledger counts, failures by code, last success, cursors; consumer lag."""
    ops = settings()

    async def gather() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return await status_ops.suppliers(ops, supplier), await status_ops.consumer_lag(ops, group_prefix)

    per_supplier, lag = run(gather())
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
                        view["integration"],
                        flow,
                        ", ".join(f"{k}={v}" for k, v in sorted(counts["counts"].items())),
                        ", ".join(f"{k}={v}" for k, v in sorted(counts["failures_by_code"].items())),
                        counts["last_success"],
                        len(view["cursors"]),
                        view["pending_commands"],
                    )
                )
    table(
        "suppliers",
        [
            "supplier",
            "service",
            "integration",
            "flow",
            "ledger",
            "failures",
            "last success",
            "cursors",
            "queued",
        ],
        rows,
    )
    mismatched = [
        (supplier_id, service, m) for supplier_id, services in sorted(per_supplier.items())
        for service, view in sorted(services.items()) for m in view.get("mismatches", [])
    ]  # fmt: skip
    if mismatched:
        table(
            "totals mismatches (NetSuite booked other totals)",
            ["record", "number", "Ordermentum total/tax", "NetSuite total/tax"],
            [
                (
                    f"{m['kind']} {m['ordermentum_id']}",
                    m["number"],
                    _total(m["ordermentum"]),
                    _total(m["netsuite"]),
                )
                for _supplier, _service, m in mismatched
            ],
        )
    table(
        "consumer lag",
        ["group", "topic", "state", "members", "lag"],
        [(r["group"], r["topic"], r["state"], r["members"], r["lag"]) for r in lag],
    )
    if not per_supplier and not lag:
        console.print("nothing to report yet (no supplier state, no om.* consumer groups)")


def _total(totals: dict[str, Any] | None) -> str:
    return f"{totals['total']} / {totals['tax']}" if totals else "-"
