"""CONTRACTS.md holds the sections the code cites (its generated tables: tests/docs/test_generated_files.py)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_section_the_code_cites_exists() -> None:
    text = (ROOT / "CONTRACTS.md").read_text(encoding="utf-8")
    for section in (
        "General rules",
        "Limits on input",
        "Outbound",
        "Properties on customers, products, orders and invoices",
    ):
        assert f"# {section}\n" in text, section
