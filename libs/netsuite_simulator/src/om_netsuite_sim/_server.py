"""Running the simulator as a real HTTP server (uvicorn) inside the current event loop."""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType

import uvicorn

from ._app import SimulatorApp
from ._simulator import Simulator

__all__ = ["SimulatorServer"]

_GRACE_SECONDS = 1.0


class _Uvicorn(uvicorn.Server):
    """uvicorn with an event-driven exit: tests start and stop many servers, and the stock
    100 ms polling in ``main_loop``/``shutdown`` would dominate their run time."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit.set()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            try:
                await asyncio.wait_for(self._exit.wait(), 0.1)
            except TimeoutError:
                continue

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:  # noqa: ARG002 -- uvicorn.Server.shutdown(sockets=...) signature
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _GRACE_SECONDS
        # uvicorn exposes no event for "all connections closed"; poll briefly instead.
        while (  # noqa: ASYNC110
            self.server_state.connections or self.server_state.tasks
        ) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for task in list(self.server_state.tasks):
            task.cancel()


class SimulatorServer:
    """Serve a ``Simulator`` over HTTP on ``host:port`` (port 0 picks a free port).

    ``await server.start()`` returns once the socket is listening; ``server.base_url`` is then
    e.g. ``http://127.0.0.1:54321``. Use ``async with SimulatorServer(sim) as server:`` in tests.
    """

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        if self._socket is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # h11 writes head and body separately; without TCP_NODELAY (inherited by accepted
        # sockets on Linux) Nagle + delayed ACK add ~40 ms to every small response.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        sock.listen(1024)
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            SimulatorApp(self.sim),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            http="h11",
            # The token endpoint sends its own Date from the simulated clock (clock skew is told
            # by it); uvicorn's would be a second, real-time one.
            date_header=False,
        )
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.request_exit()
            await self._task
        self._server = None
        self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
