"""Test-suite wiring: the embedded stack fixtures come from om_devstack's pytest plugin."""

import sys
from pathlib import Path

pytest_plugins = ["om_devstack.pytest_plugin"]

# `fakes` (the shared in-memory ports for unit tests) lives beside this file; pytest runs with
# --import-mode=importlib, which does not put test folders on sys.path.
sys.path.insert(0, str(Path(__file__).parent))
