"""Use case: re-sync records from the ledger (their stored last event, run again), selected by an index.

One piece for every reason to re-sync: an operator's `omctl resync`, a mapping that arrived
(`heal.py`), and whatever selects records next (a connection that came back). A `Selection` says
which records; `Resync.selected` then guarantees, for any selection:

- oldest event first, each record at most once per run, at most `concurrency` records at a time
  (the supplier's `concurrency_limit`: the NetSuite budget admits no more requests anyway);
- a record is claimed in the ledger before it runs and its outcome is recorded only if nobody
  recorded another since the claim, so two re-syncs never both run one record, and a re-sync never
  overwrites the outcome of a newer event (the edge waits while a claim is live, and applies its
  event again if a claim overlapped it: `sync.TransactionSync.sync_event`);
- each record produces its normal outcome (`sync_event`, published and marked like any other);
- crash-safe: claims are renewed while the run lives and lapse when it dies; an outcome recorded
  but never confirmed published by a dead run is published by `Resync.republish_abandoned`; the trigger
  that asked for the run keeps it asked for until the run ends (`heal.py`, the command queue).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

from om_contracts import ErrorCode
from om_platform.core.tasks import cancel_and_wait
from order_sync.domain.outcomes import Outcome, parse_outcome
from order_sync.service_layer.events import parse_stored, source_of
from order_sync.service_layer.ports import Claim, LedgerEntry, Selection
from order_sync.service_layer.sync import TransactionSync

log = logging.getLogger(__name__)

CLAIM_WAIT_S = 0.1  # how often a record another re-sync holds is looked at again


@dataclass
class ResyncReport:
    """What one run did: outcomes published (in completion order), records it could not run."""

    outcomes: list[Outcome] = field(default_factory=list)
    errors: int = 0

    @property
    def synced(self) -> list[str]:
        return [o.data.ordermentum_id for o in self.outcomes if not o.event_type.endswith(".failed")]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.event_type.endswith(".failed")]


@dataclass(frozen=True)
class Resync:
    """Use case: run ledger records again. Its `sync` should read fresh settings (a re-sync must
    see the change that asked for it, not a cached one)."""

    sync: TransactionSync
    claim_ttl_s: float = 30.0

    async def records(
        self,
        supplier_id: str,
        *,
        ordermentum_id: str | None = None,
        code: ErrorCode | None = None,
        concurrency: int | None = 1,
    ) -> ResyncReport:
        """Re-sync one record (any status), or every failed record of a supplier (optionally by
        code). `concurrency` None: the supplier's `concurrency_limit`."""
        if concurrency is None:
            integration = await self.sync.integrations.get(supplier_id)
            concurrency = integration.concurrency_limit if integration else 1
        selection = Selection(supplier_id, ordermentum_id=ordermentum_id, code=code)
        return await self.selected(selection, concurrency=concurrency)

    async def selected(self, selection: Selection, *, concurrency: int) -> ResyncReport:
        """Run every selected record once (see the module docstring)."""
        run = _Run(self.sync, selection, secrets.token_hex(8), self.claim_ttl_s)
        queue: asyncio.Queue[LedgerEntry | None] = asyncio.Queue(maxsize=max(1, concurrency))
        workers = max(1, concurrency)

        async def feed() -> None:
            seen: set[tuple[str, str]] = set()
            async for entry in self.sync.ledger.select(selection):
                key = (entry.kind, entry.ordermentum_id)
                if key not in seen:  # a record updated while the cursor is open may come back
                    seen.add(key)
                    await queue.put(entry)
            for _ in range(workers):
                await queue.put(None)

        async def work() -> None:
            while (entry := await queue.get()) is not None:
                await run.one(entry)

        renewer = asyncio.create_task(run.keep_claims(), name=f"resync-claims:{selection.supplier_id}")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(feed())
                for _ in range(workers):
                    group.create_task(work())
        finally:
            await cancel_and_wait([renewer])
        return run.report

    async def republish_abandoned(self) -> int:
        """Publish outcomes a re-sync stored but died before confirming; returns how many."""
        owner = secrets.token_hex(8)
        ledger = self.sync.ledger
        count = 0
        async for entry in ledger.abandoned():
            selection = Selection(entry.supplier_id, ordermentum_id=entry.ordermentum_id, status=None)
            claimed = await ledger.claim(entry, selection, owner, self.claim_ttl_s)
            if not isinstance(claimed, tuple):
                continue
            current, claim = claimed
            if current.outcome_published or current.outcome is None:
                await ledger.release(current, claim)
                continue
            outcome = parse_outcome(current.outcome)
            await self.sync.publish(outcome, key=outcome.supplier_id)
            await ledger.mark_published(
                current.supplier_id, current.kind, current.ordermentum_id, outcome.event_id, claim
            )
            count += 1
        return count


class _Run:
    def __init__(self, sync: TransactionSync, selection: Selection, owner: str, claim_ttl_s: float) -> None:
        self.sync = sync
        self.selection = selection
        self.owner = owner
        self.ttl = claim_ttl_s
        self.report = ResyncReport()
        self.held: dict[tuple[str, str], LedgerEntry] = {}

    async def keep_claims(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.sync.ledger.renew(list(self.held.values()), self.owner, self.ttl)
            except Exception:
                log.exception("renewing re-sync claims failed; retrying")

    async def one(self, entry: LedgerEntry) -> None:
        claimed = await self._claim(entry)
        if claimed is None:
            return  # changed since it was selected: healed, re-synced or superseded meanwhile
        entry, claim = claimed
        key = (entry.kind, entry.ordermentum_id)
        self.held[key] = entry
        extra = {"supplier_id": entry.supplier_id, "ordermentum_id": entry.ordermentum_id}
        try:
            outcome = await self._run(entry, claim)
        except Exception:
            # The claim is left to lapse: if an outcome was stored but not published, the abandoned
            # sweep finds it by the lapsed claim.
            self.report.errors += 1
            log.exception("re-sync of a record failed", extra=extra)
            return
        finally:
            self.held.pop(key, None)
        if outcome is None:
            await self.sync.ledger.release(entry, claim)  # publishing released it otherwise
        else:
            self.report.outcomes.append(outcome)
            self.sync.counters.resynced()

    async def _claim(self, entry: LedgerEntry) -> tuple[LedgerEntry, Claim] | None:
        while True:
            claimed = await self.sync.ledger.claim(entry, self.selection, self.owner, self.ttl)
            if claimed == "gone":
                return None
            if claimed != "busy":
                return claimed
            await asyncio.sleep(CLAIM_WAIT_S)  # another re-sync holds it; it renews or lapses

    async def _run(self, entry: LedgerEntry, claim: Claim) -> Outcome | None:
        if entry.last_event_payload is None:
            log.warning(
                "ledger entry has no stored event to re-run", extra={"supplier_id": entry.supplier_id}
            )
            return None
        event = parse_stored(entry.kind, entry.last_event_payload)
        return await self.sync.sync_event(
            source_of(event),
            entry.last_event_payload,
            is_last_attempt=True,
            resync=True,
            claim=claim,
        )
