"""`omctl seal`: seal a NetSuite credential with the key ring (NETSUITE_CREDENTIALS_KEYS).

The plain value is read from standard input or a hidden prompt, never from the command line
(argv is visible in `ps` and shell history).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from omctl._common import JsonOpt, fail, settings
from omctl._output import emit_json

FIELDS = ("client_id", "client_secret", "token_id", "token_secret")


def _read(prompt: str) -> str:
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def seal(
    credentials: Annotated[
        bool,
        typer.Option(
            "--credentials",
            help="Seal the four TBA values (client_id, client_secret, token_id, token_secret), one "
            "per line, and print the integration's `credentials` object.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Seal a credential read from stdin (or a hidden prompt); prints the sealed token."""
    from om_contracts import CredentialError, KeyRing

    raw_keys = settings().netsuite_credentials_keys.get_secret_value()
    if not raw_keys:
        fail("NETSUITE_CREDENTIALS_KEYS is not set")
    try:
        ring = KeyRing.from_string(raw_keys)
    except CredentialError as exc:
        fail(str(exc))
    names = FIELDS if credentials else ("value",)
    sealed: dict[str, str] = {}
    for name in names:
        value = _read(name)
        if not value:
            fail(f"{name}: empty value")
        sealed[name] = ring.seal(value).token
    if credentials:
        emit_json(sealed)
    elif as_json:
        emit_json({"sealed": sealed["value"]})
    else:
        print(sealed["value"])
