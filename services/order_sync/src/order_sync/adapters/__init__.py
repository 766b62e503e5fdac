"""The only order_sync code that touches MongoDB, NetSuite or the broker."""
