"""Identifiers: NetSuite internal ids, account ids and deterministic external ids.

NetSuite accepts only ``[A-Za-z0-9_-]`` in an external id used as ``eid:<id>`` in a REST path
(NetSuite help, "Using External IDs", section_156334828635). CONTRACTS.md fixes the forms
``OM-ORDER-<order id>``, ``OM-INV-<invoice id>``, ``OM-PAY-<payment id>`` and
``OM-PAYOUT-<payout id>``.

Mapping for Ordermentum ids that contain anything else (deterministic and injective):

- an id made only of ``[A-Za-z0-9_-]`` that does not start with ``-`` is used verbatim, so
  ``ord_8f3a2c`` gives ``OM-ORDER-ord_8f3a2c`` and :func:`parse_external_id` returns it;
- any other id becomes ``-`` + the id with each disallowed character replaced by ``_`` + ``_`` +
  the first 12 hex digits of the SHA-256 of the UTF-8 id: ``ord/1.2`` gives
  ``OM-ORDER--ord_1_2_<hash>``. The double dash after the prefix cannot come from a verbatim
  id, so the two forms never collide, and the hash tells apart ids that differ only in their
  disallowed characters. These ids cannot be parsed back (:func:`parse_external_id` returns
  ``None`` for the id part); look them up in the sync ledger instead.

The reference gives no maximum length for external ids, so none is enforced here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from om_contracts._limits import MAX_ID_LENGTH

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def written_as_is_problem(value: str) -> str | None:
    """Why ``value`` cannot be an id as written (surrounding whitespace, control characters), or None.

    CONTRACTS.md "Limits on input": ids are compared and stored exactly as sent, so an id that
    only differs by a trailing newline or a NUL would silently name another record; such ids are
    refused rather than trimmed.
    """
    if _CONTROL.search(value):
        return "must not contain control characters"
    if value != value.strip():
        return "must not start or end with whitespace"
    return None


def _as_written(value: str) -> str:
    problem = written_as_is_problem(value)
    if problem is not None:
        raise PydanticCustomError("id_text", problem)
    return value


NetSuiteId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]+$", min_length=1, max_length=20),
    Field(description="NetSuite internal id: a string of digits."),
]
"""A NetSuite internal id (a string of digits, as NetSuite's REST API returns them)."""

OrdermentumId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(_as_written),
    Field(
        description="Opaque Ordermentum id, e.g. 'ord_8f3a2c': no surrounding whitespace, no control "
        "characters."
    ),
]
"""An opaque Ordermentum id (``ord_…``, ``inv_…``, ``cus_…``, ``prd_…``, ``pay_…``)."""

_ACCOUNT_ID = re.compile(r"[0-9]+(?:_(?:SB|RP)[0-9]+)?")


def normalise_account_id(value: str) -> str:
    """Return the NetSuite account id in canonical upper case, or raise ``ValueError``.

    Digits, optionally ``_SB<n>`` (sandbox) or ``_RP<n>`` (release preview), case-insensitive
    (NetSuite help, Company Information, section_1498251763). The account id becomes part of a
    host name, so anything else (dots, slashes, letters) is refused. Realms must be upper case:
    NetSuite refuses ``1234567_sb1`` at login. The id is taken exactly as written: surrounding
    whitespace or a control character is refused, not trimmed (CONTRACTS.md "Limits on input").
    """
    problem = written_as_is_problem(value)
    if problem is not None:
        raise ValueError(f"{problem}: a NetSuite account id is taken exactly as written")
    candidate = value.upper()
    if not _ACCOUNT_ID.fullmatch(candidate):
        raise ValueError("must be a NetSuite account id: digits, optionally followed by _SB<n> or _RP<n>")
    return candidate


def _account_id(value: str) -> str:
    try:
        return normalise_account_id(value)
    except ValueError as exc:
        raise PydanticCustomError("account_id", str(exc)) from None


AccountId = Annotated[
    str,
    AfterValidator(_account_id),
    Field(
        description=(
            "NetSuite Account ID as shown under Company Information: digits, optionally _SB<n> "
            "(sandbox) or _RP<n> (release preview); case-insensitive, normalised to upper case; "
            "no surrounding whitespace or control characters."
        ),
        examples=["1234567", "1234567_SB1"],
    ),
]
"""A NetSuite account id, validated and normalised to upper case (the OAuth realm)."""


def account_host_label(account_id: str) -> str:
    """Host-name label for an account id: lower case, every ``_`` replaced by ``-``.

    ``1234567_SB1`` -> ``1234567-sb1`` (as in ``1234567-sb1.suitetalk.api.netsuite.com``).
    """
    return normalise_account_id(account_id).lower().replace("_", "-")


class ExternalIdKind(StrEnum):
    """Record families with a deterministic NetSuite external id (CONTRACTS.md)."""

    ORDER = "ORDER"
    INVOICE = "INV"
    PAYMENT = "PAY"
    PAYOUT = "PAYOUT"


_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_MAPPED = re.compile(r"[A-Za-z0-9_-]*_[0-9a-f]{12}")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9_-]")
_HASH_LENGTH = 12


def external_id(kind: ExternalIdKind | str, ordermentum_id: str) -> str:
    """Deterministic NetSuite external id for an Ordermentum record.

    ``external_id("ORDER", "ord_8f3a2c") == "OM-ORDER-ord_8f3a2c"``. Ids with characters
    NetSuite does not allow are mapped as described in this module's docstring.
    """
    prefix = ExternalIdKind(kind).value
    if not ordermentum_id:
        raise ValueError("an Ordermentum id cannot be empty")
    if _SAFE.fullmatch(ordermentum_id):
        return f"OM-{prefix}-{ordermentum_id}"
    digest = hashlib.sha256(ordermentum_id.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
    sanitised = _UNSAFE_CHAR.sub("_", ordermentum_id)
    return f"OM-{prefix}--{sanitised}_{digest}"


@dataclass(frozen=True, slots=True)
class ParsedExternalId:
    """An external id taken apart: its kind and, when it round-trips, the Ordermentum id."""

    kind: ExternalIdKind
    ordermentum_id: str | None


_PARSE = re.compile(r"OM-(ORDER|INV|PAYOUT|PAY)-(.+)")


def parse_external_id(value: str) -> ParsedExternalId | None:
    """Inverse of :func:`external_id`; ``None`` if ``value`` is not one of ours.

    For mapped (hashed) ids the kind is known but ``ordermentum_id`` is ``None``.
    """
    match = _PARSE.fullmatch(value)
    if match is None:
        return None
    kind = ExternalIdKind(match.group(1))
    rest = match.group(2)
    if _SAFE.fullmatch(rest):
        return ParsedExternalId(kind, rest)
    if rest.startswith("-") and _MAPPED.fullmatch(rest[1:]):
        return ParsedExternalId(kind, None)
    return None
