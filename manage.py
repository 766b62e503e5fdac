#!/usr/bin/env python3
"""One entry point for a fresh machine: only Python 3.11+ is assumed.

    python3 manage.py dev      # install everything, run the demo: embedded stack, three services, a supplier day
    python3 manage.py test     # install everything, run the quality gates and the whole test suite

Other commands: ``setup`` (install only), ``lint``, ``typecheck``, ``pytest [args]`` (serial, or
``-n N`` for N processes), ``run <cmd>``.

``test [args]`` runs the gates (``ruff format --check``, ``ruff check``, ``mypy --strict``) in a child
process alongside the suite -- their output is printed after the tests' -- and the suite in
``OM_TEST_WORKERS`` (default 3) pytest-xdist processes, each with its own embedded stack
(tests/conftest.py says how tests are grouped); it exits non-zero if either failed. Extra args go
to pytest (``-n 0`` runs serially).

Installation: a private virtualenv ``.tools/`` receives a pinned ``uv`` from PyPI; uv then builds
``.venv/`` from ``uv.lock`` with every workspace member and the dev tools. Two test tools come from
Debian's archive: ``promtool`` (package ``prometheus``: the alert rules are checked and unit-tested
with it) and ``stunnel4`` (the TLS listener in front of the embedded broker). Their packages are
downloaded with ``apt-get download`` and unpacked into ``.tools/debian/`` -- not installed: no
maintainer script runs, so no Prometheus server is registered or started, and nothing needs systemd.
Nothing is installed outside the checkout. The script uses the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
UV_VERSION = "0.13.9"
BIN = "Scripts" if os.name == "nt" else "bin"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # use the interpreter running this script, never fetch one
    env["UV_PROJECT_ENVIRONMENT"] = str(VENV)
    env.setdefault("UV_LINK_MODE", "copy")
    return env


STOP_GRACE_S = 30.0  # after a forwarded stop signal, how long the child has before SIGKILL


def _run(*cmd: str | Path, own_group: bool = False) -> None:
    """Run a command to its end; exit with its status if it failed.

    Stopping manage.py stops the command: SIGTERM and SIGHUP are forwarded to it and manage.py
    waits for it (SIGKILL after STOP_GRACE_S); the child also gets SIGTERM if manage.py dies
    (Linux PR_SET_PDEATHSIG), so not even `kill -9` of manage.py leaves it behind. `own_group`
    (`dev`: the demo, which never reads the terminal) runs it in its own process group and forwards
    SIGINT too, to the whole group; otherwise the command stays in the terminal's foreground group
    (prompts keep working) and receives a terminal's Ctrl-C itself.
    """
    print("+", " ".join(str(c) for c in cmd), flush=True)
    argv = [str(c) for c in cmd]
    if os.name != "posix":
        result = subprocess.run(argv, cwd=ROOT, env=_env(), check=False)
        if result.returncode != 0:
            sys.exit(result.returncode)
        return
    group = 0 if own_group else None
    death = _die_with_parent()  # single-threaded here: preexec_fn is safe
    child = subprocess.Popen(argv, cwd=ROOT, env=_env(), process_group=group, preexec_fn=death)  # noqa: PLW1509
    stopping: list[float] = []

    def signal_child(signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if own_group:
                os.killpg(child.pid, signum)
            else:
                child.send_signal(signum)

    def forward(signum: int, _frame: object) -> None:
        stopping.append(time.monotonic())
        signal_child(signum)

    handlers = {signal.SIGTERM: forward, signal.SIGHUP: forward}
    handlers[signal.SIGINT] = forward if own_group else signal.SIG_IGN  # Ctrl-C reaches the child itself
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        while True:
            try:
                code = child.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                if stopping and time.monotonic() - stopping[0] > STOP_GRACE_S:
                    signal_child(signal.SIGKILL)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if own_group:  # whatever of the group is still there
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
    if code != 0:
        sys.exit(128 - code if code < 0 else code)  # killed by signal N: 128 + N, as a shell says


def _die_with_parent() -> Callable[[], None] | None:
    """In the forked child before exec: SIGTERM when manage.py dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # manage.py died between fork and prctl
            os._exit(1)

    return preexec


