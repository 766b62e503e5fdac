"""A cursor window run with in-memory fakes of its ports: overlap, de-duplication, bound, failure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from fakes import FakeCursors, RecordingPublisher
from finance_sync.domain.cursors import NEVER, Cursor, Position
from finance_sync.service_layer.polling import Page, WindowOptions, run_window

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
OPTIONS = WindowOptions(
    overlap=timedelta(minutes=10), max_rows=1000, page_size=2, initial_lookback=timedelta(hours=1)
)


class Fact(BaseModel):
    id: int


@dataclass
class FakePublished:
    keys: set[str] = field(default_factory=set)

    async def already(self, supplier_id: str, feature: str, keys: Iterable[str]) -> set[str]:
        return self.keys & set(keys)

    async def mark(self, supplier_id: str, feature: str, keys: list[str]) -> None:
        self.keys.update(keys)


@dataclass
class FakeFeed:
    """Rows (at, id) ordered by position, paged the way the gateway pages SuiteQL."""

    rows: list[Position]
    reads: list[Position] = field(default_factory=list)

    async def __call__(self, after: Position, until: datetime, limit: int) -> Page:
        self.reads.append(after)
        page = sorted(p for p in self.rows if after < p and p.at < until)[:limit]
        items: list[tuple[str, BaseModel | None]] = [(str(p.id), Fact(id=p.id)) for p in page]
        return Page(len(page), page[-1] if page else None, items)


def at(minutes: int, rid: int) -> Position:
    return Position(T0 + timedelta(minutes=minutes), rid)


async def test_a_window_publishes_each_row_once_and_moves_the_cursor_to_its_end() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher()
    feed = FakeFeed([at(-30, 1), at(-20, 2), at(-20, 3), at(-5, 4), at(5, 5)])
    result = await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
    )
    assert [e.id for e in publisher.sent] == [1, 2, 3, 4]  # type: ignore[attr-defined]  # Fact events
    assert (result.rows, result.published, result.complete) == (4, 4, True)
    assert cursors.saved[("sup", "f")] == Cursor(Position(T0, 0))


async def test_running_the_same_window_again_publishes_nothing() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher()
    feed = FakeFeed([at(-30, 1), at(-5, 2)])
    for _ in range(2):
        await run_window(
            "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
        )
    assert len(publisher.sent) == 2


async def test_the_next_window_rereads_the_overlap_without_republishing() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher()
    feed = FakeFeed([at(-5, 1)])
    await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
    )
    feed.rows.append(at(-3, 9))  # committed late with an older timestamp: the overlap catches it
    result = await run_window(
        "sup",
        "f",
        T0 + timedelta(hours=1),
        feed,
        cursors=cursors,
        published=published,
        publisher=publisher,
        options=OPTIONS,
    )
    assert feed.reads[-2] == Position(T0 - timedelta(minutes=10), 0)
    assert [e.id for e in publisher.sent] == [1, 9]  # type: ignore[attr-defined]
    assert result.published == 1


async def test_a_backlog_is_worked_off_in_bounded_slices_that_resume_exactly() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher()
    bounded = WindowOptions(
        overlap=timedelta(minutes=10), max_rows=3, page_size=2, initial_lookback=timedelta(hours=1)
    )
    feed = FakeFeed([at(-50 + i, i) for i in range(1, 8)])
    first = await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=bounded
    )
    assert (first.rows, first.complete) == (3, False)
    assert cursors.saved[("sup", "f")] == Cursor(at(-47, 3), resume=True)
    second = await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=bounded
    )
    third = await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=bounded
    )
    assert (second.complete, third.complete) == (False, True)
    assert [e.id for e in publisher.sent] == [1, 2, 3, 4, 5, 6, 7]  # type: ignore[attr-defined]


async def test_the_cursor_does_not_move_when_the_broker_does_not_confirm() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher(fail=True)
    feed = FakeFeed([at(-30, 1)])
    with pytest.raises(ConnectionError):
        await run_window(
            "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
        )
    assert cursors.saved == {}
    assert published.keys == set()
    publisher.fail = False
    await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
    )
    assert len(publisher.sent) == 1


async def test_a_row_without_an_event_is_not_marked_so_a_rewind_can_retry_it() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher()

    async def feed(after: Position, until: datetime, limit: int) -> Page:
        if after >= at(-30, 1):
            return Page(0, None)
        return Page(1, at(-30, 1), [("1", None)])

    await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
    )
    assert published.keys == set()
    assert publisher.sent == []


async def test_a_cursor_without_a_high_water_mark_starts_from_the_initial_lookback() -> None:
    cursors, published, publisher = FakeCursors[Cursor](), FakePublished(), RecordingPublisher()
    # Stored by the run log's slot completion before any window ran: no position yet.
    cursors.saved[("sup", "f")] = Cursor(Position(NEVER, 0))
    feed = FakeFeed([at(-90, 1), at(-30, 2)])
    await run_window(
        "sup", "f", T0, feed, cursors=cursors, published=published, publisher=publisher, options=OPTIONS
    )
    assert feed.reads[0] == Position(T0 - timedelta(hours=1, minutes=10), 0)
    assert [e.id for e in publisher.sent] == [2]  # type: ignore[attr-defined]  # Fact events
