"""Injected latency and faults for one account (chaos tests, benchmarks, demos).

Kinds (``Fault.kind``):

* ``"429"``: answer with the documented CONCURRENCY_LIMIT_EXCEEDED body.
* ``"5xx"``: answer ``status`` (default 500) with UNEXPECTED_ERROR and an ``error_id``.
* ``"timeout"``: hold the request for ``delay`` seconds (default 120) or until the client hangs up.
* ``"drop"``: close the connection without any response.
* ``"slow_401"``: wait ``delay`` seconds then answer the generic 401 INVALID_LOGIN (NetSuite's
  overload symptom reported in the field).
* ``"commit_then_drop"`` / ``"commit_then_500"``: apply the write, then lose the response.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "Faults"]

FAULT_KINDS = frozenset({"429", "5xx", "timeout", "drop", "slow_401", "commit_then_drop", "commit_then_500"})


@dataclass
class Fault:
    """One fault rule; it fires with ``probability`` on matching requests, ``count`` times at most."""

    kind: str
    probability: float = 1.0
    count: int | None = None
    method: str | None = None
    path_contains: str | None = None
    status: int = 500
    error_id: str | None = None
    delay: float = 120.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_contains is None or self.path_contains in path

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "probability": self.probability,
            "count": self.count,
            "method": self.method,
            "path_contains": self.path_contains,
            "status": self.status,
            "error_id": self.error_id,
            "delay": self.delay,
        }


@dataclass
class Faults:
    """Latency (fixed seconds or a ``(min, max)`` uniform range) plus an ordered list of rules."""

    latency: float | tuple[float, float] = 0.0
    rules: list[Fault] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def add(self, kind: str, **options: Any) -> Fault:
        """Add a rule, e.g. ``faults.add("5xx", count=2, method="POST", status=503)``."""
        fault = Fault(kind, **options)
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule and the latency."""
        self.rules.clear()
        self.latency = 0.0

    def delay(self) -> float:
        if isinstance(self.latency, tuple):
            low, high = self.latency
            return self.rng.uniform(low, high)
        return self.latency

    def pick(self, method: str, path: str) -> Fault | None:
        """The first matching rule that fires for this request (consuming one of its count)."""
        for fault in self.rules:
            if not fault.matches(method, path):
                continue
            if fault.probability < 1.0 and self.rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
            return fault
        return None
