"""Fixtures of the edge tests (the harness itself is in edge_harness.py)."""

from .edge_harness import edge, running

__all__ = ["edge", "running"]
