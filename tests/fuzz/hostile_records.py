"""A seeded stream of hostile records for every inbound topic, with valid orders interleaved.

Each record says what must become of it in every service that consumes its topic:

- ``invalid``: an ``INVALID_EVENT`` dead letter (the contract refuses it);
- ``skipped``: counted as skipped (a well-formed event of an unknown type);
- ``synced``: a valid order of a configured supplier: exactly one NetSuite sales order, one outcome;
- ``any``: a well-formed event the services handle as they see fit (an unknown supplier, an
  integration of someone else...), as long as it ends in exactly one outcome class.

The hostile kinds follow the issue: malformed JSON, non-JSON bytes, empty values, null keys,
missing or mistyped envelope fields, unknown event types, unknown suppliers, values just over
1 MiB (and some over the dead-letter topic's limit), nesting 10,000 deep, 5,000-digit numbers,
invalid UTF-8, NaN/Infinity/1e400, exponent numbers (``1e15000000``) in every numeric field,
``location_ids`` as JSON in a string (deep, huge exponent, 50,000 ids), settings lists and maps over
their bound, float money, ids with ``/ .. # ? % space``, NUL and non-Latin
characters, hostile account ids, keys that differ from the supplier, plus hostile headers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from om_contracts import (
    CUSTOMERS_TOPIC,
    DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES,
    INTEGRATIONS_TOPIC,
    INVOICES_TOPIC,
    MAX_EVENT_BYTES,
    MAX_LOCATION_IDS,
    MAX_MAPPINGS,
    MAX_TAX_CODES,
    ORDERS_TOPIC,
    PAYMENTS_TOPIC,
    PRODUCTS_TOPIC,
)

Expect = Literal["invalid", "skipped", "synced", "any"]
Headers = list[tuple[str, bytes | None]]

INBOUND = (ORDERS_TOPIC, INVOICES_TOPIC, CUSTOMERS_TOPIC, PRODUCTS_TOPIC, PAYMENTS_TOPIC, INTEGRATIONS_TOPIC)
WEIRD_IDS = ("a/b", "a..b", "a#b", "a?b=1", "a%20b", "a b", "заказ", "订单", "ord/../x", "x#?%/ ..")
HOSTILE_ACCOUNT_IDS = (
    "1234567_SB1\n",
    " 1234567",
    "1234567\x00",
    "123.evil.com",
    "../x",
    "١٢٣",
    "1234567_SB",
)
OCCURRED_AT = "2026-11-24T09:15:00+11:00"
NUMERIC_NAMES = frozenset(
    {"quantity", "unit_price", "tax_rate", "amount", "fees", "subtotal", "tax", "total", "freight"}
    | {"concurrency_limit", "interval_minutes"}
)


def _numeric_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every numeric field (amounts, quantities, rates, integer settings) in an event's data."""
    if isinstance(value, dict):
        return [
            found
            for name, item in value.items()
            for found in ([(*path, name)] if name in NUMERIC_NAMES and not isinstance(item, dict) else [])
            + _numeric_paths(item, (*path, name))
        ]
    if isinstance(value, list):
        return [found for n, item in enumerate(value) for found in _numeric_paths(item, (*path, n))]
    return []


@dataclass
class Produced:
    """One record of the stream and what must become of it; coordinates filled in once produced."""

    topic: str
    key: bytes | None
    value: bytes | None
    kind: str
    expect: Expect
    headers: Headers = field(default_factory=list)
    order_id: str | None = None
    partition: int = -1
    offset: int = -1


