"""Use case: records that failed for a missing mapping re-sync by themselves once it arrives.

Triggers (a `customer.upserted`/`product.upserted`, integration settings, an operator's import)
call `request_heals` with what they provide, after the new value is stored. It keeps the ids that
the latest failure of some record waits for (ledger index) and that resolve now, and stores one
durable request per (supplier, id). `heal_supplier` (run by a supervised loop, one replica per
supplier under a lease) turns a supplier's pending requests into one `resync_selected` run over
the records waiting for any of them, oldest first within the supplier's budget, and marks them
done only when the run ended without errors. A crash anywhere leaves the request pending.

An event applied while a mapping is being stored may have read it as missing, and its failure may
be recorded after the trigger looked for waiting records. `recheck` closes that gap: after a
mapping failure it asks whether what the failure names resolves now, and requests a heal if so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from om_contracts import IntegrationSettings, SyncFailed
from order_sync.domain.healing import parse_blocker
from order_sync.domain.mapping import blockers, customer_blocker, freight_blocker, product_blocker
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer.ports import HealRequests, Selection
from order_sync.service_layer.resync import ResyncReport, resync_selected
from order_sync.service_layer.sync import SyncDeps

log = logging.getLogger(__name__)


@dataclass
class HealDeps:
    sync: SyncDeps
    """Its `integrations` must read fresh settings: a change applied by another replica reaches
    this one's cache only after its TTL, and a heal must see the change that triggered it."""
    requests: HealRequests
    claim_ttl_s: float


async def request_heals(deps: HealDeps, supplier_id: str, provided: Iterable[str]) -> set[str]:
    """Request a heal for what `provided` (already stored) unblocks; returns the ids requested."""
    candidates = set(provided)
    if not candidates:
        return set()
    waiting = await deps.sync.ledger.blocking(supplier_id, candidates)
    if not waiting:
        return set()
    integration = await deps.sync.integrations.get(supplier_id)
    if integration is None:
        return set()
    ready = await resolvable(deps.sync, supplier_id, integration, waiting)
    if ready:
        await deps.requests.add(supplier_id, ready)
        log.info("heal requested for %s", ", ".join(sorted(ready)), extra={"supplier_id": supplier_id})
    return ready


async def recheck(deps: HealDeps, outcome: Outcome) -> set[str]:
    """After a mapping failure: request a heal for what it names that resolves by now."""
    data = outcome.data
    named = blockers(data.error) if isinstance(data, SyncFailed) else ()
    if not named:
        return set()
    integration = await deps.sync.integrations.get(outcome.supplier_id)
    if integration is None:
        return set()
    ready = await resolvable(deps.sync, outcome.supplier_id, integration, named)
    if ready:
        await deps.requests.add(outcome.supplier_id, ready)
        log.info(
            "a mapping arrived while the record failed for it; heal requested",
            extra={"supplier_id": outcome.supplier_id, "event_id": data.source_event_id},
        )
    return ready


async def heal_supplier(deps: HealDeps, supplier_id: str) -> ResyncReport:
    """Re-sync every record of the supplier waiting for a pending request's id (module docstring)."""
    requests = await deps.requests.pending(supplier_id)
    if not requests:
        return ResyncReport()
    integration = await deps.sync.integrations.get(supplier_id)
    wanted = {r.blocker for r in requests}
    ready = await resolvable(deps.sync, supplier_id, integration, wanted) if integration else set()
    if wanted - ready:  # e.g. disconnected, or a newer event removed the mapping again
        log.info(
            "heal dropped, no longer resolvable: %s",
            sorted(wanted - ready),
            extra={"supplier_id": supplier_id},
        )
    report = ResyncReport()
    if ready and integration is not None:
        selection = Selection(supplier_id, blocked_by=tuple(sorted(ready)))
        report = await resync_selected(
            deps.sync, selection, concurrency=integration.concurrency_limit, claim_ttl_s=deps.claim_ttl_s
        )
        for failed in report.failed:
            await recheck(deps, failed)  # something it still waits for may have arrived meanwhile
        log.info(
            "healed %d record(s): %d synced, %d still failing, %d error(s)",
            len(report.outcomes),
            len(report.synced),
            len(report.failed),
            report.errors,
            extra={"supplier_id": supplier_id},
        )
    finished = [r for r in requests if r.blocker not in ready or not report.errors]
    await deps.requests.finish(supplier_id, finished)
    return report


async def resolvable(
    deps: SyncDeps, supplier_id: str, integration: IntegrationSettings, named: Iterable[str]
) -> set[str]:
    """Which of the named ids have a value now (tab, stored mapping, freight item, surcharge item)."""
    by_kind: dict[str, set[str]] = {"customer": set(), "product": set(), "freight": set()}
    found: set[str] = set()
    for blocker in named:
        parsed = parse_blocker(blocker)
        if parsed is None:
            continue
        kind, om_id = parsed
        if kind == "surcharge":
            if integration.surcharge_item_id is not None:
                found.add(blocker)
        else:
            by_kind[kind].add(om_id)
    customers = await deps.mappings.mapped(supplier_id, integration, "customer", by_kind["customer"])
    products = await deps.mappings.mapped(supplier_id, integration, "product", by_kind["product"])
    found.update(customer_blocker(i) for i in customers)
    found.update(product_blocker(i) for i in products)
    for customer_id in sorted(by_kind["freight"]):
        if await deps.mappings.freight_item(supplier_id, customer_id) is not None:
            found.add(freight_blocker(customer_id))
    return found
