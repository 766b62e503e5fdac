"""Child processes that never outlive the process that started them.

Every child is started in its own process group (so a stop reaches the whole tree and a Ctrl-C
on the terminal is handled by us, not delivered straight to the children) and, on Linux, with
``PR_SET_PDEATHSIG = SIGKILL`` so the kernel kills it if the parent dies for any reason,
including ``SIGKILL`` of pytest. The death signal is tied to the *thread* that forked the child,
so children must be spawned from a long-lived thread (the main thread or the event loop's
thread), never from a short-lived executor thread. ``atexit`` and a ``SIGTERM`` handler cover the
orderly exits as well.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

__all__ = ["ChildProcess", "StartupError", "live_children"]

_log = logging.getLogger("om_devstack.process")

_PR_SET_PDEATHSIG = 1
_TAIL_BYTES = 4000


class StartupError(RuntimeError):
    """A child did not start or did not answer in time; the message carries its log tail."""


def _make_preexec() -> Callable[[], None] | None:
    """Build the function run in the forked child before ``exec``.

    The libc handle is resolved in the parent: the child only makes two syscalls.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl: the signal would never come.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


_registry: dict[int, ChildProcess] = {}
_registry_lock = threading.Lock()
_hooks_installed = False
_previous_sigterm: Callable[[int, FrameType | None], object] | int | None = None


def live_children() -> list[ChildProcess]:
    """Children started by this process that have not been stopped yet."""
    with _registry_lock:
        return list(_registry.values())


def _kill_all() -> None:
    children = live_children()
    for child in children:
        child.terminate()  # all first, so the grace periods overlap
    for child in children:
        child.stop(grace=1.0)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _kill_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    # Default disposition: die by the same signal so the exit status stays truthful.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _hooks_installed, _previous_sigterm
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_kill_all)
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        if previous in (signal.SIG_DFL, None) or callable(previous):
            _previous_sigterm = previous
            signal.signal(signal.SIGTERM, _on_sigterm)


class ChildProcess:
    """One server process with its log file; see the module docstring for the guarantees."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running child, ``None`` before start or after stop."""
        return self._popen.pid if self._popen is not None else None

    def start(self) -> None:
        """Spawn the child, output appended to ``log_path`` (``None``: share our stdout/err)."""
        _install_hooks()
        with contextlib.ExitStack() as files:
            log: IO[bytes] | None = None
            if self.log_path is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                log = files.enter_context(self.log_path.open("ab"))
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT if log is not None else None,
                env=self.env,
                start_new_session=True,
                preexec_fn=_make_preexec(),  # noqa: PLW1509 - needed for PR_SET_PDEATHSIG
                close_fds=True,
            )
        with _registry_lock:
            _registry[self._popen.pid] = self
        _log.debug("child started", extra={"child": self.name, "pid": self._popen.pid})

    def poll(self) -> int | None:
        """Exit code if the child has exited, else ``None``."""
        if self._popen is None:
            return None
        return self._popen.poll()

    def log_tail(self, limit: int = _TAIL_BYTES) -> str:
        """The last ``limit`` bytes of the child's log, for error messages."""
        if self.log_path is None:
            return ""
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - limit))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def startup_error(self, reason: str) -> StartupError:
        """An exception naming the child, the reason and the tail of its log."""
        return StartupError(
            f"{self.name} failed to start: {reason}\n"
            f"command: {' '.join(self.argv)}\nlog: {self.log_path}\n"
            f"--- last lines of its log ---\n{self.log_tail()}"
        )

    def terminate(self) -> None:
        """Send ``SIGTERM`` to the process group without waiting (see :meth:`stop`)."""
        if self._popen is not None and self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._popen.pid, signal.SIGTERM)

    def kill(self) -> None:
        """``SIGKILL`` the whole process group at once (crash simulation)."""
        self.stop(grace=0.0)

    def stop(self, grace: float = 5.0) -> None:
        """``SIGTERM`` the process group, then ``SIGKILL`` after ``grace`` seconds; reap it."""
        popen = self._popen
        if popen is None:
            return
        pgid = popen.pid  # start_new_session: the child leads its own group
        if popen.poll() is None:
            first = signal.SIGTERM if grace > 0 else signal.SIGKILL
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, first)
            deadline = time.monotonic() + grace
            while popen.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        # Grandchildren may linger in the group even after the leader exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5.0)
        with _registry_lock:
            _registry.pop(popen.pid, None)
        self._popen = None
        _log.debug("child stopped", extra={"child": self.name, "pid": pgid})
