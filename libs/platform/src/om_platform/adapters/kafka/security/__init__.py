"""How every Kafka client of the project reaches the cluster: one mapping from settings to clients.

Managed Kafka is secured: TLS (`SSL`), SASL over TLS (`SASL_SSL`) or, inside a trusted network,
SASL without TLS (`SASL_PLAINTEXT`). The same environment variables configure every client the
project has, so a ConfigMap/Secret that works for the services works for `omctl`, the dev-stack
tools and the KEDA trigger authentication rendered by `omctl deploy`:

  KAFKA_SECURITY_PROTOCOL      PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
  KAFKA_SSL_CAFILE             CA bundle (PEM) that signed the brokers' certificates (default: the system's)
  KAFKA_SSL_CERTFILE / _KEYFILE  client certificate and key (PEM) for mutual TLS
  KAFKA_SSL_KEY_PASSWORD       password of an encrypted client key (secret)
  KAFKA_SSL_CHECK_HOSTNAME     verify that the broker's certificate names the host dialled
  KAFKA_SASL_MECHANISM         PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
  KAFKA_SASL_USERNAME / _PASSWORD  for PLAIN and SCRAM (the password is a secret)
  KAFKA_SASL_OAUTH_TOKEN_PROVIDER  `module:factory` returning an aiokafka token provider (OAUTHBEARER)

`kafka_client_kwargs()` turns them into aiokafka's keyword arguments (`security_protocol`,
`ssl_context`, `sasl_mechanism`, `sasl_plain_username`, `sasl_plain_password`,
`sasl_oauth_token_provider`); `faststream_security_kwargs()` derives FastStream's `security`
object from that same dictionary, so the services' broker and their raw producers can never
disagree. `check_connection()` is the start-up check that turns a wrong CA, an unknown user or an
unreachable broker into one sentence for the operator. Secrets are `SecretStr` and never logged:
`describe()` is the loggable view.

AWS MSK with IAM: `KAFKA_SECURITY_PROTOCOL=SASL_SSL`, `KAFKA_SASL_MECHANISM=OAUTHBEARER`,
`KAFKA_SASL_OAUTH_TOKEN_PROVIDER=om_platform.adapters.kafka.security:aws_msk_iam` (needs AWS's
`aws-msk-iam-sasl-signer-python` in the image; credentials come from the pod's IAM role).
"""

from om_platform.adapters.kafka.security._diagnosis import check_connection, explain_kafka_error
from om_platform.adapters.kafka.security._settings import (
    MOVED_PROVIDERS,
    KafkaConnectionSettings,
    KafkaSecurityError,
    SaslMechanism,
    SecurityProtocol,
    TokenProviderFactory,
    aws_msk_iam,
    client_settings,
    describe,
    faststream_security_kwargs,
    kafka_client_kwargs,
    msk_region,
    ssl_context,
    token_provider,
)

__all__ = [
    "MOVED_PROVIDERS",
    "KafkaConnectionSettings",
    "KafkaSecurityError",
    "SaslMechanism",
    "SecurityProtocol",
    "TokenProviderFactory",
    "aws_msk_iam",
    "check_connection",
    "client_settings",
    "describe",
    "explain_kafka_error",
    "faststream_security_kwargs",
    "kafka_client_kwargs",
    "msk_region",
    "ssl_context",
    "token_provider",
]
