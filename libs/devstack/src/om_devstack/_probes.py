"""Readiness probes: poll until a server answers its own protocol, or time out."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

__all__ = ["free_port", "http_answers", "kafka_answers", "mongo_answers", "tcp_answers", "wait_until"]


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def tcp_answers(host: str, port: int) -> bool:
    """True if something accepts a TCP connection on host:port."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_answers(host: str, port: int, path: str) -> bool:
    """True if an HTTP server on host:port answers ``GET path`` with any status line."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 2.0)
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return status.startswith(b"HTTP/")


async def kafka_answers(bootstrap: str, client: Mapping[str, Any] | None = None) -> bool:
    """True if the broker answers a metadata request (``client``: connection arguments for TLS/SASL)."""
    host, _, port = bootstrap.rpartition(":")
    if not await tcp_answers(host, int(port)):
        return False
    options: dict[str, Any] = {"bootstrap_servers": bootstrap, "request_timeout_ms": 2000}
    admin = AIOKafkaAdminClient(**(options | dict(client or {})))
    try:
        await admin.start()
        await admin.list_topics()
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return True


async def mongo_answers(url: str) -> bool:
    """True if the server answers ``ping``."""
    # A cheap TCP check first: a pymongo client that found nothing listening waits for its
    # next heartbeat (≥ 0.5 s) before trying again.
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # several hosts: let pymongo deal with it
        host, port = None, None
    if host is not None and port is not None and not await tcp_answers(host, port):
        return False
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
    )
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    finally:
        await client.close()
    return True


async def wait_until(
    probe: Callable[[], Awaitable[bool]],
    timeout: float,
    exited: Callable[[], int | None] = lambda: None,
) -> str | None:
    """Poll ``probe`` until true; return ``None`` on success or a reason on failure.

    ``exited`` lets a dead child fail fast instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if await probe():
            return None
        code = exited()
        if code is not None:
            return f"process exited with code {code}"
        if time.monotonic() >= deadline:
            return f"no answer within {timeout:.0f} s"
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)
