"""Files generated from the code (AsyncAPI documents, the README's settings tables, CONTRACTS.md's
tables) are committed; each generator's `--check` fails when the committed copy is stale."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "generator",
    [
        "asyncapi.py",  # services/*/asyncapi.json, what the services' code generates
        "settings_doc.py",  # README settings tables: every setting with its default
        "contracts_doc.py",  # CONTRACTS.md tables: topics, events, error codes, headers, limits
    ],
)
def test_the_committed_generated_file_is_up_to_date(generator: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / generator), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
