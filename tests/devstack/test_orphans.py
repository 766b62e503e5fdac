"""Killing the process that owns the stack with SIGKILL leaves no server behind (pdeathsig), and
stopping `python3 manage.py dev` stops the demo and everything it started."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from om_devstack import EmbeddedStack, alive, children_of, wait_dead

pytestmark = pytest.mark.integration

PROBE = Path(__file__).parent / "probes" / "probe_plugin.py"
ROOT = Path(__file__).resolve().parents[2]
_STACK_VARS = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "KAFKA_ENABLE_IDEMPOTENCE", "OM_TEST_STACK")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STACK_VARS}
    env.update(extra)
    return env


async def _run_probe(env: Mapping[str, str]) -> tuple[asyncio.subprocess.Process, dict[str, object]]:
    """Start pytest on the probe; return the process and the report it wrote to our pipe."""
    read_fd, write_fd = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", str(PROBE), "-q", "-p", "no:cacheprovider",
        cwd=ROOT,
        env={**env, "OM_PROBE_FD": str(write_fd)},
        pass_fds=[write_fd],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    os.close(write_fd)
    reader = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb")
    )
    try:
        line = await asyncio.wait_for(reader.readline(), 60)
    finally:
        transport.close()
    if not line:
        output = (await proc.communicate())[0].decode()
        pytest.fail(f"probe reported nothing:\n{output}")
    return proc, json.loads(line)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_a_killed_pytest_run_leaves_no_server_running(signum: signal.Signals) -> None:
    proc, report = await _run_probe(_env(OM_PROBE_HANG="1"))
    pids = report["embedded_pids"]
    assert isinstance(pids, dict)
    assert set(pids) == {"kafka", "mongo"}
    assert all(alive(pid) for pid in pids.values())

    proc.send_signal(signum)
    await asyncio.wait_for(proc.wait(), 30)

    for pid in pids.values():
        await wait_dead(pid)


async def test_sigkill_of_the_cli_leaves_no_server_or_run_command_running(tmp_path: Path) -> None:
    env_file = tmp_path / "stack.env"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "om_devstack", "up", "--simulator", "off",
        "--env-file", str(env_file), "--run", "sh -c 'echo $MONGODB_URL; exec tail -f /dev/null'",
        env=_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode() for _ in range(4)]
    printed = dict(line.strip().split("=", 1) for line in lines[:3])
    assert set(printed) == {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_ENABLE_IDEMPOTENCE", "MONGODB_URL"}
    assert lines[3].strip() == printed["MONGODB_URL"]  # the --run command got the environment
    assert env_file.read_text().splitlines() == [line.strip() for line in lines[:3]]
    children = children_of(proc.pid)
    assert len(children) == 3

    proc.send_signal(signal.SIGKILL)
    await proc.wait()

    for pid in children:
        await wait_dead(pid)


async def test_the_cli_prints_the_simulator_url_and_stops_everything_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "om_devstack", "up", "--simulator", "on", "--no-mongo",
        env=_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode() for _ in range(3)]
    names = [line.split("=", 1)[0] for line in lines]
    assert names == ["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_ENABLE_IDEMPOTENCE", "NETSUITE_BASE_URL"]
    assert lines[2].startswith("NETSUITE_BASE_URL=http://127.0.0.1:")
    children = children_of(proc.pid)
    assert len(children) == 2

    proc.send_signal(signal.SIGTERM)

    assert await asyncio.wait_for(proc.wait(), 15) == 0
    assert not [pid for pid in children if alive(pid)]


async def test_the_fixtures_use_external_servers_named_in_the_environment(
    unique_name: str,
) -> None:
    async with EmbeddedStack(topics=[(f"probe-{unique_name}", 1, False)]) as external:
        proc, report = await _run_probe(
            _env(
                KAFKA_BOOTSTRAP_SERVERS=external.kafka_bootstrap,
                MONGODB_URL=external.mongo_url,
                KAFKA_ENABLE_IDEMPOTENCE="false",
                OM_PROBE_TOPIC=f"probe-{unique_name}",
                OM_PROBE_MARK=unique_name,
            )
        )
        output = (await proc.communicate())[0].decode()
        assert proc.returncode == 0, output
        assert report["kafka_bootstrap"] == external.kafka_bootstrap
        assert report["mongo_url"] == external.mongo_url
        assert report["embedded_pids"] == {}

        # The probe's writes landed on the external stack.
        from aiokafka import AIOKafkaConsumer
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(external.mongo_url)
        try:
            assert await client.probe.marks.find_one({"_id": unique_name}) is not None
        finally:
            await client.close()
        consumer = AIOKafkaConsumer(
            f"probe-{unique_name}",
            bootstrap_servers=external.kafka_bootstrap,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 10)
        finally:
            await consumer.stop()
        assert record.value == b"from-probe"


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children_of(pending.pop()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


RUNNER = """
import sys
sys.path.insert(0, sys.argv[1])
import manage
manage._run(sys.executable, "-m", "om_demo", "--env-file", sys.argv[2], own_group=True)
"""


async def test_sigterm_of_manage_py_dev_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    # manage.py dev's own runner (without the `setup` that comes first: no uv sync in a test). Its
    # output goes to a pipe this test holds open, as a terminal would be: with asyncio's own pipe,
    # the pipe closes when the runner exits and the demo would die of it even on the old code.
    read_fd, write_fd = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUNNER, str(ROOT), str(tmp_path / "demo.env"),
        cwd=ROOT, env=_env(), stdout=write_fd, stderr=write_fd,
    )  # fmt: skip
    os.close(write_fd)
    output = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(output), os.fdopen(read_fd, "rb")
    )
    tree: set[int] = set()
    try:
        seen: list[bytes] = []
        while not any(b"finance_sync ready in" in line for line in seen):
            line = await asyncio.wait_for(output.readline(), 300)
            assert line, b"".join(seen).decode()  # the demo ended before its services were ready
            seen.append(line)
        tree = _descendants(proc.pid)
        # the demo, Kafka, MongoDB, the simulator and the three services
        assert len(tree) >= 7, tree
        drain = asyncio.create_task(output.read())  # a full pipe would block the demo's shutdown

        proc.send_signal(signal.SIGTERM)

        await asyncio.wait_for(proc.wait(), 90)
        assert proc.returncode != 0  # the demo did not finish its day
        for pid in tree:
            await wait_dead(pid, timeout=30)
        drain.cancel()
    finally:
        transport.close()
        for pid in tree:  # only when an assert failed: the orphans this test found
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
