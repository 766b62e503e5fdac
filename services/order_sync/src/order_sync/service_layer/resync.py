"""Use case: re-run failed records from the ledger after the cause was fixed (operator CLI).

The ledger keeps the last event applied to each record, so nothing has to be re-sent by
Ordermentum. Each record is tried once; a record that fails again keeps status ``failed`` with
the new reason.
"""

from __future__ import annotations

import logging

from om_contracts import ErrorCode
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer.events import parse_stored, source_of
from order_sync.service_layer.sync import Attempt, SyncDeps, sync_event

log = logging.getLogger(__name__)


async def resync(
    deps: SyncDeps,
    supplier_id: str,
    *,
    ordermentum_id: str | None = None,
    code: ErrorCode | None = None,
) -> list[Outcome]:
    """Re-sync one record (any status), or every failed record of a supplier (optionally by code)."""
    results: list[Outcome] = []
    entries = [e async for e in deps.ledger.failed(supplier_id, ordermentum_id=ordermentum_id, code=code)]
    for entry in entries:
        if entry.last_event_payload is None:
            log.warning("ledger entry has no stored event to re-run", extra={"supplier_id": supplier_id})
            continue
        event = parse_stored(entry.kind, entry.last_event_payload)
        outcome = await sync_event(
            deps, source_of(event), entry.last_event_payload, Attempt.only(), resync=True
        )
        if outcome is not None:
            results.append(outcome)
    return results
