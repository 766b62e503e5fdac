"""How a catalog polling cursor (the high-water mark per supplier and kind) sits in its document.

The store is the platform's `MongoCursors` (collection `catalog_cursors`, stream field `kind`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HighWaterCodec:
    """`CursorCodec[str]`: the position is the `high_water` string (absent or not a string: none)."""

    def encode(self, position: str) -> dict[str, Any]:
        return {"high_water": position}

    def decode(self, document: Mapping[str, Any]) -> str | None:
        value = document.get("high_water")
        return value if isinstance(value, str) else None
