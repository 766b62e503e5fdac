"""Shared CLI plumbing: option types, settings, running coroutines, failing with one clear line.

An on-call engineer reads omctl's errors at 3 a.m.: every expected failure (Kafka or MongoDB
unreachable, a secured cluster refusing us, bad arguments, an unknown supplier, a bad values
file) ends as ONE line on stderr that says what is wrong and what to do, and a non-zero exit.
Tracebacks are for `omctl --debug ...` only. All async work goes through `run()`, which is where
connection failures are translated; commands call `fail()` for their own refusals.

Heavy modules (aiokafka, pymongo, the contracts, the manifest renderer) are imported by the
commands when they run, never at import time: `omctl --help` stays well under half a second.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from omctl._settings import OpsSettings

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
SupplierOpt = Annotated[str | None, typer.Option("--supplier", "-s", help="Only this supplier id.")]
WideOpt = Annotated[
    bool, typer.Option("--wide", help="Show every table column, whatever the terminal width.")
]

LOCAL_HINT = "for the local stack: set -a; . ./.om-dev.env; set +a"


class _State:
    debug = False
    settings: OpsSettings | None = None


state = _State()


def settings() -> OpsSettings:
    """omctl's settings from the environment; invalid ones are one line naming the variable."""
    from pydantic import ValidationError

    from omctl._settings import OpsSettings

    try:
        built = OpsSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings in the environment: {problems}")
    state.settings = built
    return built


def run(coro: Coroutine[Any, Any, T], passthrough: tuple[type[BaseException], ...] = ()) -> T:
    """Run a command's async work; failures become one line (tracebacks with --debug).

    `passthrough`: exceptions the calling command handles itself (its own refusals).
    """
    import asyncio

    expected: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, KeyboardInterrupt, *passthrough)
    try:
        return asyncio.run(coro)
    except expected:
        raise
    except Exception as exc:
        if state.debug:
            raise
        fail(explain(exc))


def explain(exc: BaseException) -> str:
    """One sentence for an exception omctl can meet talking to Kafka or MongoDB."""
    from aiokafka import errors as kafka_errors
    from pymongo import errors as mongo_errors

    from om_platform.adapters.kafka.security import KafkaSecurityError, explain_kafka_error

    ops = state.settings
    if isinstance(exc, KafkaSecurityError):
        return str(exc)
    if isinstance(exc, kafka_errors.KafkaError) or (isinstance(exc, KeyError) and exc.args == ("v",)):
        if ops is None:
            return f"Kafka: {exc}"
        if ops.uses_tls or ops.uses_sasl:
            diagnosis = _diagnose(ops)  # aiokafka only logs why TLS or SASL failed: ask once more
            if diagnosis is not None:
                return diagnosis
        return f"{explain_kafka_error(exc, ops)} ({LOCAL_HINT})"
    if isinstance(exc, mongo_errors.OperationFailure) and exc.code in (13, 18):
        return "MongoDB refused the credentials or rights in MONGODB_URL: check the user and its roles"
    if isinstance(exc, mongo_errors.ConnectionFailure | mongo_errors.ServerSelectionTimeoutError):
        return (
            f"cannot reach MongoDB within {ops.omctl_connect_timeout_s if ops else '?'} s: check MONGODB_URL "
            f"and that the server is up and reachable from here ({LOCAL_HINT})"
        )
    if isinstance(exc, mongo_errors.ConfigurationError | mongo_errors.InvalidURI):
        return f"MONGODB_URL is not usable: {exc}"
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return str(exc.args[0])  # str() of a KeyError is the repr of its key, quotes added
    if isinstance(exc, LookupError):
        return str(exc)  # the message as written: `'garbage' is not ...` keeps its quotes
    if isinstance(exc, TimeoutError):
        return (
            f"{exc}: check that Kafka and MongoDB are up (omctl --debug shows where)"
            if str(exc)
            else "timed out waiting for Kafka or MongoDB: check that they are up (omctl --debug shows where)"
        )
    return f"unexpected {type(exc).__name__}: {exc} (omctl --debug ... shows the traceback)"


def _diagnose(ops: OpsSettings) -> str | None:
    """The precise reason a secured connection failed (certificate, SASL), if there is one."""
    import asyncio

    from om_platform.adapters.kafka.security import KafkaSecurityError, check_connection

    try:
        asyncio.run(check_connection(ops, timeout_s=ops.omctl_connect_timeout_s))
    except KafkaSecurityError as exc:
        return str(exc)
    except Exception:  # the original error stands
        return None
    return None


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero."""
    from omctl._output import errors

    errors.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
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
