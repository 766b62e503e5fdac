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
    account: Annotated[
        str | None, typer.Option("--account", help="Only this NetSuite account's budget shares.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per supplier and flow: ledger counts, failures by code, last success, cursors; consumer lag;
    NetSuite budget shares per account in use."""
    ops = settings()

    async def gather() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            await status_ops.suppliers(ops, supplier),
            await status_ops.consumer_lag(ops, group_prefix),
            await status_ops.budget_shares(ops, account),
        )

    per_supplier, lag, shares = run(gather())
    if as_json:
        emit_json({"suppliers": per_supplier, "consumer_lag": lag, "netsuite_budget": shares})
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
    table(
        "consumer lag",
        ["group", "topic", "state", "members", "lag"],
        [(r["group"], r["topic"], r["state"], r["members"], r["lag"]) for r in lag],
    )
    table(
        "netsuite budget",
        ["account", "holder", "share", "demand", "limit", "expires in s"],
        [(r["account"], r["holder"], r["share"], r["demand"], r["limit"], r["expires_in_s"]) for r in shares],
    )
    if not per_supplier and not lag:
        console.print("nothing to report yet (no supplier state, no om.* consumer groups)")
