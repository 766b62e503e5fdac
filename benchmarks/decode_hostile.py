"""Benchmark: what decoding one hostile record costs, against a normal record (issue 23).

    .venv/bin/python benchmarks/decode_hostile.py [--repeat 15]

Every record goes through `om_contracts.parse_event`, what the Kafka edge's decoder runs on the
event loop for each record (bytes in, an event or a `ContractViolation` out). The hostile records
are those of issue 23 and the fuzz (`tests/fuzz/hostile_records.py`): exponent numbers whose value
has millions of digits in every kind of numeric field, `location_ids` as JSON in a string (deep,
huge exponent, many ids), settings lists and maps over their bound, and the largest shapes a
1 MiB value allows (deep nesting, 5,000-digit numbers, 100,000 ids, 10,000 mappings within the
bound). Each is decoded `--repeat` times; its cost is the fastest of them (the CPU the decoding
needs: on a machine shared with other work, anything slower is time spent waiting for a core), and
the median is shown beside it.

Figures: per record, the cost in ms and as a ratio to the normal order's cost (measured in the
same run). Target: every hostile record under 50 ms on the 2-core machine.
Ends with `RESULT: PASS` or `RESULT: FAIL`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from om_contracts import (
    INTEGRATIONS_TOPIC,
    MAX_MAPPINGS,
    ORDERS_TOPIC,
    PAYMENTS_TOPIC,
    ContractViolation,
    KeyRing,
    parse_event,
)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "contracts" / "fixtures"
TARGET_MS = 50.0
SUPPLIER = "sup_7c1e"
HOLE = '"\\u0000HOLE\\u0000"'


def _event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": "evt_bench",
        "event_type": event_type,
        "occurred_at": "2026-11-24T09:15:00+11:00",
        "supplier_id": SUPPLIER,
        "data": data,
    }


def _order() -> dict[str, Any]:
    return _event("order.placed", json.loads((FIXTURES / "order.json").read_text()))


def _integration() -> dict[str, Any]:
    ring = KeyRing([KeyRing.generate_key()])
    text = (FIXTURES / "integration.json").read_text()
    for plain in ("ck", "cs", "tk", "ts"):
        text = text.replace('"<sealed>"', json.dumps(ring.seal(plain).token), 1)
    return _event("integration.netsuite.configured", json.loads(text))


def _payment() -> dict[str, Any]:
    return _event("payment.succeeded", json.loads((FIXTURES / "payment.json").read_text()))


def _with(event: dict[str, Any], path: tuple[Any, ...], raw: str) -> bytes:
    """The event with the value at `path` replaced by the raw JSON text `raw`."""
    copy = json.loads(json.dumps(event))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "\x00HOLE\x00"
    return json.dumps(copy).replace(HOLE, raw).encode()


def _set(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> bytes:
    return _with(event, path, json.dumps(value))


def records() -> dict[str, tuple[str, bytes]]:
    order, integration, payment = _order(), _integration(), _payment()
    hostile: dict[str, tuple[str, bytes]] = {"normal order": (ORDERS_TOPIC, json.dumps(order).encode())}
    for number in ("1e15000000", "1e100000000", "-9.9E+999999", "1e-5000000"):
        for topic, event, path in (
            (ORDERS_TOPIC, order, ("data", "lines", 0, "quantity")),
            (ORDERS_TOPIC, order, ("data", "totals", "total")),
            (PAYMENTS_TOPIC, payment, ("data", "amount")),
            (INTEGRATIONS_TOPIC, integration, ("data", "concurrency_limit")),
            (INTEGRATIONS_TOPIC, integration, ("data", "stock", "interval_minutes")),
        ):
            hostile[f"{number} in {path[-1]}"] = (topic, _with(event, path, number))
    stock = ("data", "stock", "location_ids")
    hostile["location_ids JSON 5,000 deep"] = (
        INTEGRATIONS_TOPIC,
        _set(integration, stock, "[" * 5000 + "]" * 5000),
    )
    hostile["location_ids JSON [1e15000000]"] = (INTEGRATIONS_TOPIC, _set(integration, stock, "[1e15000000]"))
    hostile["location_ids JSON 90,000 ids"] = (
        INTEGRATIONS_TOPIC,
        _set(integration, stock, json.dumps([str(n) for n in range(90_000)])),
    )
    ids = json.dumps([str(n) for n in range(100_000)])
    hostile["location_ids JSON 100,000 ids (over 1 MiB)"] = (
        INTEGRATIONS_TOPIC,
        _set(integration, stock, ids),
    )
    hostile["location_ids list 100,000 ids"] = (INTEGRATIONS_TOPIC, _with(integration, stock, ids))
    many = ",".join(str(n) for n in range(100_000))
    hostile["location_ids '1,2,...' 100,000 ids"] = (INTEGRATIONS_TOPIC, _set(integration, stock, many))
    mappings = {f"prd_{n}": str(n) for n in range(MAX_MAPPINGS)}
    hostile["10,000 product mappings (bound)"] = (
        INTEGRATIONS_TOPIC,
        _set(integration, ("data", "product_mappings"), mappings),
    )
    over = {f"prd_{n}": str(n) for n in range(40_000)}
    hostile["40,000 product mappings"] = (
        INTEGRATIONS_TOPIC,
        _set(integration, ("data", "product_mappings"), over),
    )
    hostile["pad nested 10,000 deep"] = (ORDERS_TOPIC, _with(order, ("pad",), "[" * 10_000 + "]" * 10_000))
    hostile["pad 5,000-digit number"] = (ORDERS_TOPIC, _with(order, ("pad",), "7" * 5000))
    hostile["pad 25,000 numbers 1.5e38"] = (
        ORDERS_TOPIC,
        _with(order, ("pad",), "[" + ",".join(["1.5e38"] * 25_000) + "]"),
    )
    hostile["pad 25,000 40-digit ints"] = (
        ORDERS_TOPIC,
        _with(order, ("pad",), "[" + ",".join(["9" * 40] * 25_000) + "]"),
    )
    return hostile


def cost_ms(topic: str, raw: bytes, repeat: int) -> tuple[float, float, str]:
    timings: list[float] = []
    outcome = ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            parse_event(topic, raw, key=SUPPLIER.encode())
            outcome = "accepted"
        except ContractViolation as exc:
            outcome = "refused: " + exc.problems[0][1][:60]
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings), statistics.median(timings), outcome


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    measured = {
        name: (len(raw), *cost_ms(topic, raw, args.repeat)) for name, (topic, raw) in records().items()
    }
    normal = measured["normal order"][1]
    out(f"{'record':44} {'bytes':>9} {'ms':>8} {'x normal':>9} {'median':>8}  outcome")
    worst = 0.0
    for name, (size, ms, median, outcome) in measured.items():
        out(f"{name:44} {size:9,} {ms:8.3f} {ms / normal:9.1f} {median:8.3f}  {outcome}")
        if name != "normal order":
            worst = max(worst, ms)
    ok = worst < TARGET_MS
    out(
        f"worst hostile record: {worst:.2f} ms ({worst / normal:.0f}x a normal record of {normal:.3f} ms); target < {TARGET_MS:.0f} ms"
    )
    out(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
