"""Supplier sync health at the edge: the monitor that keeps each supplier's NetSuite connection state.

* `ConnectionMonitor` (one per process, built by the runtime): the circuit breaker that parks
  a supplier's records while NetSuite refuses its login or cannot be reached, the prober that finds
  out when it is back, and the `netsuite.integration-status.v1` events, published once per change.
* `SupplierGuard`: the monitor's om_netsuite `RequestGuard` of one supplier's session.
* `signal_of` / `permission_named`: what a NetSuite answer says about the connection.

The driver-free half (states, `ConnectionView`, `ConnectionDown`, `status_event`) is
`om_platform.core.connections`; the shared state is stored by `om_platform.adapters.mongo.connections`.
"""

from om_platform.adapters.connections._monitor import ConnectionMonitor, SupplierGuard
from om_platform.adapters.connections._signals import permission_named, signal_of

__all__ = ["ConnectionMonitor", "SupplierGuard", "permission_named", "signal_of"]
