"""Account ids are validated before any URL is built."""

from __future__ import annotations

import pytest

from om_netsuite import InvalidAccountId, account_base_url, account_host, normalize_account_id


@pytest.mark.parametrize(
    ("given", "realm", "host"),
    [
        ("1234567", "1234567", "1234567.suitetalk.api.netsuite.com"),
        ("1234567_SB1", "1234567_SB1", "1234567-sb1.suitetalk.api.netsuite.com"),
        ("1234567_sb1", "1234567_SB1", "1234567-sb1.suitetalk.api.netsuite.com"),
        ("987654_RP2", "987654_RP2", "987654-rp2.suitetalk.api.netsuite.com"),
        ("tstdrv1234567", "TSTDRV1234567", "tstdrv1234567.suitetalk.api.netsuite.com"),
    ],
)
def test_good_account_ids_give_realm_and_host(given: str, realm: str, host: str) -> None:
    assert normalize_account_id(given) == realm
    assert account_host(given) == host
    assert account_base_url(given) == f"https://{host}"


@pytest.mark.parametrize(
    "evil",
    [
        "123.evil.com",
        "1234567_SB1/../x",
        "1234567_SB1/",
        "1234567-sb1",
        "1234567_SB",
        "1234567_XX1",
        "1234567@evil.com",
        "1234567:443",
        "1234567 ",
        " 1234567",
        "",
        "abc",
        "1234567_SB1\n",
        "1234567%2eevil",
        "\uff11\uff12\uff13",  # full-width digits
    ],
)
def test_evil_account_ids_are_refused(evil: str) -> None:
    with pytest.raises(InvalidAccountId):
        normalize_account_id(evil)
    with pytest.raises(InvalidAccountId):
        account_base_url(evil, "http://127.0.0.1:1")


def test_an_invalid_account_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        account_host("123.evil.com")
