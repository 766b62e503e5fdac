"""Shared CLI plumbing: option types, settings, running coroutines, exit with a clear message."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from omctl._output import errors
from omctl._settings import OpsSettings

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
SupplierOpt = Annotated[str | None, typer.Option("--supplier", "-s", help="Only this supplier id.")]


def settings() -> OpsSettings:
    return OpsSettings()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def utc_time(value: str | None, name: str) -> datetime | None:
    """Parse an RFC 3339 time that states its offset (`Z` or `+10:00`); refuse a naive one."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{name}: {value!r} is not an RFC 3339 time such as 2026-11-24T09:00:00Z")
    if parsed.tzinfo is None:
        fail(f"{name}: {value!r} has no UTC offset; write it explicitly, e.g. 2026-11-24T09:00:00Z")
    return parsed
