"""``python -m om_netsuite_sim --host 127.0.0.1 --port 0 --port-file PATH [--seed demo]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from dataclasses import asdict
from pathlib import Path

from ._seed import seed_demo
from ._server import SimulatorServer
from ._simulator import Simulator


async def _serve(args: argparse.Namespace) -> None:
    sim = Simulator()
    seeded = seed_demo(sim) if args.seed == "demo" else None
    server = SimulatorServer(sim, host=args.host, port=args.port)
    await server.start()
    if args.port_file:
        await asyncio.to_thread(Path(args.port_file).write_text, str(server.port))
    print(json.dumps({"base_url": server.base_url, "port": server.port}), flush=True)
    if seeded is not None:
        print(json.dumps({"demo_account": asdict(seeded)}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="om_netsuite_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", default=None, help="write the bound port to this file")
    parser.add_argument("--seed", choices=["demo"], default=None)
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
