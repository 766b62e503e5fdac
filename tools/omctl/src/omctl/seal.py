"""`omctl seal`: seal a NetSuite credential with the key ring (NETSUITE_CREDENTIALS_KEYS).

The plain value is read from standard input or a hidden prompt, never from the command line
(argv is visible in `ps` and shell history). `--credentials` seals the four TBA values; `--m2m`
seals OAuth 2.0 client credentials: the client id and certificate id (a line each), then the PEM
private key (the rest of standard input; a certificate after the key gives `certificate_expires_at`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from omctl._common import JsonOpt, fail, settings
from omctl._output import emit_json

if TYPE_CHECKING:
    from om_contracts import KeyRing

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
    m2m: Annotated[
        bool,
        typer.Option(
            "--m2m",
            help="Seal OAuth 2.0 client credentials: client_id and certificate_id (a line each), then "
            "the PEM private key (the rest of stdin), and print the integration's `credentials` object.",
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
    if m2m:
        emit_json(_m2m(ring))
        return
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


def _m2m(ring: KeyRing) -> dict[str, str]:
    """The `oauth2_m2m` credentials object; the key is checked (RSA or EC P-256 PEM) before sealing."""
    from datetime import UTC, datetime

    from om_netsuite import algorithm_for_key, certificate_expiry

    client_id, certificate_id = _read("client_id"), _read("certificate_id")
    pem = (
        sys.stdin.read()
        if not sys.stdin.isatty()
        else str(typer.prompt("private_key (PEM)", hide_input=True))
    )
    if not client_id or not certificate_id or not pem.strip():
        fail("client_id, certificate_id and the PEM private key are all required")
    try:
        algorithm_for_key(pem)
    except ValueError as exc:
        fail(str(exc))
    sealed = {
        "kind": "oauth2_m2m",
        "client_id": ring.seal(client_id).token,
        "certificate_id": ring.seal(certificate_id).token,
        "private_key": ring.seal(pem.strip() + "\n").token,
    }
    expires = certificate_expiry(pem)
    if expires is not None:
        sealed["certificate_expires_at"] = datetime.fromtimestamp(expires, UTC).isoformat()
    return sealed
