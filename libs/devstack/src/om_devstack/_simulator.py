"""The NetSuite simulator component: ``python -m om_netsuite_sim`` reporting its own port.

It binds port 0 itself and writes the port to ``--port-file`` (no race for a port); the stack
reads that file before probing ``GET /_sim/accounts``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from om_devstack.stack import EmbeddedStack

__all__ = ["PORT_FILE", "read_port", "start_simulator"]

PORT_FILE = "simulator.port"


async def start_simulator(stack: EmbeddedStack, args: list[str]) -> None:
    """Start the simulator on ``stack`` with extra command-line ``args``."""
    port_file = stack.workdir / PORT_FILE
    port_file.unlink(missing_ok=True)
    stack._ports.setdefault("simulator", 0)  # 0 until the port file says otherwise

    def argv(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "om_netsuite_sim", "--host", "127.0.0.1"),
            *("--port", str(port), "--port-file", str(port_file), *args),
        ]

    await stack._launch("simulator", argv, stack._child_env())


def read_port(stack: EmbeddedStack) -> int | None:
    """The port the simulator wrote to its port file, or None while it has not written it yet."""
    try:
        text = (stack.workdir / PORT_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else None
