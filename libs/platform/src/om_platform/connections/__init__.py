"""Supplier sync health: each supplier's NetSuite connection state, shared by the three services.

* `ConnectionMonitor` (one per process, built by `ServiceRuntime`): the circuit breaker that parks
  a supplier's records while NetSuite refuses its login or cannot be reached, the prober that finds
  out when it is back, and the `netsuite.integration-status.v1` events, published once per change.
* `ConnectionStore`: the shared state, one document per supplier in `NETSUITE_BUDGET_DATABASE`.
* `ConnectionDown`: what a session raises instead of sending a request while the breaker is open.

See `_states.py` for the state machine and `_monitor.py` for how processes agree on it.
"""

from om_platform.connections._monitor import (
    AlwaysConnected,
    ConnectionDown,
    ConnectionMonitor,
    ConnectionSettings,
    ConnectionView,
    SupplierGuard,
    credentials_fingerprint,
    status_event,
)
from om_platform.connections._states import (
    BREAKER_OPEN,
    BROKEN,
    Signal,
    Status,
    next_state,
    permission_named,
    recovers,
    signal_of,
)
from om_platform.connections._store import COLLECTION, ConnectionStore

__all__ = [
    "BREAKER_OPEN",
    "BROKEN",
    "COLLECTION",
    "AlwaysConnected",
    "ConnectionDown",
    "ConnectionMonitor",
    "ConnectionSettings",
    "ConnectionStore",
    "ConnectionView",
    "Signal",
    "Status",
    "SupplierGuard",
    "credentials_fingerprint",
    "next_state",
    "permission_named",
    "recovers",
    "signal_of",
    "status_event",
]
