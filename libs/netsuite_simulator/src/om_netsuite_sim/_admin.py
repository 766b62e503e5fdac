"""The unauthenticated admin API under ``/_sim/`` (seeding and inspection for other processes).

See the package README for the route list. Bodies and answers are plain JSON; decimals are
sent as strings or numbers and answered as numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._faults import Fault
from ._responses import ApiError, error_response, json_response
from ._simulator import Account, Simulator
from ._tba import TbaCredentials

__all__ = ["handle"]

Record = dict[str, Any]
_JSON = "application/json"


def _doc(record: Record) -> Record:
    return {k: v for k, v in record.items() if not k.startswith("_")} | {
        "recordType": record["_type"],
        "createdDate": record["_created"] + "Z",
        "lastModifiedDate": record["_modified"] + "Z",
    }


def _ok(value: Any, status: int = 200) -> Response:
    return json_response(value, status, _JSON)


async def handle(sim: Simulator, request: Request) -> Response:
    try:
        return await _route(sim, request)
    except ApiError as error:
        return error_response(error)
    except (KeyError, TypeError, ValueError) as exc:
        return _ok({"error": type(exc).__name__, "detail": str(exc)}, 400)


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw, parse_float=Decimal) if raw.strip() else {}


async def _route(sim: Simulator, request: Request) -> Response:
    parts = request.url.path.strip("/").split("/")[1:]
    method = request.method
    if parts == ["accounts"]:
        if method == "GET":
            return _ok({"accounts": sorted(sim.accounts)})
        body = await _json(request)
        creds = body.get("credentials")
        credentials = sim.add_account(
            body["account_id"],
            int(body.get("concurrency_limit", 5)),
            credentials=TbaCredentials(**creds) if creds else None,
        )
        return _ok({"account_id": body["account_id"], "credentials": asdict(credentials)}, 201)
    if len(parts) < 3 or parts[0] != "accounts":
        return _ok({"error": "not_found"}, 404)
    account = sim.accounts.get(parts[1])
    if account is None:
        return _ok({"error": "unknown_account", "account_id": parts[1]}, 404)
    return await _account_route(sim, account, method, parts[2:], request)


async def _account_route(
    sim: Simulator, account: Account, method: str, rest: list[str], request: Request
) -> Response:
    key = "/".join(rest)
    if rest[0] == "records" and len(rest) == 3 and method in ("GET", "DELETE", "PATCH"):
        return await _one_record(account, method, rest[1], rest[2], request)
    if method == "GET":
        return _get(account, key, rest)
    if method == "DELETE" and key == "faults":
        account.faults.clear()
        return Response(status_code=204)
    if method != "POST":
        return _not_found()
    body = await _json(request)
    post = _POSTS.get(key)
    if post is not None:
        return post(sim, account, body)
    if rest[0] == "records" and len(rest) == 2:
        return _ok({"id": account.create(rest[1], body)}, 201)
    match = re.fullmatch(r"(sales-orders|invoices)/(\d+)/(bill|close|cancel|credit|void)", key)
    action = _TRANSACTION_ACTIONS.get((match[1], match[3])) if match else None
    if match is None or action is None:
        return _not_found()
    created = action(account, match[2], body or None)
    return Response(status_code=204) if created is None else _ok({"id": created}, 201)


def _not_found() -> Response:
    return _ok({"error": "not_found"}, 404)


async def _one_record(account: Account, method: str, rtype: str, rid: str, request: Request) -> Response:
    if method == "GET":
        return _ok(_doc(account.record(rtype, rid)))
    if method == "DELETE":
        account.delete(rtype, rid)
    else:
        replace = tuple(x for x in request.query_params.get("replace", "").split(",") if x)
        account.update(rtype, rid, await _json(request), replace=replace)
    return Response(status_code=204)


def _get(account: Account, key: str, rest: list[str]) -> Response:
    if key == "stats":
        return _ok(account.stats())
    if key == "requests":
        return _ok({"requests": [list(entry) for entry in account.request_log]})
    if key == "faults":
        return _ok({"latency": account.faults.latency, "rules": [f.as_dict() for f in account.faults.rules]})
    if rest[0] == "records" and len(rest) == 2:
        return _ok({"items": [_doc(r) for r in account.records(rest[1])]})
    return _not_found()


def _set_stock(account: Account, body: Any) -> Response:
    rows = body.get("rows", [body])
    for row in rows:
        account.set_stock(
            row["item_id"], row["location_id"], on_hand=row["on_hand"], available=row.get("available")
        )
    return _ok({"updated": len(rows)})


def _set_faults(account: Account, body: Any) -> Response:
    if "latency" in body:
        latency = body["latency"]
        account.faults.latency = (
            (float(latency[0]), float(latency[1])) if isinstance(latency, list) else float(latency)
        )
    for rule in body.get("rules", []):
        options: dict[str, Any] = {k: float(v) if isinstance(v, Decimal) else v for k, v in rule.items()}
        account.faults.rules.append(Fault(**options))
    return _ok({"rules": len(account.faults.rules)})


def _rotate_token(account: Account, body: Any) -> Response:
    rotated = account.rotate_token(body.get("token_id"), body.get("token_secret"))
    return _ok({"account_id": account.account_id, "credentials": asdict(rotated)})


def _set_role(account: Account, body: Any) -> Response:
    account.set_role(list(body.get("denied", [])))
    return _ok({"denied": sorted(account.denied_permissions)})


def _reset_peak(account: Account) -> Response:
    account.reset_peak()
    return _ok(account.stats())


def _set_concurrency(account: Account, body: Any) -> Response:
    account.concurrency_limit = int(body["limit"])
    return _ok(account.stats())


def _add_oauth2_client(sim: Simulator, account: Account, body: Any) -> Response:
    sim.add_oauth2_client(account.account_id, **body)
    return Response(status_code=204)


def _revoke_oauth2_certificate(sim: Simulator, account: Account, body: Any) -> Response:
    sim.revoke_oauth2_certificate(account.account_id, **body)
    return Response(status_code=204)


_PostHandler = Callable[[Simulator, Account, Any], Response]
# POST /_sim/accounts/{id}/<key>: seeding and control, one handler per key.
_POSTS: dict[str, _PostHandler] = {
    "customers": lambda _sim, account, body: _ok({"id": account.add_customer(**body)}, 201),
    "items": lambda _sim, account, body: _ok({"id": account.add_item(**body)}, 201),
    "locations": lambda _sim, account, body: _ok({"id": account.add_location(**body)}, 201),
    "tax-codes": lambda _sim, account, body: _ok(
        {"id": account.add_tax_code(body["name"], body["rate"], rid=body.get("id"))}, 201
    ),
    "references": lambda _sim, account, body: _ok(
        {"id": account.add_reference(body["type"], body["id"], body["name"])}, 201
    ),
    "stock": lambda _sim, account, body: _set_stock(account, body),
    "faults": lambda _sim, account, body: _set_faults(account, body),
    "token": lambda _sim, account, body: _rotate_token(account, body),
    "role": lambda _sim, account, body: _set_role(account, body),
    "reset-peak": lambda _sim, account, _body: _reset_peak(account),
    "concurrency": lambda _sim, account, body: _set_concurrency(account, body),
    "oauth2-clients": _add_oauth2_client,
    "oauth2-tokens/expire": lambda sim, account, _body: _ok(
        {"expired": sim.expire_bearers(account.account_id)}
    ),
    "oauth2-clients/revoke": _revoke_oauth2_certificate,
    "payments": lambda _sim, account, body: _ok({"id": account.record_customer_payment(**body)}, 201),
}
# POST /_sim/accounts/{id}/{sales-orders|invoices}/{rid}/{action}: what a NetSuite user does to a
# transaction; a handler returns the created record's id, or None (answered 204).
_TRANSACTION_ACTIONS: dict[tuple[str, str], Callable[[Account, str, Any], str | None]] = {
    ("sales-orders", "bill"): lambda account, rid, body: account.bill_sales_order(rid, body),
    ("sales-orders", "close"): lambda account, rid, _body: account.close_sales_order(rid),
    ("sales-orders", "cancel"): lambda account, rid, _body: account.cancel_sales_order(rid),
    ("invoices", "credit"): lambda account, rid, body: account.create_credit_memo(rid, body),
    ("invoices", "void"): lambda account, rid, _body: account.void_invoice(rid),
}
