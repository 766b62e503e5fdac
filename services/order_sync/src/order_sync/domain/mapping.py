"""The order/invoice -> NetSuite body mapping (pure), shared with `omctl preview`.

It lives in `om_platform.transaction_mapping` because omctl is installed without the services
and must print the very body order_sync would send; this module keeps order_sync's own name
for it.
"""

from om_platform.transaction_mapping import (
    CENT,
    MEMO_MAX,
    Decision,
    MappingFailure,
    Mappings,
    TransactionBody,
    build_body,
    check_mappings,
    decisions,
    line_amount,
    memo_for,
    ordermentum_totals,
    record_type_for,
    resolve_tax_codes,
    totals_differ,
)

__all__ = [
    "CENT",
    "MEMO_MAX",
    "Decision",
    "MappingFailure",
    "Mappings",
    "TransactionBody",
    "build_body",
    "check_mappings",
    "decisions",
    "line_amount",
    "memo_for",
    "ordermentum_totals",
    "record_type_for",
    "resolve_tax_codes",
    "totals_differ",
]
