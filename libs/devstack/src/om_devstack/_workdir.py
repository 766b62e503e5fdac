"""A stack's temporary work directory, marked with its owner's pid so a killed owner's is swept.

SIGKILL skips every cleanup, so each new work directory first removes those whose owner is dead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from om_devstack._watch import alive

__all__ = ["make_workdir"]

_WORKDIR_PREFIX = "om-devstack-"
_OWNER_FILE = "owner.pid"


def _sweep_stale_workdirs() -> None:
    """Remove work directories left by stacks whose owner was killed (SIGKILL skips cleanup)."""
    for candidate in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*"):
        try:
            owner = int((candidate / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if not alive(owner):
            shutil.rmtree(candidate, ignore_errors=True)


def make_workdir() -> Path:
    """A new work directory owned by this process, after sweeping those of dead owners."""
    _sweep_stale_workdirs()
    workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
    (workdir / _OWNER_FILE).write_text(str(os.getpid()))
    return workdir
