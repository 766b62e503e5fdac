"""Test-suite wiring: the embedded stack fixtures come from om_devstack's pytest plugin, and the
grouping that lets `python3 manage.py test` run the suite in parallel processes (pytest-xdist).

Under `pytest -n N --dist loadgroup --no-loadscope-reorder` (what `manage.py test` runs) each worker
is its own pytest session, so it starts its own embedded stack (tansu, secantusdb, simulator) on
its own free ports the first time one of its tests asks for it. Work is handed out one group at a
time to whichever worker is idle, in the order `pytest_collection_modifyitems` below leaves:

* every test module is one group, so a module-scoped service fixture starts once;
* the tests that kill, restart or time whole processes form one group, `processes`, so they run
  one after another on one worker and never starve each other of the two cores;
* the groups that take longest (measured; see the README's test line) are handed out first, so
  no long module starts last and holds the run up.

Without xdist (`python3 manage.py pytest ...` with no `-n`) nothing here changes the order.
"""

import sys
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["om_devstack.pytest_plugin"]

# `fakes` (the shared in-memory ports for unit tests) lives beside this file; pytest runs with
# --import-mode=importlib, which does not put test folders on sys.path.
sys.path.insert(0, str(Path(__file__).parent))

PROCESSES = "processes"
"""Tests that SIGKILL/restart servers or services, start whole demos as processes, or measure a
shared budget between processes: run serially on one worker (xdist group `processes`)."""

_PROCESS_TESTS = (
    "tests/chaos/",
    "tests/devstack/test_orphans.py",
    "tests/devstack/test_stack.py",
    "tests/finance_sync/test_kill_flow.py",
    "tests/finance_sync/test_kill_mid_run.py",
    "tests/stock_sync/test_kill.py",
    "tests/order_sync/test_resilience.py",
    "tests/platform/test_budget_processes.py",
)

# Directories by their wall time in one serial run (slowest first); unlisted ones come last.
_SLOWEST_FIRST = (
    "tests/e2e/",
    "tests/finance_sync/",
    "tests/order_sync/",
    "tests/omctl/",
    "tests/stock_sync/",
    "tests/platform/",
    "tests/netsuite/",
    "tests/fuzz/",
    "tests/deploy/",
    "tests/devstack/",
    "tests/services/",
    "tests/simulator/",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path.startswith(_PROCESS_TESTS):
        return -1
    for rank, directory in enumerate(_SLOWEST_FIRST):
        if path.startswith(directory):
            return rank
    return len(_SLOWEST_FIRST)


def _group(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return PROCESSES if path.startswith(_PROCESS_TESTS) else path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: hand the slowest groups out first
        items.sort(key=_rank)  # stable: a module's tests keep their order


@pytest.hookimpl(optionalhook=True)  # only known when pytest-xdist is loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`: one work unit per `_group`. (xdist's own `xdist_group` marks do not work
    under pytest 9: xdist renames `item._nodeid`, which pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return ByGroup(config, log)
