"""NetSuite currency internal ids by ISO code, read from the account: the SuiteQL query and its fallback.

Read-only, shared by order_sync and `omctl preview`. How the records become the table (which code
wins) is pure: `om_transactions.currencies.currency_table`.
"""

from __future__ import annotations

import logging

from om_netsuite import NetSuiteSession, PermanentError
from om_transactions.currencies import currency_table

log = logging.getLogger(__name__)

CURRENCIES_QUERY = "SELECT id, name, symbol FROM currency"
"""Every currency of the account in one SuiteQL request (the `currency` table: `symbol` is the ISO
code). With thousands of suppliers, each account's first order pays this lookup once per process:
one request instead of the list plus one GET per currency."""


async def currency_ids(session: NetSuiteSession) -> dict[str, str]:
    """ISO code -> internal id of every currency of the account (a handful of records).

    Matches the ISO symbol, or the name, which some accounts set to the code; the first record
    claiming a code wins. One SuiteQL query; an account whose role may not query the currency
    table (NetSuite refuses the query) is read through the REST list and each currency record.
    """
    try:
        rows = [row async for row in session.suiteql(CURRENCIES_QUERY)]
    except PermanentError as exc:
        log.info("currency query refused (%s); reading the currency records instead", exc.status)
        rows = []
        async for currency_id in session.list("currency"):
            rows.append({**await session.get("currency", currency_id), "id": currency_id})
    return currency_table(rows)
