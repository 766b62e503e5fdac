"""`omctl mappings import/export` against the Mongo-protocol server, through om_platform's MappingStore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from omctl.mappings_csv import parse

from .conftest import Cli, known

pytestmark = pytest.mark.integration

CSV = """kind,ordermentum_id,netsuite_id
product,prd_55,2044
customer,cus_19ab,812
product,prd_56,ITEM-9
supplier,prd_57,10
product,,11
customer,cus_20,
product,prd_58,300
product,prd_58,301
product,prd_59,400
product,prd_59,400
"""


@pytest.fixture
async def order_db(mongo_url: str, unique_name: str):
    """order_sync's database, where the suppliers these tests import for are known."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    try:
        yield client[f"order_{unique_name}"]
    finally:
        await client.drop_database(f"order_{unique_name}")
        await client.close()


def test_parse_reports_every_bad_row_with_its_line_and_reason() -> None:
    parsed = parse(CSV)
    assert parsed.pairs["product"] == {"prd_55": "2044", "prd_59": "400"}
    assert parsed.pairs["customer"] == {"cus_19ab": "812"}
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (4, "netsuite_id must be a NetSuite internal id (digits), not 'ITEM-9'"),
        (5, "kind must be customer or product, not 'supplier'"),
        (6, "ordermentum_id is empty"),
        (7, "netsuite_id is empty"),
        (8, "product prd_58 has different netsuite_ids in the file"),
        (9, "product prd_58 has different netsuite_ids in the file"),
    ]


async def test_import_writes_accepted_rows_to_every_service_and_export_reads_them_back(
    cli: Cli, tmp_path: Path, mongo_url: str, unique_name: str, order_db
) -> None:
    await known(order_db, "sup_m")
    path = tmp_path / "mappings.csv"
    path.write_text(CSV)
    report = await cli.json("mappings", "import", str(path), "--supplier", "sup_m")
    assert report["accepted"] == 3
    assert [r["line"] for r in report["rejected"]] == [4, 5, 6, 7, 8, 9]
    assert report["rejected"][0]["row"] == {
        "kind": "product",
        "ordermentum_id": "prd_56",
        "netsuite_id": "ITEM-9",
    }
    assert report["written"] == {"order_sync": 3, "stock_sync": 3, "finance_sync": 3}

    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    try:
        for db in ("order", "stock", "finance"):
            docs = client[f"{db}_{unique_name}"]["mappings"].find({"supplier_id": "sup_m"})
            found = {(d["kind"], d["ordermentum_id"]): d["operator_netsuite_id"] async for d in docs}
            assert found == {
                ("product", "prd_55"): "2044",
                ("product", "prd_59"): "400",
                ("customer", "cus_19ab"): "812",
            }
    finally:
        for db in ("order", "stock", "finance"):
            await client.drop_database(f"{db}_{unique_name}")
        await client.close()


async def test_export_prints_the_effective_mappings_as_csv_that_import_accepts(
    cli: Cli, tmp_path: Path, order_db
) -> None:
    await known(order_db, "sup_x")
    path = tmp_path / "in.csv"
    path.write_text("kind,ordermentum_id,netsuite_id\nproduct,prd_1,10\ncustomer,cus_1,20\n")
    assert (
        await cli("mappings", "import", str(path), "--supplier", "sup_x", "--service", "order_sync")
    ).exit_code == 0
    exported = await cli("mappings", "export", "--supplier", "sup_x")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.splitlines() == [
        "kind,ordermentum_id,netsuite_id",
        "customer,cus_1,20",
        "product,prd_1,10",
    ]
    assert parse(exported.stdout).accepted == 2
    as_json = await cli.json("mappings", "export", "--supplier", "sup_x")
    assert as_json == {
        "supplier_id": "sup_x",
        "service": "order_sync",
        "mappings": [
            {"kind": "customer", "ordermentum_id": "cus_1", "netsuite_id": "20"},
            {"kind": "product", "ordermentum_id": "prd_1", "netsuite_id": "10"},
        ],
    }


async def test_strict_import_writes_nothing_when_a_row_is_rejected(
    cli: Cli, tmp_path: Path, order_db
) -> None:
    await known(order_db, "sup_s")
    path = tmp_path / "bad.csv"
    path.write_text("kind,ordermentum_id,netsuite_id\nproduct,prd_1,10\nproduct,prd_2,x\n")
    result = await cli("mappings", "import", str(path), "--supplier", "sup_s", "--strict")
    assert result.exit_code == 1
    assert "netsuite_id must be a NetSuite internal id" in result.stdout
    exported = await cli("mappings", "export", "--supplier", "sup_s")
    assert exported.stdout.splitlines() == ["kind,ordermentum_id,netsuite_id"]


async def test_a_file_without_the_expected_header_is_refused_as_a_whole(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("prd_1,10\n")
    result = await cli("mappings", "import", str(path), "--supplier", "sup_h")
    assert result.exit_code == 1
    assert "missing column(s)" in result.output
