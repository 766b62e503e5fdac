"""Stopping background tasks for sure: a cancellation that a task lost is sent again.

On Python 3.11, `asyncio.wait_for` returns its inner result instead of raising when a cancellation
arrives together with that result (bpo-42130, fixed in 3.12 by the rewrite on `asyncio.timeout`).
PyMongo 4.20 writes to its sockets through `wait_for`, so a loop cancelled during a MongoDB
command may not see the cancellation at all and simply go on. That happened to the NetSuite
budget's renewal loop at shutdown: it went back to sleep, and the service's `on_shutdown`, which
awaited it, waited forever (the budget lifecycle test's teardown, one fresh clone in about ten).
`cancel_and_wait` is how the platform and the services stop the tasks they own.

Driver-free: only the standard library.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_S = 1.0
"""How long a cancelled task may take to end before it is cancelled again."""


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], *, recancel_s: float = RECANCEL_S) -> None:
    """Cancel every task and return once all have ended; their results and errors are dropped.

    A task still running `recancel_s` after its cancellation is cancelled again (logged), until it
    ends. A cancellation of the caller itself propagates at once (the tasks stay cancelled).
    """
    owned = list(tasks)
    pending = {task for task in owned if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_s)
        if pending:
            names = ", ".join(sorted(_name(task) for task in pending))
            log.warning("still running %.1f s after a cancellation, cancelled again: %s", recancel_s, names)
    for task in owned:  # retrieved, so that asyncio does not log them as never retrieved
        if not task.cancelled():
            task.exception()


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
