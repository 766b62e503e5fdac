"""The platform's MongoDB stores: leases, cursors, integrations, mappings, connection states, freshness
readers, reference data, operator commands, and `HasDatabase` (what a store needs of the runtime)."""