class HostileRecords:
    """Builds the stream. `valid` suppliers are configured with mapped products (harness `Supplier`)."""

    def __init__(self, rng: random.Random, valid: list[Any]) -> None:
        self.rng = rng
        self.valid = valid
        self.counter = 0

    # -- building blocks ----------------------------------------------------------------------

    def _n(self) -> int:
        self.counter += 1
        return self.counter

    def stranger(self) -> str:
        """A supplier nobody configured."""
        return f"sup_h{self.rng.randrange(40)}"

    def envelope(self, event_type: str, supplier_id: str, data: Any) -> dict[str, Any]:
        return {
            "event_id": f"evt_h{self._n()}",
            "event_type": event_type,
            "occurred_at": OCCURRED_AT,
            "supplier_id": supplier_id,
            "data": data,
        }

    def order_data(self, order_id: str, *, invoice: bool = False) -> dict[str, Any]:
        line = {
            "id": "ln_1",
            "quantity": "2",
            "unit_price": "10.50",
            "tax_rate": "0.10",
            "product": {"id": f"prd_h{self._n()}", "name": "Hostile", "properties": {}},
        }
        data: dict[str, Any] = {
            "id": order_id,
            "number": f"H{self._n()}",
            "placed_at": OCCURRED_AT,
            "currency": "AUD",
            "customer": {"id": f"cus_h{self._n()}", "name": "Hostile", "properties": {}},
            "lines": [line],
            "totals": {"subtotal": "21.00", "tax": "2.10", "total": "23.10"},
        }
        if invoice:
            data["issued_at"] = OCCURRED_AT
        return data

    def base(self, topic: str, supplier_id: str) -> dict[str, Any]:
        """A well-formed event of `topic` for `supplier_id` (ids never collide with valid orders)."""
        n = self._n()
        if topic == ORDERS_TOPIC:
            return self.envelope("order.placed", supplier_id, self.order_data(f"ord_h{n}"))
        if topic == INVOICES_TOPIC:
            return self.envelope("invoice.issued", supplier_id, self.order_data(f"inv_h{n}", invoice=True))
        if topic == CUSTOMERS_TOPIC:
            return self.envelope(
                "customer.upserted", supplier_id, {"id": f"cus_h{n}", "name": "C", "properties": {}}
            )
        if topic == PRODUCTS_TOPIC:
            return self.envelope(
                "product.upserted", supplier_id, {"id": f"prd_h{n}", "name": "P", "properties": {}}
            )
        if topic == PAYMENTS_TOPIC:
            if self.rng.random() < 0.5:
                return self.envelope(
                    "payout.settled",
                    supplier_id,
                    {"id": f"po_h{n}", "settled_at": OCCURRED_AT, "amount": "10.00", "currency": "AUD"},
                )
            payment = {
                "id": f"pay_h{n}",
                "customer": {"id": f"cus_h{n}", "name": "C", "properties": {}},
                "amount": "10.00",
                "currency": "AUD",
                "paid_at": OCCURRED_AT,
                "allocations": [{"invoice_id": f"inv_h{n}", "amount": "10.00"}],
            }
            return self.envelope("payment.succeeded", supplier_id, payment)
        settings = self.valid[0].integration(account_id=f"{9_000_000 + n}")  # an account nobody has
        return self.envelope("integration.netsuite.configured", supplier_id, settings)

    def record(
        self, topic: str, event: dict[str, Any] | bytes | None, kind: str, expect: Expect, **extra: Any
    ) -> Produced:
        if isinstance(event, dict):
            value: bytes | None = json.dumps(event).encode()
            key = extra.pop(
                "key", event["supplier_id"].encode() if isinstance(event.get("supplier_id"), str) else None
            )
        else:
            value = event
            key = extra.pop("key", self.stranger().encode())
        return Produced(topic, key, value, kind, expect, **extra)

    # -- the kinds ----------------------------------------------------------------------------

    def valid_order(self, supplier: Any) -> Produced:
        n = self._n()
        order_id = f"ord_v{n}"
        style = self.rng.random()
        if style < 0.2:
            order_id = f"ord_{self.rng.choice(WEIRD_IDS)}_{n}"  # opaque ids may hold anything printable
        data = supplier.order(order_id)
        event = self.envelope("order.placed", supplier.supplier_id, data)
        kind = "valid_order_weird_id" if style < 0.2 else "valid_order"
        value = json.dumps(event).encode()
        if 0.2 <= style < 0.4:  # money as exact JSON numbers
            value = value.replace(b'"unit_price": "42.50"', b'"unit_price": 42.50')
            kind = "valid_order_json_number"
        return Produced(ORDERS_TOPIC, supplier.supplier_id.encode(), value, kind, "synced", order_id=order_id)

    def hostile(self, topic: str) -> Produced:
        kinds = self._kinds(topic)
        name, make = self.rng.choice(kinds)
        produced = make(topic)
        produced.kind = produced.kind or name
        return produced

    def _kinds(self, topic: str) -> list[tuple[str, Callable[[str], Produced]]]:
        common: list[tuple[str, Callable[[str], Produced]]] = [
            ("malformed_json", self.malformed_json),
            ("not_json", self.not_json),
            ("empty_value", self.empty_value),
            ("null_value", self.null_value),
            ("null_key", self.null_key),
            ("missing_field", self.missing_field),
            ("wrong_type", self.wrong_type),
            ("unknown_event_type", self.unknown_event_type),
            ("unknown_supplier", self.unknown_supplier),
            ("deep_nesting", self.deep_nesting),
            ("many_digits", self.many_digits),
            ("invalid_utf8", self.invalid_utf8),
            ("non_finite", self.non_finite),
            ("nul_in_id", self.nul_in_id),
            ("key_differs", self.key_differs),
            ("int_occurred_at", self.int_occurred_at),
            ("duplicate_member", self.duplicate_member),
            ("surrogate_escape", self.surrogate_escape),
            ("hostile_headers", self.hostile_headers),
            ("weird_id", self.weird_id),
        ]
        if topic in (ORDERS_TOPIC, INVOICES_TOPIC, PAYMENTS_TOPIC):
            common += [("float_money", self.float_money), ("unbookable_number", self.unbookable_number)]
        common += [("exponent_number", self.exponent_number)] * 2
        if topic == INTEGRATIONS_TOPIC:
            common += [("hostile_account_id", self.hostile_account_id)] * 3
            common += [("json_in_string_settings", self.json_in_string_settings)] * 2
            common += [("oversized_list", self.oversized_list)] * 2
        return common

    def malformed_json(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        return self.record(topic, text[: self.rng.randrange(1, len(text) - 1)], "", "invalid")

    def not_json(self, topic: str) -> Produced:
        return self.record(topic, b"\x00" + self.rng.randbytes(self.rng.randrange(1, 300)), "", "invalid")

    def empty_value(self, topic: str) -> Produced:
        return self.record(topic, b"", "", "invalid")

    def null_value(self, topic: str) -> Produced:
        # a tombstone disconnects its key's supplier on the compacted topic; elsewhere it is invalid
        return self.record(topic, None, "", "any" if topic == INTEGRATIONS_TOPIC else "invalid")

    def null_key(self, topic: str) -> Produced:
        return self.record(topic, self.base(topic, self.stranger()), "", "invalid", key=None)

    def missing_field(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        del event[self.rng.choice(["event_id", "occurred_at", "supplier_id", "data"])]
        key = self.stranger().encode()
        return self.record(topic, event, "", "invalid", key=key)

    def wrong_type(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        name, value = self.rng.choice(
            [("event_id", 123), ("supplier_id", ["x"]), ("data", "x"), ("event_type", 7), ("data", [])]
        )
        key = event["supplier_id"].encode()
        event[name] = value
        return self.record(topic, event, "", "invalid", key=key)

    def unknown_event_type(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        event["event_type"] = self.rng.choice(
            ["order.archived", "thing.happened", "integration.netsuite.paused"]
        )
        return self.record(topic, event, "", "skipped")

    def unknown_supplier(self, topic: str) -> Produced:
        return self.record(topic, self.base(topic, self.stranger()), "", "any")

    def oversized(self, topic: str, size: int) -> Produced:
        """A well-formed event made `size` bytes larger by an unknown field: only the size is wrong."""
        event = self.base(topic, self.stranger())
        event["pad"] = "A" * size
        kind = "over_1mib" if size <= MAX_EVENT_BYTES else "over_the_dead_letter_limit"
        return self.record(topic, event, kind, "invalid")

    def deep_nesting(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        text = json.dumps(event).encode()
        deep = b"[" * 10_000 + b"]" * 10_000
        return self.record(topic, text[:-1] + b', "pad": ' + deep + b"}", "", "invalid")

    def many_digits(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        return self.record(topic, text[:-1] + b', "pad": ' + b"7" * 5000 + b"}", "", "invalid")

    def invalid_utf8(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        at = text.index(b'"event_id": "') + len(b'"event_id": "')
        return self.record(topic, text[:at] + b"\xc3\x28" + text[at:], "", "invalid")

    def non_finite(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        number = self.rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e400"])
        if number == b"1e400" and topic in (ORDERS_TOPIC, INVOICES_TOPIC):
            return self.record(
                topic, text.replace(b'"unit_price": "10.50"', b'"unit_price": 1e400'), "", "invalid"
            )
        if number == b"1e400":
            number = b"NaN"
        return self.record(topic, text[:-1] + b', "pad": ' + number + b"}", "", "invalid")

    def float_money(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        for field_name in (b'"unit_price": "10.50"', b'"amount": "10.00"'):
            if field_name in text:
                name = field_name.split(b":")[0]
                return self.record(
                    topic, text.replace(field_name, name + b": 0.30000000000000004"), "", "invalid"
                )
        raise AssertionError("no money field to float")

    def unbookable_number(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        bad = self.rng.choice([b'"-1"', b'"-0"', b'"0.' + b"1" * 60 + b'"', b'"-10.00"'])
        for field_name in (b'"quantity": "2"', b'"amount": "10.00"'):
            if field_name in text:
                name = field_name.split(b":")[0]
                return self.record(topic, text.replace(field_name, name + b": " + bad), "", "invalid")
        raise AssertionError("no number to break")

    def exponent_number(self, topic: str) -> Produced:
        """A number whose value has millions of digits in a few characters, in one numeric field."""
        event = self.base(topic, self.stranger())
        fields = _numeric_paths(event["data"]) or [("name",)]  # customers and products have none
        path = self.rng.choice(fields)
        target = event["data"]
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = "\x00NUMBER\x00"
        number = self.rng.choice(["1e15000000", "1e100000000", "-9.9E+999999", "1e-5000000", "1e41"])
        text = json.dumps(event).replace('"\\u0000NUMBER\\u0000"', number)
        return self.record(topic, text.encode(), "", "invalid", key=event["supplier_id"].encode())

    def json_in_string_settings(self, topic: str) -> Produced:
        """`location_ids` as a JSON string nested too deep, with a huge exponent or too many ids."""
        event = self.base(topic, self.stranger())
        event["data"].setdefault("stock", {})["location_ids"] = self.rng.choice(
            ["[" * 5000 + "]" * 5000, "[1e15000000]", "[" + "9" * 5000 + "]", json.dumps(list(range(50_000)))]
        )
        return self.record(topic, event, "", "invalid")

    def oversized_list(self, topic: str) -> Produced:
        """A list or map of the settings over its documented bound."""
        event = self.base(topic, self.stranger())
        name = self.rng.choice(["location_ids", "location_string", "tax_codes", "product_mappings"])
        if name == "location_ids":
            event["data"].setdefault("stock", {})["location_ids"] = [
                str(n) for n in range(MAX_LOCATION_IDS + 1)
            ]
        elif name == "location_string":
            event["data"].setdefault("stock", {})["location_ids"] = ",".join(str(n) for n in range(20_000))
        elif name == "tax_codes":
            event["data"]["tax_codes"] = {f"0.{n:05d}": "7" for n in range(MAX_TAX_CODES + 1)}
        else:
            event["data"]["product_mappings"] = {f"prd_{n}": "7" for n in range(MAX_MAPPINGS + 1)}
        return self.record(topic, event, "", "invalid")

    def nul_in_id(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        if self.rng.random() < 0.5 and isinstance(event["data"], dict) and "id" in event["data"]:
            event["data"]["id"] = f"x\x00{self._n()}"
        else:
            event["event_id"] = f"evt\x00{self._n()}"
        return self.record(topic, event, "", "invalid")

    def weird_id(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        if isinstance(event["data"], dict) and "id" in event["data"]:
            event["data"]["id"] = f"x_{self.rng.choice(WEIRD_IDS)}_{self._n()}"
        event["event_id"] = f"evt {self.rng.choice(WEIRD_IDS)} {self._n()}"
        return self.record(topic, event, "", "any")

    def key_differs(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        other = self.rng.choice(
            [*(s.supplier_id for s in self.valid), "sup_other", event["supplier_id"] + " "]
        )
        return self.record(topic, event, "", "invalid", key=other.encode())

    def int_occurred_at(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        event["occurred_at"] = self.rng.choice([1764000000, 1764000000.5, "2026-11-24T09:15:00"])
        return self.record(topic, event, "", "invalid")

    def duplicate_member(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        text = json.dumps(event).encode()
        return self.record(topic, b'{"supplier_id": "sup_other", ' + text[1:], "", "invalid")

    def surrogate_escape(self, topic: str) -> Produced:
        text = json.dumps(self.base(topic, self.stranger())).encode()
        return self.record(
            topic, text.replace(b'"event_id": "evt_h', b'"event_id": "\\ud800evt_h', 1), "", "invalid"
        )

    def hostile_headers(self, topic: str) -> Produced:
        produced = self.unknown_supplier(topic)
        produced.headers = [
            ("traceparent", None),
            ("content-type", b"application/json"),
            ("x-binary", b"\xff\xfe\x00"),
            ("x-replayed-from", b"nowhere/0/0"),
        ]
        return produced

    def hostile_account_id(self, topic: str) -> Produced:
        event = self.base(topic, self.stranger())
        event["data"]["account_id"] = self.rng.choice(HOSTILE_ACCOUNT_IDS)
        return self.record(topic, event, "", "invalid")

    # -- the stream ---------------------------------------------------------------------------

    def stream(self, per_topic: dict[str, int], valid_orders: int) -> list[Produced]:
        """Hostile records for each topic and valid orders, shuffled together (seeded).

        Each topic also gets one value just over 1 MiB and one over its dead-letter topic's limit
        (few, because each is a megabyte through the broker once per consuming service).
        """
        records = [self.hostile(topic) for topic, count in per_topic.items() for _ in range(count)]
        for topic in per_topic:
            records += [
                self.oversized(topic, MAX_EVENT_BYTES),
                self.oversized(topic, DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES),
            ]
        records += [self.valid_order(self.valid[n % len(self.valid)]) for n in range(valid_orders)]
        self.rng.shuffle(records)
        return records
