"""The compacted integrations topic projected into a service's MongoDB: configure, change, disconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from om_contracts import INTEGRATIONS_TOPIC, KeyRing, parse_event
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.core.records import RecordContext
from om_platform.core.settings_changes import SettingsChange, settings_changes

pytestmark = pytest.mark.integration

RING = KeyRing([KeyRing.generate_key()])


class _Runtime:
    def __init__(self, db: Any) -> None:
        self.db = db


def ctx() -> RecordContext:
    return RecordContext(
        topic=INTEGRATIONS_TOPIC, partition=0, offset=0, key=b"sup_1", headers=(), timestamp_ms=0
    )


# Sealed once: the same credentials in every event (sealing again gives other tokens, which
# `settings_changes` reports as new credentials).
SEALED = {
    k: RING.seal(f"plain-{k}").token for k in ("client_id", "client_secret", "token_id", "token_secret")
}


def configured(at: str, limit: int, supplier_id: str = "sup_1") -> Any:
    sealed = SEALED
    event = {
        "event_id": f"evt_{supplier_id}_{at}",
        "event_type": "integration.netsuite.configured",
        "occurred_at": at,
        "supplier_id": supplier_id,
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


def with_tabs(at: str, products: dict[str, str], surcharge: str | None = None) -> Any:
    event = configured(at, 5)
    data = event.data.model_copy(update={"product_mappings": products, "surcharge_item_id": surcharge})
    return event.model_copy(update={"data": data, "event_id": f"evt_{at}_{len(products)}"})


def test_a_settings_change_lists_only_what_the_new_settings_add_or_change() -> None:
    old = with_tabs("2026-11-24T09:00:00+00:00", {"prd_1": "10", "prd_2": "20"}).data
    new = with_tabs("2026-11-24T09:05:00+00:00", {"prd_2": "21", "prd_3": "30"}, surcharge="9").data
    change = settings_changes(old, new)
    assert change == SettingsChange(
        customers=frozenset(), products=frozenset({"prd_2", "prd_3"}), surcharge_item=True
    )
    assert not settings_changes(new, new)
    assert settings_changes(None, new).products == {"prd_2", "prd_3"}
    assert settings_changes(None, new).connected
    assert not settings_changes(new, None)  # disconnected: nothing to heal with
    rotated = new.model_copy(
        update={"credentials": new.credentials.model_copy(update={"token_id": RING.seal("plain-new")})}
    )
    assert settings_changes(new, rotated) == SettingsChange(credentials=True)


async def test_watchers_hear_each_change_once_it_is_stored_and_again_after_a_crash(mongo_db: Any) -> None:
    store = IntegrationStore(_Runtime(mongo_db))
    heard: list[tuple[str, SettingsChange]] = []
    crash = [False]

    async def watcher(supplier_id: str, change: SettingsChange) -> None:
        settings = await IntegrationStore(_Runtime(mongo_db)).get(supplier_id)
        assert settings is not None
        assert change.products <= settings.product_mappings.keys()  # stored before it is reported
        if crash[0]:
            crash[0] = False
            raise ConnectionError("the process died here")
        heard.append((supplier_id, change))

    store.watch(watcher)
    await store.apply("sup_1", with_tabs("2026-11-24T09:00:00+00:00", {}), ctx())
    assert heard == [("sup_1", SettingsChange(connected=True))]  # connected: nothing else new
    event = with_tabs("2026-11-24T09:05:00+00:00", {"prd_1": "10"})
    crash[0] = True
    with pytest.raises(ConnectionError):
        await store.apply("sup_1", event, ctx())
    await store.apply("sup_1", event, ctx())  # redelivered: the stored settings are the same already
    assert heard[1:] == [("sup_1", SettingsChange(products=frozenset({"prd_1"})))]
    await store.apply("sup_1", event, ctx())
    assert len(heard) == 2  # reported, so cleared


class _Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "find" and event.command.get("find") == "integrations"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_settings_expired_together_are_read_at_once_and_unchanged_ones_keep_their_object(
    mongo_url: str, unique_name: str
) -> None:
    finds = _Finds()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, event_listeners=[finds])
    db = client[f"test_{unique_name}"]
    try:
        writer = IntegrationStore(_Runtime(db))  # another replica: it applies, this one reads
        suppliers = [f"sup_{n}" for n in range(30)]
        for supplier_id in suppliers:
            await writer.apply(supplier_id, configured("2026-11-24T09:00:00+00:00", 5, supplier_id), ctx())
        store = IntegrationStore(_Runtime(db), cache_ttl_s=0)  # every get reads MongoDB
        finds.count = 0
        first = await asyncio.gather(*(store.get(s) for s in suppliers), store.get("sup_unknown"))
        assert finds.count == 1
        assert first[-1] is None
        again = await asyncio.gather(*(store.get(s) for s in suppliers))
        assert all(a is b for a, b in zip(first, again, strict=False))  # same stored event, same object
        await writer.apply("sup_3", configured("2026-11-24T10:00:00+00:00", 2, "sup_3"), ctx())
        changed = await store.get("sup_3")
        assert changed is not None
        assert changed is not first[3]
        assert changed.concurrency_limit == 2
    finally:
        await client.drop_database(f"test_{unique_name}")
        await client.close()
