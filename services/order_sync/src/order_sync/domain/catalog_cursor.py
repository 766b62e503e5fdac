"""Where a catalog poll starts: the high-water mark arithmetic of its keyset cursor (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # matches the SuiteQL mask 'YYYY-MM-DD HH24:MI:SS'
EPOCH = "1970-01-01 00:00:00"


def start_from(high_water: str | None, overlap_s: float) -> str:
    """Where the next poll starts: the high-water mark minus an overlap.

    NetSuite's lastmodifieddate has one-second resolution and a record saved during the previous
    poll's second could be missed; re-reading a short overlap republishes a few unchanged records
    (catalog events are states, so that is harmless) and never skips one.
    """
    if high_water is None:
        return EPOCH
    # NetSuite returns these in the account's time zone; only differences matter here.
    moment = datetime.strptime(high_water, TIMESTAMP_FORMAT).replace(tzinfo=UTC) - timedelta(
        seconds=overlap_s
    )
    return max(moment.strftime(TIMESTAMP_FORMAT), EPOCH)
