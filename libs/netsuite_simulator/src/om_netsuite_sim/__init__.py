"""A NetSuite SuiteTalk REST + SuiteQL simulator for development, tests, demos and benchmarks.

It verifies Token-Based Authentication exactly as NetSuite does (and OAuth 2.0 client
credentials), keeps records per account with NetSuite's REST semantics, answers SuiteQL from
NetSuite-shaped tables, enforces the per-account concurrency limit, and injects latency and
faults. See ``README.md`` for the admin API under ``/_sim/``.

    sim = Simulator()
    creds = sim.add_account("1234567_SB1", concurrency_limit=5)
    async with SimulatorServer(sim) as server:
        ...  # point the client at server.base_url
"""

from ._faults import FAULT_KINDS, Fault, Faults
from ._server import SimulatorServer
from ._simulator import Account, AuthFailure, OAuth2Client, Simulator
from ._tba import TbaCredentials

__all__ = [
    "FAULT_KINDS",
    "Account",
    "AuthFailure",
    "Fault",
    "Faults",
    "OAuth2Client",
    "Simulator",
    "SimulatorServer",
    "TbaCredentials",
]
