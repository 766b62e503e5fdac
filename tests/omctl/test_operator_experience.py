"""omctl as an on-call engineer meets it: one line and a non-zero exit for every expected failure,
never a traceback (unless --debug), tables that fit 80 columns, results as text."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from rich.console import Console

from omctl import _output
from omctl._output import Col


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def omctl(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omctl", *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "80", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.integration
def test_status_with_broker_and_mongo_down_is_one_line_without_waiting_out_the_drivers_defaults() -> None:
    """omctl gives up on its own short connect timeouts, not the drivers' 30 s server selection.

    The bound is the subprocess timeout (a hang fails the test); no wall-clock assert, which a
    loaded 2-core machine broke at 10 s while omctl behaved.
    """
    down = {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}",
        "MONGODB_URL": f"mongodb://127.0.0.1:{closed_port()}/?directConnection=true",
    }
    result = omctl("status", env=down, timeout=25)
    line = one_error_line(result)
    assert "cannot reach" in line


@pytest.mark.integration
def test_dlq_list_json_with_the_broker_down_prints_nothing_on_stdout_and_one_line() -> None:
    result = omctl("dlq", "list", "--json", env={"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}"})
    line = one_error_line(result)
    assert "KAFKA_BOOTSTRAP_SERVERS" in line
    assert result.stdout == ""
    assert "Unclosed" not in result.stderr


@pytest.mark.integration
async def test_status_for_a_supplier_nobody_knows_is_an_error(cli: Any) -> None:
    result = await cli("status", "--supplier", "sup_nope")
    assert result.exit_code != 0
    assert "no supplier 'sup_nope'" in result.output
    assert "Traceback" not in result.output


def test_bad_arguments_and_bad_settings_are_one_line() -> None:
    line = one_error_line(
        omctl("replay", "ordermentum.orders.v1", "--service", "order_sync", "--at", "yesterday")
    )
    assert "--at" in line
    assert "RFC 3339" in line
    line = one_error_line(omctl("status", env={"OMCTL_CONNECT_TIMEOUT_S": "soon"}))
    assert "OMCTL_CONNECT_TIMEOUT_S" in line
    line = one_error_line(omctl("status", env={"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}))
    assert "KAFKA_SASL_MECHANISM" in line


def test_help_lists_every_command_and_the_debug_switch() -> None:
    result = omctl("--help")
    assert result.returncode == 0
    for command in (
        "status",
        "replay",
        "dlq",
        "resync",
        "run",
        "cursor",
        "mappings",
        "integration",
        "seal",
        "deploy",
    ):
        assert command in result.stdout
    assert "--debug" in result.stdout


def render(width: int, wide: bool = False) -> str:
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    original = _output.__dict__.get("console")
    _output.__dict__["console"] = console
    try:
        _output.table(
            "suppliers",
            [
                Col("supplier"),
                Col("service"),
                Col("flow"),
                Col("ledger"),
                Col("failures"),
                Col("last success", optional=True),
                Col("integration", optional=True),
                Col("cursors", optional=True),
                Col("queued", optional=True),
            ],
            [
                (
                    "sup_7c1e0f9a",
                    "order_sync",
                    "order_ledger",
                    {"failed": 1, "synced": 1234},
                    {"UNMAPPED_PRODUCT": 1},
                    None,
                    "configured",
                    3,
                    0,
                )
            ],
            wide=wide,
        )
        return console.export_text()
    finally:
        if original is not None:
            _output.__dict__["console"] = original
        else:
            _output.__dict__.pop("console", None)


def test_a_status_table_fits_80_columns_one_line_a_row_cutting_only_the_longest_cells() -> None:
    text = render(80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    (row,) = [line for line in lines if "sup_7c1e0f9a" in line]  # ids and names whole, one line
    for value in ("order_sync", "order_ledger"):
        assert value in row
    assert "failed=1, sync…" in row  # cut with an ellipsis, not wrapped mid-word onto a second line
    assert not any(line.lstrip("│ ").startswith(("ed=1234", "CT=1")) for line in lines)
    assert "hidden at this width" in text
    assert "--wide" in text


def test_wide_keeps_every_column_and_every_cell_whole() -> None:
    text = render(80, wide=True)
    for header in ("last success", "integration", "cursors", "queued"):
        assert header in text
    assert "failed=1, synced=1234" in text
    assert "…" not in text
    assert "hidden" not in text


def test_a_command_result_is_text_not_a_python_dict(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(width=80, record=True)
    _output.__dict__["console"] = console
    try:
        _output.mapping(
            "result", {"requeued": 3, "codes": {"UNMAPPED_PRODUCT": 3}, "records": ["ord_1", "ord_2"]}
        )
    finally:
        _output.__dict__.pop("console", None)
    text = console.export_text()
    assert "requeued: 3" in text
    assert "UNMAPPED_PRODUCT: 3" in text
    assert "records: ord_1, ord_2" in text
    assert "{" not in text


def test_version_and_h_as_help_on_every_level() -> None:
    version = omctl("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("omctl ")
    for args in (
        ("-h",),
        ("dlq", "-h"),
        ("dlq", "show", "-h"),
        ("mappings", "export", "-h"),
        ("status", "-h"),
    ):
        result = omctl(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.startswith("Usage: "), result.stdout
    assert "--json" in omctl("mappings", "export", "-h").stdout
    assert "--state" in omctl("status", "-h").stdout
