"""`python -m om_demo --external` against a stack it did not start (what the compose `demo` profile
does): the embedded stack from `python -m om_devstack up` in its own process, the three services
started beside it, and the demo pointed at them only through the environment.

It crashed at the preview step ("kafka is not running in this stack") because the story read the
demo's own, never started, embedded stack instead of the harness's connection settings.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from om_contracts import KeyRing
from om_demo._harness import SERVICES, Harness
from om_devstack._probes import free_port
from om_devstack._process import ChildProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "TERM": "dumb"}


@pytest_asyncio.fixture
async def external_stack(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """`om_devstack up` with every contract topic, and the three services on it; yields the
    environment `om_demo --external` reads."""
    env_file = tmp_path / "stack.env"
    up = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "om_devstack", "up", "--simulator", "on", "--env-file", str(env_file),
        "--topics-from", "om_contracts:topic_specs",
        env=ENV,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert up.stdout is not None
    services: list[ChildProcess] = []
    try:
        printed: dict[str, str] = {}
        while "NETSUITE_BASE_URL" not in printed:  # the NAME=value lines come once the stack is up
            line = (await asyncio.wait_for(up.stdout.readline(), 120)).decode().strip()
            assert line, "om_devstack up ended before printing the stack's settings"
            name, _, value = line.partition("=")
            printed[name] = value
        stack = printed | {"NETSUITE_CREDENTIALS_KEYS": KeyRing.generate_key()}
        harness = Harness(workdir=tmp_path, external=stack)  # only for the services' environment
        urls = []
        for service in SERVICES:
            port = free_port()
            child = ChildProcess(
                service,
                [sys.executable, "-m", service],
                tmp_path / f"{service}.log",
                env=harness.service_env(service, port),
            )
            child.start()
            services.append(child)
            urls.append(f"{service}=http://127.0.0.1:{port}")
        yield {**ENV, **stack, "OM_DEMO_SERVICE_URLS": ",".join(urls)}
    finally:
        for child in services:
            await asyncio.to_thread(child.stop, 10.0)
        up.terminate()
        await asyncio.wait_for(up.wait(), 30)


@pytest.mark.timeout(400)
async def test_the_demo_runs_its_day_against_a_stack_started_separately(
    external_stack: dict[str, str],
) -> None:
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "om_demo", "--external",
        env=external_stack, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(demo.communicate(), 360))[0].decode()
    assert "is not running in this stack" not in output
    assert demo.returncode == 0, output[-6000:]
    assert "✗" not in output
    assert "omctl preview of the unmapped order names its product and writes nothing" in output
