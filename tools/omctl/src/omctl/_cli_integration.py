"""`omctl integration check`."""

from __future__ import annotations

from typing import Annotated

import typer

from omctl import _output
from omctl._cli_ops import Service, service_name
from omctl._common import JsonOpt, run, settings
from omctl._output import emit_json

integration_app = typer.Typer(
    rich_markup_mode=None, help="A supplier's NetSuite integration.", no_args_is_help=True
)


@integration_app.command("check")
def check(
    supplier: Annotated[str, typer.Option("--supplier", "-s", help="Supplier id.")],
    service: Annotated[
        Service, typer.Option("--service", help="Whose copy of the integration settings to read.")
    ] = Service.order_sync,
    as_json: JsonOpt = False,
) -> None:
    """Verify credentials, realm, permissions and locations with harmless NetSuite calls."""
    from omctl import integration_check

    steps = run(integration_check.check(settings(), supplier, service_name(service)))
    ok = all(step.ok for step in steps)
    if as_json:
        emit_json({"supplier_id": supplier, "ok": ok, "steps": integration_check.as_dicts(steps)})
    else:
        for step in steps:
            mark = "[green]ok[/green]  " if step.ok else "[red]FAIL[/red]"
            _output.console.print(f"{mark} {step.name}: {step.detail}")
            if step.advice:
                _output.console.print(f"      [yellow]{step.advice}[/yellow]")
    if not ok:
        raise typer.Exit(1)
