"""The service composition: `ServiceRuntime` (broker, consumers, stores, health, commands) and `main`."""

from om_platform.runtime._service import ServiceRuntime, main

__all__ = ["ServiceRuntime", "main"]
