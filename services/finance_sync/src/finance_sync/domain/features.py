"""The polled finance features and which of them a supplier has switched on."""

from __future__ import annotations

from enum import StrEnum

from om_contracts import IntegrationSettings, SyncType


class Feature(StrEnum):
    """The polled finance features (auto-reconciliation is event driven, not polled)."""

    FINALISED_INVOICES = "finalised_invoices"
    CREDIT_NOTES = "credit_notes"
    PAID_INVOICES = "paid_invoices"
    INVOICE_CHANGES = "invoice_changes"


def enabled_features(integration: IntegrationSettings) -> list[Feature]:
    """Features the supplier switched on; finalised invoices only make sense for order sync.

    Invoice changes (finalised invoices edited, voided or deleted in NetSuite) come with
    finalised invoice sync: they are what keeps the published invoices true.
    """
    features: list[Feature] = []
    if integration.finalised_invoice_sync and integration.sync_type == SyncType.ORDERS:
        features.append(Feature.FINALISED_INVOICES)
        features.append(Feature.INVOICE_CHANGES)
    if integration.inbound_credit_notes:
        features.append(Feature.CREDIT_NOTES)
    if integration.mark_invoices_paid:
        features.append(Feature.PAID_INVOICES)
    return features
