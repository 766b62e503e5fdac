"""Every line a service writes is one JSON object (issue 25): its own logs, FastStream's, uvicorn's,
asyncio's and Python warnings, from start-up to a graceful shutdown.

Each service runs as a real process (`python -m <service>`) against the embedded broker, the
Mongo-protocol server and the NetSuite simulator, in Python's development mode (asyncio debug
logging and every warning shown), with DEBUG logs; the test then parses every line of its output.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from om_contracts import KeyRing

pytestmark = pytest.mark.integration

SERVICES = ("order_sync", "stock_sync", "finance_sync")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def launch(service: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", service], env=env, stdout=sink, stderr=sink)


async def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until /health/ready answers 200 (bounded: the process exiting or 90 s fail the test)."""
    async with httpx2.AsyncClient(timeout=2) as client:
        for _ in range(450):
            if process.poll() is not None:
                pytest.fail(f"exited with {process.returncode}:\n{tail(log)}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.2)  # polling a port: there is no event to await across processes
    pytest.fail(f"not ready after 90 s:\n{tail(log)}")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("service", SERVICES)
async def test_every_line_of_a_service_run_is_json(
    service: str, kafka_bootstrap: str, mongo_url: str, simulator: Any, unique_name: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
        "KAFKA_CONSUMER_GROUP": f"logs-{unique_name}",
        "MONGODB_URL": mongo_url,
        "MONGODB_DATABASE": f"logs_{unique_name}",
        "NETSUITE_BUDGET_DATABASE": f"budget_{unique_name}",
        "NETSUITE_CREDENTIALS_KEYS": KeyRing.generate_key(),
        "NETSUITE_BASE_URL": simulator.base_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "SHUTDOWN_GRACE_S": "2",
        "PYTHONDEVMODE": "1",  # asyncio debug mode and every warning: both must come out as JSON
        "PYTHONWARNINGS": "always",
    }
    log = tmp_path / f"{service}.log"
    process = launch(service, env, log)
    try:
        await wait_ready(process, port, log)
        async with httpx2.AsyncClient(timeout=5) as client:  # requests uvicorn may log
            assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
            assert (await client.get(f"http://127.0.0.1:{port}/no-such-page")).status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 60)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)
    lines = (await asyncio.to_thread(log.read_text, encoding="utf-8")).splitlines()
    assert lines
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"{service} line {number} is not JSON: {line!r}")
        assert isinstance(entry, dict), line
        assert {"ts", "level", "logger", "msg"} <= entry.keys(), line
        entries.append(entry)
    loggers = {entry["logger"] for entry in entries}
    assert any(name.startswith("uvicorn") for name in loggers), loggers
    assert any(name.startswith("faststream") for name in loggers), loggers
    started = [e for e in entries if "Application startup complete" in e["msg"]]
    assert len(started) == 1, started  # once, not twice
    assert "\x1b[" not in "\n".join(lines)  # no colour codes, not even inside a field
    # uvicorn re-raises the SIGTERM it handled once the lifespan has drained: a clean exit is that
    assert process.returncode in (0, -signal.SIGTERM), lines[-5:]
    assert any("Finished server process" in e["msg"] for e in entries)


def test_warnings_library_loggers_and_the_active_span_all_come_out_as_json(monkeypatch) -> None:
    import io
    import logging
    import threading
    import warnings

    from opentelemetry.sdk.trace import TracerProvider

    from om_platform.logging import configure_logging

    out = io.StringIO()
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for hook in ("excepthook", "unraisablehook"):
        monkeypatch.setattr(sys, hook, getattr(sys, hook))
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    faststream = logging.getLogger("faststream")
    monkeypatch.setattr(faststream, "handlers", [logging.StreamHandler(out)])  # as FastStream installs it
    monkeypatch.setattr(faststream, "propagate", False)
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("INFO", "json")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a deprecated call", DeprecationWarning, stacklevel=1)
        faststream.info("FastStream app starting...")
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("work") as span:
            logging.getLogger("om_platform.test").info("inside a span")
        thread = threading.Thread(target=lambda: 1 / 0, name="worker")
        thread.start()
        thread.join()
    finally:
        logging.captureWarnings(False)
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    by_logger = {e["logger"]: e for e in entries}
    assert "a deprecated call" in by_logger["py.warnings"]["msg"]
    assert by_logger["faststream"]["msg"] == "FastStream app starting..."
    context = span.get_span_context()
    inside = next(e for e in entries if e["msg"] == "inside a span")
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in by_logger["faststream"]
    crash = by_logger["om_platform.uncaught"]
    assert "thread worker" in crash["msg"]
    assert "ZeroDivisionError" in crash["exc"]
