"""om_netsuite is an HTTP client library on its own: no database or broker driver, declared or loaded.

The MongoDB budget lives in ``om_platform.adapters.budget`` and implements om_netsuite's ``Budget``
port; a regression that moves a driver back into the client fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

DRIVERS = ("pymongo", "bson", "motor", "aiokafka", "faststream")
PYPROJECT = Path(__file__).resolve().parents[2] / "libs" / "netsuite" / "pyproject.toml"


def test_importing_om_netsuite_loads_no_mongo_or_kafka_driver() -> None:
    # A fresh interpreter: this test process has pymongo loaded by other tests' fixtures.
    code = (
        "import sys, om_netsuite\n"
        f"loaded = [name for name in {DRIVERS!r} if name in sys.modules]\n"
        "assert not loaded, f'import om_netsuite loaded {loaded}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_om_netsuite_declares_no_mongo_or_kafka_dependency() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = {
        re.split(r"[<>=!~\[;\s]", dependency, maxsplit=1)[0].lower() for dependency in project["dependencies"]
    }
    assert "httpx2" in declared  # the parse found the real names
    assert not declared & set(DRIVERS)
