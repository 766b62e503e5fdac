"""What a failed record waits for (pure): the blocker ids a mapping failure names.

`blockers` reads them from a failure's details (`om_platform.transaction_mapping.check_mappings`
names every problem there); the ledger indexes them, and `healing` / the heal use case re-sync the
records waiting for an id once it arrives. Building NetSuite bodies is not here: order_sync and
`omctl preview` share it in `om_platform.transaction_mapping`.
"""

from om_contracts import ErrorCode, ErrorDetail, SyncError

MAPPING_CODES = frozenset(
    {
        ErrorCode.UNMAPPED_CUSTOMER,
        ErrorCode.UNMAPPED_PRODUCT,
        ErrorCode.MISSING_FREIGHT_ITEM,
        ErrorCode.MISSING_SURCHARGE_ITEM,
    }
)
"""Failures `check_mappings` reports: a mapping or item setting arriving later can fix them."""

SURCHARGE = "surcharge"


def customer_blocker(customer_id: str) -> str:
    return f"customer:{customer_id}"


def product_blocker(product_id: str) -> str:
    return f"product:{product_id}"


def freight_blocker(customer_id: str) -> str:
    return f"freight:{customer_id}"


def blockers(error: SyncError | None) -> tuple[str, ...]:
    """The settings a failure waits for, one string each (the ledger indexes them).

    ``customer:<id>`` / ``product:<id>``: that id has no NetSuite id; ``freight:<customer id>``: no
    freight item for that customer's orders; ``surcharge``: the integration has no surcharge item.
    Read from the failure's details (`check_mappings` names every problem there), so a stored
    failure tells the same as a fresh one. Other failures wait for nothing a mapping can provide.
    """
    if error is None or error.code not in MAPPING_CODES:
        return ()
    found: list[str] = []
    for detail in error.details:
        blocker = _blocker_of(detail)
        if blocker is not None and blocker not in found:
            found.append(blocker)
    return tuple(found)


def _blocker_of(detail: ErrorDetail) -> str | None:
    path, om_id = detail.path or "", detail.ordermentum_id
    if path == "surcharge":
        return SURCHARGE
    if om_id is None:
        return None
    if path == "customer":
        return customer_blocker(om_id)
    if path == "freight":
        return freight_blocker(om_id)
    if path.startswith("lines[") and path.endswith("].product"):
        return product_blocker(om_id)
    return None
