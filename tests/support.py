"""Shared test support (not port fakes: those are in fakes.py): the payloads every service's tests
send, and a service run as its own process for the kill tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from om_contracts import KeyRing
from om_netsuite_sim import TbaCredentials


def integration(account_id: str, ring: KeyRing, creds: TbaCredentials, **settings: Any) -> dict[str, Any]:
    """An `integration.netsuite.configured` payload as Ordermentum sends it: the account, its TBA
    credentials each sealed with `ring`, orders sync unless `settings` say otherwise."""
    return {
        "account_id": account_id,
        "credentials": {
            "client_id": ring.seal(creds.consumer_key).token,
            "client_secret": ring.seal(creds.consumer_secret).token,
            "token_id": ring.seal(creds.token_id).token,
            "token_secret": ring.seal(creds.token_secret).token,
        },
        "sync_type": "orders",
        **settings,
    }


def print_tasks(file: Any = None) -> None:
    """Every asyncio task's await chain, innermost last: where something that never ends waits."""
    out = file or sys.stdout
    for task in asyncio.all_tasks():
        if task is asyncio.current_task():
            continue
        print(f"--- {task.get_name()}", file=out)
        link: Any = task.get_coro()
        while link is not None:
            frame = getattr(link, "cr_frame", None) or getattr(link, "gi_frame", None)
            if frame is None:
                print(f"    awaits {link!r}"[:300], file=out)
                break
            print(f"    {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}", file=out)
            link = getattr(link, "cr_await", None) or getattr(link, "gi_yieldfrom", None)


class ServiceProcess:
    """`python -m <service>` with its settings in the environment and its output in `log` (or
    discarded), for tests that SIGKILL or stop it."""

    def __init__(self, service: str, env: dict[str, str], log: Path | None = None) -> None:
        self.service = service
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.log is None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.service],
                env={**os.environ, **self.env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            return
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.service], env={**os.environ, **self.env}, stdout=sink, stderr=sink
            )

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log is not None else ""
            raise AssertionError(f"{self.service} exited with {self.process.returncode}:\n{tail}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
