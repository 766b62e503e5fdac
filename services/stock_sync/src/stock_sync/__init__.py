"""stock_sync: NetSuite stock levels into Ordermentum, only what changed."""
