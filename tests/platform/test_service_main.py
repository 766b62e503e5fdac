"""`python -m <service>` with wrong settings: one line per problem, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("service", ["order_sync", "stock_sync", "finance_sync"])
def test_a_service_with_invalid_settings_says_which_and_exits_2(service: str) -> None:
    env = {
        **os.environ,
        "HTTP_PORT": "eighty",
        "KAFKA_SECURITY_PROTOCOL": "TLS-PLEASE",
        "MONGODB_URL": "mongodb://user:s3cret-value@db.example/",
    }
    done = subprocess.run(
        [sys.executable, "-m", service], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "invalid setting KAFKA_SECURITY_PROTOCOL: Input should be 'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'",
        "invalid setting HTTP_PORT: Input should be a valid integer, unable to parse string as an integer",
    ]
    assert "Traceback" not in done.stderr
    assert "s3cret-value" not in done.stderr + done.stdout
