"""`python -m <service>`: read the settings, build the service, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import uvicorn
from pydantic import ValidationError

from om_platform.adapters.kafka.security import KafkaSecurityError, check_connection, describe
from om_platform.logging import configure_logging
from om_platform.settings import ServiceSettings

if TYPE_CHECKING:
    from om_platform.runtime.service import ServiceRuntime

log = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def serve(runtime: ServiceRuntime) -> None:
    """Run the service until SIGTERM/SIGINT (uvicorn handles the signals, then the lifespan drains)."""
    settings = runtime.settings
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(check_connection(settings))
    except KafkaSecurityError as exc:
        # One line for the operator (a wrong CA, an unknown user, no broker), not a traceback.
        log.error("cannot start: %s", exc, extra={"kafka": describe(settings)})  # noqa: TRY400
        raise SystemExit(2) from None
    log.info("kafka: %s", describe(settings))
    config = uvicorn.Config(
        runtime.app(),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    uvicorn.Server(config).run()


def main(settings_type: type[SettingsT], build: Callable[[SettingsT], ServiceRuntime]) -> None:
    """`python -m <service>`: read the settings, build the service, serve until SIGTERM.

    Invalid settings end the process with exit code 2 and one line per problem on stderr, naming
    the variable and why (never its value: it may be a secret), instead of a traceback.
    """
    try:
        settings = settings_type()
    except ValidationError as exc:
        for problem in exc.errors(include_url=False, include_input=False):
            variable = ".".join(str(part) for part in problem["loc"]).upper() or "settings"
            print(f"invalid setting {variable}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    build(settings).serve()
