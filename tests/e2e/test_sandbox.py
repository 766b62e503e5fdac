"""The operator's sandbox: `python3 manage.py dev --keep-running` leaves the day's stack up, writes
every connection setting to an env file, and omctl pointed at it finds the dead letter and the
failed order the day left behind to practise on."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values


@pytest.mark.timeout(400)
def test_keep_running_writes_the_settings_and_omctl_finds_the_practice_material(tmp_path: Path) -> None:
    env_file = tmp_path / "dev.env"
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "om_demo", "--keep-running", "--env-file", str(env_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"COLUMNS": "200", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "dumb"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not env_file.exists():  # written once the day is over; nothing to await across processes
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo day did not finish in time"
            time.sleep(0.5)
        settings = read_env(env_file)
        assert {
            "KAFKA_BOOTSTRAP_SERVERS",
            "KAFKA_ENABLE_IDEMPOTENCE",
            "MONGODB_URL",
            "NETSUITE_BASE_URL",
        } <= set(settings)
        assert settings["NETSUITE_CREDENTIALS_KEYS"]
        assert env_file.stat().st_mode & 0o077 == 0  # it holds the sealing key
        operator = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "80", **settings}

        def omctl(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "omctl", *args],
                env=operator,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        letters = omctl("dlq", "list", "--topic", "ordermentum.orders.v1.dlq", "--json")
        assert letters.returncode == 0, letters.stderr
        assert [x["code"] for x in json.loads(letters.stdout)["dead_letters"]] == ["INVALID_EVENT"]
        status = omctl("status", "--supplier", "sup_bean_co", "--json")
        assert status.returncode == 0, status.stderr
        flows = json.loads(status.stdout)["suppliers"]["sup_bean_co"]["order_sync"]["flows"]
        assert any(flow["failures_by_code"].get("UNMAPPED_PRODUCT") for flow in flows.values())
        assert "set -a; . " in (tmp_path / "demo.log").read_text()
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=60)
        log.close()
