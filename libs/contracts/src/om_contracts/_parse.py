"""Decoding and validating one Kafka record of a registered topic (:func:`parse_event`): the
envelope, the event type's model and the record key (CONTRACTS.md: the key is the supplier)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from om_contracts._envelope import (
    ContractViolation,
    Envelope,
    OutboundEnvelope,
    Tombstone,
    UnknownEventType,
)
from om_contracts._ids import written_as_is_problem
from om_contracts._json import JsonRefused, loads
from om_contracts._limits import MAX_ID_LENGTH
from om_contracts._topics import get_topic

_ANY_ENVELOPE: TypeAdapter[Envelope[Any]] = TypeAdapter(Envelope[Any])

ParsedEvent = Envelope[Any] | OutboundEnvelope[Any]


class _NotGiven:
    """The record key was not passed to :func:`parse_event` (as opposed to a null key)."""


NOT_GIVEN = _NotGiven()
KEY_PATH = "<key>"
"""The field path under which a problem with the record key is reported."""


def _key_problem(key: str | bytes | _NotGiven | None, supplier_id: object) -> str | None:
    """Why the record key cannot be this event's key, or None (CONTRACTS.md: the key is the supplier)."""
    if isinstance(key, _NotGiven) or not isinstance(supplier_id, str):
        return None
    if key is None:
        return "is missing; it must be the event's supplier_id"
    if isinstance(key, bytes):
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8; it must be the event's supplier_id"
    if key != supplier_id:
        return "differs from the event's supplier_id (the key decides the partition, hence the order)"
    return None


def _check_key(topic: str, key: str | bytes | _NotGiven | None, supplier_id: str) -> None:
    problem = _key_problem(key, supplier_id)
    if problem is not None:
        raise ContractViolation(topic, [(KEY_PATH, problem)])


def _violation(
    topic: str,
    error: ValidationError,
    decoded: dict[str, Any],
    key: str | bytes | _NotGiven | None,
    strip_tag: str | None = None,
) -> ContractViolation:
    """Every problem of an invalid event, the key's included (it is checked against the raw value)."""
    violation = ContractViolation.from_validation_error(topic, error, strip_tag=strip_tag)
    problem = _key_problem(key, decoded.get("supplier_id"))
    if problem is None:
        return violation
    return ContractViolation(topic, [(KEY_PATH, problem), *violation.problems])


def _tombstone_key(topic: str, key: str | bytes | _NotGiven | None) -> str | None:
    """The supplier a tombstone deletes; a key that is not an id as written is refused."""
    if isinstance(key, _NotGiven) or key is None:
        return None
    if isinstance(key, bytes):
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise ContractViolation(topic, [(KEY_PATH, "is not UTF-8")]) from None
    problem = written_as_is_problem(key)
    if problem is None and len(key) > MAX_ID_LENGTH:
        problem = f"is longer than {MAX_ID_LENGTH} characters"
    if problem is not None:
        raise ContractViolation(topic, [(KEY_PATH, problem)])
    return key


def parse_event(
    topic: str,
    value: bytes | str | None,
    *,
    key: str | bytes | _NotGiven | None = NOT_GIVEN,
) -> ParsedEvent | UnknownEventType | Tombstone:
    """Decode and validate one Kafka record value of ``topic``.

    Returns the concrete event model (e.g. :class:`OrderPlaced`), an :class:`UnknownEventType`
    for a well-formed envelope with an ``event_type`` this version does not know (skip and
    count it), or a :class:`Tombstone` for a null value on a compacted topic. Raises
    :class:`ContractViolation` listing every ``(field path, reason)`` otherwise. JSON numbers
    are decoded exactly and within the input limits (see :func:`om_contracts.loads`).

    When ``key`` is given (``None`` meaning the record had no key), it must equal the event's
    ``supplier_id``: the key decides the partition, hence the order of a supplier's events. A
    problem with it is reported under the path ``<key>``. Leave it out to validate a value alone
    (a stored payload, an outbound event read back).
    """
    registered = get_topic(topic)
    if value is None:
        if registered.compacted:
            return Tombstone(topic=topic, key=_tombstone_key(topic, key))
        raise ContractViolation(topic, [("", "null value on a topic that is not compacted")])
    try:
        decoded = loads(value)
    except JsonRefused as exc:
        raise ContractViolation(topic, [("", str(exc))]) from None
    except ValueError as exc:
        reason = exc.msg if hasattr(exc, "msg") else str(exc)
        raise ContractViolation(topic, [("", f"not valid JSON ({reason})")]) from None
    if not isinstance(decoded, dict):
        raise ContractViolation(topic, [("", "an event must be a JSON object")])
    event_type = decoded.get("event_type")
    if not isinstance(event_type, str):
        reason = "is required" if event_type is None else "must be a string"
        raise ContractViolation(topic, [("event_type", reason)])
    if event_type not in registered.event_types:
        try:
            envelope = _ANY_ENVELOPE.validate_python(decoded)
        except ValidationError as exc:
            raise _violation(topic, exc, decoded, key) from None
        _check_key(topic, key, envelope.supplier_id)
        return UnknownEventType(
            topic=topic,
            event_type=event_type,
            event_id=envelope.event_id,
            supplier_id=envelope.supplier_id,
        )
    try:
        parsed: ParsedEvent = registered.adapter.validate_python(decoded)
    except ValidationError as exc:
        raise _violation(topic, exc, decoded, key, strip_tag=event_type) from None
    _check_key(topic, key, parsed.supplier_id)
    return parsed
