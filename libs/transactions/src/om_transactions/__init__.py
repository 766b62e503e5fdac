"""Ordermentum orders and invoices as NetSuite transaction bodies (`mapping`) and the currency table
(`currencies`): pure functions over om_contracts, shared by order_sync and `omctl preview`.

No I/O and no driver: reading NetSuite (the currency query) is the caller's adapter's job
(`om_platform.adapters.currencies`).
"""
