"""Async NetSuite REST/SuiteQL client: TBA and OAuth 2.0, typed errors, retries, per-account budget.

Usage::

    async with NetSuiteClient(budget=LocalBudget()) as client:
        ns = client.session("1234567_SB1", TbaAuth("1234567_SB1", creds), concurrency_limit=5)
        order_id = await ns.upsert("salesOrder", "OM-ORDER-ord_8f3a", SalesOrder(...))
        async for row in ns.suiteql_keyset(
            "SELECT id, tranid FROM transaction WHERE id > :last ORDER BY id", types={"id": int}
        ):
            ...
"""

from ._accounts import account_base_url, account_host, normalize_account_id
from ._auth import Auth
from ._budget import Budget, FifoGate, LocalBudget
from ._client import BudgetWaitHook, NetSuiteClient, RequestHook
from ._exceptions import (
    AuthenticationFailed,
    BudgetTimeout,
    ErrorDetail,
    ErrorKind,
    InvalidAccountId,
    NetSuiteError,
    NetSuiteHTTPError,
    NetSuiteNetworkError,
    NetSuiteTimeout,
    PermanentError,
    RateLimited,
    RequestInfo,
    SuiteQLPagingError,
    Transient,
    error_from_response,
)
from ._guard import RequestGuard
from ._models import (
    ApplyLine,
    CreditMemo,
    Customer,
    CustomerDeposit,
    CustomerPayment,
    Deposit,
    DepositOtherLine,
    DepositPaymentLine,
    DiscountItem,
    InventoryItem,
    Invoice,
    ItemRecord,
    Location,
    NetSuiteRecord,
    NonInventorySaleItem,
    OtherChargeSaleItem,
    Ref,
    SalesOrder,
    ServiceSaleItem,
    Sublist,
    TransactionLine,
)
from ._oauth2 import OAuth2ClientCredentials, TokenRefused, algorithm_for_key, certificate_expiry
from ._retry import RequestRetryPolicy
from ._session import NetSuiteSession, PreparedRequest
from ._tba import TbaAuth, TbaCredentials, signature_base_string, tba_authorization_header

__all__ = [
    "ApplyLine",
    "Auth",
    "AuthenticationFailed",
    "Budget",
    "BudgetTimeout",
    "BudgetWaitHook",
    "CreditMemo",
    "Customer",
    "CustomerDeposit",
    "CustomerPayment",
    "Deposit",
    "DepositOtherLine",
    "DepositPaymentLine",
    "DiscountItem",
    "ErrorDetail",
    "ErrorKind",
    "FifoGate",
    "InvalidAccountId",
    "InventoryItem",
    "Invoice",
    "ItemRecord",
    "LocalBudget",
    "Location",
    "NetSuiteClient",
    "NetSuiteError",
    "NetSuiteHTTPError",
    "NetSuiteNetworkError",
    "NetSuiteRecord",
    "NetSuiteSession",
    "NetSuiteTimeout",
    "NonInventorySaleItem",
    "OAuth2ClientCredentials",
    "OtherChargeSaleItem",
    "PermanentError",
    "PreparedRequest",
    "RateLimited",
    "Ref",
    "RequestGuard",
    "RequestHook",
    "RequestInfo",
    "RequestRetryPolicy",
    "SalesOrder",
    "ServiceSaleItem",
    "Sublist",
    "SuiteQLPagingError",
    "TbaAuth",
    "TbaCredentials",
    "TokenRefused",
    "TransactionLine",
    "Transient",
    "account_base_url",
    "account_host",
    "algorithm_for_key",
    "certificate_expiry",
    "error_from_response",
    "normalize_account_id",
    "signature_base_string",
    "tba_authorization_header",
]
