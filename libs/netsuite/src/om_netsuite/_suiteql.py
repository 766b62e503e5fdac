"""Pure SuiteQL helpers: parameter binding, keyset rewriting, paging checks, row normalisation.

SuiteQL over REST binds anonymous ``?`` parameters from the ``params`` list of the request body
(Help Center section_157909186990), so values are never spliced into the query text. Paging rules
(section_156414087576): ``limit`` <= 1000, ``offset`` a multiple of ``limit``, at most 100,000 rows
reachable; a keyset scan (``WHERE key > ? ORDER BY key``, always ``offset=0``) has no such ceiling.
"""

from __future__ import annotations

import datetime as dt
import math
import types as pytypes
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ._exceptions import SuiteQLPagingError

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_REACHABLE_ROWS",
    "Param",
    "bind_keyset",
    "check_arity",
    "check_page",
    "count_placeholders",
    "normalize_row",
    "render_params",
    "row_converters",
]

MAX_PAGE_SIZE = 1000
MAX_REACHABLE_ROWS = 100_000
LAST_MARKER = ":last"

Param = str | int | Decimal | float | bool | dt.date


def _render(value: object) -> str:
    # bool before int: bool is an int subclass. NetSuite checkboxes are 'T'/'F'.
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int | Decimal | str):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError("SuiteQL parameters must be finite numbers")
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(
        f"SuiteQL parameters must be scalars (str, int, Decimal, float, bool, date), "
        f"got {type(value).__name__}"
    )


def render_params(params: Sequence[object]) -> list[str]:
    """Render bound parameters as the strings NetSuite expects; reject non-scalars (incl. None)."""
    if isinstance(params, str | bytes):
        raise TypeError("params must be a sequence of values, not a string")
    return [_render(value) for value in params]


def _scan(query: str) -> list[tuple[int, str]]:
    """Positions of ``?`` and ``:last`` outside string literals and quoted identifiers."""
    found: list[tuple[int, str]] = []
    quote: str | None = None
    i = 0
    while i < len(query):
        ch = query[i]
        if quote is not None:
            if ch == quote:
                # A doubled quote inside a literal is an escaped quote.
                if i + 1 < len(query) and query[i + 1] == quote:
                    i += 2
                    continue
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            found.append((i, "?"))
        elif query.startswith(LAST_MARKER, i) and not (
            i + len(LAST_MARKER) < len(query) and (query[i + len(LAST_MARKER)].isalnum())
        ):
            found.append((i, LAST_MARKER))
            i += len(LAST_MARKER)
            continue
        i += 1
    return found


def count_placeholders(query: str) -> int:
    """Number of ``?`` placeholders outside literals."""
    return sum(1 for _, mark in _scan(query) if mark == "?")


def bind_keyset(query: str, params: Sequence[str], last: str) -> tuple[str, list[str]]:
    """Replace each ``:last`` with ``?`` and insert ``last`` at the matching parameter position."""
    out_query: list[str] = []
    out_params: list[str] = []
    given = iter(params)
    cursor = 0
    markers = 0
    for pos, mark in _scan(query):
        out_query.append(query[cursor:pos])
        if mark == "?":
            out_query.append("?")
            out_params.append(next(given))
            cursor = pos + 1
        else:
            out_query.append("?")
            out_params.append(last)
            cursor = pos + len(LAST_MARKER)
            markers += 1
    out_query.append(query[cursor:])
    if markers == 0:
        raise ValueError("a keyset query needs a ':last' marker, e.g. 'WHERE id > :last ORDER BY id'")
    return "".join(out_query), out_params


def check_page(limit: int, offset: int) -> None:
    """Refuse a page request that NetSuite would reject or that passes the 100,000-row window."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    if offset % limit:
        raise ValueError(f"offset {offset} is not a multiple of limit {limit}")
    if offset >= MAX_REACHABLE_ROWS:
        raise SuiteQLPagingError(
            f"offset paging cannot pass {MAX_REACHABLE_ROWS} rows (offset {offset}); "
            "use suiteql_keyset() for large scans"
        )


def _to_bool(value: str) -> bool:
    if value in ("T", "t", "true", "True"):
        return True
    if value in ("F", "f", "false", "False"):
        return False
    raise ValueError(f"not a NetSuite boolean: {value!r}")


def _to_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        # Accounts with the default M/D/YYYY date preference; select TO_CHAR(...) to avoid this.
        return dt.datetime.strptime(value, "%m/%d/%Y").date()  # noqa: DTZ007 - a naive date


def _to_datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


_CONVERTERS: dict[Any, Callable[[str], Any]] = {
    bool: _to_bool,
    int: int,
    float: float,
    Decimal: Decimal,
    dt.date: _to_date,
    dt.datetime: _to_datetime,
    str: str,
}

Converter = Callable[[str], Any]


def _converter_for(kind: Any) -> Converter | None:
    if kind in _CONVERTERS:
        return _CONVERTERS[kind]
    origin = typing.get_origin(kind)
    if origin in (typing.Union, pytypes.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(inner) == 1:
            return _converter_for(inner[0])
        return None
    if callable(kind) and not isinstance(kind, type):
        return typing.cast(Converter, kind)
    return None


def row_converters(
    types: Mapping[str, Any] | None = None, row_model: type[BaseModel] | None = None
) -> dict[str, Converter]:
    """Column -> converter, from an explicit type map and/or a pydantic row model's annotations."""
    converters: dict[str, Converter] = {}
    if row_model is not None:
        for name, info in row_model.model_fields.items():
            column = (info.alias or name).lower()
            conv = _converter_for(info.annotation)
            # pydantic parses numbers/dates itself; it does not know NetSuite's 'T'/'F' or M/D/YYYY.
            if conv in (_to_bool, _to_date):
                converters[column] = conv
    for column, kind in (types or {}).items():
        conv = _converter_for(kind)
        if conv is None:
            raise TypeError(f"no converter for column {column!r} of type {kind!r}")
        converters[column.lower()] = conv
    return converters


def normalize_row(item: Mapping[str, Any], converters: Mapping[str, Converter]) -> dict[str, Any]:
    """Lower-case the keys, drop ``links`` and convert string values by column."""
    row: dict[str, Any] = {}
    for key, value in item.items():
        column = key.lower()
        if column == "links":
            continue
        conv = converters.get(column)
        row[column] = conv(value) if conv is not None and isinstance(value, str) else value
    return row


def check_arity(query: str, params: Sequence[str]) -> None:
    """Refuse a query whose ``?`` markers and bound params differ in number (before any request)."""
    expected = count_placeholders(query)
    if expected != len(params):
        raise ValueError(f"query has {expected} '?' placeholders but {len(params)} params")
