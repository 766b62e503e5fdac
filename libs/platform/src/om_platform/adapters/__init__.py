"""Everything of the platform that talks to a driver: the Kafka edge (`kafka`), the MongoDB stores
(`mongo`), the connection monitor (`connections`), the NetSuite budget (`budget`), NetSuite access
(`netsuite_access`) and the currency query (`currencies`). They implement `om_platform.core`'s ports.
"""
