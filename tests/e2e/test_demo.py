"""The README's first command, end to end: the three services as real processes on the embedded stack.

The demo itself checks the outcome against the simulator's records (no duplicate sales order,
edits replace lines, outage absorbed, unmapped order healed by its mapping fix with no resync
command, finance events once each, an invoice voided in NetSuite published once as voided, reconciliation
cascade with a customer deposit for an unbilled order, stock changes only; a second supplier on
OAuth 2.0 M2M; a third on invoice sync whose invoices become NetSuite invoices and whose voided
invoice becomes a credit memo; no schema violation on the strict simulator) and that no
credential or sealing key appears in any service log (at DEBUG), published event or MongoDB
document. It exits non-zero if any check fails.
"""

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.timeout(400)
def test_the_demo_day_passes_every_check_and_leaks_no_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "om_demo", "--log-level", "DEBUG"],
        capture_output=True,
        text=True,
        timeout=360,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "TERM": "dumb"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "✗" not in output
    assert output.count("✓") >= 12, output[-3000:]
    assert "no credential or sealing key" in output
