"""The service composition: `ServiceRuntime` (see `service`) and `main` (`python -m <service>`)."""

from om_platform.runtime.serve import main
from om_platform.runtime.service import ServiceRuntime

__all__ = ["ServiceRuntime", "main"]
