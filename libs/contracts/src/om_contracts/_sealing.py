"""Sealed NetSuite credentials (CONTRACTS.md, ``integration.credentials``).

Each credential travels sealed with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``).
The key ring comes from ``NETSUITE_CREDENTIALS_KEYS``: comma-separated Fernet keys, the first
seals, all of them open (``MultiFernet``), so keys can rotate: add the new key in front, re-seal,
then drop the old key.

Two secret types, neither of which ever prints its value:

- :class:`SealedSecret`: a sealed token as found in an event. ``repr``/``str`` are masked; JSON
  serialisation writes the sealed token back unchanged, so re-publishing an event keeps it
  sealed (and never unseals it).
- ``pydantic.SecretStr``: an opened (plain) value, returned by :meth:`KeyRing.open`.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, SecretStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

KEYS_ENV = "NETSUITE_CREDENTIALS_KEYS"
"""Environment variable holding the comma-separated Fernet key ring."""

_FERNET_VERSION = 0x80
# version (1) + timestamp (8) + IV (16) + at least one AES block (16) + HMAC (32)
_MIN_TOKEN_BYTES = 73


class CredentialError(ValueError):
    """A key ring cannot be built, or a credential cannot be sealed or opened.

    Messages never contain a key, a sealed token or a plain value.
    """


def _looks_sealed(token: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) >= _MIN_TOKEN_BYTES and raw[0] == _FERNET_VERSION


class SealedSecret:
    """A Fernet-sealed credential. Its value is never shown by ``repr``, ``str`` or logs.

    Validation accepts only strings shaped like a Fernet token, so a plain secret pasted into
    an event is refused instead of being carried around. ``model_dump_json`` writes the sealed
    token (safe to publish); ``model_dump`` keeps the ``SealedSecret`` object.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not _looks_sealed(token):
            raise CredentialError("not a sealed credential (expected a Fernet token)")
        self._token = token

    @property
    def token(self) -> str:
        """The sealed token itself (ciphertext; safe to store and publish, not to log)."""
        return self._token

    def __repr__(self) -> str:
        return "SealedSecret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SealedSecret) and other._token == self._token

    def __hash__(self) -> int:
        return hash(self._token)

    @classmethod
    def _validate(cls, value: Any) -> SealedSecret:
        if isinstance(value, SealedSecret):
            return value
        if not isinstance(value, str) or not _looks_sealed(value):
            # The message must not echo the value: it may be a plain secret sent by mistake.
            raise PydanticCustomError(
                "sealed_secret", "must be a credential sealed with the NetSuite key ring"
            )
        return cls(value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.token, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "format": "fernet-token",
            "description": f"Credential sealed with Fernet using the key ring in {KEYS_ENV}.",
        }


class KeyRing:
    """Fernet key ring: the first key seals, every key opens.

    Build it once at start-up (``KeyRing.from_env()``); never at import time.
    """

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise CredentialError(f"{KEYS_ENV} is empty: at least one Fernet key is needed")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, binascii.Error, UnicodeEncodeError):
                raise CredentialError(f"{KEYS_ENV}: key {position} is not a valid Fernet key") from None
        self._ring = MultiFernet(fernets)
        self._size = len(fernets)

    @classmethod
    def from_string(cls, keys: str) -> KeyRing:
        """Build from a comma-separated list of Fernet keys (blank entries ignored)."""
        return cls([key.strip() for key in keys.split(",") if key.strip()])

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        """Build from ``NETSUITE_CREDENTIALS_KEYS`` in ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ
        return cls.from_string(env.get(KEYS_ENV, ""))

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key (URL-safe base64 text)."""
        return Fernet.generate_key().decode("ascii")

    def __repr__(self) -> str:
        return f"KeyRing(<{self._size} keys>)"

    def seal(self, value: str | SecretStr) -> SealedSecret:
        """Seal a plain value with the first key."""
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        token = self._ring.encrypt(plain.encode("utf-8")).decode("ascii")
        return SealedSecret(token)

    def open(self, sealed: SealedSecret | str) -> SecretStr:
        """Open a sealed value with any key of the ring.

        Raises :class:`CredentialError` ("cannot open credential: not sealed with any key in
        NETSUITE_CREDENTIALS_KEYS") when no key fits or the token was tampered with.
        """
        token = sealed.token if isinstance(sealed, SealedSecret) else sealed
        try:
            plain = self._ring.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise CredentialError(f"cannot open credential: not sealed with any key in {KEYS_ENV}") from None
        return SecretStr(plain.decode("utf-8"))

    def reseal(self, sealed: SealedSecret | str) -> SealedSecret:
        """Re-seal with the first key (key rotation); the plain value is never exposed."""
        token = sealed.token if isinstance(sealed, SealedSecret) else sealed
        try:
            fresh = self._ring.rotate(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise CredentialError(f"cannot open credential: not sealed with any key in {KEYS_ENV}") from None
        return SealedSecret(fresh.decode("ascii"))


@dataclass(frozen=True, slots=True)
class OpenCredentials:
    """The four opened TBA credentials of one NetSuite account (values stay ``SecretStr``)."""

    client_id: SecretStr
    client_secret: SecretStr
    token_id: SecretStr
    token_secret: SecretStr
