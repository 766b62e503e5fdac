"""CONTRACTS.md's generated tables (topics, events, error codes, headers, limits) match the code."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_tables_of_contracts_md_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "contracts_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_section_the_code_cites_exists() -> None:
    text = (ROOT / "CONTRACTS.md").read_text(encoding="utf-8")
    for section in (
        "General rules",
        "Limits on input",
        "Outbound",
        "Properties on customers, products, orders and invoices",
    ):
        assert f"# {section}\n" in text, section
