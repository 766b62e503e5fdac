"""The NetSuite simulator is available in-process (fixture) and as a stack subprocess."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from om_devstack import EmbeddedStack, alive
from om_netsuite_sim import SimulatorServer

pytestmark = pytest.mark.integration


async def _get_json(base_url: str, path: str) -> Any:
    url = urlsplit(base_url)
    assert url.hostname is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(body)


async def test_the_simulator_fixture_serves_the_state_the_test_sets_up(
    simulator: SimulatorServer, unique_name: str
) -> None:
    simulator.sim.add_account(f"{unique_name}_SB1")
    accounts = (await _get_json(simulator.base_url, "/_sim/accounts"))["accounts"]
    assert f"{unique_name}_SB1" in accounts


async def test_the_stack_runs_the_simulator_as_a_subprocess_and_stops_it() -> None:
    async with EmbeddedStack(kafka=False, mongo=False, simulator=True) as stack:
        pid = stack.pids()["simulator"]
        assert stack.env() == {"NETSUITE_BASE_URL": stack.simulator_url}
        assert (await _get_json(stack.simulator_url, "/_sim/accounts")) == {"accounts": []}
    assert not alive(pid)
