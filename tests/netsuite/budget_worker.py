"""Subprocess used by the two-process budget tests.

``python budget_worker.py <mongo_url> <db> <collection> <account> <limit> <tasks> <hold_s> [<sim_url> <customer_id>]``

Without ``sim_url`` each task holds a MongoBudget slot for ``hold_s`` and the script prints the
(start, end) wall-clock intervals as JSON. With ``sim_url`` (and TBA credentials in the env), each
task sends a real request to the simulator through a NetSuiteClient and the script prints
``{"ok": <successes>}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from pydantic import SecretStr
from pymongo import AsyncMongoClient

from om_netsuite import MongoBudget, NetSuiteClient, TbaAuth, TbaCredentials


async def main(argv: list[str]) -> None:
    url, db, coll, account, limit, tasks, hold = argv[:7]
    sim_url, customer_id = (argv[7], argv[8]) if len(argv) > 8 else (None, "")
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
    budget = MongoBudget(mongo[db][coll], lease=5.0)
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the parent
    if sim_url is None:
        intervals: list[tuple[float, float]] = []

        async def hold_slot() -> None:
            async with budget.slot(account, int(limit)):
                start = time.time()
                await asyncio.sleep(float(hold))
                intervals.append((start, time.time()))

        await asyncio.gather(*(hold_slot() for _ in range(int(tasks))))
        print(json.dumps(intervals), flush=True)
    else:
        creds = TbaCredentials(
            consumer_key=SecretStr(os.environ["NS_CK"]),
            consumer_secret=SecretStr(os.environ["NS_CS"]),
            token_id=SecretStr(os.environ["NS_TK"]),
            token_secret=SecretStr(os.environ["NS_TS"]),
        )
        async with NetSuiteClient(base_url_override=sim_url, budget=budget) as client:
            ns = client.session(account, TbaAuth(account, creds), int(limit))
            results = await asyncio.gather(
                *(ns.get("customer", customer_id) for _ in range(int(tasks))),
                return_exceptions=True,
            )
        print(json.dumps({"ok": sum(1 for r in results if not isinstance(r, BaseException))}), flush=True)
    await mongo.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
