"""Time to a ready embedded stack (target: under 10 s), per component and in total.

    .venv/bin/python benchmarks/devstack_startup.py [--runs 5]

Each run starts tansu, secantusdb and the simulator concurrently, creates a few topics, and
stops them; the figures are wall-clock seconds until each answers its own protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from om_devstack import EmbeddedStack

TARGET_SECONDS = 10.0
TOPICS = [("orders", 12, False), ("suppliers", 12, True), ("orders.dlq", 1, False)]


async def one_run() -> tuple[float, float, dict[str, float]]:
    began = time.monotonic()
    stack = EmbeddedStack(simulator=True, topics=TOPICS)
    await stack.astart()
    ready = time.monotonic() - began
    began = time.monotonic()
    await stack.astop()
    return ready, time.monotonic() - began, dict(stack.startup_seconds)


async def main(runs: int) -> None:
    results = [await one_run() for _ in range(runs)]
    ready = [r[0] for r in results]
    stop = [r[1] for r in results]
    print(f"runs: {runs}")
    for name in ("kafka", "mongo", "simulator"):
        values = [r[2][name] for r in results]
        print(f"  {name:<10} ready in median {statistics.median(values):.2f} s, max {max(values):.2f} s")
    print(
        f"  whole stack ready (with topics): median {statistics.median(ready):.2f} s, max {max(ready):.2f} s"
    )
    print(f"  stop: median {statistics.median(stop):.2f} s, max {max(stop):.2f} s")
    verdict = "meets" if max(ready) < TARGET_SECONDS else "MISSES"
    print(f"target < {TARGET_SECONDS:.0f} s: {verdict} (worst {max(ready):.2f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
