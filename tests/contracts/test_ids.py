"""Account ids, NetSuite ids and deterministic external ids."""

from __future__ import annotations

import re

import pytest

from om_contracts import (
    ExternalIdKind,
    ParsedExternalId,
    account_host_label,
    external_id,
    normalise_account_id,
    parse_external_id,
)

_NETSUITE_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("1234567", "1234567"),
        ("1234567_SB1", "1234567_SB1"),
        ("1234567_sb1", "1234567_SB1"),
        ("1234567_rp2", "1234567_RP2"),
        ("1234567_SB12", "1234567_SB12"),
    ],
)
def test_account_ids_are_normalised_to_upper_case(typed: str, canonical: str) -> None:
    assert normalise_account_id(typed) == canonical


@pytest.mark.parametrize(
    "bad",
    ["123.evil.com", "1234567_SB1/../x", "abc", "", "1234567_SB", "1234567_XX1", "١٢٣", "12 34"],
)
def test_anything_that_is_not_an_account_id_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="NetSuite account id"):
        normalise_account_id(bad)


@pytest.mark.parametrize("typed", [" 1234567_SB12 ", "1234567_SB1\n", "1234567\x00", "\t1234567"])
def test_an_account_id_is_taken_as_written_not_trimmed(typed: str) -> None:
    with pytest.raises(ValueError, match="taken exactly as written"):
        normalise_account_id(typed)


def test_the_host_label_is_lower_case_with_dashes() -> None:
    assert account_host_label("1234567_sb1") == "1234567-sb1"


@pytest.mark.parametrize(
    ("kind", "om_id", "expected"),
    [
        (ExternalIdKind.ORDER, "ord_8f3a2c", "OM-ORDER-ord_8f3a2c"),
        (ExternalIdKind.INVOICE, "inv_77d1", "OM-INV-inv_77d1"),
        (ExternalIdKind.PAYMENT, "pay_31c0", "OM-PAY-pay_31c0"),
        (ExternalIdKind.PAYOUT, "po_5521", "OM-PAYOUT-po_5521"),
        ("ORDER", "ord-1", "OM-ORDER-ord-1"),
    ],
)
def test_plain_ids_give_the_documented_external_ids_and_parse_back(
    kind: ExternalIdKind | str, om_id: str, expected: str
) -> None:
    assert external_id(kind, om_id) == expected
    assert parse_external_id(expected) == ParsedExternalId(ExternalIdKind(kind), om_id)


@pytest.mark.parametrize("odd", ["ord/1.2", "ord 1", "Café", "ord|1", "-ord", "ord:1", "订单"])
def test_odd_characters_are_mapped_to_an_allowed_deterministic_id(odd: str) -> None:
    mapped = external_id(ExternalIdKind.ORDER, odd)

    assert _NETSUITE_SAFE.fullmatch(mapped)
    assert mapped == external_id(ExternalIdKind.ORDER, odd)
    assert mapped.startswith("OM-ORDER--")
    assert parse_external_id(mapped) == ParsedExternalId(ExternalIdKind.ORDER, None)


def test_ids_differing_only_in_odd_characters_do_not_collide() -> None:
    ids = ["ord/1", "ord.1", "ord 1", "ord_1", "ord:1"]

    assert len({external_id("ORDER", om_id) for om_id in ids}) == len(ids)


def test_a_mapped_id_cannot_collide_with_a_verbatim_one() -> None:
    mapped = external_id("ORDER", "ord/1")
    # The part after the prefix of a mapped id starts with "-", which a verbatim id never does.
    crafted = mapped.removeprefix("OM-ORDER-")

    assert external_id("ORDER", crafted) != mapped


def test_an_empty_id_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        external_id("ORDER", "")


@pytest.mark.parametrize("foreign", ["SO-1", "OM-SO-1", "OM-ORDER-", "om-order-ord_1", "x"])
def test_external_ids_not_written_by_these_services_parse_to_none(foreign: str) -> None:
    assert parse_external_id(foreign) is None
