"""Use case: records that failed for a missing mapping, a connection or an integration re-sync by
themselves once it arrives.

Two kinds of heal requests (durable, one per supplier and kind of blocker):
* mapping ids (`customer:<id>`, `product:<id>`, `freight:<customer>`, `surcharge`): re-sync the
  records whose latest failure waits for them (ledger `blocked_by`), once they resolve;
* `connection` (the supplier's NetSuite connection came back: a probe or new credentials got
  through, `om_platform.connections`) and `integration` (its settings arrived): re-sync every
  record whose latest outcome failed with one of the codes they heal (`healing.WAITING_FOR`:
  NETSUITE_AUTH_FAILED and NETSUITE_UNAVAILABLE; INTEGRATION_NOT_CONFIGURED) and was recorded at or
  before the request, once the connection is not open / the integration is configured. A request
  made while the connection is down again is dropped: the next recovery asks again.

Triggers (a `customer.upserted`/`product.upserted`, integration settings, an operator's import)
call `Healing.request_heals` with what they provide, after the new value is stored. It keeps the ids that
the latest failure of some record waits for (ledger index) and that resolve now, and stores one
durable request per (supplier, id). `Healing.heal_supplier` (run by a supervised loop, one replica per
supplier under a lease) turns a supplier's pending requests into one `Resync.selected` run over
the records waiting for any of them, oldest first within the supplier's budget, and marks them
done only when the run ended without errors. A crash anywhere leaves the request pending.

An event applied while a mapping is being stored may have read it as missing, and its failure may
be recorded after the trigger looked for waiting records. `recheck` closes that gap: after a
mapping failure it asks whether what the failure names resolves now, and requests a heal if so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from om_contracts import IntegrationSettings, SyncFailed
from om_platform.core.connections import credentials_fingerprint
from om_platform.core.mappings import MappedEntity
from om_platform.core.ports import Leases
from om_platform.core.settings_changes import SettingsChange
from om_platform.core.tasks import cancel_and_wait
from om_platform.core.waiting import ResumeWhenConnected
from order_sync.domain import healing
from order_sync.domain.blockers import blockers, customer_blocker, freight_blocker, product_blocker
from order_sync.domain.healing import CONNECTION, INTEGRATION, WAITING_FOR, parse_blocker
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer.ports import ConnectionStates, HealRequest, HealRequests, Selection
from order_sync.service_layer.resync import Resync, ResyncReport
from order_sync.service_layer.sync import TransactionSync

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Healing:
    """Use case: heal requests taken (the triggers) and run (the heal job)."""

    resync: Resync
    """Its `sync.integrations` must read fresh settings: a change applied by another replica
    reaches this one's cache only after its TTL, and a heal must see the change that triggered it."""
    requests: HealRequests
    leases: Leases
    connections: ConnectionStates
    """Whether a supplier's NetSuite breaker is open (a connection heal waits until it is not)."""
    poll_s: float = 5.0
    lease_ttl_s: float = 60.0

    @property
    def sync(self) -> TransactionSync:
        return self.resync.sync

    # -- triggers -----------------------------------------------------------------------------------

    async def after_mapping(
        self, supplier_id: str, kind: Literal["customer", "product"], entity: MappedEntity
    ) -> set[str]:
        """A customer/product upsert was stored (`om_platform.mappings`): heal what it unblocks."""
        return await self.request_heals(supplier_id, healing.provided_by_entity(kind, entity))

    async def after_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        """New mappings in the integration's tabs, or a new surcharge item: heal what they unblock."""
        provided = healing.provided_by_settings(
            change.customers, change.products, surcharge_item=change.surcharge_item
        )
        if change.connected:  # mappings stored while disconnected could not heal anything then
            provided += tuple(await self.sync.ledger.blocking(supplier_id, None))
            await self.request_code_heal(supplier_id, INTEGRATION)
        if change.credentials:  # refused logins may pass now (an open breaker waits for its probe)
            await self.request_code_heal(supplier_id, CONNECTION)
        await self.request_heals(supplier_id, provided)

    async def request_import_heals(
        self, supplier_id: str, ids: Mapping[Literal["customer", "product"], Iterable[str]]
    ) -> set[str]:
        """`omctl mappings import` mapped these Ordermentum ids (`customer`, `product`): heal them."""
        return await self.request_heals(supplier_id, healing.provided_by_import(ids))

    async def request_heals(self, supplier_id: str, provided: Iterable[str]) -> set[str]:
        """Request a heal for what `provided` (already stored) unblocks; returns the ids requested."""
        candidates = set(provided)
        if not candidates:
            return set()
        waiting = await self.sync.ledger.blocking(supplier_id, candidates)
        if not waiting:
            return set()
        integration = await self.sync.integrations.get(supplier_id)
        if integration is None:
            return set()
        ready = await self.resolvable(supplier_id, integration, waiting)
        if ready:
            await self.requests.add(supplier_id, ready)
            log.info("heal requested for %s", ", ".join(sorted(ready)), extra={"supplier_id": supplier_id})
        return ready

    async def request_code_heal(self, supplier_id: str, blocker: str) -> bool:
        """Request a `connection` / `integration` heal if some record failed with a code it heals."""
        if not await self.sync.ledger.failing_with(WAITING_FOR[blocker], supplier_id):
            return False
        await self.requests.add(supplier_id, [blocker])
        log.info("%s heal requested", blocker, extra={"supplier_id": supplier_id})
        return True

    async def recheck(self, outcome: Outcome) -> set[str]:
        """After a mapping failure: request a heal for what it names that resolves by now."""
        data = outcome.data
        named = blockers(data.error) if isinstance(data, SyncFailed) else ()
        if not named:
            return set()
        integration = await self.sync.integrations.get(outcome.supplier_id)
        if integration is None:
            return set()
        ready = await self.resolvable(outcome.supplier_id, integration, named)
        if ready:
            await self.requests.add(outcome.supplier_id, ready)
            log.info(
                "a mapping arrived while the record failed for it; heal requested",
                extra={"supplier_id": outcome.supplier_id, "event_id": data.source_event_id},
            )
        return ready

    # -- the heal job ---------------------------------------------------------------------------------

    @property
    def when_connected(self) -> ResumeWhenConnected:
        """The platform's waiting mechanism over this service's waiting work (`ConnectionHeals`)."""
        return ResumeWhenConnected(self.connections, ConnectionHeals(self))

    async def catch_up(self) -> None:
        """At start: what a recovery or an integration would have healed while no replica ran.

        A connection that came back, or settings that arrived, while this service was down (or
        between its transition and its heal request) left records failed with a code they heal.
        """
        await self.when_connected.catch_up()
        for supplier_id in await self.sync.ledger.failing_with(WAITING_FOR[INTEGRATION]):
            if await self.sync.integrations.get(supplier_id) is not None:
                await self.request_code_heal(supplier_id, INTEGRATION)

    async def heal_forever(self) -> None:
        """Heal every supplier with pending requests, each in its own task (one replica per supplier)."""
        running: dict[str, asyncio.Task[None]] = {}
        caught_up = False
        try:
            while True:
                if not caught_up:
                    try:
                        await self.catch_up()
                        caught_up = True
                    except Exception:
                        log.exception("catching up on heals at start failed; retrying")
                try:
                    await self.resync.republish_abandoned()
                    for supplier_id in await self.requests.suppliers():
                        if supplier_id not in running:
                            running[supplier_id] = asyncio.create_task(
                                self._heal_under_lease(supplier_id),
                                name=f"heal:{supplier_id}",
                            )
                except Exception:
                    log.exception("looking for heal requests failed; retrying")
                for supplier_id in [s for s, task in running.items() if task.done()]:
                    running.pop(supplier_id)
                await self.requests.wait(self.poll_s)
        finally:
            await cancel_and_wait(list(running.values()))

    async def _heal_under_lease(self, supplier_id: str) -> None:
        try:
            async with self.leases.hold(f"order_sync.heal:{supplier_id}", self.lease_ttl_s) as lease:
                if lease is not None:  # else another replica heals this supplier now
                    await self.heal_supplier(supplier_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The requests stay pending: the next round tries again.
            log.exception("heal failed", extra={"supplier_id": supplier_id})

    async def heal_supplier(self, supplier_id: str) -> ResyncReport:
        """Re-sync every record of the supplier waiting for a pending request (module docstring)."""
        pending = await self.requests.pending(supplier_id)
        if not pending:
            return ResyncReport()
        integration = await self.sync.integrations.get(supplier_id)
        report = ResyncReport()
        requests: list[HealRequest] = []
        for request in pending:
            if request.blocker in WAITING_FOR:
                report = _merged(report, await self._heal_by_code(supplier_id, integration, request))
            else:
                requests.append(request)
        if not requests:
            return report
        return _merged(report, await self._heal_mappings(supplier_id, integration, requests))

    async def _heal_by_code(
        self, supplier_id: str, integration: IntegrationSettings | None, request: HealRequest
    ) -> ResyncReport:
        """A `connection` or `integration` request: every record failed with a code it heals, once."""
        report = ResyncReport()
        # Asked for the credentials the re-sync will use: a refused login recorded for older ones
        # (a replica re-syncing with them before it read the new settings) does not hold it back.
        ready = integration is not None and not (
            request.blocker == CONNECTION
            and self.connections.is_open(supplier_id, credentials_fingerprint(integration))
        )
        if ready and integration is not None:
            selection = Selection(
                supplier_id, codes=WAITING_FOR[request.blocker], written_before=request.requested_at
            )
            report = await self.resync.selected(selection, concurrency=integration.concurrency_limit)
            log.info(
                "%s heal: %d record(s) re-synced, %d synced, %d still failing, %d error(s)",
                request.blocker,
                len(report.outcomes),
                len(report.synced),
                len(report.failed),
                report.errors,
                extra={"supplier_id": supplier_id},
            )
        else:
            log.info("%s heal dropped: not ready again", request.blocker, extra={"supplier_id": supplier_id})
        if not report.errors:
            await self.requests.finish(supplier_id, [request])
        return report

    async def _heal_mappings(
        self, supplier_id: str, integration: IntegrationSettings | None, requests: list[HealRequest]
    ) -> ResyncReport:
        wanted = {r.blocker for r in requests}
        ready = await self.resolvable(supplier_id, integration, wanted) if integration else set()
        if wanted - ready:  # e.g. disconnected, or a newer event removed the mapping again
            log.info(
                "heal dropped, no longer resolvable: %s",
                sorted(wanted - ready),
                extra={"supplier_id": supplier_id},
            )
        report = ResyncReport()
        if ready and integration is not None:
            selection = Selection(supplier_id, blocked_by=tuple(sorted(ready)))
            report = await self.resync.selected(selection, concurrency=integration.concurrency_limit)
            for failed in report.failed:
                await self.recheck(failed)  # something it still waits for may have arrived meanwhile
            log.info(
                "healed %d record(s): %d synced, %d still failing, %d error(s)",
                len(report.outcomes),
                len(report.synced),
                len(report.failed),
                report.errors,
                extra={"supplier_id": supplier_id},
            )
        finished = [r for r in requests if r.blocker not in ready or not report.errors]
        await self.requests.finish(supplier_id, finished)
        return report

    async def resolvable(
        self, supplier_id: str, integration: IntegrationSettings, named: Iterable[str]
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
        customers = await self.sync.mappings.mapped(supplier_id, integration, "customer", by_kind["customer"])
        products = await self.sync.mappings.mapped(supplier_id, integration, "product", by_kind["product"])
        found.update(customer_blocker(i) for i in customers)
        found.update(product_blocker(i) for i in products)
        for customer_id in sorted(by_kind["freight"]):
            if await self.sync.mappings.freight_item(supplier_id, customer_id) is not None:
                found.add(freight_blocker(customer_id))
        return found


def _merged(first: ResyncReport, second: ResyncReport) -> ResyncReport:
    return ResyncReport(first.outcomes + second.outcomes, first.errors + second.errors)


@dataclass(frozen=True)
class ConnectionHeals:
    """order_sync's `WaitingWork`: records whose latest outcome failed with a code a connection
    heals (the ledger's index); a supplier's are resumed by a durable `connection` heal request."""

    healing: Healing

    async def waiting_suppliers(self) -> list[str]:
        return await self.healing.sync.ledger.failing_with(WAITING_FOR[CONNECTION])

    async def resume(self, supplier_id: str) -> None:
        await self.healing.request_code_heal(supplier_id, CONNECTION)
