"""Names every command knows without importing anything heavy (keeps `omctl --help` fast)."""

from __future__ import annotations

from typing import Literal

ServiceName = Literal["order_sync", "stock_sync", "finance_sync"]
SERVICES: tuple[ServiceName, ...] = ("order_sync", "stock_sync", "finance_sync")
