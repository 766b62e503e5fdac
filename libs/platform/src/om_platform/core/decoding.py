"""Turning a Kafka record into a contract event, or into the reason it cannot be one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from om_contracts import ContractViolation, Tombstone, UnknownEventType, parse_event
from om_platform.core.failures import InvalidEvent
from om_platform.core.records import Decoded, RecordContext, Skip

LaneOf = Callable[[Any], str]


def contract_decoder(
    topic: str, lane_of: LaneOf
) -> Callable[[bytes | None, RecordContext], Decoded[Any] | Skip]:
    """A decoder for `topic`: valid events become `Decoded`, unknown types `Skip`, the rest `InvalidEvent`.

    The record's key is checked against the event (CONTRACTS.md: the key is the `supplier_id`,
    so a record keyed otherwise sits in another supplier's partition and order) and every input
    limit of the contract applies (`om_contracts.loads`). `lane_of(event)` names the business
    record the event belongs to (an order id) so events of one record are applied in order;
    tombstones use the record key as both tenant and lane.
    """

    def decode(raw: bytes | None, ctx: RecordContext) -> Decoded[Any] | Skip:
        try:
            event = parse_event(topic, raw, key=ctx.key)
        except ContractViolation as exc:
            raise InvalidEvent(str(exc)) from exc
        if isinstance(event, UnknownEventType):
            return Skip(f"unknown event type {event.event_type[:80]!r}")
        if isinstance(event, Tombstone):
            supplier = event.key or ""
            if not supplier:
                raise InvalidEvent("tombstone without a key: cannot tell which supplier it is for")
            return Decoded(tenant=supplier, lane=supplier, payload=event, event_id="")
        return Decoded(tenant=event.supplier_id, lane=lane_of(event), payload=event, event_id=event.event_id)

    return decode
