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
from decimal import Decimal
from typing import Any, Protocol

from om_contracts._limits import MAX_EVENT_BYTES, MAX_JSON_DEPTH, MAX_JSON_NODES, MAX_NUMBER_DIGITS


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


_OTHER_BYTES = bytes(range(256)).translate(None, b'[]{}"')  # every byte but brackets and quotes
_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")
_TOO_DEEP = b"(" * (MAX_JSON_DEPTH + 1)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity are not JSON; Python's json module accepts them by default.
    raise JsonRefused(f"non-finite number {name} is not allowed in an event")


def _check_digits(token: str) -> None:
    digits = len(token) - sum(token.count(sign) for sign in "-+.eE")
    if digits > MAX_NUMBER_DIGITS:
        raise JsonRefused(f"a number has {digits:,} digits; at most {MAX_NUMBER_DIGITS} are accepted")


def _check_magnitude(token: str) -> None:
    """Refuse a number whose value, written out without exponent, would need too many digits.

    Read from the token's text only, before any conversion: the digits of the mantissa plus the
    exponent's magnitude bound the digits of the value (``1e39`` has 40, ``1e-39`` 40 too), so
    ``1e15000000`` (ten characters) is refused here instead of costing seconds in ``int()`` later.
    An exponent of more than two significant digits is over the bound whatever the mantissa, so its
    text is never converted either.
    """
    mantissa, _, exponent = token.lower().partition("e")
    if not exponent:
        return
    significant = exponent.lstrip("+-").lstrip("0")
    digits = len(mantissa) - mantissa.count("-") - mantissa.count(".")
    if len(significant) > 2 or digits + int(significant or "0") > MAX_NUMBER_DIGITS:
        raise JsonRefused(
            f"a number written with an exponent has more than {MAX_NUMBER_DIGITS} digits in full"
        )


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


def _check_structure(data: bytes) -> int:
    """Refuse nesting deeper than the bound, before parsing, in byte scans at C speed; return the
    number of arrays (the decoder counts objects and numbers itself, see :func:`loads`).

    Escaped backslashes and quotes go first (an escaped quote must not end a string; ``replace``
    pairs a run of backslashes from its left, as JSON does), then every byte but brackets and
    quotes, then the strings (brackets inside them nest nothing). Brackets of both kinds become
    ``(`` and ``)`` (``json`` checks that they match); each pass of ``replace(b"()", b"")``
    removes exactly one level, since ``replace`` never rescans what it produced, so what is left
    after `MAX_JSON_DEPTH` passes nests deeper. Cost: a few scans of the value, then at most that
    many passes of ``bytes.replace`` over at most ``2 * MAX_JSON_NODES`` bytes.
    """
    arrays = data.count(b"[")  # brackets inside strings included: a bound, not the count
    if arrays + data.count(b"{") <= MAX_JSON_DEPTH:
        return arrays  # cannot nest deeper than it has brackets
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    pieces = unescaped.translate(None, _OTHER_BYTES).split(b'"')
    brackets = b"".join(pieces[::2])  # the odd pieces are inside strings
    structure = brackets.translate(_PARENTHESES)
    if _TOO_DEEP in structure:  # the plainest deep nesting, named as such whatever its size
        raise JsonRefused(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
    arrays = brackets.count(b"[")
    if arrays + brackets.count(b"{") > MAX_JSON_NODES:
        raise JsonRefused(f"JSON has more than {MAX_JSON_NODES:,} objects, arrays and numbers")
    # from here the structure has at most 2 * MAX_JSON_NODES bytes
    for _ in range(MAX_JSON_DEPTH):
        shorter = structure.replace(b"()", b"")
        if not shorter:
            return arrays
        if len(shorter) == len(structure):
            raise JsonRefused("JSON brackets do not match")
        structure = shorter
    raise JsonRefused(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")


def _check_unicode(value: Any) -> None:
    """Refuse a decoded value holding a lone surrogate (from an unpaired ``\\ud800`` escape).

    Encoding the whole value back to JSON text without ASCII escapes is done by the C encoder; only
    a lone surrogate cannot then be encoded as UTF-8 (a paired escape was already joined into one
    character by the decoder).
    """
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
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
    # Every object, array and number costs the parser an allocation, objects and numbers also a
    # call into Python: their count is bounded (arrays are counted from the bytes).
    left = MAX_JSON_NODES - _check_structure(data)
    if left < 0:
        raise JsonRefused(f"JSON has more than {MAX_JSON_NODES:,} objects, arrays and numbers")

    def spend() -> None:
        nonlocal left
        left -= 1
        if left < 0:
            raise JsonRefused(f"JSON has more than {MAX_JSON_NODES:,} objects, arrays and numbers")

    def integer(token: str) -> int:
        spend()
        if len(token) > MAX_NUMBER_DIGITS:
            _check_digits(token)
        return NegativeZero(0) if token == "-0" else int(token)  # noqa: S105 - a JSON number

    def fraction(token: str) -> Decimal:
        spend()
        if len(token) > MAX_NUMBER_DIGITS:
            _check_digits(token)
        if "e" in token or "E" in token:
            _check_magnitude(token)
            return ExponentDecimal(token)
        return Decimal(token)

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        spend()
        return _unique_members(pairs)

    value = json.loads(
        text,
        parse_float=fraction,
        parse_int=integer,
        parse_constant=_reject_constant,
        object_pairs_hook=members,
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
