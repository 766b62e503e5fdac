"""Output for humans (tables and plain text that fit the terminal) or scripts (`--json`).

Every command prints through these few functions, so a new command or section (a `preview`, a
budget table in `status`) only declares its columns:

    table("consumer lag", [Col("group"), Col("lag", justify="right"), Col("state", optional=True)], rows)

At the terminal's width (80 columns is the benchmark) a table drops its `optional` columns from
the right until the rest fit, says so under the table, and keeps each row on one line: a cell
still too long ends in an ellipsis ("…") instead of wrapping mid-word; `--wide` (`wide=True`)
keeps every column and every cell whole whatever the width, and `--json` has every value. `--json` prints one JSON
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


def _natural(columns: Sequence[Col], rows: list[list[str]], cap: int | None = None) -> list[int]:
    """Each column's width with every cell whole (`cap`: a long cell counts as that wide)."""
    whole = [max([len(column.name), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)]
    return whole if cap is None else [min(w, cap) for w in whole]


_CAP = 40  # whether a column fits is judged as if its cells were at most this wide


def _fit(columns: Sequence[Col], rows: list[list[str]], width: int) -> list[int]:
    """Indexes of the columns to show: optional ones dropped from the right until the rest fit."""
    natural = _natural(columns, rows, _CAP)
    shown = list(range(len(columns)))

    def needed() -> int:
        return sum(max(columns[i].min_width, natural[i]) + _CELL_CHROME for i in shown) + 1

    for i in reversed(range(len(columns))):
        if needed() <= width:
            break
        if columns[i].optional:
            shown.remove(i)
    return shown


def _widths(columns: Sequence[Col], rows: list[list[str]], shown: list[int], width: int) -> dict[int, int]:
    """Each shown column's width: the widest column gives up one character at a time until the row
    fits, so short cells (ids, states) stay whole and only the longest end in an ellipsis."""
    natural = _natural(columns, rows)
    widths = {i: max(columns[i].min_width, natural[i]) for i in shown}
    floor = {i: max(columns[i].min_width, min(len(columns[i].name), natural[i])) for i in shown}
    room = width - len(shown) * _CELL_CHROME - 1
    while sum(widths.values()) > room:
        widest = max((i for i in shown if widths[i] > floor[i]), key=lambda i: widths[i], default=None)
        if widest is None:
            break
        widths[widest] -= 1
    return widths


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
        widths = {i: max([len(cols[i].name), *(len(r[i]) for r in text)]) for i in shown}
    else:
        shown = _fit(cols, text, width)
        widths = _widths(cols, text, shown, width)
    view = Table(title=title, title_justify="left", expand=False)
    for i in shown:
        view.add_column(
            cols[i].name, justify=cols[i].justify, overflow="ellipsis", no_wrap=True, width=widths[i]
        )
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
