"""What the stores need from the runtime: its database, available once the lifespan has connected it."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase


class HasDatabase(Protocol):
    """Whatever holds the service's database once it has started (the `ServiceRuntime`)."""

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]: ...
