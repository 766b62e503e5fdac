"""Record REST semantics over real HTTP: create, get, upsert, patch, delete, list, errors."""

from __future__ import annotations

from typing import Any

import pytest

from om_netsuite_sim import Account

pytestmark = pytest.mark.integration
RECORD = "/services/rest/record/v1"


async def _order(ns: Any, account: Account, external_id: str = "OM-ORDER-1") -> tuple[str, str, str]:
    customer = account.add_customer("Cafe Luna")
    item = account.add_item("SKU-1", "Beans")
    response = await ns.request(
        "PUT", f"{RECORD}/salesOrder/eid:{external_id}",
        json={"entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 2, "rate": 3.5}]}},
    )  # fmt: skip
    assert response.status_code == 204, response.text
    return response.headers["location"].rsplit("/", 1)[1], customer, item


async def test_a_create_answers_204_with_the_new_id_in_location_and_no_body(ns: Any) -> None:
    response = await ns.request(
        "POST", f"{RECORD}/customer", json={"companyName": "A", "subsidiary": {"id": "1"}}
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["location"].startswith(ns.base_url + f"{RECORD}/customer/")
    assert response.headers["location"].rsplit("/", 1)[1].isdigit()


async def test_a_record_reads_back_with_links_references_and_dates(ns: Any) -> None:
    rid = await ns.create("customer", {"companyname": "Cafe", "subsidiary": {"id": "1"}, "externalId": "C-1"})
    body = await ns.get("customer", rid)
    assert body["id"] == rid
    assert body["companyName"] == "Cafe"  # field names are matched case-insensitively
    assert body["links"][0]["href"].endswith(f"/customer/{rid}")
    assert body["subsidiary"] == {
        "links": [{"rel": "self", "href": ns.base_url + f"{RECORD}/subsidiary/1"}],
        "id": "1",
        "refName": "Parent Company",
    }
    assert body["lastModifiedDate"].endswith("Z")
    assert (await ns.get("customer", "eid:C-1"))["id"] == rid


async def test_fields_selects_body_fields_and_sublists_expand_only_on_request(
    ns: Any, account: Account
) -> None:
    so_id, _, item = await _order(ns, account)
    collapsed = await ns.get("salesOrder", so_id)
    assert set(collapsed["item"]) == {"links"}
    expanded = await ns.get("salesOrder", so_id, "?expandSubResources=true")
    line = expanded["item"]["items"][0]
    assert (line["item"]["id"], line["quantity"], line["rate"], line["amount"]) == (item, 2, 3.5, 7)
    assert line["item"]["refName"] == "SKU-1"
    picked = await ns.get("salesOrder", so_id, "?fields=tranId,total")
    assert set(picked) - {"links"} == {"id", "tranId", "total"}


async def test_an_upsert_creates_once_then_updates_the_same_record(ns: Any) -> None:
    path = f"{RECORD}/customer/eid:OM-CUS-9"
    first = await ns.request("PUT", path, json={"companyName": "One", "subsidiary": {"id": "1"}})
    second = await ns.request("PUT", path, json={"companyName": "Two"})
    assert first.status_code == second.status_code == 204
    assert first.headers["location"] == second.headers["location"]
    assert (await ns.get("customer", "eid:OM-CUS-9"))["companyName"] == "Two"


async def test_patching_lines_appends_them_unless_replace_is_given(ns: Any, account: Account) -> None:
    so_id, _, item = await _order(ns, account)
    lines = {"item": {"items": [{"item": {"id": item}, "quantity": 1, "rate": 3.5}]}}
    appended = await ns.request("PATCH", f"{RECORD}/salesOrder/{so_id}", json=lines)
    assert appended.status_code == 204
    after_append = await ns.get("salesOrder", so_id, "?expandSubResources=true")
    assert [x["quantity"] for x in after_append["item"]["items"]] == [2, 1]
    assert after_append["total"] == 10.5
    replaced = await ns.request("PATCH", f"{RECORD}/salesOrder/{so_id}?replace=item", json=lines)
    assert replaced.status_code == 204
    after_replace = await ns.get("salesOrder", so_id, "?expandSubResources=true")
    assert [x["quantity"] for x in after_replace["item"]["items"]] == [1]
    assert after_replace["total"] == 3.5


async def test_patch_with_null_clears_a_body_field(ns: Any) -> None:
    rid = await ns.create("customer", {"companyName": "A", "email": "a@x.example", "subsidiary": {"id": "1"}})
    await ns.request("PATCH", f"{RECORD}/customer/{rid}", json={"email": None})
    assert "email" not in await ns.get("customer", rid)


async def test_an_unknown_line_reference_is_a_400_invalid_content_with_its_path(
    ns: Any, account: Account
) -> None:
    customer = account.add_customer("A")
    response = await ns.request(
        "POST", f"{RECORD}/salesOrder",
        json={"entity": {"id": customer}, "item": {"items": [{"item": {"id": "9999"}, "quantity": 1}]}},
    )  # fmt: skip
    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_CONTENT", "item.items[0].item")
    assert "9999" in detail["detail"]


@pytest.mark.parametrize("field", ["entity", "location", "department", "class", "salesRep", "subsidiary"])
async def test_an_unknown_body_reference_is_rejected_with_the_field_as_path(
    ns: Any, account: Account, field: str
) -> None:
    body: dict[str, Any] = {"entity": {"id": account.add_customer("A")}, field: {"id": "8888"}}
    response = await ns.request("POST", f"{RECORD}/salesOrder", json=body)
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorPath"] == field


async def test_a_missing_record_is_404_nonexistent_id(ns: Any) -> None:
    for path in ("customer/424242", "customer/eid:nobody", "invoice/1"):
        response = await ns.request("GET", f"{RECORD}/{path}")
        assert response.status_code == 404
        assert response.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"


async def test_a_duplicate_external_id_on_create_is_a_user_error(ns: Any) -> None:
    await ns.create("customer", {"companyName": "A", "externalId": "DUP", "subsidiary": {"id": "1"}})
    response = await ns.request("POST", f"{RECORD}/customer", json={"companyName": "B", "externalId": "DUP"})
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "USER_ERROR"


async def test_a_deleted_record_is_gone(ns: Any) -> None:
    rid = await ns.create("customer", {"companyName": "A", "externalId": "GONE"})
    assert (await ns.request("DELETE", f"{RECORD}/customer/{rid}")).status_code == 204
    assert (await ns.request("GET", f"{RECORD}/customer/eid:GONE")).status_code == 404


async def test_a_list_is_filtered_by_external_id_and_any_of(ns: Any, account: Account) -> None:
    ids = [account.add_customer(f"C{n}", external_id=f"E-{n}") for n in range(5)]
    by_eid = await ns.request("GET", f'{RECORD}/customer?q=externalId IS "E-3"')
    assert [i["id"] for i in by_eid.json()["items"]] == [ids[3]]
    any_of = await ns.request("GET", f"{RECORD}/customer?q=id ANY_OF [{ids[0]}, {ids[4]}]")
    assert sorted(i["id"] for i in any_of.json()["items"]) == sorted([ids[0], ids[4]])
    starts = await ns.request("GET", f'{RECORD}/customer?q=companyName START_WITH "C"')
    assert starts.json()["totalResults"] == 5


async def test_a_list_pages_in_netsuites_shape_and_refuses_misaligned_offsets(
    ns: Any, account: Account
) -> None:
    ids = [account.add_customer(f"C{n}") for n in range(5)]
    page = (await ns.request("GET", f"{RECORD}/customer?limit=2&offset=2")).json()
    assert {k: page[k] for k in ("count", "offset", "hasMore", "totalResults")} == {
        "count": 2, "offset": 2, "hasMore": True, "totalResults": 5,
    }  # fmt: skip
    assert [i["id"] for i in page["items"]] == ids[2:4]
    assert {link["rel"] for link in page["links"]} == {"self", "next"}
    bad = await ns.request("GET", f"{RECORD}/customer?limit=2&offset=3")
    assert bad.status_code == 400


async def test_a_list_filters_on_last_modified_date_in_the_users_date_format(
    ns: Any, account: Account
) -> None:
    account.add_customer("Today")
    after_past = await ns.request("GET", f'{RECORD}/customer?q=lastModifiedDate AFTER "1/1/2020"')
    assert after_past.json()["totalResults"] == 1
    after_future = await ns.request("GET", f'{RECORD}/customer?q=lastModifiedDate ON_OR_AFTER "1/1/2999"')
    assert after_future.json()["totalResults"] == 0
    garbage = await ns.request("GET", f'{RECORD}/customer?q=lastModifiedDate AFTER "someday"')
    assert garbage.status_code == 400
    assert garbage.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


async def test_a_sublist_and_one_line_can_be_read_as_sub_resources(ns: Any, account: Account) -> None:
    so_id, _, item = await _order(ns, account)
    sublist = (await ns.request("GET", f"{RECORD}/salesOrder/{so_id}/item")).json()
    assert sublist["count"] == 1
    assert sublist["items"][0]["links"][0]["href"].endswith(f"/salesOrder/{so_id}/item/1")
    line = (await ns.request("GET", f"{RECORD}/salesOrder/{so_id}/item/1")).json()
    assert (line["item"]["id"], line["quantity"]) == (item, 2)
    assert (await ns.request("GET", f"{RECORD}/salesOrder/{so_id}/item/9")).status_code == 404


async def test_an_async_create_answers_202_with_a_job_whose_result_locates_the_record(ns: Any) -> None:
    headers = {
        "Prefer": "respond-async",
        "X-NetSuite-Idempotency-Key": "5c3e2a9e-0b7b-4b43-9d7e-6b1f0d1d2a11",
    }
    body = {"companyName": "Async Co", "externalId": "ASYNC-1"}
    accepted = await ns.request("POST", f"{RECORD}/customer", json=body, headers=headers)
    assert accepted.status_code == 202
    assert accepted.headers["preference-applied"] == "respond-async"
    job_path = accepted.headers["location"].removeprefix(ns.base_url)
    job = (await ns.request("GET", job_path)).json()
    assert (job["completed"], job["progress"]) == (True, "succeeded")
    task = (await ns.request("GET", f"{job_path}/task/1")).json()
    assert task["progress"] == "succeeded"
    result = (await ns.request("GET", f"{job_path}/task/1/result")).json()
    rid = (await ns.get("customer", "eid:ASYNC-1"))["id"]
    assert result["links"][0]["href"].endswith(f"/customer/{rid}")
    duplicate = await ns.request("POST", f"{RECORD}/customer", json=body, headers=headers)
    assert duplicate.status_code == 400
    assert duplicate.json()["o:errorDetails"][0]["o:errorCode"] == "IDEMPOTENCY_ERROR"
    assert duplicate.headers["location"] == accepted.headers["location"]


async def test_a_failed_async_request_reports_a_failed_job_with_the_error_as_result(ns: Any) -> None:
    accepted = await ns.request(
        "POST", f"{RECORD}/salesOrder", json={"entity": {"id": "999"}}, headers={"Prefer": "respond-async"}
    )
    job_path = accepted.headers["location"].removeprefix(ns.base_url)
    assert (await ns.request("GET", job_path)).json()["progress"] == "failed"
    result = await ns.request("GET", f"{job_path}/task/1/result")
    assert result.status_code == 400
    assert result.json()["o:errorDetails"][0]["o:errorPath"] == "entity"


@pytest.mark.parametrize(
    ("record_type", "body", "path"),
    [
        ("customer", {"email": "x@y.example"}, "companyName"),
        ("customer", {"isPerson": True, "firstName": "Jo"}, None),
        ("customer", {"companyName": "A", "tranDate": "24/11/2026"}, "tranDate"),
    ],
)
async def test_missing_mandatory_values_are_user_errors(
    ns: Any, record_type: str, body: dict[str, Any], path: str | None
) -> None:
    response = await ns.request("POST", f"{RECORD}/{record_type}", json=body)
    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert detail.get("o:errorPath") == path


async def test_a_sales_order_needs_at_least_one_line_with_an_item(ns: Any, account: Account) -> None:
    customer = account.add_customer("A")
    empty = await ns.request("POST", f"{RECORD}/salesOrder", json={"entity": {"id": customer}})
    assert empty.json()["o:errorDetails"][0]["o:errorCode"] == "USER_ERROR"
    no_item = await ns.request(
        "POST",
        f"{RECORD}/salesOrder",
        json={"entity": {"id": customer}, "item": {"items": [{"quantity": 1}]}},
    )
    assert no_item.json()["o:errorDetails"][0]["o:errorPath"] == "item.items[0].item"
