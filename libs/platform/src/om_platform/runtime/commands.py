"""Operator commands (`omctl resync`, `omctl run ...`) addressed to a service, run by its runtime.

The queue and its loop are `om_platform.adapters.mongo.commands`; this part wires them into the
process: a supervised loop that waits, before running a command, until this service has processed
the events published before it (its consumer groups' committed offsets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from om_platform.adapters.mongo.commands import CommandHandler, CommandQueue, serve_commands

if TYPE_CHECKING:
    from om_platform.runtime.service import ServiceRuntime


def serve_operator_commands(runtime: ServiceRuntime, handlers: Mapping[str, CommandHandler]) -> None:
    settings = runtime.settings

    async def loop() -> None:
        await serve_commands(
            CommandQueue(runtime.db),
            handlers,
            settings.command_poll_s,
            positions=runtime.processed_offset,
            catch_up_s=settings.command_catch_up_s,
        )

    runtime.supervise("operator-commands", loop)
