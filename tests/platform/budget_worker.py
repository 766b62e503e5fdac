"""A separate OS process holding shares of the MongoDB budget, for the multi-process tests.

``python budget_worker.py <mongo_url> <db> <collection> <account> <limit> <tasks> <hold_s> [<sim_url> <customer_id>]``
    Without ``sim_url`` each task holds a slot for ``hold_s`` and the script prints the
    (start, end) wall-clock intervals as JSON. With ``sim_url`` (TBA credentials in the env
    ``NS_CK``/``NS_CS``/``NS_TK``/``NS_TS``) each task sends one GET to the simulator and the
    script prints ``{"ok": <successes>}``.

``python budget_worker.py --load '<json>'``
    Sends GETs to the simulator until it reads ``stop`` on stdin, with ``demand`` callers at once
    (an integer) or a random number of them (``"random"``: 0..``max_callers``, changing every
    0.2-1 s). Prints one JSON summary: successes, errors by type, the wall-clock start of every
    request, and how long the first request waited for a slot. Keys of the JSON: ``mongo_url``,
    ``db``, ``collection``, ``account``, ``limit``, ``sim_url``, ``customer_id``, ``demand``,
    ``max_callers``, ``seed``, ``timing`` (``LeaseTiming`` fields; ``attempt_deadline_s`` is also
    the client's attempt deadline).

Both modes print ``ready`` and wait for a line on stdin before starting, so processes start
together.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from typing import Any

from pydantic import SecretStr
from pymongo import AsyncMongoClient

from om_netsuite import NetSuiteClient, RequestRetryPolicy, TbaAuth, TbaCredentials
from om_platform.adapters.budget import LeaseTiming, MongoBudget


def credentials() -> TbaCredentials:
    return TbaCredentials(
        consumer_key=SecretStr(os.environ["NS_CK"]),
        consumer_secret=SecretStr(os.environ["NS_CS"]),
        token_id=SecretStr(os.environ["NS_TK"]),
        token_secret=SecretStr(os.environ["NS_TS"]),
    )


async def hold_slots(argv: list[str]) -> None:
    url, db, coll, account, limit, tasks, hold = argv[:7]
    sim_url, customer_id = (argv[7], argv[8]) if len(argv) > 8 else (None, "")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    budget = MongoBudget(
        mongo[db][coll], timing=LeaseTiming(renew_s=0.5, lease_s=5.0, margin_s=1.0, poll_s=0.05)
    )
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
        async with NetSuiteClient(base_url_override=sim_url, budget=budget) as client:
            ns = client.session(account, TbaAuth(account, credentials()), int(limit))
            results = await asyncio.gather(
                *(ns.get("customer", customer_id) for _ in range(int(tasks))),
                return_exceptions=True,
            )
        print(json.dumps({"ok": sum(1 for r in results if not isinstance(r, BaseException))}), flush=True)
    await budget.aclose()
    await mongo.close()


async def load(config: dict[str, Any]) -> None:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        config["mongo_url"], serverSelectionTimeoutMS=60_000
    )
    budget = MongoBudget(mongo[config["db"]][config["collection"]], timing=LeaseTiming(**config["timing"]))
    rng = random.Random(config["seed"])
    starts: list[float] = []
    waits: list[float] = []
    errors: Counter[str] = Counter()
    ok = 0

    def slot_granted(account_id: str, waited: float) -> None:
        starts.append(time.time())
        waits.append(waited)

    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    stopped = loop.run_in_executor(None, sys.stdin.readline)
    # Retries would hide nothing here (the budget is what is tested) but keep errors rare.
    retry = RequestRetryPolicy(max_attempts=3, max_elapsed=60.0, base=0.01, cap=0.05)
    async with NetSuiteClient(
        base_url_override=config["sim_url"],
        budget=budget,
        retry=retry,
        on_budget_wait=slot_granted,
        attempt_deadline=budget.timing.attempt_deadline_s,
    ) as client:
        ns = client.session(config["account"], TbaAuth(config["account"], credentials()), config["limit"])

        async def caller(until: float) -> None:
            nonlocal ok
            while time.monotonic() < until and not stopped.done():
                try:
                    await ns.get("customer", config["customer_id"])
                    ok += 1
                except Exception as error:  # counted and reported: the test decides
                    errors[type(error).__name__] += 1

        while not stopped.done():
            if config["demand"] == "random":
                callers, phase = rng.randint(0, config["max_callers"]), rng.uniform(0.2, 1.0)
            else:
                callers, phase = int(config["demand"]), 0.5
            until = time.monotonic() + phase
            if callers:
                await asyncio.gather(*(caller(until) for _ in range(callers)))
            else:
                await asyncio.wait([stopped], timeout=phase)
    await budget.aclose()
    await mongo.close()
    summary = {"ok": ok, "errors": dict(errors), "starts": starts, "first_wait": waits[0] if waits else None}
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--load":
        asyncio.run(load(json.loads(sys.argv[2])))
    else:
        asyncio.run(hold_slots(sys.argv[1:]))
