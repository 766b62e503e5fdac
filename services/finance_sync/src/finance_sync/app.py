"""Wiring of finance_sync: consumers, publishers and stores on one ServiceRuntime (the entry point layer)."""

from finance_sync.settings import Settings
from om_platform.runtime import ServiceRuntime


def build(settings: Settings) -> ServiceRuntime:
    runtime = ServiceRuntime(settings, title="finance_sync", description=__doc__ or "")
    runtime.consume_integrations()
    return runtime
