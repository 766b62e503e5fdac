"""NetSuite account ids: validation, OAuth realm and host name.

The account id is typed by a supplier and becomes part of a host name, so it is validated before
any URL is built (Help Center section_1498251763: the id encodes production, sandbox ``_SB<n>`` and
Release Preview ``_RP<n>`` accounts). The realm is the upper-case id (``1234567_SB1``); the host is
lower-case with every ``_`` replaced by ``-`` (``1234567-sb1.suitetalk.api.netsuite.com``).
"""

from __future__ import annotations

import re

from ._exceptions import InvalidAccountId

__all__ = ["account_base_url", "account_host", "normalize_account_id"]

# Digits with an optional sandbox / release-preview suffix; TSTDRV<digits> are NetSuite test-drive
# accounts (they appear in Oracle's examples and in the signing vectors). Nothing else is allowed:
# no dots, slashes, ports or userinfo can reach the host name.
_ACCOUNT_RE = re.compile(r"(?:[0-9]{1,20}|TSTDRV[0-9]{1,20})(?:_(?:SB|RP)[0-9]{1,3})?")


def normalize_account_id(account_id: str) -> str:
    """Return the canonical (upper-case) account id, the OAuth realm, or raise InvalidAccountId."""
    if not isinstance(account_id, str):
        raise InvalidAccountId(f"account id must be a string, got {type(account_id).__name__}")
    candidate = account_id.upper()
    if not _ACCOUNT_RE.fullmatch(candidate):
        raise InvalidAccountId(f"not a NetSuite account id: {account_id!r}")
    return candidate


def account_host(account_id: str) -> str:
    """``1234567_sb1`` -> ``1234567-sb1.suitetalk.api.netsuite.com``."""
    return f"{normalize_account_id(account_id).lower().replace('_', '-')}.suitetalk.api.netsuite.com"


def account_base_url(account_id: str, override: str | None = None) -> str:
    """Root URL (no trailing slash) under which ``/services/rest/...`` lives.

    ``override`` (for the simulator and tests) replaces the derived ``https://<host>``; the account
    id is still validated so a bad id fails the same way in tests and in production.
    """
    host = account_host(account_id)
    if override is not None:
        return override.rstrip("/")
    return f"https://{host}"