def uv() -> Path:
    exe = TOOLS / BIN / "uv"
    if not exe.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        _run(TOOLS / BIN / "python", "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    return exe


# Debian packages unpacked into .tools/debian: package -> a file it provides (present = done).
DEBIAN = ROOT / ".tools" / "debian"
DEBIAN_PACKAGES = {
    "prometheus": "usr/bin/promtool",
    "stunnel4": "usr/bin/stunnel4",
    "libwrap0": "usr/lib/x86_64-linux-gnu/libwrap.so.0",  # stunnel4's one library not in a slim image
    # `kubectl kustomize` renders deploy/kustomize's overlays in tests/deploy (kubectl 1.20: kustomize v2.0.3)
    "kubernetes-client": "usr/bin/kubectl",
}


def debian_tools() -> None:
    """Unpack promtool, stunnel4 and kubectl from Debian's archive into .tools/debian (see the module doc)."""
    missing = [pkg for pkg, path in DEBIAN_PACKAGES.items() if not (DEBIAN / path).exists()]
    if not missing:
        return
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        print(
            f"! no apt-get/dpkg-deb here: install {', '.join(missing)} yourself (promtool, stunnel4 and kubectl on PATH)"
        )
        return
    with tempfile.TemporaryDirectory(prefix="om-debs-") as scratch:
        download = ["apt-get", "download", "-q", *missing]
        if os.geteuid() == 0:  # apt's _apt sandbox user cannot write to our scratch directory
            download[1:1] = ["-o", "APT::Sandbox::User=root"]
        print("+", " ".join(download), flush=True)
        found = subprocess.run(download, cwd=scratch, check=False)
        if found.returncode != 0 and os.geteuid() == 0:
            _run_in(scratch, "apt-get", "update", "-q")  # a fresh machine has no package lists yet
            found = subprocess.run(download, cwd=scratch, check=False)
        if found.returncode != 0:
            sys.exit(f"could not download {', '.join(missing)} from Debian's archive")
        for deb in sorted(Path(scratch).glob("*.deb")):
            _run_in(scratch, "dpkg-deb", "-x", deb.name, str(DEBIAN))


def _run_in(cwd: str, *cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(list(cmd), cwd=cwd, check=False).returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}")


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit("Python 3.11 or newer is required")
    # In CI the committed lock must already match the project files; locally uv refreshes it.
    lock = ["--locked"] if os.environ.get("CI") and (ROOT / "uv.lock").exists() else []
    _run(uv(), "sync", "--all-packages", "--python", sys.executable, *lock)
    debian_tools()


def tool(name: str) -> Path:
    return VENV / BIN / name


def lint() -> None:
    _run(tool("ruff"), "format", "--check", ".")
    _run(tool("ruff"), "check", ".")


def typecheck() -> None:
    _run(tool("mypy"), "libs", "services", "tools", "tests/fakes.py", "tests/support.py")


TEST_WORKERS = "3"  # two cores: most of the suite waits on sockets and processes, not the CPU
INTERRUPTED = {2, 128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGHUP, 128 + signal.SIGKILL}
"""Exit codes of a pytest run that was stopped (2: pytest's "interrupted") rather than one that failed."""


def test(rest: list[str]) -> None:
    """The gates in a child process while the suite runs; non-zero if either failed."""
    workers = os.environ.get("OM_TEST_WORKERS", TEST_WORKERS)
    with tempfile.TemporaryFile(prefix="om-gates-") as output:
        print("+ gates (ruff format --check, ruff check, mypy --strict) alongside the tests", flush=True)
        gates = subprocess.Popen(  # it dies with us (PR_SET_PDEATHSIG), like every child of _run
            [sys.executable, str(Path(__file__).resolve()), "gates"],
            cwd=ROOT, env=_env(), stdout=output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent(),  # noqa: PLW1509
        )  # fmt: skip
        tests: SystemExit | None = None
        try:
            _run(tool("pytest"), "-n", workers, "--dist", "loadgroup", "--no-loadscope-reorder", *rest)
        except SystemExit as failed:
            tests = failed
        finally:
            if tests is not None and tests.code in INTERRUPTED:  # stopped, not failed: no gates either
                gates.terminate()
            code = gates.wait()
            output.seek(0)
            sys.stdout.buffer.write(output.read())
            sys.stdout.flush()
    if code != 0:
        sys.exit(f"the gates failed (exit {code}); tests: {'failed' if tests else 'passed'}")
    if tests is not None:
        raise tests


def main(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "help":
        print(__doc__)
        return
    if command == "gates":  # `test`'s child: setup has run already
        lint()
        typecheck()
        return
    setup()
    if command == "setup":
        return
    if command == "dev":
        _run(tool("python"), "-m", "om_demo", *rest, own_group=True)
    elif command == "test":
        test(rest)
    elif command == "lint":
        lint()
    elif command == "typecheck":
        typecheck()
    elif command == "pytest":
        _run(tool("pytest"), *rest)
    elif command == "run":
        _run(tool(rest[0]), *rest[1:])
    else:
        sys.exit(f"unknown command {command!r}; try: python3 manage.py help")


if __name__ == "__main__":
    main(sys.argv[1:])
