"""JSON Schema for every event, written to ``libs/contracts/schemas/``.

    python -m om_contracts.schemas            # (re)write the files
    python -m om_contracts.schemas --check    # exit 1 listing stale, missing or extra files

One file per event type (``order.placed.json`` ...; an event type that a second topic also
carries is written as ``<event type>@<topic>.json`` for that topic, e.g.
``netsuite.invoice.voided@netsuite.invoices.v1.json``), validation schemas for inbound events
(what we accept) and serialisation schemas for outbound ones (what we emit), plus
``dead-letter-headers.json`` and ``topics.json`` (the topic registry: partitions, compaction,
dead-letter topic, event types). Output is deterministic: sorted keys, two-space indent, UTF-8,
trailing newline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from om_contracts._dead_letters import DeadLetterHeaders
from om_contracts._topics import TOPICS, event_type_of

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"
"""``libs/contracts/schemas`` in a checkout."""


def _dump(document: Any) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render() -> dict[str, str]:
    """File name -> file content for every schema file."""
    files: dict[str, str] = {}
    registry: list[dict[str, Any]] = []
    for topic in TOPICS:
        mode: Literal["validation", "serialization"] = (
            "validation" if topic.direction == "inbound" else "serialization"
        )
        for model in topic.events:
            event_type = event_type_of(model)
            name = f"{event_type}.json"
            if name in files:  # the same event type on another topic, with its own payload
                name = f"{event_type}@{topic.name}.json"
            schema = model.model_json_schema(mode=mode)
            schema["$id"] = name
            schema["x-topic"] = topic.name
            files[name] = _dump(schema)
        registry.append(
            {
                "name": topic.name,
                "family": topic.family,
                "direction": topic.direction,
                "compacted": topic.compacted,
                "partitions": topic.partitions,
                "key": topic.key,
                "dead_letter_topic": topic.dead_letter_topic,
                "description": topic.description,
                "event_types": sorted(topic.event_types),
            }
        )
    headers = DeadLetterHeaders.model_json_schema(mode="serialization")
    headers["$id"] = "dead-letter-headers.json"
    files["dead-letter-headers.json"] = _dump(headers)
    files["topics.json"] = _dump({"topics": registry})
    return files


def write(directory: Path = DEFAULT_DIR) -> list[str]:
    """Write every schema file, delete stale ``*.json`` ones; returns the names changed."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = render()
    changed = stale(directory, expected)
    for name, content in expected.items():
        (directory / name).write_text(content, encoding="utf-8")
    for path in directory.glob("*.json"):
        if path.name not in expected:
            path.unlink()
    return changed


def stale(directory: Path = DEFAULT_DIR, expected: dict[str, str] | None = None) -> list[str]:
    """Names of schema files that are missing, different or no longer generated."""
    wanted = render() if expected is None else expected
    problems: list[str] = []
    for name, content in sorted(wanted.items()):
        path = directory / name
        if not path.exists():
            problems.append(f"{name} (missing)")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{name} (out of date)")
    problems.extend(
        f"{path.name} (no longer generated)"
        for path in sorted(directory.glob("*.json"))
        if path.name not in wanted
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m om_contracts.schemas")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="schema directory")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.dir)
        if problems:
            sys.stderr.write(
                "JSON Schemas are stale; run `python -m om_contracts.schemas`:\n"
                + "".join(f"  {line}\n" for line in problems)
            )
            return 1
        return 0
    changed = write(args.dir)
    sys.stdout.write(f"wrote {len(render())} schema files to {args.dir} ({len(changed)} changed)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
