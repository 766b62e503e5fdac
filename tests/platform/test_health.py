"""Health and metrics endpoints of a running service, over HTTP."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from om_contracts import KeyRing
from om_platform.core.records import Decoded, RecordContext, Skip
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings

pytestmark = pytest.mark.integration


class Blocking:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, payload: dict[str, Any], ctx: RecordContext) -> None:
        self.started.set()
        await self.release.wait()


def decode(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]] | Skip:
    return Decoded(tenant="sup", lane="k", payload=json.loads(raw or b"{}"))


@pytest.fixture
async def served(
    kafka_bootstrap: str, mongo_url: str, make_topics: Any, unique_name: str
) -> AsyncIterator[tuple[str, Blocking, str]]:
    (topic,) = await make_topics("health", partitions=1)
    settings = ServiceSettings(
        service_name="health-test",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_enable_idempotence=False,
        kafka_consumer_group=f"g-{unique_name}",
        kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=500,
        mongodb_url=mongo_url,
        netsuite_credentials_keys=KeyRing.generate_key(),
        liveness_stall_s=0.3,
        shutdown_grace_s=0.1,
    )
    probe = Blocking()
    runtime = ServiceRuntime(settings, title="health test")
    runtime.consume(topic, decode=decode, handle=probe.handle)
    server = uvicorn.Server(
        uvicorn.Config(runtime.app(), host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", probe, topic
    probe.release.set()
    server.should_exit = True
    await task


async def test_readiness_reports_broker_and_mongo(served: tuple[str, Blocking, str]) -> None:
    base, _, _ = served
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{base}/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"kafka": True, "mongodb": True}


async def test_liveness_fails_when_pending_work_makes_no_progress(
    served: tuple[str, Blocking, str], kafka_bootstrap: str
) -> None:
    base, probe, topic = served
    async with httpx2.AsyncClient() as http:
        assert (await http.get(f"{base}/health/live")).status_code == 200
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        await producer.send_and_wait(topic, b"{}", key=b"sup")
        await producer.stop()
        await asyncio.wait_for(probe.started.wait(), 20)
        await asyncio.sleep(0.4)  # the stall threshold itself is what is under test
        stalled = await http.get(f"{base}/health/live")
        assert stalled.status_code == 503
        assert "no progress" in json.dumps(stalled.json()["problems"])
        probe.release.set()
        metrics = (await http.get(f"{base}/metrics")).text
    assert "om_events_in_flight" in metrics
    assert "om_consumer_lag" in metrics


async def test_metrics_carry_process_python_and_build_info(served: tuple[str, Blocking, str]) -> None:
    base, _, _ = served
    async with httpx2.AsyncClient() as http:
        text = (await http.get(f"{base}/metrics")).text
    for family in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_objects_collected_total",
    ):
        assert f"\n{family}" in text, family
    assert 'om_build_info{python="' in text
    assert 'service="health-test"' in text
    assert "om_consumer_stalled_seconds" in text


async def test_the_asyncapi_page_works_offline(served: tuple[str, Blocking, str]) -> None:
    base, _, topic = served
    async with httpx2.AsyncClient() as http:
        page = await http.get(f"{base}/docs/asyncapi")
        document = await http.get(f"{base}/docs/asyncapi.json")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert topic in html
    # nothing is fetched from anywhere: no script, no external style sheet, font or image
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert document.json()["info"]["title"] == "health test"
