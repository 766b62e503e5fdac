"""Output for humans (tables and plain text that fit the terminal) or scripts (`--json`).

Every command prints through these few functions, so a new command or section (a `preview`, a
budget table in `status`) only declares its columns:

    table("consumer lag", [Col("group"), Col("lag", justify="right"), Col("state", optional=True)], rows)

At the terminal's width (80 columns is the benchmark) a table drops its `optional` columns from
the right until the rest fit, says so under the table, and wraps long cells instead of cutting
them; `--wide` (`wide=True`) keeps every column whatever the width. `--json` prints one JSON
document on stdout and nothing else. Errors go to stderr (see `_common.fail`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console

    console: Console  # stdout, made on first use (importing rich costs more than `omctl --help` may)
    errors: Console  # stderr


def __getattr__(name: str) -> Any:
    if name in ("console", "errors"):
        from rich.console import Console

        made = Console(stderr=name == "errors")
        globals()[name] = made
        return made
    raise AttributeError(name)


# One cell's share of the width: the border and padding rich draws around it.
_CELL_CHROME = 3


@dataclass(frozen=True)
class Col:
    """A table column: its header, whether it may be dropped to fit, how to align it."""

    name: str
    optional: bool = False
    justify: Literal["left", "right"] = "left"
    min_width: int = 6


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(document: Any) -> None:
    """Print one JSON document (plain print: rich would wrap long lines)."""
    print(json.dumps(document, default=_default, indent=2, sort_keys=True))


def cell(value: Any) -> str:
    """A value as table text: times to the minute in UTC, None as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") + ("Z" if value.utcoffset() is not None else "")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell(v)}" for k, v in sorted(value.items()))
    return str(value)


def _fit(columns: Sequence[Col], rows: list[list[str]], width: int) -> list[int]:
    """Indexes of the columns to show: optional ones dropped from the right until the rest fit."""
    natural = [
        max([len(column.name), *(max((len(w) for w in row[i].split()), default=0) for row in rows)])
        for i, column in enumerate(columns)
    ]
    shown = list(range(len(columns)))

    def needed() -> int:
        return sum(max(columns[i].min_width, min(natural[i], 40)) + _CELL_CHROME for i in shown) + 1

    for i in reversed(range(len(columns))):
        if needed() <= width:
            break
        if columns[i].optional:
            shown.remove(i)
    return shown


def table(
    title: str, columns: Sequence[Col | str], rows: Iterable[Sequence[Any]], *, wide: bool = False
) -> None:
    """Print a table that fits the terminal (see the module doc); `wide` keeps every column."""
    from rich.table import Table

    console: Console = __getattr__("console") if "console" not in globals() else globals()["console"]
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    text = [[cell(value) for value in row] for row in rows]
    width = console.width
    if wide:  # as wide as the widest cells need, past the terminal's edge if need be
        full = (
            sum(max([len(c.name), *(len(r[i]) for r in text)]) + _CELL_CHROME for i, c in enumerate(cols)) + 1
        )
        shown = list(range(len(cols)))
        width = max(width, full)
    else:
        shown = _fit(cols, text, width)
    view = Table(title=title, title_justify="left", expand=False)
    for i in shown:
        view.add_column(cols[i].name, justify=cols[i].justify, overflow="fold", min_width=cols[i].min_width)
    for row in text:
        view.add_row(*(row[i] for i in shown))
    terminal = console.width
    console.width = width  # --wide: past the terminal's edge (the terminal wraps or scrolls)
    try:
        console.print(view, crop=False)
    finally:
        console.width = terminal
    hidden = [cols[i].name for i in range(len(cols)) if i not in shown]
    if hidden:
        console.print(f"[dim]({', '.join(hidden)} hidden at this width: --wide shows every column)[/dim]")


def mapping(title: str, values: Mapping[str, Any]) -> None:
    """Print `name: value` lines (a command's result) instead of a Python dict."""
    console: Console = __getattr__("console") if "console" not in globals() else globals()["console"]
    console.print(f"[bold]{title}[/bold]")
    if not values:
        console.print("  (nothing)")
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            console.print(f"  {key}:")
            for inner, item in value.items():
                console.print(f"    {inner}: {cell(item)}")
        elif isinstance(value, list | tuple):
            console.print(f"  {key}: {', '.join(cell(v) for v in value) or '(none)'}")
        else:
            console.print(f"  {key}: {cell(value)}")
