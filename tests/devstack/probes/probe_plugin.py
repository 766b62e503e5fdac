"""Run only by tests/devstack in a pytest subprocess (not collected: not named test_*).

Reports what the plugin gave it through the file descriptor in ``OM_PROBE_FD``.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from om_devstack import StackSession


def _report(payload: dict[str, Any]) -> None:
    fd = int(os.environ["OM_PROBE_FD"])
    os.write(fd, json.dumps(payload).encode() + b"\n")


async def test_report_fixtures_then_write_through_them(
    om_stack_session: StackSession,
    kafka_bootstrap: str,
    mongo_url: str,
    kafka_producer: AIOKafkaProducer,
    mongo_db: AsyncDatabase[Any],
) -> None:
    if "OM_PROBE_TOPIC" in os.environ:
        await kafka_producer.send_and_wait(os.environ["OM_PROBE_TOPIC"], b"from-probe")
        await mongo_db.client["probe"]["marks"].insert_one({"_id": os.environ["OM_PROBE_MARK"]})
    _report(
        {
            "kafka_bootstrap": kafka_bootstrap,
            "mongo_url": mongo_url,
            "embedded_pids": om_stack_session.embedded.pids(),
            "pid": os.getpid(),
        }
    )
    if os.environ.get("OM_PROBE_HANG"):
        await asyncio.Event().wait()  # parked until the parent test SIGKILLs this pytest
