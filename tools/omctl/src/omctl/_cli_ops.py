"""Commands that ask a service to act (`resync`, `run`, `cursor rewind`, `commands`) and `mappings`."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from omctl import _output
from omctl._common import JsonOpt, WideOpt, fail, run, settings, utc_time
from omctl._names import SERVICES, ServiceName
from omctl._output import Col, emit_json, mapping, table

run_app = typer.Typer(
    rich_markup_mode=None,
    help="Run a job now for a supplier (stock, catalog, finance).",
    no_args_is_help=True,
)
cursor_app = typer.Typer(
    rich_markup_mode=None, help="Polling cursors of the scheduled jobs.", no_args_is_help=True
)
commands_app = typer.Typer(
    rich_markup_mode=None, help="Operator commands queued for the services.", no_args_is_help=True
)
mappings_app = typer.Typer(
    rich_markup_mode=None, help="Customer and product mappings as CSV.", no_args_is_help=True
)

SupplierArg = Annotated[str, typer.Option("--supplier", "-s", help="Supplier id.")]
WaitOpt = Annotated[
    float, typer.Option("--wait", help="Seconds to wait for the service to finish (0: just queue it).")
]


class Service(StrEnum):
    order_sync = "order_sync"
    stock_sync = "stock_sync"
    finance_sync = "finance_sync"


def service_name(service: Service) -> ServiceName:
    names: dict[str, ServiceName] = {s: s for s in SERVICES}
    return names[service.value]


class FinanceFeature(StrEnum):
    finalised_invoices = "finalised_invoices"
    credit_notes = "credit_notes"
    paid_invoices = "paid_invoices"
    invoice_changes = "invoice_changes"


def _submit(
    service: ServiceName, command: str, supplier: str, args: dict[str, Any], wait_s: float, as_json: bool
) -> None:
    from aiokafka.errors import KafkaError

    from omctl import commands as ops_commands

    ops = settings()
    try:
        command_id = run(ops_commands.submit(ops, service, command, supplier, args))
    except (KafkaError, OSError) as exc:
        fail(f"cannot read the topics' end offsets from Kafka ({exc}); the command was not queued")
    document: dict[str, Any] | None = {"_id": command_id, "status": "pending"}
    if wait_s > 0:
        with _output.console.status(f"waiting for {service} to run {command}...", spinner="dots"):
            document = run(ops_commands.wait(ops, service, command_id, wait_s))
    document = document or {}
    if as_json:
        emit_json({"id": command_id, "service": service, "command": command} | document)
    else:
        _output.console.print(
            f"{command} for {supplier} -> {service}: {document.get('status')} (id {command_id})"
        )
        result = document.get("result")
        if isinstance(result, dict):
            mapping("result", result)
        elif result is not None:
            _output.console.print(f"result: {result}")
        if document.get("error"):
            _output.console.print(f"[red]{document['error']}[/red]")
    if document.get("status") == "failed":
        raise typer.Exit(1)
    short = ops_commands.shortfall(document.get("result")) if document.get("status") == "done" else None
    if short is not None:
        fail(f"{command} for {supplier} finished but {short}")
    if wait_s > 0 and document.get("status") not in ops_commands.FINISHED:
        fail(f"{service} did not finish within {wait_s:.0f}s (is it running?); the command stays queued", 3)


def resync(
    supplier: SupplierArg,
    code: Annotated[str | None, typer.Option("--code", help="Only records failed with this code.")] = None,
    record: Annotated[str | None, typer.Option("--record", help="One Ordermentum order/invoice id.")] = None,
    wait: WaitOpt = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Re-sync a supplier's failed records (all, by error code, or one), after the events published so far."""
    args = {k: v for k, v in {"code": code, "ordermentum_id": record}.items() if v is not None}
    _submit("order_sync", "resync", supplier, args, wait, as_json)


@run_app.command("stock")
def run_stock(supplier: SupplierArg, wait: WaitOpt = 120.0, as_json: JsonOpt = False) -> None:
    """Poll NetSuite stock for the supplier now and publish what changed."""
    _submit("stock_sync", "run_stock", supplier, {}, wait, as_json)


@run_app.command("catalog")
def run_catalog(supplier: SupplierArg, wait: WaitOpt = 120.0, as_json: JsonOpt = False) -> None:
    """Publish the supplier's NetSuite customers and items changed since the last poll, now."""
    _submit("order_sync", "run_catalog", supplier, {}, wait, as_json)


