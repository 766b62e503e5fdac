"""Which offset the edge may commit while records of a partition finish out of order."""

from om_platform.adapters.kafka import PartitionOffsets


def test_nothing_read_means_nothing_to_commit() -> None:
    assert PartitionOffsets().committable() is None


def test_commit_position_is_one_past_the_last_record_when_all_finished() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 11, 12):
        offsets.started(offset)
    for offset in (10, 11, 12):
        offsets.finished(offset)
    assert offsets.committable() == 13


def test_an_unfinished_record_holds_the_commit_back_even_when_later_ones_finished() -> None:
    offsets = PartitionOffsets()
    for offset in range(5):
        offsets.started(offset)
    for offset in (0, 2, 3, 4):
        offsets.finished(offset)
    assert offsets.committable() == 1  # a crash now redelivers 1..4, never skips 1
    offsets.finished(1)
    assert offsets.committable() == 5


def test_committable_is_none_until_the_position_moves_again() -> None:
    offsets = PartitionOffsets()
    offsets.started(0)
    offsets.finished(0)
    offsets.mark_committed(1)
    assert offsets.committable() is None
    offsets.started(1)
    assert offsets.committable() is None  # 1 in flight: position still 1
    offsets.finished(1)
    assert offsets.committable() == 2


def test_in_flight_counts_unfinished_records_only() -> None:
    offsets = PartitionOffsets()
    for offset in range(4):
        offsets.started(offset)
    offsets.finished(2)
    assert offsets.in_flight == 3


def test_a_replayed_lower_offset_is_ignored_by_the_tracker() -> None:
    offsets = PartitionOffsets()
    offsets.started(5)
    offsets.started(3)
    offsets.finished(5)
    assert offsets.committable() == 6
