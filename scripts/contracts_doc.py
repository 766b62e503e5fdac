"""Write (or check) the tables of CONTRACTS.md that come from the code.

python scripts/contracts_doc.py          # rewrite every generated block of CONTRACTS.md
python scripts/contracts_doc.py --check  # exit 1 if a block is stale (tests/contracts/test_contracts_doc.py)

The prose of CONTRACTS.md is written by hand; each table between
``<!-- generated:<name>:begin -->`` and ``<!-- generated:<name>:end -->`` is rendered here from
``om_contracts`` (topics, event models, dead-letter headers, input limits, number types) and from
``om_platform.errors`` (the codes the Kafka edge gives dead letters), so the document cannot drift
from what the services enforce. An error code without a meaning below stops the generator: say
what a new code means when you add it.
"""

from __future__ import annotations

import ast
import re
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import om_contracts
from om_contracts import TOPICS, DeadLetterHeaders, ErrorCode, event_type_of

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "CONTRACTS.md"
LIMITS_SOURCE = Path(om_contracts.__file__).parent / "_limits.py"

OUTCOME_CODES: dict[str, str] = {
    "UNMAPPED_CUSTOMER": "The customer has no NetSuite customer (mapping tab, `netsuite_id` property or a "
    "`customer.upserted` seen).",
    "UNMAPPED_PRODUCT": "One or more products have no NetSuite item; `details` lists every one.",
    "MISSING_FREIGHT_ITEM": "The order has freight but no NetSuite freight item is set "
    "(`netsuite_freight_item_id`).",
    "MISSING_SURCHARGE_ITEM": "The order has a surcharge but the integration has no `surcharge_item_id`.",
    "INTEGRATION_NOT_CONFIGURED": "The supplier has no NetSuite integration, or its credentials cannot be "
    "opened (re-synced by itself when the integration arrives).",
    "NETSUITE_REJECTED": "NetSuite refused the record; its own code and detail are in `details`.",
    "NETSUITE_AUTH_FAILED": "NetSuite refused the supplier's credentials or a permission, or the record was "
    "parked while its login is refused (retryable: re-synced by itself once the login works again).",
    "NETSUITE_UNAVAILABLE": "NetSuite stayed unavailable through every retry, or the record was parked while "
    "it is unreachable (retryable: re-synced by itself once NetSuite answers again).",
    "INVALID_EVENT": "The event breaks this contract (also the code of such dead letters).",
    "NOT_CANCELLABLE": "The sales order is fulfilled or billed already and cannot be closed.",
    "NOT_VOIDABLE": "The invoice has payments or credits applied and cannot be voided.",
    "UNMAPPED_TAX_RATE": "The integration has `tax_codes` but none for a line's tax rate; `details` names "
    "every such rate.",
}
DEAD_LETTER_CODES: dict[str, str] = {
    "INVALID_EVENT": "The record breaks this contract or an input limit; the reason names the rule.",
    "RETRIES_EXHAUSTED": "A transient failure (NetSuite, MongoDB, the broker) outlasted the retries.",
    "UNEXPECTED_ERROR": "An unclassified error, after a few tries (a bug: look at it).",
    "PERMANENT_ERROR": "A permanent library error without a code of its own.",
    "(a permanent failure's own code)": "A service's `PermanentFailure`, e.g. `UNMAPPED_PRODUCT` in a service "
    "that has no failure event for it.",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def topics() -> list[str]:
    rows: list[list[object]] = []
    for topic in TOPICS:
        dead_letters = (
            f"`{topic.dead_letter_topic}` ({topic.dead_letter_max_message_bytes:,})"
            if topic.direction == "inbound"
            else "-"
        )
        rows.append(
            [
                f"`{topic.name}`",
                topic.direction,
                f"`{topic.key}`",
                topic.partitions,
                "yes" if topic.compacted else "no",
                f"{topic.max_message_bytes:,}",
                dead_letters,
                ", ".join(f"`{t}`" for t in sorted(topic.event_types)),
            ]
        )
    header = [
        "topic",
        "direction",
        "key",
        "partitions",
        "compacted",
        "max.message.bytes",
        "dead letters",
        "events",
    ]
    return _table(header, rows)


def _data_model(event: type[BaseModel]) -> Any:
    return event.model_fields["data"].annotation


def _fields(model: Any) -> str:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return "-"
    names = [f"**{name}**" if field.is_required() else name for name, field in model.model_fields.items()]
    return ", ".join(names)


def events() -> list[str]:
    rows: list[list[object]] = []
    for topic in TOPICS:
        for event in topic.events:
            data = _data_model(event)
            doc = (event.__doc__ or "").strip().splitlines()[0]
            rows.append(
                [f"`{event_type_of(event)}`", f"`{topic.name}`", doc, f"`{data.__name__}`: {_fields(data)}"]
            )
    return _table(["event type", "topic", "meaning", "`data` (required in bold)"], rows)


def error_codes() -> list[str]:
    missing = [code.value for code in ErrorCode if code.value not in OUTCOME_CODES]
    if missing:
        raise SystemExit(f"scripts/contracts_doc.py: say what {', '.join(missing)} mean(s) in OUTCOME_CODES")
    rows: list[list[object]] = [
        [f"`{code.value}`", "failure outcome (`error.code`)", OUTCOME_CODES[code.value]] for code in ErrorCode
    ]
    rows += [
        [f"`{code}`" if code.isupper() else code, "dead letter (`x-error-code`)", meaning]
        for code, meaning in DEAD_LETTER_CODES.items()
    ]
    return _table(["code", "where", "meaning"], rows)


def dead_letter_headers() -> list[str]:
    rows: list[list[object]] = []
    for name, field in DeadLetterHeaders.model_fields.items():
        header = "x-" + name.replace("_", "-")
        if header not in om_contracts.DEAD_LETTER_HEADER_NAMES:
            raise SystemExit(f"scripts/contracts_doc.py: {name} is not sent as {header}")
        rows.append(
            [f"`{header}`", "always" if field.is_required() else "when it applies", field.description]
        )
    return _table(["header", "present", "meaning"], rows)


def _constants() -> Iterator[tuple[str, str]]:
    """(name, docstring) of each constant in _limits.py, in source order."""
    body = ast.parse(LIMITS_SOURCE.read_text(encoding="utf-8")).body
    for statement, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            doc = ""
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                doc = str(following.value.value)
            yield statement.targets[0].id, doc


def limits() -> list[str]:
    rows = [
        [f"`{name}`", f"{getattr(om_contracts, name):,}", doc.replace("``", "`")]
        for name, doc in _constants()
    ]
    return _table(["bound", "value", "what it bounds"], rows)


_NUMBER_TYPES = {
    "Amount": om_contracts.Amount,
    "UnitPrice": om_contracts.UnitPrice,
    "OrderedQuantity": om_contracts.OrderedQuantity,
    "TaxRate": om_contracts.TaxRate,
}


def _walk(model: Any, seen: set[Any]) -> Iterator[tuple[str, Any]]:
    """(`Model.field`, FieldInfo) of every field under `model`, through nested models, lists and options."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or model in seen:
        return
    seen = seen | {model}
    for name, field in model.model_fields.items():
        yield f"{model.__name__}.{name}", field
        for inner in _models_in(field.annotation):
            yield from _walk(inner, seen)


def _models_in(annotation: Any) -> Iterator[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _metadata_ids(field: Any) -> set[int]:
    """Ids of the validators on a field, whether written on it or inside an optional/union type."""
    found = {id(item) for item in field.metadata}
    pending = [field.annotation]
    while pending:
        annotation = pending.pop()
        found.update(id(item) for item in getattr(annotation, "__metadata__", ()))
        pending.extend(typing.get_args(annotation))
    return found


def numbers() -> list[str]:
    rows: list[list[object]] = []
    for name, alias in _NUMBER_TYPES.items():
        markers = {id(item) for item in alias.__metadata__ if not hasattr(item, "description")}
        rule = next(item.description for item in alias.__metadata__ if hasattr(item, "description"))
        where: set[str] = set()
        for topic in TOPICS:
            if topic.direction != "inbound":
                continue
            for event in topic.events:
                for path, field in _walk(_data_model(event), set()):
                    if markers <= _metadata_ids(field):
                        where.add(f"`{path}`")
        rows.append([f"`{name}`", rule, ", ".join(sorted(where))])
    return _table(["type", "rule", "inbound fields"], rows)


BLOCKS: dict[str, Callable[[], list[str]]] = {
    "topics": topics,
    "events": events,
    "error-codes": error_codes,
    "dead-letter-headers": dead_letter_headers,
    "limits": limits,
    "numbers": numbers,
}


def render(text: str) -> str:
    """`text` with every generated block replaced by its current rendering."""
    for name, build in BLOCKS.items():
        begin, end = f"<!-- generated:{name}:begin -->", f"<!-- generated:{name}:end -->"
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"CONTRACTS.md has no {begin} ... {end} block")
        block = "\n".join([begin, *build(), end])
        text = pattern.sub(lambda _match, block=block: block, text)
    return text


def main(argv: list[str]) -> int:
    text = DOCUMENT.read_text(encoding="utf-8")
    updated = render(text)
    if "--check" in argv:
        if updated != text:
            print("CONTRACTS.md tables are stale: run python scripts/contracts_doc.py")
            return 1
        return 0
    DOCUMENT.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
