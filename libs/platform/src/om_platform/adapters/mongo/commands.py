"""Operator commands: how `omctl` (or the demo) asks a running service to do something now.

A command is a document in the service's own `operator_commands` collection. Any replica of that
service may claim it (one atomic `find_one_and_update` from `pending` to `running`), runs the
registered handler and records the result or the error. The CLI waits for the document to finish.
Commands are idempotent operations (re-sync, run a job, rewind a cursor), so a replica dying
mid-command only means the operator re-issues it; a command left `running` by a dead replica is
shown as such by `omctl` after its lease (`expires_at`) passes and is claimable again.

A command sees the events published before it: the submitter records in `after` the end offsets
(`{topic: {partition: offset}}`) of the topics at submission, and the replica that claims it
first waits until the service's consumer group has finished every record before those offsets
(its committed offsets, which cover every replica's work), at most `catch_up_s`; past that the
command fails with the partitions still behind, and is not run. Topics the service does not
consume are ignored, so a submitter may list every inbound topic.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

log = logging.getLogger(__name__)

COLLECTION = "operator_commands"
CommandHandler = Callable[[str | None, Mapping[str, Any]], Awaitable[Mapping[str, Any]]]
Offsets = Mapping[str, Mapping[int, int]]
"""Per topic, per partition: an offset (the end of the partition when the command was submitted)."""
Positions = Callable[[str, int], Awaitable[int | None]]
"""(topic, partition) -> the offset below which the service finished every record; None when it
does not consume that topic."""


class NotCaughtUp(Exception):
    """The service did not process the events published before a command within the bound."""


class CommandQueue:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], lease_s: float = 600.0) -> None:
        self._collection: AsyncCollection[dict[str, Any]] = db[COLLECTION]
        self._lease = timedelta(seconds=lease_s)

    async def submit(
        self,
        command: str,
        supplier_id: str | None = None,
        args: Mapping[str, Any] | None = None,
        *,
        after: Offsets | None = None,
    ) -> str:
        """Queue a command; `after`: offsets the service must have processed before running it."""
        command_id = secrets.token_hex(8)
        await self._collection.insert_one(
            {
                "_id": command_id,
                "command": command,
                "supplier_id": supplier_id,
                "args": dict(args or {}),
                # MongoDB keys are strings: partitions are stored as "0", "1", ...
                "after": {t: {str(p): o for p, o in parts.items()} for t, parts in (after or {}).items()},
                "status": "pending",
                "requested_at": datetime.now(UTC),
            }
        )
        return command_id

    async def claim(self, commands: set[str]) -> dict[str, Any] | None:
        now = datetime.now(UTC)
        return await self._collection.find_one_and_update(
            {
                "command": {"$in": sorted(commands)},
                "$or": [{"status": "pending"}, {"status": "running", "expires_at": {"$lte": now}}],
            },
            {"$set": {"status": "running", "started_at": now, "expires_at": now + self._lease}},
            sort=[("requested_at", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def finish(
        self, command_id: str, *, result: Mapping[str, Any] | None = None, error: str | None = None
    ) -> None:
        await self._collection.update_one(
            {"_id": command_id},
            {
                "$set": {
                    "status": "failed" if error else "done",
                    "result": dict(result or {}),
                    "error": error,
                    "finished_at": datetime.now(UTC),
                }
            },
        )

    async def wait(self, command_id: str, timeout: float = 300.0, poll_s: float = 0.2) -> dict[str, Any]:
        """Wait until the command is done or failed; raises TimeoutError (the command may still run)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            document = await self._collection.find_one({"_id": command_id})
            if document is not None and document["status"] in {"done", "failed"}:
                return document
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"command {command_id} still {document['status'] if document else 'missing'}"
                )
            await asyncio.sleep(poll_s)  # another process finishes it: there is no event to await


async def caught_up(
    after: Mapping[str, Mapping[str, int]], positions: Positions, timeout_s: float, poll_s: float = 0.1
) -> None:
    """Return once every consumed (topic, partition) in `after` is processed up to its offset.

    Raises `NotCaughtUp` naming what is still behind after `timeout_s`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        behind: list[str] = []
        for topic, parts in sorted(after.items()):
            for partition, target in sorted(parts.items()):
                position = await positions(topic, int(partition))
                if position is not None and position < target:
                    behind.append(f"{topic}[{partition}] at {position} of {target}")
        if not behind:
            return
        if loop.time() >= deadline:
            raise NotCaughtUp(
                f"the events published before the command were not all processed within {timeout_s:.0f}s "
                f"({'; '.join(behind)}); the command was not run: check consumer lag and re-issue it"
            )
        await asyncio.sleep(poll_s)  # commits come from other tasks and replicas: nothing to await


async def serve_commands(
    queue: CommandQueue,
    handlers: Mapping[str, CommandHandler],
    poll_s: float = 1.0,
    *,
    positions: Positions | None = None,
    catch_up_s: float = 60.0,
) -> None:
    """Claim and run this service's commands forever (run it with `ServiceRuntime.supervise`).

    With `positions`, a command carrying `after` offsets runs only once they are processed.
    """
    while True:
        try:
            document = await queue.claim(set(handlers))
        except Exception:
            log.exception("cannot read operator commands; retrying")
            await asyncio.sleep(poll_s)
            continue
        if document is None:
            await asyncio.sleep(poll_s)
            continue
        name, supplier_id = document["command"], document.get("supplier_id")
        log.info(
            "operator command %s", name, extra={"supplier_id": supplier_id, "command_id": document["_id"]}
        )
        try:
            if positions is not None and document.get("after"):
                await caught_up(document["after"], positions, catch_up_s)
            result = await handlers[name](supplier_id, document.get("args") or {})
        except Exception as exc:
            log.warning("operator command %s failed: %s", name, exc, extra={"supplier_id": supplier_id})
            await queue.finish(document["_id"], error=f"{type(exc).__name__}: {exc}")
        else:
            await queue.finish(document["_id"], result=result)
