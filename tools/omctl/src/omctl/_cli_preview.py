"""`omctl preview`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omctl import _output
from omctl._common import JsonOpt, SupplierOpt, WideOpt, fail, run, settings
from omctl._output import Col, emit_json, table

if TYPE_CHECKING:
    from omctl import preview as preview_ops


def preview(
    file: Annotated[
        Path | None, typer.Argument(help="An order or invoice event (the JSON envelope) to preview.")
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="Preview this event, read from its topic instead.")
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="With --event-id: search only this topic.")
    ] = None,
    supplier: SupplierOpt = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Print the NetSuite request order_sync would send for an event, each mapping decision and every
    problem that would fail it. Nothing is written: NetSuite is only read (currencies).

    Exit status 1 when the record would fail.
    """
    from omctl import preview as preview_ops  # imported when run: `omctl --help` stays fast

    if (file is None) == (event_id is None):
        fail("give an event file or --event-id (one of them)")
    ops = settings()
    try:
        if file is not None:
            source, raw = preview_ops.read_file(file)
        else:
            topics = (topic,) if topic else preview_ops.TOPICS
            source, raw = run(preview_ops.find_event(ops, str(event_id), topics=topics, supplier_id=supplier))
    except (OSError, ValueError, LookupError) as exc:
        fail(str(exc))
    result = run(preview_ops.preview(ops, source, raw))
    if as_json:
        emit_json(result.as_dict())
    else:
        _show(result, wide)
    if result.problems:
        raise typer.Exit(1)


def _show(result: preview_ops.Preview, wide: bool) -> None:
    console = _output.console
    what = f" ({result.ordermentum_id})" if result.ordermentum_id else ""
    console.print(f"{result.event_type} {result.event_id} of {result.supplier_id}{what}: nothing is written")
    if result.note:
        console.print(result.note)
    if result.decisions:
        table(
            "mapping decisions",
            [Col("field"), Col("NetSuite id"), Col("source")],
            [(d.field, d.value, d.source) for d in result.decisions],
            wide=wide,
        )
    if result.problems:
        table(
            "problems (the record would fail)",
            [Col("code"), Col("path", optional=True), Col("reason")],
            [(p.code, p.path, p.reason) for p in result.problems],
            wide=wide,
        )
    request = result.request
    if request is None:
        if not result.note:
            console.print("no request would be sent")
        return
    console.print(f"request: {request.method} {request.url}")
    for name, value in request.headers.items():
        console.print(f"  {name}: {value}")
    # Plain print: rich would wrap and re-colour the JSON; this is the body byte for byte (indented).
    print(json.dumps(request.body, indent=2, ensure_ascii=False))
