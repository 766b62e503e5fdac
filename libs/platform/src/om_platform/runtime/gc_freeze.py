"""Freezing the objects that survived a slow full garbage collection.

CPython's cyclic collector walks every tracked object at a full (generation 2) collection, and the
event loop stops meanwhile. A process holding thousands of suppliers' settings, budget accounts
and reference data keeps 400,000-500,000 long-lived objects: full collections of 240-345 ms with
5,000 suppliers configured, while every NetSuite response that arrives waits
(`benchmarks/bench_order_sync.py`, a `gc.callbacks` probe). What survives a full collection is
long-lived; `gc.freeze()` moves it to the permanent generation, so that later full collections
walk only what was allocated since. They then come more often and each is short: a pause shorter
than a NetSuite round trip mostly overlaps requests still at NetSuite, a long one leaves every
slot idle after its answer came back.

The price: frozen objects are still freed by reference counting, but a reference cycle among them
that becomes garbage later is never collected. A freeze also takes whatever was in flight at that
moment, so it is bounded: the process freezes only after a full collection slower than
`GC_FREEZE_PAUSE_MS`, which stops happening once the long-lived set stops growing (in steady state
the non-frozen generation stays small).

Driver-free: the standard library only.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHECK_S = 1.0


class GcFreezer:
    """Watches full collections (`gc.callbacks`); freezes after a slow one, from the event loop."""

    def __init__(
        self,
        pause_s: float,
        check_s: float = CHECK_S,
        *,
        observe: Callable[[float], None] = lambda _seconds: None,
        counted: Callable[[], None] = lambda: None,
    ) -> None:
        self.pause_s = pause_s
        self.check_s = check_s
        self._observe = observe  # each full collection's pause (from the loop: metrics take locks)
        self._counted = counted  # each freeze
        self._pauses: list[float] = []
        self.freezes = 0
        self.slowest_s = 0.0
        self.froze = asyncio.Event()
        """Set after each freeze."""
        self._started = 0.0
        self._due = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.slowest_s = max(self.slowest_s, pause)
        if len(self._pauses) < 1000:  # no lock here: the loop reports them
            self._pauses.append(pause)
        if pause >= self.pause_s:
            self._due = True  # frozen from the loop, not from inside the collector's callback

    async def run(self) -> None:
        """For the life of the process (a supervised loop)."""
        gc.callbacks.append(self._callback)
        try:
            while True:
                await asyncio.sleep(self.check_s)
                pauses, self._pauses = self._pauses, []
                for pause in pauses:
                    self._observe(pause)
                if self._due:
                    self._due = False
                    gc.freeze()
                    self.freezes += 1
                    self._counted()
                    self.froze.set()
                    log.info(
                        "froze the objects that survived a full garbage collection",
                        extra={"frozen": gc.get_freeze_count(), "freezes": self.freezes},
                    )
        finally:
            gc.callbacks.remove(self._callback)
