"""finance_sync use cases: polling windows, the hourly scheduler, payment reconciliation."""
