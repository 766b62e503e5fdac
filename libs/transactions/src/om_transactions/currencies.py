"""NetSuite currency records -> internal id by ISO code (pure; the records are read by an adapter)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def currency_table(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """ISO code -> internal id, from currency records (`id`, `symbol`, `name`).

    Matches the ISO symbol, or the name, which some accounts set to the code; the first record
    (lowest internal id) claiming a code wins.
    """
    found: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: int(str(r["id"])) if str(r["id"]).isdigit() else 0):
        for key in ("symbol", "name"):
            value = row.get(key)
            if isinstance(value, str) and len(value) == 3 and value.upper() not in found:
                found[value.upper()] = str(row["id"])
    return found
