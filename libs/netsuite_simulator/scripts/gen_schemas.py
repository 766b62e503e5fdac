"""Generate ``om_netsuite_sim/schemas/<record>.json`` from a dump of NetSuite's REST API Browser.

Input: a checkout of the public GitHub repository ``wsjmnh/netsuite-record-rest-docs`` (a
markdown dump of Oracle's 2026.1 Record REST API Browser: ``docs/schemas/<record>.md`` hold one
property table per browser definition). Output: for each record below, the definitions the
simulator validates (the record body and the sublists the services write), reduced to
``{property: {"type", "format"?, "readOnly"?}}``, with the source repository, path, commit and
the generation date.

    python libs/netsuite_simulator/scripts/gen_schemas.py --dump /path/to/netsuite-record-rest-docs

When the dump is a git checkout the commit is read with ``git log``; otherwise the commit of the
stored version listed in ``RECORDS`` is written (pass ``--commit`` to override).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
from pathlib import Path

REPOSITORY = "wsjmnh/netsuite-record-rest-docs"
OUT = Path(__file__).resolve().parents[1] / "src" / "om_netsuite_sim" / "schemas"

_BE3 = "be3ff5a2394877530dc0e6a243d4870c0f1d86ce"
_CBC = "cbc24915c276cf202aaec491e4a88a78f34c5d1c"


def _with(record: str, *sublists: str) -> list[str]:
    """The record body and, for each sublist, its collection and element definitions."""
    found = [record]
    for name in sublists:
        found += [f"{record}-{name}Collection", f"{record}-{name}Element"]
    return found


#: record -> (commit of the version read, definitions to extract). A sublist whose element
#: definition is not listed is validated only at its collection level.
RECORDS: dict[str, tuple[str, list[str]]] = {
    "salesOrder": (_BE3, _with("salesOrder", "item")),
    "invoice": (_CBC, _with("invoice", "item")),
    "creditMemo": (_CBC, _with("creditMemo", "apply", "item")),
    "customerPayment": (_CBC, _with("customerPayment", "apply", "credit", "deposit")),
    "deposit": (_CBC, _with("deposit", "cashback", "other", "payment")),
    "customerDeposit": (_CBC, _with("customerDeposit")),
    "depositApplication": (_BE3, _with("depositApplication", "apply")),
    "customer": (_CBC, [*_with("customer", "addressBook"), "customer-addressBook-addressBookAddress"]),
    "inventoryItem": (_CBC, _with("inventoryItem")),
    "serviceSaleItem": (_BE3, _with("serviceSaleItem")),
    "otherChargeSaleItem": (_BE3, _with("otherChargeSaleItem")),
    "nonInventorySaleItem": (_BE3, _with("nonInventorySaleItem")),
    "discountItem": (_BE3, _with("discountItem")),
    "currency": (_CBC, _with("currency")),
}

_HEADING = re.compile(r"^## (\S+)\s*$")
_NAME = re.compile(r"^`([^`]+)`$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_tables(text: str) -> dict[str, dict[str, dict[str, object]]]:
    """Every ``## definition`` table of one schemas page: property -> type/format/readOnly."""
    tables: dict[str, dict[str, dict[str, object]]] = {}
    current: str | None = None
    columns: list[str] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current, columns = heading.group(1), []
            continue
        if current is None or not line.startswith("|"):
            continue
        cells = _cells(line)
        if not columns:
            columns = cells
            continue
        if set(cells) <= {"---", ""}:
            continue
        row = dict(zip(columns, cells, strict=False))
        name = _NAME.match(row.get("Property", ""))
        if name is None:
            continue
        prop = name.group(1)
        if "." in prop:  # ``status.id``/``status.refName`` of an enum object: implied by "object"
            continue
        entry: dict[str, object] = {"type": row.get("Type", "")}
        if row.get("Format"):
            entry["format"] = row["Format"]
        if "read-only" in row.get("Flags", ""):
            entry["readOnly"] = True
        tables.setdefault(current, {})[prop] = entry
    return tables


def _commit(dump: Path, path: str, default: str) -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(dump), "log", "-1", "--format=%H", "--", path],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return default
    return found or default


def generate(dump: Path, out: Path, commit: str | None, today: str) -> list[Path]:
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    for record, (stored_commit, definitions) in RECORDS.items():
        path = f"docs/schemas/{record}.md"
        tables = parse_tables((dump / path).read_text(encoding="utf-8"))
        missing = [d for d in definitions if d not in tables]
        if missing:
            raise SystemExit(f"{path}: definitions not found: {missing}")
        document = {
            "record": record,
            "source": {
                "repository": REPOSITORY,
                "path": path,
                "commit": commit or _commit(dump, path, stored_commit),
                "description": "NetSuite 2026.1 Record REST API Browser, markdown dump",
            },
            "generated": today,
            "generator": "libs/netsuite_simulator/scripts/gen_schemas.py",
            "definitions": {d: dict(sorted(tables[d].items())) for d in definitions},
        }
        target = out / f"{record}.json"
        target.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, required=True, help="checkout of " + REPOSITORY)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--commit", help="commit of the dump (default: git log, else RECORDS)")
    parser.add_argument("--date", default=dt.datetime.now(dt.UTC).date().isoformat())
    args = parser.parse_args()
    for path in generate(args.dump, args.out, args.commit, args.date):
        print(path)


if __name__ == "__main__":
    main()
