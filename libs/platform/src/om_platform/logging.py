"""Structured JSON logs with the supplier and event being processed.

`bind_event(...)` sets context variables that every log record emitted inside it carries, so
handlers never pass `supplier_id`/`event_id` around just for logging. Credentials never reach
a log line: they are held as secret types whose repr is masked.

With `LOG_FORMAT=json` every line the process writes is one JSON object (tests/platform/
test_json_logs.py runs each service and parses every line): libraries that install their own
handlers (FastStream's coloured `faststream` logger, uvicorn's) are made to propagate to the one
root handler instead, Python warnings go through logging (`py.warnings`), and uncaught exceptions
(main thread, other threads, "exception ignored" ones) are logged rather than printed. A line
written while an OpenTelemetry span is active carries its `trace_id` and `span_id` (W3C hex).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from opentelemetry import trace

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "om_log_context", default=None
)

# uvicorn adds `color_message` (the message again, with ANSI colour codes) to its records
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


@contextmanager
def bind_event(**fields: str) -> Iterator[None]:
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, bound context and `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        entry.update(_context.get() or {})
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream (`faststream`, `faststream.access.*`) and uvicorn attach handlers of their own
    # that write coloured text and stop propagation: one handler, the root's, writes every line
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.name.split(".")[0] in _OWN_HANDLERS:
            logger.handlers[:] = []
            logger.propagate = True
    logging.captureWarnings(True)  # warnings.warn -> logger py.warnings
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception
    sys.unraisablehook = _log_unraisable
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, root.level))
    # FastStream logs every message at INFO ("callback ... is being executed"); our edge logs outcomes.
    logging.getLogger("faststream.access").setLevel(max(logging.WARNING, root.level))


_OWN_HANDLERS = frozenset({"faststream", "uvicorn"})
_crash = logging.getLogger("om_platform.uncaught")


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    _crash.critical("uncaught exception: %s: %s", kind.__name__, value, exc_info=(kind, value, traceback))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else "?"
    value = args.exc_value if args.exc_value is not None else args.exc_type()
    _crash.error(
        "uncaught exception in thread %s: %s",
        thread,
        value,
        exc_info=(args.exc_type, value, args.exc_traceback),
    )


def _log_unraisable(unraisable: Any) -> None:
    value = unraisable.exc_value
    _crash.warning(
        "exception ignored in %r: %s",
        unraisable.object,
        value,
        exc_info=(unraisable.exc_type, value, unraisable.exc_traceback) if value is not None else None,
    )
