"""What one stock run did, as `stock_runs`, the metrics, the logs and `omctl run stock` show it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RunCounts:
    """What a run did so far (a failed run keeps what it did before failing)."""

    items: int = 0
    pages: int = 0
    published: int = 0
    unchanged: int = 0
    unmapped: int = 0
    stripes: int = 0
    unmapped_sample: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RunReport:
    """The outcome of one run: `succeeded` or `failed` (with a stable `code` and a `reason`)."""

    supplier_id: str
    outcome: str
    counts: RunCounts
    started_at: datetime
    finished_at: datetime
    code: str | None = None
    reason: str | None = None

    @property
    def stored_reason(self) -> str | None:
        """The reason as `stock_runs` keeps it: `<code>: <reason>`."""
        return None if self.code is None else f"{self.code}: {self.reason}"
