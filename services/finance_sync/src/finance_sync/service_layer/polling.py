"""One run of a polled feature: read a cursor window page by page, publish what is new, advance.

Guarantees (issue 6, "Cursors"):

* the window starts at the cursor less the overlap (unless resuming a window cut by the bound);
* each page's events are published concurrently and all confirmed by the broker before the page's
  keys are marked published and the cursor moves past the page; a page may also ask to be told
  what was published (`Page.on_published`, e.g. to remember an invoice's published state), which
  happens before the keys are marked, so a crash in between republishes rather than forgets;
* keys already marked are not published again, so overlapping windows, re-runs and replays
  publish each fact once (a crash between publish and mark republishes with the same event id);
* a run stops after `max_rows` rows and saves an exact resume position; the scheduler then runs
  the next slice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel

from finance_sync.domain.cursors import Cursor, Position, initial_cursor, window_start
from finance_sync.service_layer.ports import Published
from om_platform.core.ports import Cursors, Publish

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """A page of a feature's change feed: rows read, the last position and the events to send.

    `items` pairs a de-duplication key with its event (None when nothing is to be published for
    that row, e.g. an unmapped customer: the key is then not marked, so a rewind can retry it).
    """

    rows: int
    end: Position | None
    items: list[tuple[str, BaseModel | None]] = field(default_factory=list)
    on_published: Callable[[Sequence[BaseModel]], Awaitable[None]] | None = None


FetchPage = Callable[[Position, datetime, int], Awaitable[Page]]


@dataclass(frozen=True)
class RunResult:
    rows: int
    published: int
    complete: bool


@dataclass(frozen=True)
class WindowOptions:
    overlap: timedelta
    max_rows: int
    page_size: int
    initial_lookback: timedelta


async def run_window(
    supplier_id: str,
    feature: str,
    until: datetime,
    fetch_page: FetchPage,
    *,
    cursors: Cursors[Cursor],
    published: Published,
    publisher: Publish,
    options: WindowOptions,
) -> RunResult:
    """Publish the feature's changes from the cursor up to `until` (bounded by `max_rows`)."""
    cursor = await cursors.get(supplier_id, feature)
    if cursor is None or not cursor.started:
        cursor = initial_cursor(until, options.initial_lookback)
    position = window_start(cursor, options.overlap)
    rows = 0
    sent = 0
    while True:
        limit = max(1, min(options.page_size, options.max_rows - rows))
        page = await fetch_page(position, until, limit)
        if page.rows:
            sent += await _publish_page(supplier_id, feature, page, published, publisher)
            rows += page.rows
            if page.end is not None:
                position = page.end
        if page.rows < limit:
            break
        if rows >= options.max_rows:
            await cursors.save(supplier_id, feature, Cursor(position, resume=True))
            log.info(
                "window cut at the per-run bound; continuing in the next slice",
                extra={"supplier_id": supplier_id, "feature": feature, "rows": rows},
            )
            return RunResult(rows, sent, complete=False)
        await cursors.save(supplier_id, feature, Cursor(position, resume=True))
    end = max(cursor.position, Position(until, 0))
    await cursors.save(supplier_id, feature, Cursor(end))
    return RunResult(rows, sent, complete=True)


async def _publish_page(
    supplier_id: str, feature: str, page: Page, published: Published, publisher: Publish
) -> int:
    done = await published.already(supplier_id, feature, (key for key, _ in page.items))
    fresh: dict[str, BaseModel] = {}
    for key, event in page.items:
        if event is not None and key not in done:
            fresh.setdefault(key, event)
    if not fresh:
        return 0
    await asyncio.gather(*(publisher(event, key=supplier_id) for event in fresh.values()))
    if page.on_published is not None:
        await page.on_published(list(fresh.values()))
    await published.mark(supplier_id, feature, list(fresh))
    return len(fresh)
