"""The only finance_sync code that touches MongoDB, NetSuite or the broker."""
