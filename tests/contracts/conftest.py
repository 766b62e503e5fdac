"""Fixtures for the contract tests: CONTRACTS.md examples copied verbatim into fixtures/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from om_contracts import KeyRing

FIXTURES = Path(__file__).parent / "fixtures"


def read_fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def key_ring() -> KeyRing:
    return KeyRing([KeyRing.generate_key()])


@pytest.fixture
def fixture_text() -> Callable[[str], str]:
    return read_fixture


@pytest.fixture
def wrap() -> Callable[[str, str], bytes]:
    """Put a data payload (JSON text, kept byte for byte) into the CONTRACTS.md envelope."""

    def _wrap(event_type: str, data_text: str) -> bytes:
        template = read_fixture("envelope.template").strip()
        text = template.replace('"order.placed"', f'"{event_type}"').replace("{ ... }", data_text)
        return text.encode("utf-8")

    return _wrap


@pytest.fixture(scope="session")
def integration_text(key_ring: KeyRing) -> str:
    """The CONTRACTS.md integration example with each ``<sealed>`` placeholder really sealed."""
    text = read_fixture("integration.json")
    for plain in ("ck-plain", "cs-plain", "tk-plain", "ts-plain"):
        text = text.replace('"<sealed>"', f'"{key_ring.seal(plain).token}"', 1)
    assert "<sealed>" not in text
    return text
