"""order_sync: Ordermentum orders/invoices into NetSuite, exactly once."""
