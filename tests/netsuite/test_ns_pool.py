"""AccountPools: one HTTP connection pool per account, over real sockets to the simulator."""

from __future__ import annotations

import httpx2
import pytest

from om_netsuite._pool import ACCOUNT_EXTENSION, AccountPools
from om_netsuite_sim import SimulatorServer

pytestmark = pytest.mark.integration

LIMITS = httpx2.Limits(max_connections=10, max_keepalive_connections=10)


async def test_each_account_gets_its_own_pool_and_idle_ones_make_room(simulator: SimulatorServer) -> None:
    pools = AccountPools(limits=LIMITS, max_pools=2)
    async with httpx2.AsyncClient(transport=pools) as http:

        async def get(account: str) -> int:
            response = await http.get(
                f"{simulator.base_url}/nothing", extensions={ACCOUNT_EXTENSION: account}
            )
            return response.status_code

        assert await get("A") == await get("A") >= 400  # answered (refused: no credentials)
        assert pools.pools() == 1
        await get("B")
        assert pools.pools() == 2
        await get("C")  # the least recently used idle pool (A) is closed
        assert pools.pools() == 2


async def test_a_pool_with_a_response_open_is_not_closed(simulator: SimulatorServer) -> None:
    pools = AccountPools(limits=LIMITS, max_pools=1)
    async with httpx2.AsyncClient(transport=pools) as http:
        request = http.build_request(
            "GET", f"{simulator.base_url}/nothing", extensions={ACCOUNT_EXTENSION: "A"}
        )
        open_response = await http.send(request, stream=True)
        await http.get(f"{simulator.base_url}/nothing", extensions={ACCOUNT_EXTENSION: "B"})
        assert pools.pools() == 2  # A is in use: B's pool is added beyond the bound
        await open_response.aread()
        await open_response.aclose()
        await http.get(f"{simulator.base_url}/nothing", extensions={ACCOUNT_EXTENSION: "C"})
        assert pools.pools() == 2  # A (idle now, least recently used) made room