@run_app.command("finance")
def run_finance(
    supplier: SupplierArg,
    feature: Annotated[
        FinanceFeature | None, typer.Option("--feature", help="One feature; all when absent.")
    ] = None,
    wait: WaitOpt = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Run the supplier's finance jobs (finalised invoices, credit notes, paid invoices) now."""
    args = {"feature": feature.value} if feature is not None else {}
    _submit("finance_sync", "run_finance", supplier, args, wait, as_json)


@cursor_app.command("rewind")
def cursor_rewind(
    supplier: SupplierArg,
    service: Annotated[Service, typer.Option("--service", help="Service owning the cursor.")],
    job: Annotated[str, typer.Option("--job", help="Job name, e.g. finalised_invoices, stock, catalog.")],
    to: Annotated[str, typer.Option("--to", help="UTC time to rewind the cursor to (RFC 3339 with offset).")],
    wait: WaitOpt = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Move a job's polling cursor back so its next run re-reads NetSuite from that time."""
    when = utc_time(to, "--to")
    assert when is not None
    _submit(
        service_name(service), "rewind_cursor", supplier, {"job": job, "to": when.isoformat()}, wait, as_json
    )


@commands_app.command("list")
def commands_list(
    service: Annotated[
        Service | None, typer.Option("--service", help="One service; all when absent.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent N per service.")] = 20,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Recent operator commands and their outcome."""

    from omctl import commands as ops_commands

    ops = settings()
    rows: list[dict[str, Any]] = []
    for name in [service_name(service)] if service else list(SERVICES):
        rows.extend(run(ops_commands.recent(ops, name, limit)))
    if as_json:
        emit_json({"commands": rows})
        return
    table(
        "operator commands",
        [
            Col("id", optional=True),
            Col("service"),
            Col("command"),
            Col("supplier"),
            Col("status"),
            Col("requested at", optional=True),
            Col("error"),
        ],
        [
            (
                r["_id"],
                r["service"],
                r["command"],
                r["supplier_id"],
                r["status"],
                r["requested_at"],
                r.get("error"),
            )
            for r in rows
        ],
        wide=wide,
    )


@mappings_app.command("import")
def mappings_import(
    file: Annotated[
        Path, typer.Argument(help="CSV with header kind,ordermentum_id,netsuite_id ('-' = stdin).")
    ],
    supplier: SupplierArg,
    service: Annotated[
        list[Service] | None,
        typer.Option("--service", help="Service database(s) to write; default all three."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any row is rejected.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import operator mappings; reports every rejected row with its line and reason."""
    from omctl import mappings_csv

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        parsed = mappings_csv.parse(text)
    except mappings_csv.CsvFormatError as exc:
        fail(str(exc))
    targets = [service_name(s) for s in service] if service else list(SERVICES)
    from omctl import commands as ops_commands

    run(ops_commands.require_supplier(settings(), supplier, targets))
    skip = dry_run or (strict and bool(parsed.rejected))
    written = {} if skip else run(mappings_csv.import_pairs(settings(), supplier, parsed, targets))
    healing = (
        []
        if skip or "order_sync" not in targets
        else run(mappings_csv.queue_heal(settings(), supplier, parsed))
    )
    rejected: list[dict[str, Any]] = [
        {"line": r.line, "row": r.row, "reason": r.reason} for r in parsed.rejected
    ]
    if as_json:
        emit_json(
            {
                "accepted": parsed.accepted,
                "rejected": rejected,
                "written": written,
                "heal_commands": healing,
                "dry_run": dry_run,
            }
        )
    else:
        _output.console.print(f"{parsed.accepted} row(s) accepted, {len(rejected)} rejected")
        if rejected:
            table(
                "rejected rows",
                ["line", "row", "reason"],
                [(r["line"], ",".join(r["row"].values()), r["reason"]) for r in rejected],
            )
        for name, count in written.items():
            _output.console.print(f"wrote {count} mapping(s) to {name}")
        if healing:
            _output.console.print(
                f"order_sync re-syncs what they unblock by itself (command {', '.join(healing)})"
            )
    if parsed.rejected and strict:
        raise typer.Exit(1)


@mappings_app.command("export")
def mappings_export(
    supplier: SupplierArg,
    service: Annotated[Service, typer.Option("--service", help="Whose view to export.")] = Service.order_sync,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; stdout when absent.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a supplier's effective mappings as CSV (the same columns import reads)."""
    from omctl import commands as ops_commands
    from omctl import mappings_csv

    ops = settings()
    run(ops_commands.require_supplier(ops, supplier, [service_name(service)]))
    rows = run(mappings_csv.export_rows(ops, supplier, service_name(service)))
    if as_json:
        document = {"supplier_id": supplier, "service": service.value, "mappings": rows}
        if output is None:
            emit_json(document)
            return
        output.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        emit_json({"written": len(rows), "output": str(output)})
        return
    text = mappings_csv.to_csv(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        _output.console.print(f"wrote {len(rows)} mapping(s) to {output}")
