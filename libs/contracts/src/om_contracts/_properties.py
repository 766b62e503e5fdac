"""Free-form ``properties`` maps with the NetSuite hints the services understand.

CONTRACTS.md, "Properties on customers, products, orders and invoices". Known names carry
NetSuite internal ids; they are checked when present (digit strings; JSON integers are
accepted and turned into strings; null or an empty string means "not set"). Other names are
kept as they are and ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

PropertyName = Literal[
    "netsuite_id",
    "netsuite_department_id",
    "netsuite_class_id",
    "netsuite_sales_rep_id",
    "netsuite_freight_item_id",
    "netsuite_location_id",
]
"""Property names with a meaning for these services."""

KNOWN_PROPERTIES: frozenset[str] = frozenset(get_args(PropertyName))

_DIGITS = re.compile(r"[0-9]+")


def _check_properties(value: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(value)
    for name in KNOWN_PROPERTIES & value.keys():
        raw = value[name]
        if raw is None or raw == "":
            cleaned[name] = None
        elif isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            cleaned[name] = str(raw)
        elif isinstance(raw, str) and _DIGITS.fullmatch(raw):  # as written: " 812" is refused
            cleaned[name] = raw
        else:
            raise PydanticCustomError(
                "netsuite_property",
                "property {name} must be a NetSuite internal id (a string of digits)",
                {"name": name},
            )
    return cleaned


Properties = Annotated[
    dict[str, Any],
    AfterValidator(_check_properties),
    Field(
        description=(
            "Free-form properties; netsuite_id, netsuite_department_id, netsuite_class_id, "
            "netsuite_sales_rep_id, netsuite_freight_item_id and netsuite_location_id carry "
            "NetSuite internal ids."
        )
    ),
]


class HasProperties:
    """Mixin giving typed access to the known NetSuite properties of a record."""

    properties: dict[str, Any]

    def property(self, name: PropertyName) -> str | None:
        """The NetSuite internal id held in property ``name``, or ``None`` when not set."""
        if name not in KNOWN_PROPERTIES:
            raise KeyError(f"unknown NetSuite property {name!r}")
        value = self.properties.get(name)
        return value if isinstance(value, str) else None
