"""The connection state machine, what NetSuite's answers say about a connection, and the per-process
tracker that opens a breaker (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from om_netsuite import error_from_response
from om_netsuite._exceptions import NetSuiteNetworkError, RequestInfo
from om_platform.adapters.connections import permission_named, signal_of
from om_platform.adapters.connections._monitor import _Tracker
from om_platform.core.connections import ConnectionSettings, Signal, Status, next_state, recovers

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DWELL = timedelta(seconds=60)
INFO = RequestInfo("POST", "https://x/services/rest/record/v1/customerDeposit", "customerDeposit.create")


def _http(status: int, code: str, detail: str) -> object:
    body = f'{{"o:errorDetails":[{{"o:errorCode":"{code}","detail":"{detail}"}}]}}'.encode()
    return error_from_response(status, body, None, INFO)


def _status(state: str, **fields: object) -> Status:
    return Status("sup_1", state=state, version=3, since=NOW - timedelta(minutes=5), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "signal", "expected"),
    [
        ("connected", Signal("auth_failed"), "auth_failed"),
        ("auth_failed", Signal("auth_failed"), None),
        ("unreachable", Signal("auth_failed"), "auth_failed"),
        ("auth_failed", Signal("unreachable"), None),
        ("rate_limited", Signal("unreachable"), "unreachable"),
        ("connected", Signal("rate_limited"), "rate_limited"),
        ("permission_missing", Signal("rate_limited"), None),
        ("auth_failed", Signal("answered", record_type="currency"), "connected"),
        ("unreachable", Signal("answered", record_type="salesOrder"), "connected"),
        ("connected", Signal("answered", record_type="salesOrder"), None),
        ("rate_limited", Signal("answered", record_type="salesOrder"), None),
        ("auth_failed", Signal("permission_missing", detail="Customer Deposit"), "permission_missing"),
    ],
)
def test_each_signal_moves_only_to_a_state_at_least_as_telling(
    state: str, signal: Signal, expected: str | None
) -> None:
    change = next_state(_status(state), signal, NOW, rate_dwell=DWELL)

    assert (change.kind if change else None) == (
        "answered" if expected == "connected" and signal.kind == "answered" else expected
    )


def test_a_missing_permission_clears_only_when_its_own_record_type_succeeds() -> None:
    missing = _status("permission_missing", detail="Customer Deposit", record_type="customerDeposit")

    assert next_state(missing, Signal("answered", record_type="salesOrder"), NOW, rate_dwell=DWELL) is None
    assert next_state(missing, Signal("answered", record_type="customerDeposit"), NOW, rate_dwell=DWELL)
    other = Signal("permission_missing", detail="Invoice")
    assert next_state(missing, other, NOW, rate_dwell=DWELL) == other
    same = Signal("permission_missing", detail="Customer Deposit")
    assert next_state(missing, same, NOW, rate_dwell=DWELL) is None


def test_rate_limited_ends_only_after_a_whole_window_in_it() -> None:
    fresh = Status("sup_1", state="rate_limited", version=1, since=NOW - timedelta(seconds=10))
    old = Status("sup_1", state="rate_limited", version=1, since=NOW - timedelta(seconds=90))

    assert next_state(fresh, Signal("rate_ok"), NOW, rate_dwell=DWELL) is None
    assert next_state(old, Signal("rate_ok"), NOW, rate_dwell=DWELL) == Signal("rate_ok")


def test_what_is_parked_is_re_run_when_the_breaker_closes_or_a_permission_comes_back() -> None:
    assert recovers("auth_failed", "connected")
    assert recovers("unreachable", "permission_missing")
    assert recovers("permission_missing", "connected")
    assert not recovers("auth_failed", "unreachable")
    assert not recovers("connected", "rate_limited")
    assert not recovers("rate_limited", "connected")


def test_a_403_names_the_setup_guides_permission_from_netsuites_message_or_the_record_type() -> None:
    worded = _http(
        403,
        "INSUFFICIENT_PERMISSION",
        "Permission Violation: You need  the 'Transactions -> Customer Deposit' permission to access this page.",
    )
    silent = _http(403, "INSUFFICIENT_PERMISSION", "no detail")

    assert signal_of("customerDeposit.create", worded) == Signal(
        "permission_missing",
        detail="Customer Deposit",
        record_type="customerDeposit",
        code="INSUFFICIENT_PERMISSION",
        message="Permission Violation: You need  the 'Transactions -> Customer Deposit' permission to "
        "access this page.",
    )
    assert signal_of("creditMemo.get", silent).detail == "Credit Memo"  # type: ignore[union-attr]
    assert permission_named("salesOrder", "You need the 'Lists -> Items' permission") == "Items"
    assert permission_named("deposit", None) == "Make Deposits"  # NetSuite's name: not in the guide


def test_suiteql_saying_a_table_was_not_found_is_a_missing_permission_and_other_400s_prove_the_login() -> (
    None
):
    hidden = _http(400, "INVALID_PARAMETER", "Record 'transaction' was not found.")
    rejected = _http(400, "USER_ERROR", "Invalid Field Value 9 for the following field: item")

    assert signal_of("suiteql", hidden).detail == "Find Transaction"  # type: ignore[union-attr]
    assert signal_of("salesOrder.upsert", rejected) == Signal("answered", record_type="salesOrder")
    assert signal_of("salesOrder.upsert", None) == Signal("answered", record_type="salesOrder")
    assert signal_of("salesOrder.upsert", _http(401, "INVALID_LOGIN", "Invalid login attempt.")) is None


def test_the_tracker_opens_after_consecutive_refused_logins_and_a_success_resets_the_count() -> None:
    settings = ConnectionSettings(auth_failed_after=3)
    tracker = _Tracker()
    refused = _http(401, "INVALID_LOGIN", "Invalid login attempt.")

    tracker.attempt(refused, 0.0, settings)  # type: ignore[arg-type]
    tracker.attempt(refused, 0.1, settings)  # type: ignore[arg-type]
    tracker.attempt(None, 0.2, settings)
    tracker.attempt(refused, 0.3, settings)  # type: ignore[arg-type]
    assert tracker.opened is None
    tracker.attempt(refused, 0.4, settings)  # type: ignore[arg-type]
    tracker.attempt(refused, 0.5, settings)  # type: ignore[arg-type]
    assert tracker.opened == "auth_failed"


def test_the_tracker_calls_an_outage_unreachable_only_once_it_lasted_and_429s_feed_the_window() -> None:
    settings = ConnectionSettings(unreachable_after_s=10, rate_limited_window_s=60)
    tracker = _Tracker()
    down = NetSuiteNetworkError("connection refused", request=INFO)
    limited = _http(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.")

    for moment in (0.0, 4.0, 8.0):
        tracker.attempt(down, moment, settings)
    assert tracker.opened is None  # three failures, but only 8 s
    tracker.attempt(down, 12.0, settings)
    assert tracker.opened == "unreachable"

    window = _Tracker()
    for n in range(12):
        window.attempt(limited if n % 3 else None, float(n), settings)  # type: ignore[arg-type]
    assert window.rate_share() == pytest.approx(8 / 12)


@pytest.mark.parametrize(
    ("state", "refused_with", "asked_with", "refuses"),
    [
        ("auth_failed", "old", "old", True),
        ("auth_failed", "old", "new", False),  # the supplier re-authorised: not these credentials
        ("auth_failed", "old", None, True),  # credentials unknown: the refusal stands
        ("auth_failed", None, "new", True),  # a refusal stored without a fingerprint stands
        ("unreachable", None, "new", True),  # an outage holds whatever the credentials
        ("connected", None, "new", False),
    ],
)
def test_a_refused_login_holds_for_the_credentials_refused_only(
    state: str, refused_with: str | None, asked_with: str | None, refuses: bool
) -> None:
    assert _status(state, credentials=refused_with).refuses(asked_with) is refuses


def test_new_credentials_refused_too_replace_the_fingerprint_of_the_old_refusal() -> None:
    current = _status("auth_failed", credentials="old")
    assert next_state(current, Signal("auth_failed", credentials="old"), NOW, rate_dwell=DWELL) is None
    change = next_state(current, Signal("auth_failed", credentials="new"), NOW, rate_dwell=DWELL)
    assert change is not None
    assert change.credentials == "new"
