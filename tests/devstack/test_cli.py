"""Command-line parsing of topic options (pure; the running CLI is covered in test_orphans)."""

from __future__ import annotations

from pathlib import Path

import pytest

from om_devstack._cli import _load_topics, _topic


def test_a_topic_option_reads_name_partitions_and_compaction() -> None:
    assert _topic("orders") == ("orders", 1, False)
    assert _topic("orders:6") == ("orders", 6, False)
    assert _topic("suppliers:3:compact") == ("suppliers", 3, True)


def test_topics_from_imports_an_iterable_or_a_callable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_registry.py").write_text(
        "TOPICS = [('a', 2, True), 'b']\ndef all_topics():\n    return ['c']\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _load_topics("my_registry:TOPICS") == [("a", 2, True), "b"]
    assert _load_topics("my_registry:all_topics") == ["c"]


def test_topics_from_without_an_attribute_is_refused() -> None:
    with pytest.raises(SystemExit, match="MODULE:ATTR"):
        _load_topics("my_registry")
