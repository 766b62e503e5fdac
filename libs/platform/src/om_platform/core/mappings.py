"""Mapped entities as the core sees them: the kinds, where a resolved NetSuite id came from.

The precedence rules and the stores live in `om_platform.adapters.mongo.mappings`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from om_contracts import CUSTOMERS_TOPIC, PRODUCTS_TOPIC

Kind = Literal["customer", "product"]
Source = Literal["tab", "property", "upserted", "operator"]
"""Where a resolved id came from, in precedence order: the integration's mapping tab, the
``netsuite_id`` property of the record in the event, the latest ``*.upserted`` event, an
operator's import."""


@dataclass(frozen=True)
class Resolution:
    """One entity's NetSuite id and where it came from (both None when unmapped)."""

    netsuite_id: str | None
    source: Source | None


class MappedEntity(Protocol):
    """A customer or product as carried in an event."""

    @property
    def id(self) -> str: ...
    def property(self, name: Any) -> str | None: ...


TOPICS: dict[Kind, str] = {"customer": CUSTOMERS_TOPIC, "product": PRODUCTS_TOPIC}
"""The topic whose `*.upserted` events feed the mappings of each kind."""

OnMapping = Callable[[str, Kind, "MappedEntity"], Awaitable[None]]
"""Called as `on_mapping(supplier_id, kind, entity)` once an upsert event was stored."""
