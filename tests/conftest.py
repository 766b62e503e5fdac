"""Test-suite wiring: the embedded stack fixtures come from om_devstack's pytest plugin."""

pytest_plugins = ["om_devstack.pytest_plugin"]
