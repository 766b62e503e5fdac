"""The suite's parallel grouping names files that exist: a moved process test left out of the
`processes` group runs beside other tests and stalls its own servers under their load."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import _PROCESS_TESTS, _SLOWEST_FIRST

ROOT = Path(__file__).parents[2]


def test_every_path_the_grouping_names_exists() -> None:
    missing = [path for path in (*_PROCESS_TESTS, *_SLOWEST_FIRST) if not (ROOT / path).exists()]
    assert missing == []
