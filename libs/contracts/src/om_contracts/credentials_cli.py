"""Command line for sealed NetSuite credentials.

    python -m om_contracts.credentials_cli generate-key          # print a new Fernet key
    printf %s "$SECRET" | python -m om_contracts.credentials_cli seal    # print the sealed value
    python -m om_contracts.credentials_cli reseal < sealed.txt    # re-seal each line with key 1

Plain values are read from standard input only, never from the command line (argv is visible
to every user of the machine and lands in shell history). Keys come from
``NETSUITE_CREDENTIALS_KEYS``. The Python API lives in :mod:`om_contracts`
(:class:`~om_contracts.KeyRing`, :class:`~om_contracts.SealedSecret`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from om_contracts._sealing import KEYS_ENV, CredentialError, KeyRing


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m om_contracts.credentials_cli",
        description=f"Seal NetSuite credentials with the key ring in {KEYS_ENV}.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate-key", help="print a new Fernet key")
    commands.add_parser("seal", help="seal the value read from standard input")
    commands.add_parser(
        "reseal", help="re-seal each sealed value read from standard input with the first key"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    source = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    env = os.environ if environ is None else environ

    if args.command == "generate-key":
        out.write(KeyRing.generate_key() + "\n")
        return 0
    try:
        ring = KeyRing.from_env(env)
        if args.command == "seal":
            # A single trailing newline comes from `echo` or the terminal, not from the secret.
            value = source.read().removesuffix("\n").removesuffix("\r")
            if not value:
                err.write("nothing to seal: standard input was empty\n")
                return 2
            out.write(ring.seal(value).token + "\n")
            return 0
        for line in source:
            token = line.strip()
            if token:
                out.write(ring.reseal(token).token + "\n")
    except CredentialError as exc:
        err.write(f"{exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
