"""NetSuite currency internal ids by ISO code: read-only, shared by order_sync and `omctl preview`."""

from __future__ import annotations

from om_netsuite import NetSuiteSession


async def currency_ids(session: NetSuiteSession) -> dict[str, str]:
    """ISO code -> internal id of every currency of the account (a handful of records).

    Matches the ISO symbol, or the name, which some accounts set to the code; the first record
    claiming a code wins. Reads only: the currency list and each currency record.
    """
    found: dict[str, str] = {}
    async for currency_id in session.list("currency"):
        record = await session.get("currency", currency_id)
        for key in ("symbol", "name"):
            value = record.get(key)
            if isinstance(value, str) and len(value) == 3 and value.upper() not in found:
                found[value.upper()] = str(currency_id)
    return found
