"""The compacted integrations topic projected into a service's MongoDB: configure, change, disconnect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from om_contracts import INTEGRATIONS_TOPIC, KeyRing, parse_event
from om_platform.integrations import IntegrationStore
from om_platform.kafka import RecordContext

pytestmark = pytest.mark.integration

RING = KeyRing([KeyRing.generate_key()])


class _Runtime:
    def __init__(self, db: Any) -> None:
        self.db = db


def ctx() -> RecordContext:
    return RecordContext(
        topic=INTEGRATIONS_TOPIC, partition=0, offset=0, key=b"sup_1", headers=(), timestamp_ms=0
    )


def configured(at: str, limit: int) -> Any:
    sealed = {
        k: RING.seal(f"plain-{k}").token for k in ("client_id", "client_secret", "token_id", "token_secret")
    }
    event = {
        "event_id": f"evt_{at}",
        "event_type": "integration.netsuite.configured",
        "occurred_at": at,
        "supplier_id": "sup_1",
        "data": {
            "account_id": "1234567_sb1",
            "credentials": sealed,
            "sync_type": "orders",
            "concurrency_limit": limit,
        },
    }
    return parse_event(INTEGRATIONS_TOPIC, json.dumps(event).encode())


async def test_settings_are_applied_kept_sealed_and_a_stale_event_is_ignored(mongo_db: Any) -> None:
    store = IntegrationStore(_Runtime(mongo_db))
    await store.apply("sup_1", configured("2026-11-24T09:00:00+00:00", 7), ctx())
    assert store.limit_for("sup_1") == 7  # known at once, without a read
    settings = await store.get("sup_1")
    assert settings is not None
    assert settings.account_id == "1234567_SB1"
    stored = await mongo_db["integrations"].find_one({"_id": "sup_1"})
    assert "plain-client_secret" not in repr(stored)
    assert (
        RING.open(stored["settings"]["credentials"]["client_secret"]).get_secret_value()
        == "plain-client_secret"
    )

    await store.apply("sup_1", configured("2026-11-24T08:00:00+00:00", 2), ctx())  # older: ignored
    assert (await IntegrationStore(_Runtime(mongo_db)).get("sup_1")).concurrency_limit == 7  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["event", "tombstone"])
async def test_disconnecting_forgets_the_settings_and_credentials(mongo_db: Any, how: str) -> None:
    store = IntegrationStore(_Runtime(mongo_db))
    await store.apply("sup_1", configured("2026-11-24T09:00:00+00:00", 5), ctx())
    if how == "event":
        raw = json.dumps({
            "event_id": "evt_bye", "event_type": "integration.netsuite.disconnected",
            "occurred_at": "2026-11-24T10:00:00+00:00", "supplier_id": "sup_1", "data": {},
        }).encode()  # fmt: skip
    else:
        raw = None
    record = parse_event(INTEGRATIONS_TOPIC, raw, key=b"sup_1")
    await store.handle(record, ctx())  # type: ignore[arg-type]
    assert await store.get("sup_1") is None
    assert await IntegrationStore(_Runtime(mongo_db)).get("sup_1") is None
    stored = await mongo_db["integrations"].find_one({"_id": "sup_1"})
    assert stored["status"] == "disconnected"
    assert stored["settings"] is None
    assert [s async for s in store.configured()] == []
