"""MongoDB access for omctl: one client per command, the services' databases by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient

from omctl._settings import OpsSettings


@asynccontextmanager
async def mongo(settings: OpsSettings) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url.get_secret_value(), tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    try:
        yield client
    finally:
        await client.close()
