"""Shared helpers for the NetSuite client tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from om_netsuite import RequestRetryPolicy, TbaAuth, TbaCredentials

ACCOUNT = "1234567_SB1"


def tba_credentials() -> TbaCredentials:
    return TbaCredentials(
        consumer_key=SecretStr("ck-value"),
        consumer_secret=SecretStr("cs-value"),
        token_id=SecretStr("tk-value"),
        token_secret=SecretStr("ts-value"),
    )


@pytest.fixture
def nonces() -> Callable[[], str]:
    counter = itertools.count()
    return lambda: f"nonce{next(counter):06d}"


@pytest.fixture
def tba(nonces: Callable[[], str]) -> TbaAuth:
    return TbaAuth(ACCOUNT, tba_credentials(), nonce_factory=nonces)


@pytest.fixture
def fast_retry() -> RequestRetryPolicy:
    """Real backoff arithmetic, tiny delays so unit tests stay fast."""
    return RequestRetryPolicy(max_attempts=4, max_elapsed=5.0, base=0.001, cap=0.005)
