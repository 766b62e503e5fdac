"""``python -m om_devstack up``: run the embedded stack in the foreground until Ctrl-C.

Prints ``NAME=value`` lines for the services (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URL``,
``NETSUITE_BASE_URL``, ``KAFKA_ENABLE_IDEMPOTENCE``), optionally writes them to ``--env-file``,
and starts every ``--run "cmd ..."`` with those variables in its environment. The stack stops
when Ctrl-C or SIGTERM arrives or when a ``--run`` command exits.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from om_devstack._process import ChildProcess, StartupError
from om_devstack.stack import EmbeddedStack, TopicLike

__all__ = ["main"]

_log = logging.getLogger("om_devstack.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m om_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the embedded stack in the foreground")
    up.add_argument("--env-file", type=Path, help="also write the NAME=value lines here")
    up.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="CMD",
        help="command to start with the stack's environment (repeatable)",
    )
    up.add_argument("--no-kafka", dest="kafka", action="store_false")
    up.add_argument("--no-mongo", dest="mongo", action="store_false")
    up.add_argument(
        "--simulator",
        choices=["auto", "on", "off"],
        default="auto",
        help="start the NetSuite simulator (auto: when om_netsuite_sim is runnable)",
    )
    up.add_argument("--kafka-storage", choices=["memory", "s3"], default="memory")
    up.add_argument(
        "--kafka-tls",
        action="store_true",
        help="a TLS listener in front of the broker (stunnel4); prints KAFKA_SSL_CAFILE",
    )
    up.add_argument(
        "--kafka-client-auth", action="store_true", help="TLS with client certificates (mutual TLS)"
    )
    up.add_argument("--mongo-path", type=Path, help="data directory (default: in memory)")
    up.add_argument("--sync-on-commit", action="store_true", help="fsync Mongo on each commit")
    up.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="NAME[:PARTITIONS[:compact]]",
        help="topic to create (repeatable)",
    )
    up.add_argument(
        "--topics-from",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="create every topic in this iterable (names, tuples, or objects with "
        "name/partitions/compacted), e.g. a topic registry; repeatable",
    )
    return parser


def _load_topics(ref: str) -> list[TopicLike]:
    module_name, _, attr = ref.partition(":")
    if not attr:
        raise SystemExit(f"--topics-from expects MODULE:ATTR, not {ref!r}")
    value = getattr(importlib.import_module(module_name), attr)
    return list(value() if callable(value) else value)


def _topic(text: str) -> tuple[str, int, bool]:
    name, _, rest = text.partition(":")
    partitions, _, flag = rest.partition(":")
    return name, int(partitions or 1), flag == "compact"


def _simulator_wanted(choice: str) -> bool:
    if choice == "auto":
        return importlib.util.find_spec("om_netsuite_sim.__main__") is not None
    return choice == "on"


async def _up(args: argparse.Namespace) -> int:
    began = time.monotonic()
    stack = EmbeddedStack(
        kafka=args.kafka,
        mongo=args.mongo,
        simulator=_simulator_wanted(args.simulator),
        topics=[
            *(_topic(t) for t in args.topic),
            *(spec for ref in args.topics_from for spec in _load_topics(ref)),
        ],
        kafka_storage=args.kafka_storage,
        mongo_path=args.mongo_path,
        mongo_sync_on_commit=args.sync_on_commit,
        kafka_tls=args.kafka_tls,
        kafka_client_auth=args.kafka_client_auth,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runs: list[ChildProcess] = []
    try:
        await stack.astart()
        lines = [f"{k}={v}" for k, v in stack.env().items()]
        print("\n".join(lines), flush=True)
        if args.env_file is not None:
            args.env_file.write_text("\n".join(lines) + "\n")
        print(
            f"# stack ready in {time.monotonic() - began:.1f} s; Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        env = {**os.environ, **stack.env()}
        for index, command in enumerate(args.run):
            child = ChildProcess(f"run{index}", shlex.split(command), None, env=env)
            child.start()
            runs.append(child)
        return await _wait(stop, runs)
    except StartupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        for child in runs:
            child.stop()
        await stack.astop()


async def _wait(stop: asyncio.Event, runs: list[ChildProcess]) -> int:
    """Wait for a stop signal or for any ``--run`` child to exit; return the exit status."""
    while not stop.is_set():
        for child in runs:
            code = child.poll()
            if code is not None:
                print(f"# {' '.join(child.argv)} exited with {code}", file=sys.stderr)
                return code
        # Child exits have no cheap awaitable here; a short poll is the honest option.
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except TimeoutError:
            continue
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m om_devstack``."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    if args.command == "up":
        return asyncio.run(_up(args))
    return 2
