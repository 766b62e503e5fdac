"""Key ring: seal with the first key, open with any, rotate, and never reveal a value."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from pydantic import SecretStr

from om_contracts import KEYS_ENV, CredentialError, KeyRing, SealedSecret
from om_contracts.credentials_cli import main


@pytest.fixture(scope="module")
def old_key() -> str:
    return KeyRing.generate_key()


@pytest.fixture(scope="module")
def new_key() -> str:
    return KeyRing.generate_key()


def test_a_sealed_value_opens_to_the_plain_value(key_ring: KeyRing) -> None:
    sealed = key_ring.seal("token-secret-1")

    assert sealed.token.startswith("gAAAAA")
    assert "token-secret-1" not in sealed.token
    assert key_ring.open(sealed) == SecretStr("token-secret-1")
    assert key_ring.open(sealed.token).get_secret_value() == "token-secret-1"


def test_after_rotation_the_new_key_seals_and_the_old_key_still_opens(old_key: str, new_key: str) -> None:
    before = KeyRing.from_string(old_key).seal("v1")
    rotated = KeyRing.from_string(f"{new_key},{old_key}")

    assert rotated.open(before).get_secret_value() == "v1"
    sealed_now = rotated.seal("v2")
    assert KeyRing.from_string(new_key).open(sealed_now).get_secret_value() == "v2"
    with pytest.raises(CredentialError):
        KeyRing.from_string(old_key).open(sealed_now)


def test_resealing_moves_a_value_to_the_first_key(old_key: str, new_key: str) -> None:
    before = KeyRing.from_string(old_key).seal("v1")

    resealed = KeyRing.from_string(f"{new_key},{old_key}").reseal(before)

    assert KeyRing.from_string(new_key).open(resealed).get_secret_value() == "v1"


def test_a_wrong_key_gives_the_documented_error_without_the_value(old_key: str, new_key: str) -> None:
    sealed = KeyRing.from_string(old_key).seal("very-secret")

    with pytest.raises(CredentialError) as caught:
        KeyRing.from_string(new_key).open(sealed)

    assert str(caught.value) == (
        "cannot open credential: not sealed with any key in NETSUITE_CREDENTIALS_KEYS"
    )
    assert sealed.token not in str(caught.value)


def test_a_tampered_token_cannot_be_opened(key_ring: KeyRing) -> None:
    token = key_ring.seal("x").token
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    with pytest.raises(CredentialError, match="cannot open credential"):
        key_ring.open(tampered)


@pytest.mark.parametrize("keys", ["", " , ", "not-a-key", "x" * 44])
def test_a_bad_key_ring_is_refused_without_echoing_the_keys(keys: str) -> None:
    with pytest.raises(CredentialError) as caught:
        KeyRing.from_string(keys)

    assert KEYS_ENV in str(caught.value)
    if keys.strip(" ,"):
        assert keys not in str(caught.value)


def test_the_key_ring_is_read_from_the_environment_mapping(new_key: str) -> None:
    ring = KeyRing.from_env({KEYS_ENV: new_key})

    assert ring.open(ring.seal("a")).get_secret_value() == "a"
    assert new_key not in repr(ring)


def test_secret_types_never_reveal_a_value(key_ring: KeyRing) -> None:
    sealed = key_ring.seal("plain-value")
    opened = key_ring.open(sealed)

    for shown in (repr(sealed), str(sealed), repr(opened), str(opened), f"{sealed} {opened}"):
        assert "plain-value" not in shown
        assert sealed.token not in shown


def test_a_sealed_secret_refuses_text_that_is_not_a_fernet_token() -> None:
    with pytest.raises(CredentialError, match="not a sealed credential"):
        SealedSecret("plain-secret")


PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("given", "sealed"),
    [("from-stdin\n", "from-stdin"), (PEM + "\n", PEM)],  # a PEM key (oauth2_m2m) seals whole
)
def test_the_cli_seals_a_value_read_from_stdin(new_key: str, given: str, sealed: str) -> None:
    out, err = io.StringIO(), io.StringIO()

    code = main(
        ["seal"],
        stdin=io.StringIO(given),
        stdout=out,
        stderr=err,
        environ={KEYS_ENV: new_key},
    )

    assert code == 0
    assert KeyRing.from_string(new_key).open(out.getvalue().strip()).get_secret_value() == sealed
    assert sealed.splitlines()[0] not in out.getvalue()


def test_the_cli_reseals_every_line_with_the_first_key(old_key: str, new_key: str) -> None:
    tokens = [KeyRing.from_string(old_key).seal(v).token for v in ("a", "b")]
    out = io.StringIO()

    code = main(
        ["reseal"],
        stdin=io.StringIO("\n".join(tokens) + "\n"),
        stdout=out,
        environ={KEYS_ENV: f"{new_key},{old_key}"},
    )

    assert code == 0
    opened = [KeyRing.from_string(new_key).open(t).get_secret_value() for t in out.getvalue().split()]
    assert opened == ["a", "b"]


def test_the_cli_reports_a_missing_key_ring_and_fails() -> None:
    err = io.StringIO()

    code = main(["seal"], stdin=io.StringIO("x"), stdout=io.StringIO(), stderr=err, environ={})

    assert code == 2
    assert f"{KEYS_ENV} is empty" in err.getvalue()


def test_the_cli_runs_as_a_module_and_takes_no_value_on_the_command_line(new_key: str) -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "om_contracts.credentials_cli", "generate-key"],
        capture_output=True,
        text=True,
        check=True,
    )
    refused = subprocess.run(
        [sys.executable, "-m", "om_contracts.credentials_cli", "seal", "secret-on-argv"],
        capture_output=True,
        text=True,
        check=False,
        env={KEYS_ENV: new_key},
    )

    assert KeyRing.from_string(generated.stdout.strip())
    assert refused.returncode == 2
    assert "unrecognized arguments" in refused.stderr
