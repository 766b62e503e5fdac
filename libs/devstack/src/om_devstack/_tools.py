"""Executables the stack runs: scripts beside the interpreter and Debian tools unpacked by setup."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from om_devstack._process import StartupError

__all__ = ["debian_tool", "venv_script"]


def venv_script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StartupError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def debian_tool(name: str) -> tuple[str, dict[str, str]]:
    """A Debian tool that ``manage.py setup`` unpacked into ``.tools/debian`` (next to ``.venv``),
    else one on PATH; returns the executable and the environment it needs (its private libraries)."""
    root = Path(sys.prefix).parent / ".tools" / "debian"
    candidate = root / "usr" / "bin" / name
    if candidate.is_file():
        libraries = [
            str(p) for p in (root / "usr/lib/x86_64-linux-gnu", root / "lib/x86_64-linux-gnu") if p.is_dir()
        ]
        return str(candidate), {"LD_LIBRARY_PATH": os.pathsep.join(libraries)} if libraries else {}
    found = shutil.which(name)
    if found is None:
        raise StartupError(f"{name} not found in {root} or on PATH: run `python3 manage.py setup`")
    return found, {}
