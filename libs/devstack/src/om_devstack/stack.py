"""The embedded stack: tansu (Kafka protocol), secantusdb (Mongo protocol), NetSuite simulator.

Each component runs as a child process on a free loopback port (see ``_process`` for how
children are kept from outliving us) and is only reported ready once it answers its own
protocol. Logs go to a temporary directory and only surface in a :class:`StartupError`.
How each component is started lives in its own module (``_kafka``, ``_mongo``, ``_simulator``,
``_s3``); this one owns their ports, children, readiness probes and lifecycle.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from om_devstack._kafka import start_kafka
from om_devstack._mongo import start_mongo
from om_devstack._probes import (
    free_port,
    http_answers,
    kafka_answers,
    mongo_answers,
    tcp_answers,
    wait_until,
)
from om_devstack._process import ChildProcess, StartupError
from om_devstack._simulator import read_port, start_simulator
from om_devstack._tools import debian_tool
from om_devstack._topics import TopicDescription, TopicLike, TopicSpec, as_spec, create_topics
from om_devstack._watch import listening_ports
from om_devstack._workdir import make_workdir
from om_devstack.tls import Pki, make_pki

__all__ = [
    "EmbeddedStack",
    "StartupError",
    "TopicDescription",
    "TopicLike",
    "TopicSpec",
    "create_topics",
    "debian_tool",
]

_log = logging.getLogger("om_devstack.stack")

KafkaStorage = Literal["memory", "s3"]


class EmbeddedStack:
    """Start and stop the embedded servers; usable as ``async with`` or via ``start()/stop()``.

    Start it from a long-lived thread (the event loop's): see ``_process`` on PR_SET_PDEATHSIG.

    Components not requested are not started. ``mongo_path=None`` keeps Mongo data in memory;
    a directory keeps it across :meth:`restart_mongo`. ``kafka_storage="s3"`` stores the broker's
    log in a local S3 emulator (moto) so it survives :meth:`restart_kafka`. Measured on S3 storage:
    ListOffsets answers a stale log end (take offsets from the producer's acknowledgements), and a
    fetch that waits less than the broker's S3 read (``fetch_max_wait_ms`` 20) gets that partition
    empty every time; 500 ms (the services' default) reads everything.

    ``kafka_tls=True`` puts a TLS listener in front of the broker (tansu 0.6 has none that works:
    its ``--cert`` is accepted and ignored): Debian's ``stunnel4`` terminates TLS on the address
    clients dial, and the broker advertises that address in its metadata, so every connection a
    client makes after bootstrap is TLS too. Certificates are made per stack (:mod:`om_devstack.tls`);
    :meth:`env` then carries ``KAFKA_SECURITY_PROTOCOL=SSL`` and ``KAFKA_SSL_CAFILE``.
    ``kafka_client_auth=True`` also requires a client certificate (mutual TLS).
    ``kafka_sasl=True`` starts tansu with ``--authentication``: it then speaks SASL SCRAM-SHA-256/512
    only, and knows no user (its AlterUserScramCredentials is refused before authentication, and
    users made on a broker without authentication are not found after a restart), so a client
    gets as far as the SCRAM exchange and is told ``unknown-user``.
    """

    idempotent_producers_supported = False
    """tansu refuses idempotent and transactional producers; set enable_idempotence=False."""

    def __init__(
        self,
        *,
        kafka: bool = True,
        mongo: bool = True,
        simulator: bool = False,
        topics: Iterable[TopicLike] = (),
        kafka_storage: KafkaStorage = "memory",
        mongo_path: Path | None = None,
        mongo_standalone: bool = True,
        mongo_sync_on_commit: bool = False,
        simulator_args: Iterable[str] = (),
        start_timeout: float = 30.0,
        kafka_tls: bool = False,
        kafka_client_auth: bool = False,
        kafka_sasl: bool = False,
    ) -> None:
        self._want = {"kafka": kafka, "mongo": mongo, "simulator": simulator}
        self._topics = [as_spec(t) for t in topics]
        self.kafka_storage: KafkaStorage = kafka_storage
        self.mongo_path = mongo_path
        self.mongo_standalone = mongo_standalone
        self.mongo_sync_on_commit = mongo_sync_on_commit
        self.simulator_args = list(simulator_args)
        self.start_timeout = start_timeout
        self.kafka_tls = kafka_tls or kafka_client_auth
        self.kafka_client_auth = kafka_client_auth
        self.kafka_sasl = kafka_sasl
        self._pki: Pki | None = None
        self._workdir: Path | None = None
        self._children: dict[str, ChildProcess] = {}
        self._ports: dict[str, int] = {}
        self._s3_bucket = "tansu"
        self.startup_seconds: dict[str, float] = {}

    # ----------------------------------------------------------------- addresses

    @property
    def kafka_bootstrap(self) -> str:
        """``host:port`` of the broker."""
        return f"127.0.0.1:{self._port('kafka')}"

    @property
    def mongo_url(self) -> str:
        """A pymongo URL for the server (``directConnection=true``: it is a single node)."""
        return f"mongodb://127.0.0.1:{self._port('mongo')}/?directConnection=true"

    @property
    def simulator_url(self) -> str:
        """Base URL of the NetSuite simulator subprocess."""
        return f"http://127.0.0.1:{self._port('simulator')}"

    @property
    def workdir(self) -> Path:
        """Temporary directory holding logs and on-disk state of this stack."""
        if self._workdir is None:
            self._workdir = make_workdir()
        return self._workdir

    def pids(self) -> dict[str, int]:
        """Process ids of the running children by component name."""
        return {n: c.pid for n, c in self._children.items() if c.pid is not None}

    @property
    def pki(self) -> Pki:
        """The TLS certificates of this stack (made on first use)."""
        if self._pki is None:
            self._pki = make_pki(self.workdir / "tls")
        return self._pki

    def kafka_env(self) -> dict[str, str]:
        """The Kafka connection settings of this stack's broker (the services' variable names)."""
        out = {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "KAFKA_ENABLE_IDEMPOTENCE": "false"}
        if self.kafka_tls:
            out["KAFKA_SECURITY_PROTOCOL"] = "SSL"
            out["KAFKA_SSL_CAFILE"] = str(self.pki.ca)
        if self.kafka_client_auth:
            out["KAFKA_SSL_CERTFILE"] = str(self.pki.client_cert)
            out["KAFKA_SSL_KEYFILE"] = str(self.pki.client_key)
        return out

    def kafka_client_config(self) -> dict[str, Any]:
        """aiokafka arguments for this stack's broker, through the services' own mapping."""
        from om_platform.adapters.kafka.security import client_settings, kafka_client_kwargs

        return kafka_client_kwargs(client_settings(self.kafka_env()))

    def env(self) -> dict[str, str]:
        """Environment variables pointing a service at the running components."""
        out: dict[str, str] = {}
        if "kafka" in self._children:
            out.update(self.kafka_env())
        if "mongo" in self._children:
            out["MONGODB_URL"] = self.mongo_url
        if "simulator" in self._children:
            out["NETSUITE_BASE_URL"] = self.simulator_url
        return out

    def _port(self, name: str) -> int:
        if name not in self._ports:
            raise RuntimeError(f"{name} is not running in this stack")
        return self._ports[name]

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    async def astart(self) -> None:
        """Start every requested component concurrently, then create the topics."""
        try:
            jobs = []
            if self._want["kafka"]:
                jobs.append(self.start_kafka())
            if self._want["mongo"]:
                jobs.append(self.start_mongo())
            if self._want["simulator"]:
                jobs.append(self.start_simulator())
            await asyncio.gather(*jobs)
            if self._topics:
                await self.create_topics(self._topics)
        except BaseException:
            await self.astop()
            raise

    async def astop(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL after a grace period) and remove temp files."""
        children = [self._children.pop(name) for name in list(self._children)]
        for child in children:
            child.terminate()  # all at once, so the grace periods overlap
        # Waiting happens in threads so the event loop keeps serving while children exit.
        await asyncio.gather(*(asyncio.to_thread(child.stop, self._grace(child.name)) for child in children))
        self._ports.clear()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def start(self) -> None:
        """Synchronous :meth:`astart` for command-line use (no event loop may be running)."""
        asyncio.run(self.astart())

    def stop(self) -> None:
        """Synchronous :meth:`astop`."""
        asyncio.run(self.astop())

    async def _launch(
        self,
        name: str,
        build_argv: Callable[[int], list[str]],
        env: dict[str, str] | None = None,
    ) -> None:
        """Start ``name`` on its port (chosen now unless kept from an earlier start).

        A freshly chosen port can be taken by someone else before the child binds it; the
        child then exits and we retry on another port. Readiness also requires that the
        child itself listens on the port, so a stranger's server is never mistaken for ours.
        """
        attempts = 1 if name in self._ports else 3
        for attempt in range(1, attempts + 1):
            began = time.monotonic()
            port = self._ports.setdefault(name, free_port())
            child = ChildProcess(name, build_argv(port), self.workdir / f"{name}.log", env=env)
            child.start()  # in the caller's thread: PR_SET_PDEATHSIG is tied to it
            self._children[name] = child
            probe = functools.partial(self._answers, child)
            reason = await wait_until(probe, self.start_timeout, child.poll)
            if reason is None:
                self.startup_seconds[name] = time.monotonic() - began
                _log.info(
                    "component ready",
                    extra={"component": name, "pid": child.pid, "seconds": time.monotonic() - began},
                )
                return
            error = child.startup_error(reason)
            exited = child.poll() is not None
            del self._children[name]
            await asyncio.to_thread(child.stop, 0.0)
            if not exited or attempt == attempts:
                raise error
            _log.warning(
                "component exited at start, retrying on another port",
                extra={"component": name, "port": port, "attempt": attempt},
            )
            del self._ports[name]

    async def _answers(self, child: ChildProcess) -> bool:
        name = child.name
        if name == "simulator" and not await self._simulator_port_known():
            return False
        port = self._ports[name]
        if name == "kafka" and self.kafka_sasl:
            answered = await tcp_answers("127.0.0.1", port)  # no user can authenticate (see class doc)
        elif name == "kafka":
            client = self.kafka_client_config() if self.kafka_tls else None
            answered = await kafka_answers(self.kafka_bootstrap, client)
        elif name == "mongo":
            answered = await mongo_answers(self.mongo_url)
        elif name == "simulator":
            answered = await http_answers("127.0.0.1", port, "/_sim/accounts")
        else:
            answered = await tcp_answers("127.0.0.1", port)
        if not answered or child.pid is None:
            return False
        # Checked last because reading /proc is the dearer step; see _launch for why.
        owned = listening_ports(child.pid)
        return owned is None or port in owned

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TMPDIR"] = str(self.workdir)  # so scratch files die with the workdir
        return env

    def _grace(self, name: str) -> float:
        # In-memory secantusdb takes ~2 s to honour SIGTERM and has nothing to flush.
        if name == "mongo" and self.mongo_path is None:
            return 0.2
        return 5.0

    async def start_kafka(self) -> None:
        """Start tansu (memory storage, or S3 via a local moto server): see :mod:`._kafka`."""
        if "kafka" not in self._children:
            await start_kafka(self)

    async def start_mongo(self) -> None:
        """Start secantusdb (standalone by default; ``--sync-on-commit`` when configured)."""
        if "mongo" not in self._children:
            await start_mongo(self)

    async def start_simulator(self) -> None:
        """Start the NetSuite simulator as ``python -m om_netsuite_sim``.

        It binds port 0 itself and reports the port through ``--port-file`` (no race for a
        port); ready once it answers ``GET /_sim/accounts``.
        """
        if "simulator" not in self._children:
            await start_simulator(self, self.simulator_args)

    async def _simulator_port_known(self) -> bool:
        if self._ports.get("simulator"):
            return True
        port = read_port(self)
        if port is None:
            return False
        self._ports["simulator"] = port
        return True

    # ----------------------------------------------------------------- crash helpers

    def kill_kafka(self) -> None:
        """``SIGKILL`` the broker (its port is kept for :meth:`restart_kafka`)."""
        child = self._children.pop("kafka", None)
        if child is not None:
            child.kill()

    async def restart_kafka(self, *, kill: bool = True) -> None:
        """Kill (or stop) the broker and start it on the same port.

        Records survive only with ``kafka_storage="s3"``; memory storage starts empty.
        """
        child = self._children.pop("kafka", None)
        if child is not None:
            await asyncio.to_thread(child.stop, 0.0 if kill else 5.0)
        await self.start_kafka()

    def kill_mongo(self) -> None:
        """``SIGKILL`` the Mongo server (port and storage path are kept)."""
        child = self._children.pop("mongo", None)
        if child is not None:
            child.kill()

    async def restart_mongo(self, *, kill: bool = True) -> None:
        """Kill (or stop) the Mongo server and start it again on the same port and storage.

        Data survives only with ``mongo_path`` set (and, for writes acknowledged just before
        a kill, ``mongo_sync_on_commit=True``).
        """
        child = self._children.pop("mongo", None)
        if child is not None:
            await asyncio.to_thread(child.stop, 0.0 if kill else 5.0)
        await self.start_mongo()

    async def create_topics(self, topics: Iterable[TopicLike]) -> list[str]:
        """Create topics on this stack's broker; see :func:`create_topics`."""
        return await create_topics(self.kafka_bootstrap, topics, self.kafka_client_config())

    def write_env_file(self, path: Path, extra: Mapping[str, str] | None = None) -> Path:
        """Write every connection setting (:meth:`env` plus ``extra``) as ``NAME=value`` lines that a
        shell can source (``set -a; . FILE; set +a``) to point ``omctl`` at this stack. Mode 0600:
        ``extra`` may hold the sealing key ring."""
        values = self.env() | dict(extra or {})
        path.write_text("".join(f"{name}={shlex.quote(value)}\n" for name, value in sorted(values.items())))
        path.chmod(0o600)
        return path
