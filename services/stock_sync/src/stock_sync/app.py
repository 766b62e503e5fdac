"""Wiring of stock_sync: consumers, publishers and stores on one ServiceRuntime (the entry point layer)."""

from om_platform.runtime import ServiceRuntime
from stock_sync.settings import Settings


def build(settings: Settings) -> ServiceRuntime:
    runtime = ServiceRuntime(settings, title="stock_sync", description=__doc__ or "")
    runtime.consume_integrations()
    return runtime
