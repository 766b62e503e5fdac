"""MongoDB access for omctl: one client per command, the services' databases by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient

from omctl._settings import OpsSettings


@asynccontextmanager
async def mongo(settings: OpsSettings) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    timeout_ms = int(settings.omctl_connect_timeout_s * 1000)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )
    try:
        yield client
    finally:
        await client.close()
