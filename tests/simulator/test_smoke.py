import pytest

pytestmark = pytest.mark.integration


async def test_a_created_customer_can_be_read_back(ns, account):
    cid = await ns.create("customer", {"companyName": "Cafe", "externalId": "C1", "subsidiary": {"id": "1"}})
    body = await ns.get("customer", cid)
    assert body["companyName"] == "Cafe"
    assert body["subsidiary"]["refName"] == "Parent Company"
    item = account.add_item("SKU1", base_price="2.5")
    loc = account.add_location("Main")
    r = await ns.request(
        "PUT",
        "/services/rest/record/v1/salesOrder/eid:OM-ORDER-1",
        json={
            "entity": {"id": cid},
            "location": {"id": loc},
            "item": {"items": [{"item": {"id": item}, "quantity": 2, "rate": 2.5}]},
        },
    )
    assert r.status_code == 204, r.text
    so = await ns.get("salesOrder", "eid:OM-ORDER-1", "?expandSubResources=true")
    assert so["total"] == 5
    assert so["status"]["id"] == "B"
    q = await ns.suiteql(
        "SELECT t.id, BUILTIN.CF(t.status) AS s, t.foreigntotal FROM transaction t WHERE t.id > ?", params=[0]
    )
    assert q.status_code == 200, q.text
    print(q.json())
