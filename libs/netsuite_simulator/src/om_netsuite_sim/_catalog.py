"""SuiteQL held to a catalogue of tables and columns with public evidence (``schemas/suiteql_catalog.json``).

NetSuite's SuiteQL exposes the analytics data source (Records Catalog), not the REST record
fields: a column that is not in it fails the whole query. The simulator refuses any table or
column outside the committed catalogue the way NetSuite refuses an unknown field, with the
message public connectors report ("Search error occurred: Field 'x' for record 'y' was not
found."; hotglue ``tap_netsuite_rest/client.py`` matches on "Search error occurred: Field"), and
an ``IN (...)`` list of more than 1,000 items (SuiteQL syntax rules, Help
section_156257796125; Oracle Database ORA-01795 "maximum number of expressions in a list is
1000").
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from ._responses import ApiError

__all__ = ["MAX_IN_LIST", "catalogue", "check_query", "query_columns"]

MAX_IN_LIST = 1000
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|[A-Za-z_][\w$#]*(?:\.[A-Za-z_][\w$#]*)?|\d+(?:\.\d+)?|\S")
_KEYWORDS = frozenset(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "is",
        "null",
        "as",
        "on",
        "join",
        "left",
        "right",
        "inner",
        "outer",
        "full",
        "cross",
        "group",
        "by",
        "order",
        "asc",
        "desc",
        "having",
        "distinct",
        "case",
        "when",
        "then",
        "else",
        "end",
        "between",
        "like",
        "fetch",
        "first",
        "next",
        "rows",
        "row",
        "only",
        "union",
        "all",
        "exists",
        "rownum",
        "sysdate",
        "date",
        "timestamp",
        "interval",
        "offset",
        "nulls",
        "last",
        "escape",
        "true",
        "false",
        "minus",
        "intersect",
    ]
)
_ALIAS_STOP = _KEYWORDS | {","}


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """table -> column -> source key (see the file's ``sources``)."""
    text = resources.files(__package__).joinpath("schemas", "suiteql_catalog.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return {table: dict(spec["columns"]) for table, spec in document["tables"].items()}


def _tokens(query: str) -> list[str]:
    return [t for t in _TOKEN.findall(query) if not t.startswith(("'", '"'))]


def _tables(tokens: list[str]) -> dict[str, str]:
    """alias (or table name) -> table, from every FROM/JOIN clause."""
    found: dict[str, str] = {}
    for index, token in enumerate(tokens):
        if token.lower() not in ("from", "join"):
            continue
        cursor = index + 1
        while cursor < len(tokens):
            table = tokens[cursor]
            if table == "(" or not re.match(r"^[A-Za-z_]\w*$", table):
                break
            found[table.lower()] = table.lower()
            cursor += 1
            if cursor < len(tokens) and tokens[cursor].lower() == "as":
                cursor += 1
            alias = tokens[cursor] if cursor < len(tokens) else ""
            if alias.lower() not in _ALIAS_STOP and re.match(r"^[A-Za-z_]\w*$", alias):
                found[alias.lower()] = table.lower()
                cursor += 1
            if cursor < len(tokens) and tokens[cursor] == ",":
                cursor += 1
                continue
            break
    return found


def query_columns(query: str) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(tables, (table, column) pairs named with a qualifier, unqualified names) of a query."""
    tokens = _tokens(query)
    aliases = _tables(tokens)
    outputs = {tokens[i + 1].lower() for i, t in enumerate(tokens[:-1]) if t.lower() == "as"}
    qualified: set[tuple[str, str]] = set()
    bare: set[str] = set()
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        lowered = token.lower()
        if "." in token:
            prefix, column = lowered.split(".", 1)
            if prefix in aliases:
                qualified.add((aliases[prefix], column))
            continue
        if not re.match(r"^[a-z_]", lowered) or following == "(":
            continue
        if lowered in _KEYWORDS or lowered in aliases or lowered in outputs:
            continue
        bare.add(lowered)
    return set(aliases.values()), qualified, bare


def _unknown_field(column: str, table: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_PARAMETER",
        "Invalid search query. Detailed unprocessed description follows. "
        f"Search error occurred: Field '{column}' for record '{table}' was not found.",
    )


def check_query(query: str) -> None:
    """Raise NetSuite's error for the first table/column outside the catalogue or IN list > 1000."""
    known = catalogue()
    tables, qualified, bare = query_columns(query)
    for table in sorted(tables):
        if table not in known:
            raise ApiError(
                400,
                "INVALID_PARAMETER",
                "Invalid search query. Detailed unprocessed description follows. "
                f"Search error occurred: Record '{table}' was not found.",
            )
    for table, column in sorted(qualified):
        if column not in known[table]:
            raise _unknown_field(column, table)
    for column in sorted(bare):
        if not any(column in known[t] for t in tables):
            raise _unknown_field(column, sorted(tables)[0] if tables else "")
    _check_in_lists(query)


def _check_in_lists(query: str) -> None:
    for match in re.finditer(r"\bIN\s*\(", query, flags=re.IGNORECASE):
        depth, items, cursor = 1, 1, match.end()
        if re.match(r"\s*SELECT\b", query[cursor:], flags=re.IGNORECASE):
            continue
        while cursor < len(query) and depth:
            char = query[cursor]
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == "," and depth == 1:
                items += 1
            elif char == "'":
                cursor = query.find("'", cursor + 1)
                if cursor < 0:
                    break
            cursor += 1
        if items > MAX_IN_LIST:
            raise ApiError(
                400,
                "INVALID_PARAMETER",
                "Invalid search query. Detailed unprocessed description follows. "
                f"ORA-01795: maximum number of expressions in a list is {MAX_IN_LIST} "
                f"(got {items}).",
            )
