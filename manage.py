#!/usr/bin/env python3
"""One entry point for a fresh machine: only Python 3.11+ is assumed.

    python3 manage.py dev      # install everything, run the demo: embedded stack, three services, a supplier day
    python3 manage.py test     # install everything, run the quality gates and the whole test suite

Other commands: ``setup`` (install only), ``lint``, ``typecheck``, ``pytest [args]``, ``run <cmd>``.

Installation: a private virtualenv ``.tools/`` receives a pinned ``uv`` from PyPI; uv then builds
``.venv/`` from ``uv.lock`` with every workspace member and the dev tools. Nothing is installed
outside the checkout. The script uses the standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
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


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=_env(), check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def uv() -> Path:
    exe = TOOLS / BIN / "uv"
    if not exe.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        _run(TOOLS / BIN / "python", "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    return exe


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit("Python 3.11 or newer is required")
    # In CI the committed lock must already match the project files; locally uv refreshes it.
    lock = ["--locked"] if os.environ.get("CI") and (ROOT / "uv.lock").exists() else []
    _run(uv(), "sync", "--all-packages", "--python", sys.executable, *lock)


def tool(name: str) -> Path:
    return VENV / BIN / name


def lint() -> None:
    _run(tool("ruff"), "format", "--check", ".")
    _run(tool("ruff"), "check", ".")


def typecheck() -> None:
    _run(tool("mypy"), "libs", "services", "tools")


def main(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "help":
        print(__doc__)
        return
    setup()
    if command == "setup":
        return
    if command == "dev":
        _run(tool("python"), "-m", "om_demo", *rest)
    elif command == "test":
        lint()
        typecheck()
        _run(tool("pytest"), *rest)
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
