"""`om_platform.core` is driver-free: importing every one of its modules loads no driver.

Use cases and domains import the core; if a core module reached pymongo, aiokafka, faststream,
httpx, prometheus_client or om_netsuite (directly or through another module), every service layer
would again load the drivers it is meant not to know. Checked in a fresh interpreter, where nothing
else has imported them yet.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import om_platform.core

DRIVERS = ("pymongo", "aiokafka", "faststream", "httpx", "prometheus_client", "om_netsuite")

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def core_modules() -> list[str]:
    walked = pkgutil.walk_packages(om_platform.core.__path__, prefix="om_platform.core.")
    return ["om_platform.core", *(info.name for info in walked)]


def loaded_after_importing(modules: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout))


def test_the_core_has_the_modules_the_layout_names() -> None:
    names = set(core_modules())
    for module in ("failures", "ports", "connections", "mappings", "settings_changes", "supplier_jobs"):
        assert f"om_platform.core.{module}" in names


def test_importing_every_core_module_loads_no_driver() -> None:
    loaded = loaded_after_importing(core_modules())
    assert "om_platform" in loaded  # the probe did import the core
    assert sorted(loaded.intersection(DRIVERS)) == []


def test_the_probe_sees_a_driver_when_one_is_imported() -> None:
    """The check can fail: importing an adapter next to the core is caught."""
    loaded = loaded_after_importing([*core_modules(), "om_platform.adapters.mongo.leases"])
    assert "pymongo" in loaded


def test_om_transactions_loads_no_driver_either() -> None:
    loaded = loaded_after_importing(["om_transactions.mapping", "om_transactions.currencies"])
    assert sorted(loaded.intersection(DRIVERS)) == []
