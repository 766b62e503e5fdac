"""finance_sync: finalised invoices, credit notes, paid invoices and auto-reconciliation."""
