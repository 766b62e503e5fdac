"""One run of a supplier's polled feature up to a moment: its change feed read and published.

What the hourly runs and the operator's "run now" call for each window: builds the feature's
feed over the supplier's NetSuite account (`feeds.feed`), runs it through the cursor window
(`polling.run_window`) and records how long it took and how far behind the window is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from finance_sync.domain.cursors import Cursor
from finance_sync.domain.features import Feature
from finance_sync.service_layer.feeds import feed
from finance_sync.service_layer.polling import RunResult, WindowOptions, run_window
from finance_sync.service_layer.ports import FeedSources, InvoiceVersions, Mappings, Published, RunMetrics
from om_contracts import IntegrationSettings
from om_platform.core.ports import Cursors, Publish


@dataclass(frozen=True)
class FeedOptions:
    """What the feeds need beyond NetSuite: the fallback currency and how old a paid invoice may be."""

    default_currency: str
    paid_lookback: timedelta


@dataclass(frozen=True)
class FeatureRuns:
    """Runs one window of a supplier's feature (a `hourly_runs.RunWindow`)."""

    netsuite: FeedSources
    mappings: Mappings
    versions: InvoiceVersions
    cursors: Cursors[Cursor]
    published: Published
    publishers: Mapping[Feature, Publish]
    metrics: RunMetrics
    window: WindowOptions
    options: FeedOptions
    clock: Callable[[], datetime]

    async def __call__(
        self, supplier_id: str, integration: IntegrationSettings, feature: Feature, until: datetime
    ) -> RunResult:
        fetch = feed(
            feature,
            supplier_id,
            integration,
            self.netsuite.for_supplier(supplier_id, integration),
            self.mappings,
            default_currency=self.options.default_currency,
            paid_lookback=self.options.paid_lookback,
            versions=self.versions,
        )
        started = time.monotonic()
        outcome = "failed"
        try:
            result = await run_window(
                supplier_id,
                str(feature),
                until,
                fetch,
                cursors=self.cursors,
                published=self.published,
                publisher=self.publishers[feature],
                options=self.window,
            )
            outcome = "succeeded" if result.complete else "partial"  # metrics.JOB_OUTCOMES
            return result
        finally:
            job = f"finance.{feature}"
            self.metrics.run_finished(job, outcome, time.monotonic() - started)
            # How far behind the window just worked is: ~0 on the hour, hours while catching up.
            self.metrics.window_age(job, (self.clock() - until).total_seconds())
