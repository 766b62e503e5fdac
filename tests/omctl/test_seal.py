"""`omctl seal`: values come from stdin, never argv, and open with the key ring."""

from __future__ import annotations

import json

from om_contracts import KeyRing

from .conftest import KEY, Cli


async def test_seal_reads_stdin_and_the_output_opens_with_the_key_ring(cli: Cli) -> None:
    result = await cli("seal", input="s3cret-token\n")
    assert result.exit_code == 0, result.output
    sealed = result.stdout.strip()
    assert "s3cret-token" not in result.output
    assert KeyRing.from_string(KEY).open(sealed).get_secret_value() == "s3cret-token"


async def test_seal_credentials_prints_an_integration_credentials_object(cli: Cli) -> None:
    result = await cli("seal", "--credentials", input="ck\ncs\ntid\ntsec\n")
    assert result.exit_code == 0, result.output
    sealed = json.loads(result.stdout)
    ring = KeyRing.from_string(KEY)
    opened = {name: ring.open(token).get_secret_value() for name, token in sealed.items()}
    assert opened == {"client_id": "ck", "client_secret": "cs", "token_id": "tid", "token_secret": "tsec"}


async def test_seal_refuses_without_a_key_ring_and_never_takes_the_value_as_an_argument(cli: Cli) -> None:
    missing = await cli("seal", input="x\n", netsuite_credentials_keys="")
    assert missing.exit_code == 1
    assert "NETSUITE_CREDENTIALS_KEYS" in missing.output
    as_argument = await cli("seal", "s3cret")
    assert as_argument.exit_code == 2  # no positional value is accepted
