"""Write (or check) each service's AsyncAPI document, generated from its FastStream app.

python scripts/asyncapi.py          # rewrite services/<name>/asyncapi.json
python scripts/asyncapi.py --check  # exit 1 listing stale documents (used by the tests)
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("order_sync", "stock_sync", "finance_sync")


def document(service: str) -> str:
    app_module = importlib.import_module(f"{service}.app")
    settings_module = importlib.import_module(f"{service}.settings")
    runtime = app_module.build(settings_module.Settings())
    spec: dict[str, Any] = runtime.asyncapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for service in SERVICES:
        path = ROOT / "services" / service / "asyncapi.json"
        text = document(service)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
    if stale:
        print("stale AsyncAPI documents (run python scripts/asyncapi.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
