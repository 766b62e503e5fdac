"""``integration.credentials``: the NetSuite credentials an integration carries, sealed: TBA
(token-based authentication) or OAuth 2.0 machine-to-machine (client credentials with a
certificate). CONTRACTS.md, ``integration.credentials``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    Discriminator,
    Field,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from om_contracts._base import InboundModel
from om_contracts._sealing import KeyRing, OpenCredentials, SealedSecret


class IntegrationCredentials(InboundModel):
    """The four NetSuite Token-Based Authentication values, each sealed with the key ring.

    ``kind`` is absent or ``"tba"``; NetSuite 2027.1 lets no new integration use TBA (Oracle help
    section_1534941088), so new suppliers use :class:`M2MCredentials`.
    """

    kind: Literal["tba"] = Field(default="tba", description="Absent or 'tba': Token-Based Authentication.")
    client_id: SealedSecret = Field(description="Sealed consumer key (integration record).")
    client_secret: SealedSecret = Field(description="Sealed consumer secret.")
    token_id: SealedSecret = Field(description="Sealed access token id.")
    token_secret: SealedSecret = Field(description="Sealed access token secret.")

    @model_validator(mode="before")
    @classmethod
    def _not_m2m(cls, value: Any) -> Any:
        return _refuse_mix(value, "tba")

    def open(self, ring: KeyRing) -> OpenCredentials:
        """Open all four values with ``ring``; raises :class:`CredentialError` on a wrong key."""
        return OpenCredentials(
            client_id=ring.open(self.client_id),
            client_secret=ring.open(self.client_secret),
            token_id=ring.open(self.token_id),
            token_secret=ring.open(self.token_secret),
        )

    def fingerprint(self) -> str:
        """The sealed values joined: a change of any of them is a credential rotation."""
        return "|".join(
            s.token for s in (self.client_id, self.client_secret, self.token_id, self.token_secret)
        )


class M2MCredentials(InboundModel):
    """OAuth 2.0 client credentials (machine to machine), Oracle help section_162686838198.

    The integration record's client id, the id NetSuite gave the uploaded certificate (the JWT
    ``kid``) and the certificate's private key (PEM; RSA signs PS256, EC P-256 signs ES256: the
    algorithms NetSuite accepts, section_162790605110), each sealed; ``certificate_expires_at``
    (plain) drives the ``CREDENTIALS_EXPIRING`` warning. NetSuite certificates last at most two
    years (section_162686838198).
    """

    kind: Literal["oauth2_m2m"] = Field(description="'oauth2_m2m': OAuth 2.0 client credentials.")
    client_id: SealedSecret = Field(description="Sealed client id of the NetSuite integration record.")
    certificate_id: SealedSecret = Field(
        description="Sealed certificate id NetSuite shows on the OAuth 2.0 Client Credentials (M2M) Setup page."
    )
    private_key: SealedSecret = Field(
        description="Sealed PEM private key of the uploaded certificate (RSA for PS256 or EC P-256 for ES256)."
    )
    certificate_expires_at: AwareDatetime | None = Field(
        default=None, description="When the uploaded certificate expires (RFC 3339, not sealed)."
    )

    @model_validator(mode="before")
    @classmethod
    def _not_tba(cls, value: Any) -> Any:
        return _refuse_mix(value, "oauth2_m2m")

    def fingerprint(self) -> str:
        """The sealed values joined: a new certificate id or key is a credential rotation."""
        return "|".join(s.token for s in (self.client_id, self.certificate_id, self.private_key))


_TBA_FIELDS = frozenset({"client_id", "client_secret", "token_id", "token_secret"})
_M2M_FIELDS = frozenset({"client_id", "certificate_id", "private_key", "certificate_expires_at"})
_TAKES = {
    "tba": "TBA takes client_id, client_secret, token_id and token_secret",
    "oauth2_m2m": "oauth2_m2m takes client_id, certificate_id, private_key and certificate_expires_at",
}


def _refuse_mix(value: Any, kind: str) -> Any:
    """Refuse the other kind's fields with the reason (not only 'extra fields not permitted')."""
    if isinstance(value, dict):
        own, other = (_TBA_FIELDS, _M2M_FIELDS) if kind == "tba" else (_M2M_FIELDS, _TBA_FIELDS)
        foreign = sorted(key for key in value if key in other - own)
        if foreign:
            raise PydanticCustomError(
                "credentials_mix",
                "credentials of kind '{kind}' cannot carry {fields}: {takes}",
                {"kind": kind, "fields": ", ".join(foreign), "takes": _TAKES[kind]},
            )
    return value


def _credentials_kind(value: Any) -> str | None:
    """The tag of ``value`` ('tba' when ``kind`` is absent); None for an unknown kind."""
    kind = value.get("kind", "tba") if isinstance(value, dict) else getattr(value, "kind", "tba")
    return kind if kind in _TAKES else None


AnyCredentials = Annotated[
    Annotated[IntegrationCredentials, Tag("tba")] | Annotated[M2MCredentials, Tag("oauth2_m2m")],
    Discriminator(
        _credentials_kind,
        custom_error_type="credentials_kind",
        custom_error_message="kind must be 'tba' (or absent) or 'oauth2_m2m'",
    ),
]
"""``integration.credentials``: TBA (``kind`` absent or 'tba') or OAuth 2.0 M2M ('oauth2_m2m')."""
