"""Exact, bounded JSON decoding.

CONTRACTS.md: "JSON numbers are accepted on input and converted exactly; floats are never used
for money inside the services". The standard ``json`` module can hand every non-integer number
to :class:`decimal.Decimal` as its original text, which is exact and keeps trailing zeros.

It is not, by itself, safe on hostile input: it recurses once per nesting level (a value nested
10,000 deep raises ``RecursionError``), converts integers of any length (CPython refuses above
4,300 digits with a ``ValueError`` that is not a JSON error), accepts ``NaN`` and ``Infinity``,
keeps the last of two members with the same name, and guesses UTF-16/32 from the first bytes.
:func:`loads` checks every bound of :mod:`om_contracts._limits` before or while parsing and
raises :class:`JsonRefused` (a ``ValueError``) naming the bound, so every such value ends as one
precise ``INVALID_EVENT`` instead of a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from itertools import accumulate
from typing import Any, Protocol

from om_contracts._limits import MAX_EVENT_BYTES, MAX_JSON_DEPTH, MAX_NUMBER_DIGITS


class JsonRefused(ValueError):
    """A value breaks one of the input limits or is not the UTF-8 JSON text the contract requires.

    The message names the rule and never quotes the value (it may carry secrets).
    """


class ExponentDecimal(Decimal):
    """A JSON number written with an exponent (``1e3``): exact, but refused where money is expected."""

    __slots__ = ()


class NegativeZero(int):
    """The JSON integer ``-0``: zero, but written with a sign that money and quantities refuse."""

    __slots__ = ()


_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # a backslash and the byte it escapes
_OTHER_BYTES = bytes(range(256)).translate(None, b'[]{}"')  # every byte but brackets and quotes
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity are not JSON; Python's json module accepts them by default.
    raise JsonRefused(f"non-finite number {name} is not allowed in an event")


def _check_digits(token: str) -> None:
    if len(token) > MAX_NUMBER_DIGITS:
        digits = len(token) - sum(token.count(sign) for sign in "-+.eE")
        if digits > MAX_NUMBER_DIGITS:
            raise JsonRefused(f"a number has {digits:,} digits; at most {MAX_NUMBER_DIGITS} are accepted")


def _integer(token: str) -> int:
    _check_digits(token)
    return NegativeZero(0) if token == "-0" else int(token)  # noqa: S105 - a JSON number, not a secret


def _fraction(token: str) -> Decimal:
    _check_digits(token)
    return ExponentDecimal(token) if "e" in token or "E" in token else Decimal(token)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                shown = name if len(name) <= 40 else name[:40] + "…"
                raise JsonRefused(f"member {shown!r} appears twice in one object")
            seen.add(name)
    return members


def _check_depth(data: bytes) -> None:
    """Refuse nesting deeper than the bound, before parsing, in a few byte scans at C speed.

    Escape sequences go first (an escaped quote must not end a string), then every byte but
    brackets and quotes, then the strings (brackets inside them nest nothing); the running sum of
    the brackets left is the depth.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return  # cannot nest deeper than it has brackets
    pieces = _ESCAPE.sub(b"", data).translate(None, _OTHER_BYTES).split(b'"')
    structure = b"".join(pieces[::2])  # the odd pieces are inside strings
    if structure and max(accumulate(map(_STEP.__getitem__, structure))) > MAX_JSON_DEPTH:
        raise JsonRefused(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield name
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _check_unicode(value: Any) -> None:
    for text in _strings(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRefused(
                "a string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff), which is not text"
            ) from None


def _text(raw: str | bytes | bytearray) -> tuple[str, bytes]:
    """The value as text and as UTF-8 bytes, or why it cannot be an event value."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > MAX_EVENT_BYTES:
        raise JsonRefused(f"value is {len(data):,} bytes; at most {MAX_EVENT_BYTES:,} are accepted")
    if isinstance(raw, str):
        return raw, data
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError as exc:
        raise JsonRefused(
            f"value is not UTF-8 (byte 0x{data[exc.start]:02x} at position {exc.start})"
        ) from None


def loads(raw: str | bytes | bytearray) -> Any:
    """Decode JSON text with every non-integer number as an exact ``Decimal``, within the limits.

    Use this (or :func:`om_contracts.parse_event`, or a model's ``model_validate_json``) to
    decode event values; a plain ``json.loads`` yields floats, which the money types reject.
    Raises ``ValueError``: ``json.JSONDecodeError`` for text that is not JSON, :class:`JsonRefused`
    for a value over a limit of :mod:`om_contracts._limits`, not UTF-8, with NaN or Infinity, a
    member twice in one object, or an unpaired surrogate escape.
    """
    text, data = _text(raw)
    _check_depth(data)
    value = json.loads(
        text,
        parse_float=_fraction,
        parse_int=_integer,
        parse_constant=_reject_constant,
        object_pairs_hook=_unique_members,
    )
    if _SURROGATE_ESCAPE.search(text):
        _check_unicode(value)
    return value


class HasBody(Protocol):
    """Anything carrying a raw message body, such as FastStream's ``StreamMessage``."""

    @property
    def body(self) -> bytes: ...


def decode_message_body(message: HasBody) -> Any:
    """Exact JSON decoder for a FastStream subscriber or broker (``decoder=``).

    FastStream's default decoder uses ``json.loads``, which turns ``42.50`` into a binary
    float that the money types refuse; this one keeps it a ``Decimal``. An empty body (a
    tombstone) decodes to ``None``.
    """
    body = message.body
    if not body:
        return None
    return loads(body)
