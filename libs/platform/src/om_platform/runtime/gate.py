"""The start-up gate: no record is handled before the integrations projection has caught up.

Cold start without false failures: every consumer but the integrations topic's holds its records
until the integrations consumer group has committed (processed, whichever replica did it) up to the
integrations topic's end offsets read at start, at most `INTEGRATIONS_CATCH_UP_S`; then the gate
opens anyway and says so (records then may overtake their supplier's settings).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from om_contracts import INTEGRATIONS_TOPIC
from om_platform.adapters.kafka import TopicConsumer
from om_platform.adapters.kafka.security import kafka_client_kwargs
from om_platform.metrics import Metrics
from om_platform.settings import ServiceSettings

log = logging.getLogger(__name__)


class StartupGate:
    """`ready` is set once the integrations projection caught up (or the wait timed out)."""

    def __init__(
        self, settings: ServiceSettings, metrics: Metrics, consumers: Sequence[TopicConsumer[Any]]
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._consumers = consumers
        self.ready = asyncio.Event()

    async def open(self, *, wait_for_integrations: bool) -> None:
        """Wait for the projection (when the service keeps one), then set `ready` whatever happened."""
        began = time.monotonic()
        try:
            if wait_for_integrations:
                caught_up = await asyncio.wait_for(self._caught_up(), self._settings.integrations_catch_up_s)
                log.info("integrations caught up in %.1fs (%s)", time.monotonic() - began, caught_up)
        except TimeoutError:
            log.warning(
                "integrations projection not caught up after %.0fs (INTEGRATIONS_CATCH_UP_S); handling "
                "events anyway: one overtaking its supplier's settings fails INTEGRATION_NOT_CONFIGURED "
                "and heals once they arrive",
                self._settings.integrations_catch_up_s,
            )
        except asyncio.CancelledError:
            raise  # shutting down: the records waiting are abandoned, uncommitted
        except Exception:
            log.exception("reading the integrations topic's positions failed; opening the gate")
        self._metrics.integrations_catch_up_seconds.set(time.monotonic() - began)
        self.ready.set()

    async def _caught_up(self) -> str:
        consumer = next(c for c in self._consumers if c.topic == INTEGRATIONS_TOPIC)
        while True:
            kafka = consumer.consumer
            numbers = kafka.partitions_for_topic(INTEGRATIONS_TOPIC) if kafka is not None else None
            if numbers:
                break
            await asyncio.sleep(0.05)  # the subscriber's metadata is on its way
        partitions = [TopicPartition(INTEGRATIONS_TOPIC, p) for p in sorted(numbers)]
        ends = await self._log_ends(partitions)
        behind = {tp: end for tp, end in ends.items() if end > 0}
        while behind:
            for tp in list(behind):
                committed = await kafka.committed(tp)
                if committed is not None and committed >= behind[tp]:
                    del behind[tp]
            if behind:
                await asyncio.sleep(0.1)  # commits land every KAFKA_COMMIT_INTERVAL_MS
        return f"{sum(ends.values())} record(s) on {len(partitions)} partition(s)"

    async def _log_ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The end offset of each partition now: the larger of ListOffsets' answer and the high
        watermark of a fetch. The embedded tansu broker answers ListOffsets with too low an offset
        once one produce request carried many records (measured: 1 per partition after 1,500
        records sent at once); its fetches report the high watermark right. Real Kafka agrees."""
        reader = AIOKafkaConsumer(
            **kafka_client_kwargs(self._settings),
            enable_auto_commit=False,
            client_id=f"{self._settings.service_name}-gate",
            max_partition_fetch_bytes=4096,
        )
        await reader.start()
        try:
            reader.assign(partitions)
            ends: dict[TopicPartition, int] = await reader.end_offsets(partitions)
            for tp in partitions:
                reader.seek(tp, max(0, ends[tp] - 1))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5.0
            marks: dict[TopicPartition, int] = {}
            while len(marks) < len(partitions) and loop.time() < deadline:
                await reader.getmany(timeout_ms=200, max_records=1)
                marks.update({tp: mark for tp in partitions if (mark := reader.highwater(tp)) is not None})
            return {tp: max(ends[tp], marks.get(tp, 0)) for tp in partitions}
        finally:
            await reader.stop()
