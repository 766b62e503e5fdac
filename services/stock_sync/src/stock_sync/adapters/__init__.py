"""The only stock_sync code that talks to NetSuite, MongoDB or the broker."""
